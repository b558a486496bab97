// The SQLite store (the default): one file under the state directory, WAL mode, a busy timeout so
// two CLI processes and the daemon can write at once without losing rows. Write transactions are
// BEGIN IMMEDIATE (the writer lock is taken up front: no upgrade deadlocks between processes).
// Inside this process, an async mutex serialises access, so an `await` inside a transaction can
// never let another caller's statements run inside it.
import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { closeSync, constants as C, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations.js';
import { Mutex } from './mutex.js';
import {
  APPLIANCE_MODES,
  ATTRIBUTE_MODES,
  BMC_MODES,
  BMC_SELECT,
  BOOT_MODES,
  DEFAULT_MAX_EVENTS,
  DUPLICATE,
  EVENT_LIST_MAX,
  EVENT_MODES,
  HOST_LIST_ORDER,
  HOST_INSERT_COLUMNS,
  HOST_MODES,
  HOST_PATCH_COLUMNS,
  HOST_SELECT,
  PRUNE_BATCH,
  SERVER_COLUMNS,
  SERVER_MODES,
  TOKEN_MODES,
  serverOrder,
  ttlSecondsText,
  toServer,
  type ServerRow,
  hostInsertValues,
  interfacesByHost,
  patchedInterface,
  toAppliance,
  toBmcRecord,
  toEvent,
  toHost,
  type ApplianceRow,
  type BmcRow,
  type EventRow,
  type HostRow,
  type Modes,
} from './rows.js';
import { NetrootError, UserError } from '../errors.js';
import type {
  Appliance,
  AppliancePatch,
  ApplianceRepo,
  Attribute,
  AttributeRepo,
  AttributeScope,
  BootRecord,
  BootRepo,
  BmcRecord,
  BmcRepo,
  EventRepo,
  Host,
  HostPatch,
  HostRepo,
  HostState,
  InstallToken,
  NetInterface,
  NewHost,
  FoundToken,
  Repos,
  ServerInfo,
  ServerRecord,
  ServerRepo,
  Store,
  StoredEvent,
  EventFilter,
  TokenRepo,
} from './types.js';

/** What the repositories use of the database: statements (cached, see preparedStatements). */
type Db = Pick<Database.Database, 'prepare'>;

/** The most distinct SQL texts kept prepared (the repositories' texts are a few dozen; the patch
 * and filter forms a few hundred at most); past it the cache starts again. */
const STATEMENT_CACHE_MAX = 500;

/**
 * `prepare` answering the same compiled statement for the same SQL text: compiling is most of the
 * cost of a small read (a DHCP answer's byMac, a kickstart's get) and of each row of a batch. The
 * statements are only run with get/all/run, never iterated, so one may be reused at once (calls
 * are synchronous and serialised by the store's mutex).
 */
function preparedStatements(db: Database.Database): Db {
  const cache = new Map<string, Database.Statement>();
  return {
    prepare(sql: string) {
      let st = cache.get(sql);
      if (!st) {
        if (cache.size >= STATEMENT_CACHE_MAX) cache.clear();
        st = db.prepare(sql);
        cache.set(sql, st);
      }
      return st;
    },
  } as Db;
}

/** Turns SQLite constraint failures into operator-facing errors that name the field. */
function mapConstraint(e: unknown, what: Record<string, () => string>): never {
  const msg = (e as Error)?.message ?? '';
  if ((e as { code?: string })?.code?.startsWith('SQLITE_CONSTRAINT')) {
    for (const [needle, text] of Object.entries(what)) {
      if (msg.includes(needle)) throw new UserError('E_DUPLICATE', text(), { where: needle.split('.').pop() });
    }
    throw new UserError('E_CONSTRAINT', `rejected by the database: ${msg}`);
  }
  throw e;
}

class SqliteHosts implements Sync<HostRepo> {
  constructor(private db: Db) {}

  private interfacesOf(id: number): NetInterface[] {
    return this.db.prepare('SELECT mac, ip, subnet, device FROM interfaces WHERE host_id = ? ORDER BY id').all(id) as NetInterface[];
  }
  private row(where: string, arg: unknown): Host | null {
    const r = this.db.prepare(`${HOST_SELECT} WHERE ${where}`).get(arg) as HostRow | undefined;
    return r ? toHost(r, this.interfacesOf(r.id)) : null;
  }
  private applianceId(name: string): { id: number; basename: string } {
    const a = this.db.prepare('SELECT id, basename FROM appliances WHERE name = ?').get(name) as { id: number; basename: string } | undefined;
    if (!a) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`, { where: 'appliance' });
    return a;
  }
  private idOf(name: string): number {
    const r = this.db.prepare('SELECT id FROM hosts WHERE name = ?').get(name) as { id: number } | undefined;
    if (!r) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
    return r.id;
  }
  private insertInterface(hostId: number, i: NetInterface): void {
    try {
      this.db.prepare('INSERT INTO interfaces (host_id, mac, ip, subnet, device) VALUES (?, ?, ?, ?, ?)').run(hostId, i.mac, i.ip, i.subnet, i.device);
    } catch (e) {
      // Name the holder: the operator's next step is usually `netroot host show <it>`.
      const constraint = (e as { code?: string })?.code?.startsWith('SQLITE_CONSTRAINT') === true;
      const holder = (col: 'mac' | 'ip', v: string | null) =>
        constraint
          ? (this.db.prepare(`SELECT h.name FROM interfaces i JOIN hosts h ON h.id = i.host_id WHERE i.${col} = ?`).get(v) as { name: string } | undefined)
              ?.name
          : undefined;
      mapConstraint(e, {
        'interfaces.mac': () => DUPLICATE.mac(i.mac, holder('mac', i.mac)),
        'interfaces.ip': () => DUPLICATE.ip(i.ip, holder('ip', i.ip)),
      });
    }
  }

  add(h: NewHost): Host {
    const a = this.applianceId(h.appliance);
    let id: number;
    try {
      id = Number(
        this.db.prepare(`INSERT INTO hosts (${HOST_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...hostInsertValues(h, a)).lastInsertRowid,
      );
    } catch (e) {
      mapConstraint(e, {
        'hosts.name': () => DUPLICATE.hostName(h.name),
        'hosts.basename': () => DUPLICATE.rackRank(h.rack, h.rank, a.basename),
      });
    }
    for (const i of h.interfaces) this.insertInterface(id, i);
    return this.get(h.name)!;
  }
  get(name: string): Host | null {
    return this.row('h.name = ?', name);
  }
  byMac(mac: string): Host | null {
    return this.row('h.id = (SELECT host_id FROM interfaces WHERE mac = ?)', mac);
  }
  byIp(ip: string): Host | null {
    return this.row('h.id = (SELECT host_id FROM interfaces WHERE ip = ?)', ip);
  }
  list(filter: { appliance?: string } = {}): Host[] {
    const rows = this.db
      .prepare(`${HOST_SELECT} WHERE (? IS NULL OR a.name = ?) ${HOST_LIST_ORDER}`)
      .all(filter.appliance ?? null, filter.appliance ?? null) as HostRow[];
    // Every interface in one query, grouped here: interfaces has no index on host_id, so one
    // query per host (toHost) scanned the table once per host — 1.6 s for 2,000 hosts, quadratic.
    const byHost = interfacesByHost(
      this.db.prepare('SELECT host_id, mac, ip, subnet, device FROM interfaces ORDER BY id').all() as Array<NetInterface & { host_id: number }>,
    );
    return rows.map((r) => toHost(r, byHost.get(r.id) ?? []));
  }
  update(name: string, p: HostPatch): Host {
    const id = this.idOf(name);
    const sets: string[] = [];
    const args: unknown[] = [];
    if (p.appliance !== undefined) {
      const a = this.applianceId(p.appliance);
      sets.push('appliance_id = ?', 'basename = ?');
      args.push(a.id, a.basename);
    }
    for (const [k, col] of HOST_PATCH_COLUMNS) {
      if (p[k] !== undefined) {
        sets.push(`${col} = ?`);
        args.push(p[k]);
      }
    }
    if (sets.length > 0) {
      try {
        this.db.prepare(`UPDATE hosts SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
      } catch (e) {
        mapConstraint(e, { 'hosts.basename': () => DUPLICATE.rackRankUpdate, CHECK: () => DUPLICATE.outOfRange });
      }
    }
    return this.get(name)!;
  }
  remove(name: string): void {
    const id = this.idOf(name);
    this.db.prepare('DELETE FROM attributes WHERE scope = ? AND target = ?').run('host', name);
    this.db.prepare('DELETE FROM hosts WHERE id = ?').run(id);
  }
  addInterface(host: string, iface: NetInterface): void {
    this.insertInterface(this.idOf(host), iface);
  }
  removeInterface(mac: string): void {
    this.db.prepare('DELETE FROM interfaces WHERE mac = ?').run(mac);
  }
  updateInterface(mac: string, p: Partial<NetInterface>): void {
    const cur = this.db.prepare('SELECT id, host_id, mac, ip, subnet, device FROM interfaces WHERE mac = ?').get(mac) as
      | ({ id: number; host_id: number } & NetInterface)
      | undefined;
    if (!cur) throw new UserError('E_NOT_FOUND', `no interface with MAC ${mac}`, { where: 'mac' });
    const next = patchedInterface(cur, p);
    try {
      this.db.prepare('UPDATE interfaces SET mac = ?, ip = ?, subnet = ?, device = ? WHERE id = ?').run(next.mac, next.ip, next.subnet, next.device, cur.id);
    } catch (e) {
      const holder = (col: 'mac' | 'ip', v: string | null) =>
        (this.db.prepare(`SELECT h.name FROM interfaces i JOIN hosts h ON h.id = i.host_id WHERE i.${col} = ?`).get(v) as { name: string } | undefined)?.name;
      mapConstraint(e, {
        'interfaces.mac': () => DUPLICATE.mac(next.mac, holder('mac', next.mac)),
        'interfaces.ip': () => DUPLICATE.ip(next.ip, holder('ip', next.ip)),
      });
    }
  }
  maxRank(basename: string, rack: number): number {
    const r = this.db.prepare('SELECT MAX(rank) AS m FROM hosts WHERE basename = ? AND rack = ?').get(basename, rack) as { m: number | null };
    return r.m ?? -1;
  }
  usedIps(): string[] {
    return (this.db.prepare('SELECT ip FROM interfaces WHERE ip IS NOT NULL').all() as Array<{ ip: string }>).map((r) => r.ip);
  }
  // Many keys as one JSON array argument (json_each): one statement text whatever their number.
  states(names: readonly string[]): Array<{ name: string; state: HostState }> {
    return this.db.prepare('SELECT name, state FROM hosts WHERE name IN (SELECT value FROM json_each(?))').all(JSON.stringify(names)) as Array<{
      name: string;
      state: HostState;
    }>;
  }
  knownMacs(macs: readonly string[]): string[] {
    return (
      this.db.prepare('SELECT mac FROM interfaces WHERE mac IN (SELECT value FROM json_each(?))').all(JSON.stringify(macs)) as Array<{ mac: string }>
    ).map((r) => r.mac);
  }
}

class SqliteAppliances implements Sync<ApplianceRepo> {
  constructor(private db: Db) {}
  add(a: Appliance): Appliance {
    try {
      this.db
        .prepare('INSERT INTO appliances (name, basename, graph, root_node, discoverable) VALUES (?, ?, ?, ?, ?)')
        .run(a.name, a.basename, a.graph, a.rootNode, a.discoverable ? 1 : 0);
    } catch (e) {
      mapConstraint(e, { 'appliances.name': () => DUPLICATE.appliance(a.name) });
    }
    return this.get(a.name)!;
  }
  get(name: string): Appliance | null {
    const r = this.db.prepare('SELECT * FROM appliances WHERE name = ?').get(name) as ApplianceRow | undefined;
    return r ? toAppliance(r) : null;
  }
  list(): Appliance[] {
    return (this.db.prepare('SELECT * FROM appliances ORDER BY name').all() as ApplianceRow[]).map(toAppliance);
  }
  update(name: string, patch: AppliancePatch): Appliance {
    const cur = this.get(name);
    if (!cur) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`, { where: 'appliance' });
    const a = { ...cur, ...patch, name };
    this.db
      .prepare('UPDATE appliances SET basename = ?, graph = ?, root_node = ?, discoverable = ? WHERE name = ?')
      .run(a.basename, a.graph, a.rootNode, a.discoverable ? 1 : 0, name);
    return this.get(name)!;
  }
  remove(name: string): void {
    const used = this.db.prepare('SELECT COUNT(*) AS n FROM hosts h JOIN appliances a ON a.id = h.appliance_id WHERE a.name = ?').get(name) as { n: number };
    if (used.n > 0) throw new UserError('E_APPLIANCE_IN_USE', `appliance ${name} still has ${used.n} host(s)`);
    const r = this.db.prepare('DELETE FROM appliances WHERE name = ?').run(name);
    if (r.changes === 0) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`);
    this.db.prepare('DELETE FROM attributes WHERE scope = ? AND target = ?').run('appliance', name);
  }
}

class SqliteAttributes implements Sync<AttributeRepo> {
  constructor(private db: Db) {}
  set(a: Attribute): void {
    this.db
      .prepare('INSERT INTO attributes (scope, target, name, value) VALUES (?, ?, ?, ?) ON CONFLICT (scope, target, name) DO UPDATE SET value = excluded.value')
      .run(a.scope, a.target, a.name, a.value);
  }
  setMany(list: readonly Attribute[]): void {
    for (const a of list) this.set(a);
  }
  unset(scope: AttributeScope, target: string, name: string): boolean {
    return this.db.prepare('DELETE FROM attributes WHERE scope = ? AND target = ? AND name = ?').run(scope, target, name).changes > 0;
  }
  list(f: { scope?: AttributeScope; target?: string } = {}): Attribute[] {
    // Only the filters given appear in the text, so one host's attributes are read through the
    // (scope, target, name) index instead of a scan of every attribute (`? IS NULL OR` defeats it).
    const where: string[] = [];
    const args: string[] = [];
    if (f.scope !== undefined) {
      where.push('scope = ?');
      args.push(f.scope);
    }
    if (f.target !== undefined) {
      where.push('target = ?');
      args.push(f.target);
    }
    return this.db
      .prepare(`SELECT scope, target, name, value FROM attributes${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY scope, target, name`)
      .all(...args) as Attribute[];
  }
}

export { DEFAULT_MAX_EVENTS };

class SqliteEvents implements Sync<EventRepo> {
  constructor(
    private db: Db,
    private readonly maxRows: number,
  ) {}
  /** Appends an event; in the same transaction, rows older than the newest maxRows are pruned. */
  append(e: { kind: string; host?: string | null; mac?: string | null; detail?: Record<string, unknown> }): StoredEvent {
    const at = new Date().toISOString();
    const detail = e.detail ?? {};
    const id = Number(
      this.db
        .prepare('INSERT INTO events (at, kind, host, mac, detail) VALUES (?, ?, ?, ?, ?)')
        .run(at, e.kind, e.host ?? null, e.mac ?? null, JSON.stringify(detail)).lastInsertRowid,
    );
    // Ids only grow (AUTOINCREMENT): everything at or below id - maxRows is older than the newest maxRows.
    this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ? ORDER BY id LIMIT ?)').run(id - this.maxRows, PRUNE_BATCH);
    return { id, at, kind: e.kind, host: e.host ?? null, mac: e.mac ?? null, detail };
  }
  list(f: EventFilter = {}): StoredEvent[] {
    const limit = Math.max(0, Math.min(f.limit ?? 1000, EVENT_LIST_MAX));
    const where = 'id > ? AND (? IS NULL OR kind = ?) AND (? IS NULL OR host = ?)';
    const args = [f.sinceId ?? 0, f.kind ?? null, f.kind ?? null, f.host ?? null, f.host ?? null];
    // `last`: the newest rows that match, still answered oldest first (a log's tail).
    const sql = f.last
      ? `SELECT * FROM (SELECT * FROM events WHERE ${where} ORDER BY id DESC LIMIT ?) ORDER BY id`
      : `SELECT * FROM events WHERE ${where} ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as EventRow[]).map(toEvent);
  }
}

class SqliteBoot implements Sync<BootRepo> {
  constructor(private db: Db) {}
  get(host: string): BootRecord | null {
    const r = this.db
      .prepare(
        'SELECT h.name AS host, b.kernel, b.initrd, b.overlay, b.args, b.updated_at AS updatedAt FROM boot b JOIN hosts h ON h.id = b.host_id WHERE h.name = ?',
      )
      .get(host) as BootRecord | undefined;
    return r ?? null;
  }
  put(r: Omit<BootRecord, 'updatedAt'>): BootRecord {
    const h = this.db.prepare('SELECT id FROM hosts WHERE name = ?').get(r.host) as { id: number } | undefined;
    if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(r.host)}`);
    const updatedAt = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO boot (host_id, kernel, initrd, overlay, args, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (host_id) DO UPDATE SET kernel = excluded.kernel, initrd = excluded.initrd, overlay = excluded.overlay, args = excluded.args, updated_at = excluded.updated_at`,
      )
      .run(h.id, r.kernel, r.initrd, r.overlay, r.args, updatedAt);
    return { ...r, updatedAt };
  }
  remove(host: string): void {
    this.db.prepare('DELETE FROM boot WHERE host_id = (SELECT id FROM hosts WHERE name = ?)').run(host);
  }
}

/** The database's clock as ISO-8601 with milliseconds (the format of every stored timestamp); `?` modifiers follow. */
const SQLITE_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

class SqliteTokens implements Sync<TokenRepo> {
  constructor(private db: Db) {}
  issue(host: string, tokenHash: string, address: string, ttlSeconds: number): InstallToken {
    const h = this.db.prepare('SELECT id FROM hosts WHERE name = ?').get(host) as { id: number } | undefined;
    if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(host)}`);
    const t = this.db
      .prepare(`SELECT ${SQLITE_NOW} AS issuedAt, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?) AS expiresAt`)
      .get(`+${ttlSecondsText(ttlSeconds)} seconds`) as { issuedAt: string; expiresAt: string };
    this.db.prepare('DELETE FROM install_tokens WHERE host_id = ? AND used_at IS NULL').run(h.id);
    this.db
      .prepare('INSERT INTO install_tokens (token_hash, host_id, address, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(tokenHash, h.id, address, t.issuedAt, t.expiresAt);
    return { host, address, issuedAt: t.issuedAt, expiresAt: t.expiresAt, usedAt: null };
  }
  find(tokenHash: string): FoundToken | null {
    const r = this.db
      .prepare(
        `SELECT h.name AS host, t.address, t.issued_at AS issuedAt, t.expires_at AS expiresAt, t.used_at AS usedAt, t.expires_at <= ${SQLITE_NOW} AS expired
         FROM install_tokens t JOIN hosts h ON h.id = t.host_id WHERE t.token_hash = ?`,
      )
      .get(tokenHash) as (InstallToken & { expired: number }) | undefined;
    return r ? { ...r, expired: r.expired === 1 } : null;
  }
  consume(tokenHash: string): boolean {
    return this.db.prepare(`UPDATE install_tokens SET used_at = ${SQLITE_NOW} WHERE token_hash = ? AND used_at IS NULL`).run(tokenHash).changes === 1;
  }
}

class SqliteServers implements Sync<ServerRepo> {
  constructor(private db: Db) {}
  beat(s: ServerInfo): void {
    this.db
      .prepare(
        `INSERT INTO servers (id, host_name, addresses, pid, version, started_at, last_beat) VALUES (?, ?, ?, ?, ?, ${SQLITE_NOW}, ${SQLITE_NOW})
         ON CONFLICT (id) DO UPDATE SET host_name = excluded.host_name, addresses = excluded.addresses, pid = excluded.pid, version = excluded.version, last_beat = excluded.last_beat`,
      )
      .run(s.id, s.hostName, JSON.stringify(s.addresses), s.pid, s.version);
  }
  list(windowSeconds: number): ServerRecord[] {
    const rows = this.db.prepare(`SELECT ${SERVER_COLUMNS}, (julianday('now') - julianday(last_beat)) * 86400.0 AS age FROM servers`).all() as ServerRow[];
    return rows.map((r) => toServer(r, windowSeconds)).sort(serverOrder);
  }
  remove(id: string): boolean {
    return this.db.prepare('DELETE FROM servers WHERE id = ?').run(id).changes > 0;
  }
}

class SqliteBmcs implements Sync<BmcRepo> {
  constructor(private db: Db) {}
  get(host: string): BmcRecord | null {
    const r = this.db.prepare(`${BMC_SELECT} WHERE h.name = ?`).get(host) as BmcRow | undefined;
    return r ? toBmcRecord(r) : null;
  }
  set(b: BmcRecord): BmcRecord {
    const h = this.db.prepare('SELECT id FROM hosts WHERE name = ?').get(b.host) as { id: number } | undefined;
    if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(b.host)}`, { where: 'host' });
    try {
      this.db
        .prepare(
          `INSERT INTO bmcs (host_id, driver, address, port, "user", secret, insecure_tls, system_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (host_id) DO UPDATE SET driver = excluded.driver, address = excluded.address, port = excluded.port, "user" = excluded."user",
             secret = excluded.secret, insecure_tls = excluded.insecure_tls, system_id = excluded.system_id, updated_at = excluded.updated_at`,
        )
        .run(h.id, b.driver, b.address, b.port, b.user, b.secret, b.insecureTls ? 1 : 0, b.systemId, new Date().toISOString());
    } catch (e) {
      // The CHECKs (driver, port): never echo the row (it holds the secret).
      if ((e as { code?: string })?.code?.startsWith('SQLITE_CONSTRAINT')) throw new UserError('E_BMC_BAD', DUPLICATE.bmc);
      throw e;
    }
    return this.get(b.host)!;
  }
  remove(host: string): boolean {
    return this.db.prepare('DELETE FROM bmcs WHERE host_id = (SELECT id FROM hosts WHERE name = ?)').run(host).changes > 0;
  }
  list(): BmcRecord[] {
    return (this.db.prepare(`${BMC_SELECT} ORDER BY h.name`).all() as BmcRow[]).map(toBmcRecord);
  }
}

/** A repository interface with its methods answering directly (SQLite calls are synchronous). */
type Sync<I> = { [K in keyof I]: I[K] extends (...a: infer A) => Promise<infer R> ? (...a: A) => R : never };

/** The async repository over a synchronous one: every method goes through `call` with its mode. */
function bind<I>(impl: Sync<I>, modes: Modes<I>, call: (fn: () => unknown, mode: 'read' | 'write', key: string) => Promise<unknown>): I {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(modes) as Array<keyof I & string>) {
    const fn = impl[key] as unknown as (...a: unknown[]) => unknown;
    out[key] = (...args: unknown[]) => call(() => fn.apply(impl, args), modes[key], key);
  }
  return out as I;
}

export interface SqliteStoreOptions {
  /** Milliseconds to wait for another process's write lock. */
  busyTimeoutMs?: number;
  /** Rows the events log keeps (config events.maxRows; default DEFAULT_MAX_EVENTS). */
  maxEvents?: number;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly mutex = new Mutex();
  private readonly raw: {
    hosts: SqliteHosts;
    appliances: SqliteAppliances;
    attributes: SqliteAttributes;
    events: SqliteEvents;
    boot: SqliteBoot;
    tokens: SqliteTokens;
    bmcs: SqliteBmcs;
    servers: SqliteServers;
  };
  readonly hosts: HostRepo;
  readonly appliances: ApplianceRepo;
  readonly attributes: AttributeRepo;
  readonly events: EventRepo;
  readonly boot: BootRepo;
  readonly tokens: TokenRepo;
  readonly bmcs: BmcRepo;
  readonly servers: ServerRepo;
  /** The transaction the running code is part of (AsyncLocalStorage follows it across awaits):
   * a store call or transaction() made inside one would wait on the mutex that transaction holds. */
  private readonly txScope = new AsyncLocalStorage<{ open: boolean }>();

  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    const maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) throw new NetrootError('E_STORE_OPTIONS', `maxEvents must be a positive integer, not ${maxEvents}`);
    if (path !== ':memory:') {
      // The database holds CHAP secrets in clear: the state directory is created 0700 and the file
      // 0600 before SQLite opens it (SQLite would create it 0644, and gives its -wal and -shm files
      // the database file's mode). Modes are set at creation only; an existing file is left as it is.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      try {
        closeSync(openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new NetrootError('E_STORE_OPEN', `cannot create database ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    try {
      this.db = new Database(path);
    } catch (e) {
      throw new NetrootError('E_STORE_OPEN', `cannot open database ${path}: ${(e as Error).message}`, { cause: e });
    }
    this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10000}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    const db = preparedStatements(this.db);
    this.raw = {
      hosts: new SqliteHosts(db),
      appliances: new SqliteAppliances(db),
      attributes: new SqliteAttributes(db),
      events: new SqliteEvents(db, maxEvents),
      boot: new SqliteBoot(db),
      tokens: new SqliteTokens(db),
      bmcs: new SqliteBmcs(db),
      servers: new SqliteServers(db),
    };
    // Outside a transaction every call is its own transaction: IMMEDIATE for writes (a host add writes
    // two tables; the write lock up front avoids upgrade deadlocks), DEFERRED for reads (a WAL snapshot
    // over several statements that never waits for, nor blocks, another process's writer).
    const single = (fn: () => unknown, mode: 'read' | 'write', key: string) => {
      if (this.txScope.getStore()?.open) {
        return Promise.reject(
          new NetrootError('E_STORE_IN_TX', `store.${key}() called inside transaction(): use the transaction's repos (tx.…), or it would wait for itself`),
        );
      }
      return this.mutex.run(() => this.immediate(fn, mode === 'read' ? 'DEFERRED' : 'IMMEDIATE'));
    };
    this.hosts = bind<HostRepo>(this.raw.hosts, HOST_MODES, single);
    this.appliances = bind<ApplianceRepo>(this.raw.appliances, APPLIANCE_MODES, single);
    this.attributes = bind<AttributeRepo>(this.raw.attributes, ATTRIBUTE_MODES, single);
    this.events = bind<EventRepo>(this.raw.events, EVENT_MODES, single);
    this.boot = bind<BootRepo>(this.raw.boot, BOOT_MODES, single);
    this.tokens = bind<TokenRepo>(this.raw.tokens, TOKEN_MODES, single);
    this.bmcs = bind<BmcRepo>(this.raw.bmcs, BMC_MODES, single);
    this.servers = bind<ServerRepo>(this.raw.servers, SERVER_MODES, single);
  }

  private immediate<T>(fn: () => T, mode: 'IMMEDIATE' | 'DEFERRED' = 'IMMEDIATE'): T {
    this.db.exec(`BEGIN ${mode}`);
    try {
      const r = fn();
      this.db.exec('COMMIT');
      return r;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  private savepoint<T>(fn: () => T): T {
    this.db.exec('SAVEPOINT call');
    try {
      const r = fn();
      this.db.exec('RELEASE call');
      return r;
    } catch (e) {
      this.db.exec('ROLLBACK TO call');
      this.db.exec('RELEASE call');
      throw e;
    }
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new NetrootError('E_STORE_VERSION', `database ${this.path} has schema ${version}, newer than this netroot (${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.immediate(() => {
        // Another process may have migrated while we waited for the lock.
        const now = this.db.pragma('user_version', { simple: true }) as number;
        if (now > v) return;
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      });
    }
  }

  async transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    if (this.txScope.getStore()?.open) throw new NetrootError('E_STORE_NESTED_TX', 'nested transactions are not supported');
    return this.mutex.run(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      const scope = { open: true };
      // Each write call under a savepoint: a refused call (a duplicate) undoes only itself, all of it
      // (a host and the interfaces it came with), and the transaction goes on.
      const direct = (f: () => unknown, mode: 'read' | 'write') => Promise.resolve().then(() => (mode === 'write' ? this.savepoint(f) : f()));
      const tx: Repos = {
        hosts: bind<HostRepo>(this.raw.hosts, HOST_MODES, direct),
        appliances: bind<ApplianceRepo>(this.raw.appliances, APPLIANCE_MODES, direct),
        attributes: bind<AttributeRepo>(this.raw.attributes, ATTRIBUTE_MODES, direct),
        events: bind<EventRepo>(this.raw.events, EVENT_MODES, direct),
        boot: bind<BootRepo>(this.raw.boot, BOOT_MODES, direct),
        tokens: bind<TokenRepo>(this.raw.tokens, TOKEN_MODES, direct),
        bmcs: bind<BmcRepo>(this.raw.bmcs, BMC_MODES, direct),
        servers: bind<ServerRepo>(this.raw.servers, SERVER_MODES, direct),
      };
      try {
        const r = await this.txScope.run(scope, () => fn(tx));
        this.db.exec('COMMIT');
        return r;
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      } finally {
        // Work started inside and still running afterwards is outside the transaction.
        scope.open = false;
      }
    });
  }

  async probeWritable(waitMs: number): Promise<void> {
    await this.mutex.run(() => {
      const busy = this.db.pragma('busy_timeout', { simple: true }) as number;
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(waitMs))}`);
      try {
        // Rewriting user_version with its own value commits one WAL frame (the header page): the
        // write lock, the WAL and the disk all took a write, and no table or row changed.
        this.immediate(() => {
          const v = this.db.pragma('user_version', { simple: true }) as number;
          this.db.pragma(`user_version = ${v}`);
        });
      } finally {
        this.db.pragma(`busy_timeout = ${busy}`);
      }
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(() => this.db.close());
  }
}
