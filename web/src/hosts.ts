// The host table: one page at a time from GET /api/v1/dashboard/hosts (filtering and paging on the
// server, so 10,000 hosts cost the page one page of rows). Rows are kept by host name: a live event
// for a visible host re-reads just that host's row (several events within FLUSH_MS are one request
// for all their hosts, `?names=`) and changes only the cells whose text changed. A new host is read
// the same way (with the page's filter: the server says whether it matches) and put in its place by
// name when that place is on this page; then the page is re-read in the background (RECONCILE_MS
// later) to bring the count and the page boundaries up to date, moving, adding or dropping rows by
// name. A removed host's row goes at once. The table is never rebuilt.
import { api, enc, powerText, stateText, type HostRow, type NetrootEvent } from './api.js';
import { byId, el, setText, time } from './dom.js';

const FLUSH_MS = 30;
const RECONCILE_MS = 1000;
const COLUMNS = ['name', 'appliance', 'ip', 'mac', 'volume', 'state', 'power', 'last'] as const;

interface Row {
  tr: HTMLTableRowElement;
  cells: Record<(typeof COLUMNS)[number], HTMLTableCellElement>;
  link: HTMLAnchorElement;
}

interface Page {
  items: HostRow[];
  next: string | null;
  total: number;
}

export class HostTable {
  private readonly rows = new Map<string, Row>();
  private readonly body = byId<HTMLTableSectionElement>('hosts-body');
  private cursors: (string | null)[] = [null];
  private next: string | null = null;
  private pending = new Set<string>();
  private added = new Set<string>();
  private timer: number | null = null;
  private reconcile: number | null = null;
  private filter = new URLSearchParams();

  constructor() {
    const form = byId<HTMLFormElement>('host-filter');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.readFilter();
      this.cursors = [null];
      void this.load();
    });
    byId('page-first').addEventListener('click', () => {
      this.cursors = [null];
      void this.load();
    });
    byId('page-prev').addEventListener('click', () => {
      if (this.cursors.length > 1) this.cursors.pop();
      void this.load();
    });
    byId('page-next').addEventListener('click', () => {
      if (this.next === null) return;
      this.cursors.push(this.next);
      void this.load();
    });
    this.readFilter();
  }

  private readFilter(): void {
    const p = new URLSearchParams();
    for (const id of ['f-q', 'f-state', 'f-appliance', 'f-limit']) {
      const e = byId<HTMLInputElement | HTMLSelectElement>(id);
      if (e.value !== '') p.set(e.name, e.value);
    }
    this.filter = p;
  }

  /** Reads the current page and brings the table to it, row by row. */
  async load(): Promise<void> {
    const p = new URLSearchParams(this.filter);
    const cursor = this.cursors[this.cursors.length - 1];
    if (cursor) p.set('cursor', cursor);
    const page = await api<Page>('GET', `/api/v1/dashboard/hosts?${p}`);
    this.next = page.next;
    const first = this.cursors.length === 1;
    byId<HTMLButtonElement>('page-prev').disabled = first;
    byId<HTMLButtonElement>('page-first').disabled = first;
    byId<HTMLButtonElement>('page-next').disabled = page.next === null;
    setText(byId('hosts-count'), `${page.total} host(s) match; page ${this.cursors.length}, ${page.items.length} shown`);
    const keep = new Set(page.items.map((r) => r.name));
    for (const [name, row] of this.rows)
      if (!keep.has(name)) {
        row.tr.remove();
        this.rows.delete(name);
      }
    // In page order: an existing row is moved only when it is not already in its place.
    let at: ChildNode | null = this.body.firstChild;
    for (const r of page.items) {
      let row = this.rows.get(r.name);
      const isNew = !row;
      if (!row) {
        row = this.makeRow(r.name);
        this.rows.set(r.name, row);
      }
      this.fill(row, r, isNew && this.loadedOnce);
      if (row.tr === at) at = at.nextSibling;
      else this.body.insertBefore(row.tr, at);
    }
    this.loadedOnce = true;
  }

  private loadedOnce = false;

  private makeRow(name: string): Row {
    const tr = el('tr');
    tr.dataset['host'] = name;
    const cells = {} as Row['cells'];
    for (const c of COLUMNS) {
      const td = el(c === 'name' ? 'th' : 'td') as HTMLTableCellElement;
      if (c === 'name') td.setAttribute('scope', 'row');
      td.dataset['col'] = c;
      cells[c] = td;
      tr.appendChild(td);
    }
    const link = el('a', name, { href: `#/host/${enc(name)}` });
    cells.name.appendChild(link);
    return { tr, cells, link };
  }

  private fill(row: Row, r: HostRow, flash: boolean): void {
    setText(row.cells.appliance, r.appliance);
    setText(row.cells.ip, r.ip ?? '—');
    setText(row.cells.mac, r.mac ?? '—');
    setText(row.cells.volume, r.volume ?? '—');
    setText(row.cells.state, stateText(r));
    row.cells.state.className = `state-${r.state}`;
    setText(row.cells.power, powerText(r.power));
    setText(row.cells.last, r.lastEvent ? `${r.lastEvent.kind} · ${time(r.lastEvent.at)}` : '—');
    if (flash) {
      row.tr.classList.remove('flash');
      void row.tr.offsetWidth; // restart the animation
      row.tr.classList.add('flash');
    }
  }

  /** A live event: re-read the rows it touches; place a new host; drop a removed one. */
  onEvent(e: NetrootEvent): void {
    if (!e.host) return;
    if (e.kind === 'host.removed') {
      const row = this.rows.get(e.host);
      if (row) {
        row.tr.remove();
        this.rows.delete(e.host);
      }
      this.later();
      return;
    }
    if (e.kind === 'host.added') this.added.add(e.host);
    else if (this.rows.has(e.host)) this.pending.add(e.host);
    else return;
    this.timer ??= window.setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Re-reads the page once things are quiet (counts, page boundaries). */
  private later(): void {
    if (this.reconcile !== null) window.clearTimeout(this.reconcile);
    this.reconcile = window.setTimeout(() => {
      this.reconcile = null;
      void this.load();
    }, RECONCILE_MS);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const names = [...new Set([...this.pending, ...this.added])];
    const added = new Set(this.added);
    this.pending.clear();
    this.added.clear();
    if (names.length === 0) return;
    // With the page's filter: a new host that does not match it is not answered.
    const p = new URLSearchParams(this.filter);
    p.set('limit', String(names.length));
    p.set('names', names.join(','));
    const page = await api<Page>('GET', `/api/v1/dashboard/hosts?${p}`);
    for (const r of page.items) {
      const row = this.rows.get(r.name);
      if (row) this.fill(row, r, true);
      else if (added.has(r.name)) this.place(r);
    }
    if (added.size > 0) this.later();
  }

  /** Puts a new host's row where its name sorts, if that is on this page. */
  private place(r: HostRow): void {
    const trs = [...this.body.rows];
    const names = trs.map((tr) => tr.dataset['host']!);
    const firstPage = this.cursors.length === 1;
    if (!firstPage && names.length > 0 && r.name < names[0]!) return; // an earlier page
    if (this.next !== null && names.length > 0 && r.name > names[names.length - 1]!) return; // a later page
    const at = names.findIndex((n) => n > r.name);
    const row = this.makeRow(r.name);
    this.rows.set(r.name, row);
    this.fill(row, r, true);
    this.body.insertBefore(row.tr, at < 0 ? null : trs[at]!);
  }

  /** Rows in the DOM (the bench and tests read it). */
  get size(): number {
    return this.rows.size;
  }
}
