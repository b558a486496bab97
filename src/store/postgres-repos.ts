// The PostgreSQL repositories: the SQL of sqlite.ts in PostgreSQL's dialect ($n placeholders,
// RETURNING, typed NULL tests), over one connection that is already inside a transaction
// (postgres.ts opens it: a snapshot for reads, the write lock for writes). A statement that may
// violate a constraint runs under a savepoint (`Q.safe`): PostgreSQL aborts the whole transaction on
// an error, and the holder of a duplicate MAC or IP is looked up after it — except `hosts.add` (and
// `addInterface`), the insert-ethers path, which finds a taken key with ON CONFLICT DO NOTHING and
// reads which one, no statement failing (two round trips fewer per statement).
import type { PoolClient, QueryResultRow } from 'pg';
import { NetrootError, UserError } from '../errors.js';
import { isConstraintError, mapPgConstraint, violated } from './postgres-errors.js';
import {
  BMC_SELECT,
  DUPLICATE,
  EVENT_LIST_MAX,
  HOST_INSERT_COLUMNS,
  HOST_PATCH_COLUMNS,
  HOST_SELECT,
  PRUNE_BATCH,
  SERVER_COLUMNS,
  serverOrder,
  toServer,
  ttlSecondsText,
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
} from './rows.js';
import type {
  Appliance,
  AppliancePatch,
  ApplianceRepo,
  Attribute,
  AttributeRepo,
  AttributeScope,
  BmcRecord,
  BmcRepo,
  BootRecord,
  BootRepo,
  EventFilter,
  EventRepo,
  FoundToken,
  Host,
  HostPatch,
  HostRepo,
  HostState,
  InstallToken,
  NetInterface,
  NewHost,
  ServerInfo,
  ServerRecord,
  ServerRepo,
  StoredEvent,
  TokenRepo,
} from './types.js';

/** rows.ts HOST_LIST_ORDER in byte order, as SQLite's BINARY collation (the server's locale could order otherwise). */
const PG_HOST_LIST_ORDER = 'ORDER BY h.basename COLLATE "C", h.rack, h.rank, h.name COLLATE "C"';

/** HOST_SELECT with the host's interfaces as a JSON array in insertion order (node-postgres parses json). */
const PG_HOST_WITH_INTERFACES = HOST_SELECT.replace(
  ' FROM hosts h',
  `, COALESCE((SELECT json_agg(json_build_object('mac', i.mac, 'ip', i.ip, 'subnet', i.subnet, 'device', i.device) ORDER BY i.id)
              FROM interfaces i WHERE i.host_id = h.id), '[]'::json) AS interfaces
  FROM hosts h`,
);

/**
 * Queries on one connection, inside a transaction — or, for a read postgres.ts runs as one
 * statement without BEGIN/COMMIT (`oneStatement`: a statement is its own snapshot), exactly one
 * query: a second one would see another snapshot, so it fails (E_STORE_STATEMENTS, a programming
 * error: the method is wrongly listed in postgres.ts ONE_STATEMENT_READS).
 */
export class Q {
  private n = 0;
  private queries = 0;
  /** The last savepoint that succeeded and is not released yet (see savepoint). */
  private pendingRelease: string | null = null;
  constructor(
    readonly client: PoolClient,
    private readonly oneStatement = false,
  ) {}
  private query<T extends QueryResultRow>(sql: string, args: unknown[]) {
    if (this.oneStatement && this.queries++ > 0)
      return Promise.reject(new NetrootError('E_STORE_STATEMENTS', 'a read listed as one statement ran a second one (postgres.ts ONE_STATEMENT_READS)'));
    return this.client.query<T>(sql, args);
  }
  async all<T extends QueryResultRow>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.query<T>(sql, args)).rows;
  }
  async get<T extends QueryResultRow>(sql: string, args: unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, args)).rows[0];
  }
  /** Rows changed. */
  async run(sql: string, args: unknown[] = []): Promise<number> {
    return (await this.query(sql, args)).rowCount ?? 0;
  }
  /**
   * fn under a savepoint: on a throw only fn's statements are undone and the transaction stays
   * usable. A savepoint that succeeded is released with the next one's SAVEPOINT, in the same round
   * trip (or by the enclosing RELEASE / COMMIT, which release it too): one round trip per call fewer.
   */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `sp${++this.n}`;
    const release = this.pendingRelease === null ? '' : `RELEASE SAVEPOINT ${this.pendingRelease}; `;
    this.pendingRelease = null;
    await this.client.query(`${release}SAVEPOINT ${name}`);
    try {
      const r = await fn();
      // A savepoint nested in this one and still pending is released with it.
      this.pendingRelease = name;
      return r;
    } catch (e) {
      this.pendingRelease = null;
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
      throw e;
    }
  }
  /** One statement under a savepoint (it may violate a constraint). */
  safe<T extends QueryResultRow>(sql: string, args: unknown[]): Promise<T[]> {
    return this.savepoint(() => this.all<T>(sql, args));
  }
}

export class PgHosts implements HostRepo {
  constructor(private q: Q) {}

  /** One host with its interfaces (insertion order) in one statement: a single read, one round trip. */
  private async row(where: string, arg: unknown): Promise<Host | null> {
    const r = await this.q.get<HostRow & { interfaces: NetInterface[] }>(`${PG_HOST_WITH_INTERFACES} WHERE ${where}`, [arg]);
    return r ? toHost(r, r.interfaces) : null;
  }
  private async applianceId(name: string): Promise<{ id: number; basename: string }> {
    const a = await this.q.get<{ id: number; basename: string }>('SELECT id, basename FROM appliances WHERE name = $1', [name]);
    if (!a) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`, { where: 'appliance' });
    return a;
  }
  private async idOf(name: string): Promise<number> {
    const r = await this.q.get<{ id: number }>('SELECT id FROM hosts WHERE name = $1', [name]);
    if (!r) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
    return r.id;
  }
  /** A MAC/IP violation names the holder: the operator's next step is usually `netroot host show <it>`. */
  private async interfaceConflict(e: unknown, i: NetInterface): Promise<never> {
    const key = isConstraintError(e) ? violated(e) : null;
    const holder = async (col: 'mac' | 'ip', v: string | null) =>
      (await this.q.get<{ name: string }>(`SELECT h.name FROM interfaces i JOIN hosts h ON h.id = i.host_id WHERE i.${col} = $1`, [v]))?.name;
    return mapPgConstraint(e, {
      ...(key === 'interfaces.mac' ? { 'interfaces.mac': DUPLICATE.mac(i.mac, await holder('mac', i.mac)) } : {}),
      ...(key === 'interfaces.ip' ? { 'interfaces.ip': DUPLICATE.ip(i.ip, await holder('ip', i.ip)) } : {}),
    });
  }
  /**
   * A duplicate MAC or address is found with ON CONFLICT DO NOTHING, not a failed statement: no
   * savepoint of its own (two round trips fewer), and the holder is looked up at once. The caller's
   * savepoint (a call inside a transaction) or transaction (a call alone) undoes the rest of the
   * call when this throws. Another constraint (the host gone: foreign key) still fails the statement.
   */
  private async insertInterface(hostId: number, i: NetInterface): Promise<void> {
    let inserted: number;
    try {
      inserted = await this.q.run('INSERT INTO interfaces (host_id, mac, ip, subnet, device) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
        hostId,
        i.mac,
        i.ip,
        i.subnet,
        i.device,
      ]);
    } catch (e) {
      return mapPgConstraint(e, {});
    }
    if (inserted === 1) return;
    const holder = async (col: 'mac' | 'ip', v: string | null) =>
      v === null
        ? undefined
        : (await this.q.get<{ name: string }>(`SELECT h.name FROM interfaces i JOIN hosts h ON h.id = i.host_id WHERE i.${col} = $1`, [v]))?.name;
    const byMac = await holder('mac', i.mac);
    if (byMac !== undefined) throw new UserError('E_DUPLICATE', DUPLICATE.mac(i.mac, byMac), { where: 'mac' });
    throw new UserError('E_DUPLICATE', DUPLICATE.ip(i.ip, await holder('ip', i.ip)), { where: 'ip' });
  }

  /**
   * The host row (its appliance looked up in the same statement) and its interfaces, without a
   * savepoint per statement: a taken name or rack/rank is found with ON CONFLICT DO NOTHING (then
   * one read says which), a CHECK still fails the statement (E_CONSTRAINT); the caller's savepoint
   * or transaction undoes the whole call when it throws (a host without its interfaces is never left).
   */
  async add(h: NewHost): Promise<Host> {
    const v = hostInsertValues(h, { id: 0, basename: '' });
    let r: { id: number } | undefined;
    try {
      r = await this.q.get<{ id: number }>(
        `INSERT INTO hosts (${HOST_INSERT_COLUMNS})
         SELECT $1::text, a.id, a.basename, $3::integer, $4::integer, $5::text, $6::text, $7::text, $8::text, $9::text FROM appliances a WHERE a.name = $2
         ON CONFLICT DO NOTHING RETURNING id`,
        [v[0], h.appliance, ...v.slice(3)],
      );
    } catch (e) {
      // Not a taken name or rack/rank (those do nothing): a CHECK (E_CONSTRAINT), or no constraint at all.
      return mapPgConstraint(e, {});
    }
    if (!r) {
      const a = await this.applianceId(h.appliance);
      if (await this.q.get('SELECT 1 FROM hosts WHERE name = $1', [h.name])) throw new UserError('E_DUPLICATE', DUPLICATE.hostName(h.name), { where: 'name' });
      throw new UserError('E_DUPLICATE', DUPLICATE.rackRank(h.rack, h.rank, a.basename), { where: 'basename' });
    }
    const interfaces: NetInterface[] = [];
    for (const i of h.interfaces) {
      await this.insertInterface(r.id, i);
      interfaces.push({ mac: i.mac, ip: i.ip ?? null, subnet: i.subnet ?? null, device: i.device });
    }
    // The host as written (what a read would answer), without reading it back: one round trip fewer.
    return toHost(
      {
        id: r.id,
        name: h.name,
        appliance: h.appliance,
        rack: h.rack,
        rank: h.rank,
        os: v[5] as string,
        arch: v[6] as string,
        boot_action: v[7] as string,
        state: v[8] as string,
        state_detail: null,
        created_at: v[9] as string,
      },
      interfaces,
    );
  }
  get(name: string): Promise<Host | null> {
    return this.row('h.name = $1', name);
  }
  byMac(mac: string): Promise<Host | null> {
    return this.row('h.id = (SELECT host_id FROM interfaces WHERE mac = $1)', mac);
  }
  byIp(ip: string): Promise<Host | null> {
    return this.row('h.id = (SELECT host_id FROM interfaces WHERE ip = $1)', ip);
  }
  async list(filter: { appliance?: string } = {}): Promise<Host[]> {
    const rows = await this.q.all<HostRow>(`${HOST_SELECT} WHERE ($1::text IS NULL OR a.name = $1) ${PG_HOST_LIST_ORDER}`, [filter.appliance ?? null]);
    const byHost = interfacesByHost(
      await this.q.all<NetInterface & { host_id: number }>('SELECT host_id, mac, ip, subnet, device FROM interfaces ORDER BY id'),
    );
    return rows.map((r) => toHost(r, byHost.get(r.id) ?? []));
  }
  /**
   * The host's row changed by name in one statement, with no savepoint of its own (a refusal needs
   * no read after it: the caller's savepoint or transaction undoes the call); the name is looked up
   * first only for an appliance change (E_HOST_NOT_FOUND before E_APPLIANCE_NOT_FOUND) or no change.
   */
  async update(name: string, p: HostPatch): Promise<Host> {
    const sets: string[] = [];
    const args: unknown[] = [];
    const set = (col: string, v: unknown) => {
      args.push(v);
      sets.push(`${col} = $${args.length}`);
    };
    if (p.appliance !== undefined) {
      await this.idOf(name);
      const a = await this.applianceId(p.appliance);
      set('appliance_id', a.id);
      set('basename', a.basename);
    }
    for (const [k, col] of HOST_PATCH_COLUMNS) if (p[k] !== undefined) set(col, p[k]);
    if (sets.length === 0) await this.idOf(name);
    else {
      let changed = 0;
      try {
        changed = await this.q.run(`UPDATE hosts SET ${sets.join(', ')} WHERE name = $${args.length + 1}`, [...args, name]);
      } catch (e) {
        mapPgConstraint(e, { 'hosts.basename': DUPLICATE.rackRankUpdate, CHECK: DUPLICATE.outOfRange });
      }
      if (changed === 0) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
    }
    return (await this.get(name))!;
  }

  async remove(name: string): Promise<void> {
    const id = await this.idOf(name);
    await this.q.run('DELETE FROM attributes WHERE scope = $1 AND target = $2', ['host', name]);
    await this.q.run('DELETE FROM hosts WHERE id = $1', [id]);
  }
  async addInterface(host: string, iface: NetInterface): Promise<void> {
    await this.insertInterface(await this.idOf(host), iface);
  }
  async removeInterface(mac: string): Promise<void> {
    await this.q.run('DELETE FROM interfaces WHERE mac = $1', [mac]);
  }
  async updateInterface(mac: string, p: Partial<NetInterface>): Promise<void> {
    const cur = await this.q.get<{ id: number } & NetInterface>('SELECT id, mac, ip, subnet, device FROM interfaces WHERE mac = $1', [mac]);
    if (!cur) throw new UserError('E_NOT_FOUND', `no interface with MAC ${mac}`, { where: 'mac' });
    const next = patchedInterface(cur, p);
    try {
      await this.q.safe('UPDATE interfaces SET mac = $1, ip = $2, subnet = $3, device = $4 WHERE id = $5', [
        next.mac,
        next.ip,
        next.subnet,
        next.device,
        cur.id,
      ]);
    } catch (e) {
      await this.interfaceConflict(e, next);
    }
  }
  async maxRank(basename: string, rack: number): Promise<number> {
    const r = await this.q.get<{ m: number | null }>('SELECT MAX(rank) AS m FROM hosts WHERE basename = $1 AND rack = $2', [basename, rack]);
    return r?.m ?? -1;
  }
  async usedIps(): Promise<string[]> {
    return (await this.q.all<{ ip: string }>('SELECT ip FROM interfaces WHERE ip IS NOT NULL')).map((r) => r.ip);
  }
  states(names: readonly string[]): Promise<Array<{ name: string; state: HostState }>> {
    return this.q.all<{ name: string; state: HostState }>('SELECT name, state FROM hosts WHERE name = ANY($1::text[])', [names]);
  }
  async knownMacs(macs: readonly string[]): Promise<string[]> {
    return (await this.q.all<{ mac: string }>('SELECT mac FROM interfaces WHERE mac = ANY($1::text[])', [macs])).map((r) => r.mac);
  }
}

export class PgAppliances implements ApplianceRepo {
  constructor(private q: Q) {}
  async add(a: Appliance): Promise<Appliance> {
    try {
      await this.q.safe('INSERT INTO appliances (name, basename, graph, root_node, discoverable) VALUES ($1, $2, $3, $4, $5)', [
        a.name,
        a.basename,
        a.graph,
        a.rootNode,
        a.discoverable ? 1 : 0,
      ]);
    } catch (e) {
      mapPgConstraint(e, { 'appliances.name': DUPLICATE.appliance(a.name) });
    }
    return (await this.get(a.name))!;
  }
  async get(name: string): Promise<Appliance | null> {
    const r = await this.q.get<ApplianceRow>('SELECT * FROM appliances WHERE name = $1', [name]);
    return r ? toAppliance(r) : null;
  }
  async list(): Promise<Appliance[]> {
    return (await this.q.all<ApplianceRow>('SELECT * FROM appliances ORDER BY name COLLATE "C"')).map(toAppliance);
  }
  async update(name: string, patch: AppliancePatch): Promise<Appliance> {
    const cur = await this.get(name);
    if (!cur) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`, { where: 'appliance' });
    const a = { ...cur, ...patch, name };
    await this.q.run('UPDATE appliances SET basename = $1, graph = $2, root_node = $3, discoverable = $4 WHERE name = $5', [
      a.basename,
      a.graph,
      a.rootNode,
      a.discoverable ? 1 : 0,
      name,
    ]);
    return (await this.get(name))!;
  }
  async remove(name: string): Promise<void> {
    const used = await this.q.get<{ n: number }>('SELECT COUNT(*) AS n FROM hosts h JOIN appliances a ON a.id = h.appliance_id WHERE a.name = $1', [name]);
    if (used!.n > 0) throw new UserError('E_APPLIANCE_IN_USE', `appliance ${name} still has ${used!.n} host(s)`);
    if ((await this.q.run('DELETE FROM appliances WHERE name = $1', [name])) === 0)
      throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`);
    await this.q.run('DELETE FROM attributes WHERE scope = $1 AND target = $2', ['appliance', name]);
  }
}

export class PgAttributes implements AttributeRepo {
  constructor(private q: Q) {}
  async set(a: Attribute): Promise<void> {
    await this.q.run(
      'INSERT INTO attributes (scope, target, name, value) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, target, name) DO UPDATE SET value = excluded.value',
      [a.scope, a.target, a.name, a.value],
    );
  }
  async setMany(list: readonly Attribute[]): Promise<void> {
    // One row per key, the last given (ON CONFLICT DO UPDATE may not touch a row twice in one statement).
    const rows = [...new Map(list.map((a) => [`${a.scope}\u0000${a.target}\u0000${a.name}`, a])).values()];
    if (rows.length === 0) return;
    const values = rows.map((_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ');
    await this.q.run(
      `INSERT INTO attributes (scope, target, name, value) VALUES ${values} ON CONFLICT (scope, target, name) DO UPDATE SET value = excluded.value`,
      rows.flatMap((a) => [a.scope, a.target, a.name, a.value]),
    );
  }
  async unset(scope: AttributeScope, target: string, name: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM attributes WHERE scope = $1 AND target = $2 AND name = $3', [scope, target, name])) > 0;
  }
  list(f: { scope?: AttributeScope; target?: string } = {}): Promise<Attribute[]> {
    // Only the filters given appear in the text: one host's attributes through the unique index.
    const where: string[] = [];
    const args: string[] = [];
    if (f.scope !== undefined) {
      args.push(f.scope);
      where.push(`scope = $${args.length}`);
    }
    if (f.target !== undefined) {
      args.push(f.target);
      where.push(`target = $${args.length}`);
    }
    return this.q.all<Attribute>(
      `SELECT scope, target, name, value FROM attributes${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
       ORDER BY scope COLLATE "C", target COLLATE "C", name COLLATE "C"`,
      args,
    );
  }
}

export class PgEvents implements EventRepo {
  constructor(
    private q: Q,
    private readonly maxRows: number,
  ) {}
  /** Appends an event; in the same transaction, rows older than the newest maxRows are pruned. */
  async append(e: { kind: string; host?: string | null; mac?: string | null; detail?: Record<string, unknown> }): Promise<StoredEvent> {
    const at = new Date().toISOString();
    const detail = e.detail ?? {};
    // One statement (one round trip; atomic without a savepoint, postgres.ts ONE_STATEMENT): the
    // insert, and the prune of everything at or below id - maxRows (ids only grow: an identity),
    // which is older than the newest maxRows.
    const [r] = await this.q.all<{ id: number }>(
      `WITH ins AS (INSERT INTO events (at, kind, host, mac, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id),
            pruned AS (DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= (SELECT id FROM ins) - $6 ORDER BY id LIMIT $7))
       SELECT id FROM ins`,
      [at, e.kind, e.host ?? null, e.mac ?? null, JSON.stringify(detail), this.maxRows, PRUNE_BATCH],
    );
    const id = r!.id;
    return { id, at, kind: e.kind, host: e.host ?? null, mac: e.mac ?? null, detail };
  }
  async list(f: EventFilter = {}): Promise<StoredEvent[]> {
    const limit = Math.max(0, Math.min(f.limit ?? 1000, EVENT_LIST_MAX));
    const where = 'id > $1 AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR host = $3)';
    const sql = f.last
      ? `SELECT * FROM (SELECT * FROM events WHERE ${where} ORDER BY id DESC LIMIT $4) tail ORDER BY id`
      : `SELECT * FROM events WHERE ${where} ORDER BY id LIMIT $4`;
    return (await this.q.all<EventRow>(sql, [f.sinceId ?? 0, f.kind ?? null, f.host ?? null, limit])).map(toEvent);
  }
}

async function hostId(q: Q, host: string, where?: string): Promise<number> {
  const h = await q.get<{ id: number }>('SELECT id FROM hosts WHERE name = $1', [host]);
  if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(host)}`, where ? { where } : {});
  return h.id;
}

export class PgBoot implements BootRepo {
  constructor(private q: Q) {}
  async get(host: string): Promise<BootRecord | null> {
    const r = await this.q.get<BootRecord>(
      'SELECT h.name AS host, b.kernel, b.initrd, b.overlay, b.args, b.updated_at AS "updatedAt" FROM boot b JOIN hosts h ON h.id = b.host_id WHERE h.name = $1',
      [host],
    );
    return r ?? null;
  }
  async put(r: Omit<BootRecord, 'updatedAt'>): Promise<BootRecord> {
    const id = await hostId(this.q, r.host);
    const updatedAt = new Date().toISOString();
    await this.q.run(
      `INSERT INTO boot (host_id, kernel, initrd, overlay, args, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (host_id) DO UPDATE SET kernel = excluded.kernel, initrd = excluded.initrd, overlay = excluded.overlay, args = excluded.args, updated_at = excluded.updated_at`,
      [id, r.kernel, r.initrd, r.overlay, r.args, updatedAt],
    );
    return { ...r, updatedAt };
  }
  async remove(host: string): Promise<void> {
    await this.q.run('DELETE FROM boot WHERE host_id = (SELECT id FROM hosts WHERE name = $1)', [host]);
  }
}

/** The database's clock (transaction start) as ISO-8601 with milliseconds, the format of every stored timestamp. */
const PG_NOW = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export class PgTokens implements TokenRepo {
  constructor(private q: Q) {}
  /**
   * One statement (one round trip under the write lock; postgres.ts ONE_STATEMENT): the host's
   * unused tokens deleted and the new one inserted, stamped by the database's clock. No host: no
   * row changes and E_HOST_NOT_FOUND (no statement failed, so a transaction around it goes on).
   */
  async issue(host: string, tokenHash: string, address: string, ttlSeconds: number): Promise<InstallToken> {
    const t = await this.q.get<{ issuedAt: string; expiresAt: string }>(
      `WITH h AS (SELECT id FROM hosts WHERE name = $1),
            revoked AS (DELETE FROM install_tokens WHERE host_id = (SELECT id FROM h) AND used_at IS NULL)
       INSERT INTO install_tokens (token_hash, host_id, address, issued_at, expires_at)
       SELECT $2, h.id, $3, ${PG_NOW}, to_char((now() + $4::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM h
       RETURNING issued_at AS "issuedAt", expires_at AS "expiresAt"`,
      [host, tokenHash, address, `${ttlSecondsText(ttlSeconds)} seconds`],
    );
    if (!t) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(host)}`);
    return { host, address, issuedAt: t.issuedAt, expiresAt: t.expiresAt, usedAt: null };
  }
  async find(tokenHash: string): Promise<FoundToken | null> {
    const r = await this.q.get<FoundToken>(
      `SELECT h.name AS host, t.address, t.issued_at AS "issuedAt", t.expires_at AS "expiresAt", t.used_at AS "usedAt", t.expires_at <= ${PG_NOW} AS expired
       FROM install_tokens t JOIN hosts h ON h.id = t.host_id WHERE t.token_hash = $1`,
      [tokenHash],
    );
    return r ?? null;
  }
  async consume(tokenHash: string): Promise<boolean> {
    return (await this.q.run(`UPDATE install_tokens SET used_at = ${PG_NOW} WHERE token_hash = $1 AND used_at IS NULL`, [tokenHash])) === 1;
  }
}

export class PgServers implements ServerRepo {
  constructor(private q: Q) {}
  async beat(s: ServerInfo): Promise<void> {
    await this.q.run(
      `INSERT INTO servers (id, host_name, addresses, pid, version, started_at, last_beat) VALUES ($1, $2, $3, $4, $5, ${PG_NOW}, ${PG_NOW})
       ON CONFLICT (id) DO UPDATE SET host_name = excluded.host_name, addresses = excluded.addresses, pid = excluded.pid, version = excluded.version, last_beat = excluded.last_beat`,
      [s.id, s.hostName, JSON.stringify(s.addresses), s.pid, s.version],
    );
  }
  async list(windowSeconds: number): Promise<ServerRecord[]> {
    const rows = await this.q.all<ServerRow>(`SELECT ${SERVER_COLUMNS}, EXTRACT(EPOCH FROM (now() - last_beat::timestamptz))::float8 AS age FROM servers`);
    return rows.map((r) => toServer(r, windowSeconds)).sort(serverOrder);
  }
  async remove(id: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM servers WHERE id = $1', [id])) > 0;
  }
}

export class PgBmcs implements BmcRepo {
  constructor(private q: Q) {}
  async get(host: string): Promise<BmcRecord | null> {
    const r = await this.q.get<BmcRow>(`${BMC_SELECT} WHERE h.name = $1`, [host]);
    return r ? toBmcRecord(r) : null;
  }
  async set(b: BmcRecord): Promise<BmcRecord> {
    const id = await hostId(this.q, b.host, 'host');
    try {
      await this.q.safe(
        `INSERT INTO bmcs (host_id, driver, address, port, "user", secret, insecure_tls, system_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (host_id) DO UPDATE SET driver = excluded.driver, address = excluded.address, port = excluded.port, "user" = excluded."user",
           secret = excluded.secret, insecure_tls = excluded.insecure_tls, system_id = excluded.system_id, updated_at = excluded.updated_at`,
        [id, b.driver, b.address, b.port, b.user, b.secret, b.insecureTls ? 1 : 0, b.systemId, new Date().toISOString()],
      );
    } catch (e) {
      // The CHECKs (driver, port): never echo the row (it holds the secret).
      if (isConstraintError(e)) throw new UserError('E_BMC_BAD', DUPLICATE.bmc);
      throw e;
    }
    return (await this.get(b.host))!;
  }
  async remove(host: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM bmcs WHERE host_id = (SELECT id FROM hosts WHERE name = $1)', [host])) > 0;
  }
  async list(): Promise<BmcRecord[]> {
    return (await this.q.all<BmcRow>(`${BMC_SELECT} ORDER BY h.name COLLATE "C"`)).map(toBmcRecord);
  }
}
