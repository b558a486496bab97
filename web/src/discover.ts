// The insert-ethers view: start a discovery session for an appliance (POST
// /api/v1/discoveries/sessions), then follow it by long poll (GET …/sessions/ID?after=VERSION&wait=)
// and list the machines as they power on and get named; every DHCP DISCOVER from an unknown
// machine (the live `dhcp.discover` events) is listed too, with what its packet said.
import { api, ApiError, enc, type NetrootEvent } from './api.js';
import { byId, clear, el, setText, time } from './dom.js';

interface SessionView {
  id: string;
  open: boolean;
  version: number;
  count: number | null;
  fedBy: string[];
  machines: { mac: string; host: string | null; state: string; error: string | null; at: string }[];
}

const KEY = 'netroot.discovery.session';

export class DiscoverView {
  private session: string | null = sessionStorage.getItem(KEY);
  private polling = false;
  /** What each MAC's DISCOVER said (option 60), shown next to it; bounded. */
  private readonly vendor = new Map<string, string>();

  constructor() {
    byId('discover-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.start();
    });
    byId('d-stop').addEventListener('click', () => void this.stop());
  }

  async show(): Promise<void> {
    const sel = byId<HTMLSelectElement>('d-appliance');
    const list = await api<{ items: { name: string; discoverable: boolean }[] }>('GET', '/api/v1/appliances?limit=1000');
    const current = sel.value;
    clear(sel);
    for (const a of list.items) if (a.discoverable) sel.appendChild(el('option', a.name, { value: a.name }));
    if (current) sel.value = current;
    if (this.session) void this.follow();
  }

  private async start(): Promise<void> {
    const appliance = byId<HTMLSelectElement>('d-appliance').value;
    const countText = byId<HTMLInputElement>('d-count').value;
    try {
      const s = await api<SessionView>('POST', '/api/v1/discoveries/sessions', {
        options: { appliance },
        count: countText === '' ? null : Number(countText),
      });
      this.session = s.id;
      sessionStorage.setItem(KEY, s.id);
      clear(byId('discover-body'));
      this.render(s);
      void this.follow();
    } catch (e) {
      setText(byId('discover-status'), e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  }

  private async stop(): Promise<void> {
    if (!this.session) return;
    try {
      this.render(await api<SessionView>('DELETE', `/api/v1/discoveries/sessions/${enc(this.session)}`));
    } catch {
      // already ended
    }
    this.forget();
  }

  private forget(): void {
    this.session = null;
    sessionStorage.removeItem(KEY);
    byId<HTMLButtonElement>('d-stop').disabled = true;
    byId<HTMLButtonElement>('d-start').disabled = false;
  }

  private async follow(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let after = -1;
    try {
      while (this.session) {
        const s = await api<SessionView>('GET', `/api/v1/discoveries/sessions/${enc(this.session)}?after=${after}&wait=25000`);
        this.render(s);
        after = s.version;
        if (!s.open) {
          this.forget();
          break;
        }
      }
    } catch {
      this.forget(); // the session is gone (frontend restarted) or we are logged out
    } finally {
      this.polling = false;
    }
  }

  private render(s: SessionView): void {
    byId<HTMLButtonElement>('d-stop').disabled = !s.open;
    byId<HTMLButtonElement>('d-start').disabled = s.open;
    const named = s.machines.filter((m) => m.host).length;
    setText(
      byId('discover-status'),
      `${s.open ? 'Listening' : 'Ended'}: ${named} machine(s) named${s.count ? ` of ${s.count}` : ''}` +
        (s.fedBy.length ? `; DHCP on ${s.fedBy.join(', ')}` : '; no DHCP server of this frontend feeds it'),
    );
    const body = byId('discover-body');
    for (const m of s.machines) {
      const id = `m-${m.mac}`;
      let tr = body.querySelector<HTMLTableRowElement>(`tr[data-mac="${CSS.escape(m.mac)}"]`);
      if (!tr) {
        tr = el('tr', null, { 'data-mac': m.mac, id });
        for (let i = 0; i < 4; i++) tr.appendChild(el('td'));
        body.appendChild(tr);
      }
      const [mac, host, state, note] = tr.children as unknown as HTMLTableCellElement[];
      setText(mac!, m.mac);
      setText(host!, m.host ?? '—');
      setText(state!, m.state);
      setText(note!, m.error ?? this.note(m.mac, m.at));
    }
  }

  private note(mac: string, at: string): string {
    const vc = this.vendor.get(mac);
    return `${time(at)}${vc ? ' · ' + vc : ''}`;
  }

  /** A DISCOVER from an unknown machine (live): listed, with what its packet said, until a session names it. */
  onEvent(e: NetrootEvent): void {
    if (e.kind !== 'dhcp.discover' || !e.mac) return;
    const vc = typeof e.detail['vendorClass'] === 'string' ? e.detail['vendorClass'] : '';
    if (this.vendor.size >= 10_000) this.vendor.clear();
    this.vendor.set(e.mac, vc);
    const body = byId('discover-body');
    const seen = body.querySelector<HTMLTableRowElement>(`tr[data-mac="${CSS.escape(e.mac)}"]`);
    if (seen) {
      const note = seen.children[3];
      if (note && seen.children[1]?.textContent !== '—') setText(note, this.note(e.mac, e.at));
      return;
    }
    const tr = el('tr', null, { 'data-mac': e.mac });
    tr.appendChild(el('td', e.mac));
    tr.appendChild(el('td', '—'));
    tr.appendChild(el('td', 'DISCOVER seen'));
    tr.appendChild(el('td', this.note(e.mac, e.at)));
    body.appendChild(tr);
  }
}
