// DOM helpers. Everything that comes from the server (host names, attributes, event text) goes
// into the page as text only: `textContent` and attribute values, never innerHTML, so markup in
// a host name or an event shows as the characters it is.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from index.html`);
  return e as T;
}

/** A new element with text content and attributes (attribute values are text too). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | null, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Sets a node's text only when it changed (no layout work for an unchanged cell). */
export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

export function clear(e: Element): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}

export function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Asks the operator to confirm, in the page's <dialog> (keyboard: Tab between the buttons, Escape cancels). */
export function confirmDialog(question: string): Promise<boolean> {
  const dlg = byId<HTMLDialogElement>('confirm');
  setText(byId('confirm-text'), question);
  return new Promise((resolve) => {
    const ok = byId<HTMLButtonElement>('confirm-ok');
    const cancel = byId<HTMLButtonElement>('confirm-cancel');
    const done = (v: boolean) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('close', onClose);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    const onClose = () => done(false);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('close', onClose);
    dlg.showModal();
    cancel.focus();
  });
}
