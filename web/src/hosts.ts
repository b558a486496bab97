// The host table: one page at a time from GET /api/v1/dashboard/hosts (filtering and paging on the
// server, so 10,000 hosts cost the page one page of rows). Rows are kept by host name: a live event
// for a visible host re-reads just that host's row (several events within FLUSH_MS are one request
// for all their hosts) and changes only the cells whose text changed; a host added or removed
// re-reads the page and moves, adds or drops rows by name — the table is never rebuilt.
import { api, enc, powerText, stateText, type HostRow, type NetrootEvent } from './api.js';
import { byId, el, setText, time } from './dom.js';

const FLUSH_MS = 50;
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
  private pageDirty = false;
  private timer: number | null = null;
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

  /** A live event: re-read the rows it touches (or the page when hosts came or went). */
  onEvent(e: NetrootEvent): void {
    if (e.kind === 'host.added' || e.kind === 'host.removed' || e.kind === 'host.replaced') this.pageDirty = true;
    else if (e.host && this.rows.has(e.host)) this.pending.add(e.host);
    else return;
    this.timer ??= window.setTimeout(() => void this.flush(), FLUSH_MS);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const names = [...this.pending];
    this.pending.clear();
    if (this.pageDirty) {
      this.pageDirty = false;
      await this.load();
      return;
    }
    if (names.length === 0) return;
    const page = await api<Page>('GET', `/api/v1/dashboard/hosts?limit=${names.length}&names=${enc(names.join(','))}`);
    for (const r of page.items) {
      const row = this.rows.get(r.name);
      if (row) this.fill(row, r, true);
    }
  }

  /** Rows in the DOM (the bench and tests read it). */
  get size(): number {
    return this.rows.size;
  }
}
