// One host's page: facts, volume and iSCSI target (its resolved attributes, secrets masked by the
// server), what it boots next with its kernel arguments, the kickstart preview (secrets masked),
// power buttons and boot= actions (each confirmed first), and its events, newest first, live.
import { api, ApiError, enc, eventText, powerText, stateText, type HostRow, type NetrootEvent } from './api.js';
import { byId, clear, confirmDialog, el, setText, time } from './dom.js';

const TIMELINE = 200;

interface Host {
  name: string;
  appliance: string;
  rack: number;
  rank: number;
  os: string;
  arch: string;
  bootAction: string;
  state: string;
  stateDetail: string | null;
  interfaces: { mac: string; ip: string | null; subnet: string | null; device: string }[];
}

function facts(dl: HTMLElement, pairs: [string, string][]): void {
  clear(dl);
  for (const [k, v] of pairs) {
    dl.appendChild(el('dt', k));
    dl.appendChild(el('dd', v));
  }
}

function message(text: string, error = false): void {
  const p = byId('host-message');
  setText(p, text);
  p.className = error ? 'error' : '';
}

const why = (e: unknown) => (e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));

export class HostPage {
  private name: string | null = null;
  private timer: number | null = null;

  constructor() {
    for (const b of byId('power-actions').querySelectorAll<HTMLButtonElement>('button[data-power]')) {
      b.addEventListener('click', () => void this.power(b.dataset['power']!));
    }
    byId('boot-set').addEventListener('click', () => void this.setBoot());
    byId('ks-show').addEventListener('click', () => void this.kickstart());
  }

  async show(name: string): Promise<void> {
    this.name = name;
    setText(byId('host-title'), name);
    message('');
    byId('ks-text').hidden = true;
    clear(byId('host-events'));
    await Promise.all([this.refresh(), this.events()]);
  }

  private async refresh(): Promise<void> {
    const name = this.name;
    if (!name) return;
    try {
      const [h, rows, attrs, boot] = await Promise.all([
        api<Host>('GET', `/api/v1/hosts/${enc(name)}`),
        api<{ items: HostRow[] }>('GET', `/api/v1/dashboard/hosts?limit=1&names=${enc(name)}`),
        api<{ items: { name: string; value: string; source: string }[] } | { name: string; value: string; source: string }[]>(
          'GET',
          `/api/v1/hosts/${enc(name)}/attributes`,
        ),
        api<{
          action: string;
          kernel?: string;
          initrds?: string[];
          args?: string;
          rootPath?: string;
          initiatorIqn?: string;
          error?: { code: string; message: string };
        }>('GET', `/api/v1/hosts/${enc(name)}/boot`),
      ]);
      if (name !== this.name) return;
      const row = rows.items[0];
      const list = Array.isArray(attrs) ? attrs : attrs.items;
      const a = new Map(list.map((x) => [x.name, x.value]));
      const iface = h.interfaces.map((i) => `${i.device} ${i.mac}${i.ip ? ' ' + i.ip : ''}${i.subnet ? ' (' + i.subnet + ')' : ''}`).join('; ');
      facts(byId('host-facts'), [
        ['Appliance', h.appliance],
        ['Rack / rank', `${h.rack} / ${h.rank}`],
        ['OS / arch', `${h.os} / ${h.arch}`],
        ['State', row ? stateText(row) : h.state],
        ['Power', row ? powerText(row.power) : '—'],
        ['Boot action', h.bootAction],
        ['Interfaces', iface || '—'],
        ['Volume', a.get('iscsi_volume') ?? '—'],
        ['Storage node', a.get('iscsi_storage_node') ?? '—'],
        ['iSCSI target', a.get('iscsi_target') ?? '—'],
        ['Portal', a.has('iscsi_portal') ? `${a.get('iscsi_portal')}:${a.get('iscsi_port') ?? '3260'}` : '—'],
        ['Initiator', a.get('iscsi_initiator') ?? '—'],
      ]);
      byId<HTMLSelectElement>('boot-action').value = h.bootAction;
      const b: [string, string][] = [['Boots', boot.action]];
      if (boot.error) b.push(['Refused', `${boot.error.code}: ${boot.error.message}`]);
      if (boot.kernel) b.push(['Kernel', boot.kernel]);
      if (boot.initrds) b.push(['Initrds', boot.initrds.join(' ')]);
      if (boot.args !== undefined) b.push(['Kernel arguments', boot.args]);
      if (boot.rootPath) b.push(['Root path', boot.rootPath]);
      if (boot.initiatorIqn) b.push(['Initiator', boot.initiatorIqn]);
      facts(byId('host-boot'), b);
    } catch (e) {
      message(why(e), true);
    }
  }

  private async events(): Promise<void> {
    const name = this.name;
    if (!name) return;
    const page = await api<{ items: NetrootEvent[] }>('GET', `/api/v1/events?host=${enc(name)}&last=1&limit=${TIMELINE}`);
    if (name !== this.name) return;
    for (const e of page.items) this.addEvent(e);
  }

  private addEvent(e: NetrootEvent): void {
    const ol = byId('host-events');
    const li = el('li');
    li.appendChild(el('time', time(e.at), { datetime: e.at }));
    li.appendChild(document.createTextNode(' ' + eventText(e)));
    ol.insertBefore(li, ol.firstChild);
    while (ol.childElementCount > TIMELINE) ol.lastElementChild!.remove();
  }

  onEvent(e: NetrootEvent): void {
    if (!this.name || e.host !== this.name) return;
    this.addEvent(e);
    this.timer ??= window.setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, 100);
  }

  private async power(action: string): Promise<void> {
    const name = this.name;
    if (!name) return;
    const pxe = byId<HTMLInputElement>('power-pxe').checked;
    if (action !== 'status' && !(await confirmDialog(`Power ${action} ${name}${pxe ? ', next boot from PXE' : ''}?`))) return;
    message(`power ${action}: asking the BMC…`);
    try {
      const r = await api<{ host: string; action: string; ok: boolean; state?: string | null }>('POST', `/api/v1/hosts/${enc(name)}/power`, {
        action,
        ...(pxe ? { pxe: true } : {}),
      });
      message(`power ${r.action}: ${r.ok ? 'done' : 'failed'}${r.state ? `; the host is ${r.state}` : ''}`, !r.ok);
    } catch (e) {
      message(`power ${action}: ${why(e)}`, true);
    }
    void this.refresh();
  }

  private async setBoot(): Promise<void> {
    const name = this.name;
    if (!name) return;
    const bootAction = byId<HTMLSelectElement>('boot-action').value;
    if (!(await confirmDialog(`Set boot=${bootAction} for ${name}?`))) return;
    try {
      await api('PATCH', `/api/v1/hosts/${enc(name)}`, { bootAction });
      message(`boot action set to ${bootAction}`);
    } catch (e) {
      message(why(e), true);
    }
    void this.refresh();
  }

  private async kickstart(): Promise<void> {
    const name = this.name;
    if (!name) return;
    const pre = byId('ks-text');
    try {
      setText(pre, await api<string>('GET', `/api/v1/hosts/${enc(name)}/kickstart`, undefined, 'text'));
    } catch (e) {
      setText(pre, why(e));
    }
    pre.hidden = false;
  }
}
