// The PostgreSQL store (store.url = postgres://…): the Store contracts of sqlite.ts over a pool of
// connections (node-postgres), for several netroot servers sharing one database.
//
// Isolation: every write — a single repository call or a whole transaction() — runs in a
// transaction that first takes one cluster-wide advisory lock (pg_advisory_xact_lock), the
// counterpart of SQLite's BEGIN IMMEDIATE: writers from every process and server are serialised, so
// the discovery engine's read-then-insert (byMac, maxRank, usedIps, add) sees every committed host
// and names each machine once. Reads run in REPEATABLE READ READ ONLY transactions: a snapshot over
// their statements that neither waits for nor blocks a writer. Uniqueness stays the database's
// (constraints) as a second line. Inside transaction(), each write call runs under a savepoint, so a
// refused call (a duplicate) undoes only itself and leaves the transaction usable, as in SQLite.
//
// The connection is made on first use (`ready()`; openStoreFromConfig awaits it): a server that
// cannot be reached, or refuses the login, is E_STORE_UNREACHABLE naming host:port, never the
// password. Migrations (postgres-migrations.ts) run then, each under the same lock.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { NetrootError } from '../errors.js';
import { Mutex } from './mutex.js';
import { PG_MIGRATIONS, PG_VERSION_TABLE } from './postgres-migrations.js';
import { unreachable, whereOf } from './postgres-errors.js';
import { PgAppliances, PgAttributes, PgBmcs, PgBoot, PgEvents, PgHosts, PgServers, PgTokens, Q } from './postgres-repos.js';
import {
  APPLIANCE_MODES,
  ATTRIBUTE_MODES,
  BMC_MODES,
  BOOT_MODES,
  DEFAULT_MAX_EVENTS,
  EVENT_MODES,
  HOST_MODES,
  SERVER_MODES,
  TOKEN_MODES,
  type Modes,
} from './rows.js';
import type { ApplianceRepo, AttributeRepo, BmcRepo, BootRepo, EventRepo, HostRepo, Repos, ServerRepo, Store, TokenRepo } from './types.js';

/** The store's write lock: one advisory lock key ("netroot" in ASCII) for every writer of the database. */
const WRITE_LOCK = 'SELECT pg_advisory_xact_lock(31078598385086324)';

export interface PostgresStoreOptions {
  /** Rows the events log keeps (config events.maxRows; default DEFAULT_MAX_EVENTS). */
  maxEvents?: number;
  /** Connections in the pool (config store.poolSize). */
  poolSize?: number;
  /** Read answers kept for when the server is lost (config store.readCacheEntries; 0: none). */
  readCacheEntries?: number;
  /** Milliseconds to wait for a connection before E_STORE_UNREACHABLE (config store.connectTimeoutMs). */
  connectTimeoutMs?: number;
}

/**
 * Write methods that are one statement refused by no constraint: atomic by themselves, no savepoint
 * (two round trips fewer). `issue` (tokens): its only constraint is the token hash's uniqueness, and
 * the hash is of 32 random bytes; a missing host is a UserError without a failed statement.
 */
const ONE_STATEMENT: ReadonlySet<string> = new Set(['append', 'issue']);

/**
 * Reads (repository.method) whose PostgreSQL form is exactly one statement: outside a transaction
 * they run without BEGIN/COMMIT — a statement is its own snapshot — in one round trip instead of
 * three (a DHCP answer's byMac, a kickstart's reads). Q refuses a second statement in them
 * (E_STORE_STATEMENTS), so a method listed here by mistake fails in every test that calls it.
 */
const ONE_STATEMENT_READS: ReadonlySet<string> = new Set([
  'host.get',
  'host.byMac',
  'host.byIp',
  'host.maxRank',
  'host.usedIps',
  'host.states',
  'host.knownMacs',
  'appliance.get',
  'appliance.list',
  'attribute.list',
  'event.list',
  'boot.get',
  'token.find',
  'bmc.get',
  'bmc.list',
  'server.list',
]);

/**
 * The most writes (single calls or whole transactions) that share one COMMIT. This process's writes
 * queue FIFO; those that queued while a commit ran go together in the next transaction, each under
 * its own savepoint (group commit: one WAL flush for all of them; see PostgresStore.write).
 */
const GROUP_MAX = 64;

/** Longest read-cache key (repository, method and arguments as JSON) that is remembered. */
const READ_CACHE_MAX_KEY = 1024;
/**
 * Longest list answer that is remembered: the cache is bounded in entries, and one list of every
 * host of a large cluster (`host list`, the hosts file a batch of insert-ethers rewrites) would be
 * a copy of the whole cluster per entry, made again at every read. Nothing a node boots with is a
 * list that long (its own attributes, the global ones).
 */
const READ_CACHE_MAX_ITEMS = 1000;

/** 'statement': a read of ONE_STATEMENT_READS, run without a transaction. */
type Mode = 'read' | 'write' | 'statement';
/** A pooled connection; `broken` once its ROLLBACK failed. */
type Conn = pg.PoolClient & { broken?: Error; guarded?: boolean };
/** A write waiting for its group commit (PostgresStore.write). */
interface QueuedWrite {
  fn: (q: Q) => Promise<unknown>;
  lockWaitMs: number | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Call = (mode: Mode, key: string, run: (q: Q) => Promise<unknown>, cacheKey: string) => Promise<unknown>;

/** A repository whose every method runs through `call` on the connection call gives it. */
function bind<I>(repo: string, make: (q: Q) => I, modes: Modes<I>, call: Call): I {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(modes) as Array<keyof I & string>) {
    const mode: Mode = modes[key] === 'read' && ONE_STATEMENT_READS.has(`${repo}.${key}`) ? 'statement' : modes[key];
    out[key] = (...args: unknown[]) =>
      call(mode, key, (q) => (make(q)[key] as (...a: unknown[]) => Promise<unknown>)(...args), `${repo}.${key}${JSON.stringify(args)}`);
  }
  return out as I;
}

/** Whether a failure means the server is gone (unreachable, shut down, connection lost), not a refused statement. */
export function lostServer(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (code === 'E_STORE_UNREACHABLE' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  if (typeof code === 'string' && (/^08/.test(code) || /^57P0[123]$/.test(code))) return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error/i.test((e as Error)?.message ?? '');
}

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  private opening: Promise<void> | undefined;
  private closed = false;
  /** Writes waiting for the next group commit (write()), in call order. */
  private readonly writeQueue: QueuedWrite[] = [];
  private writing = false;
  private readonly maxEvents: number;
  /** The last answer of each read (repository, method, arguments) that found something, least recently read first, at most readCacheMax. */
  private readonly readCache = new Map<string, unknown>();
  /**
   * The same for lookups that found nothing (null), at most emptyCacheMax: lookups of keys nobody
   * knows (an unknown MAC, name, address or token — a client's choice, read by DHCP, boot scripts,
   * kickstarts) land here and never push the known hosts' answers out of readCache.
   */
  private readonly emptyCache = new Map<string, unknown>();
  private readonly readCacheMax: number;
  private readonly emptyCacheMax: number;
  /** Reads answered from the cache since the server was lost (0 while it answers). */
  staleReads = 0;
  readonly hosts: HostRepo;
  readonly appliances: ApplianceRepo;
  readonly attributes: AttributeRepo;
  readonly events: EventRepo;
  readonly boot: BootRepo;
  readonly tokens: TokenRepo;
  readonly bmcs: BmcRepo;
  readonly servers: ServerRepo;
  /** The transaction the running code is part of (see sqlite.ts): a store call made inside one would wait for its lock. */
  private readonly txScope = new AsyncLocalStorage<{ open: boolean }>();

  /** Connects nothing yet: the first call (or ready()) does. `url` holds the password: it is never shown. */
  constructor(
    private readonly url: string,
    opts: PostgresStoreOptions = {},
  ) {
    this.maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.readCacheMax = opts.readCacheEntries ?? 10_000;
    this.emptyCacheMax = Math.ceil(this.readCacheMax / 4);
    if (!Number.isSafeInteger(this.maxEvents) || this.maxEvents < 1)
      throw new NetrootError('E_STORE_OPTIONS', `maxEvents must be a positive integer, not ${this.maxEvents}`);
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      // BIGINT (COUNT(*), event ids) as numbers, as SQLite answers them.
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as never },
    });
    // An idle connection the server dropped: the pool discards it; the next call reports the failure.
    this.pool.on('error', () => undefined);
    const single: Call = (mode, key, run, cacheKey) => {
      if (this.txScope.getStore()?.open) {
        return Promise.reject(
          new NetrootError('E_STORE_IN_TX', `store.${key}() called inside transaction(): use the transaction's repos (tx.…), or it would wait for itself`),
        );
      }
      return mode === 'write' ? this.within(mode, run) : this.cachedRead(cacheKey, run, mode);
    };
    const r = this.repos(single);
    this.hosts = r.hosts;
    this.appliances = r.appliances;
    this.attributes = r.attributes;
    this.events = r.events;
    this.boot = r.boot;
    this.tokens = r.tokens;
    this.bmcs = r.bmcs;
    this.servers = r.servers;
  }

  /**
   * A read outside a transaction, remembered: while the server is lost (issue #21: PostgreSQL down
   * while serving), the same read answers its last successful result, so known hosts keep booting
   * (DHCP, boot scripts, kickstarts read through here). A read never made before, and every write,
   * fails (E_STORE_UNREACHABLE or the connection's error; a write's transaction is rolled back or
   * never began: nothing is half-written). Answers are copied in and out (callers may change them).
   */
  private async cachedRead(cacheKey: string, run: (q: Q) => Promise<unknown>, mode: 'read' | 'statement'): Promise<unknown> {
    try {
      const r = await this.within(mode, run);
      this.staleReads = 0;
      this.remember(cacheKey, r);
      return r;
    } catch (e) {
      const cache = this.readCache.has(cacheKey) ? this.readCache : this.emptyCache;
      if (!lostServer(e) || !cache.has(cacheKey)) throw e;
      this.staleReads++;
      return structuredClone(cache.get(cacheKey));
    }
  }

  /** Keeps a read's answer (see cachedRead): most recently read last; the least recently read goes first. */
  private remember(cacheKey: string, r: unknown): void {
    if (this.readCacheMax === 0) return;
    this.readCache.delete(cacheKey);
    this.emptyCache.delete(cacheKey);
    // A key this long is no lookup a node makes (MACs, host names, addresses, tokens are short).
    if (cacheKey.length > READ_CACHE_MAX_KEY) return;
    if (Array.isArray(r) && r.length > READ_CACHE_MAX_ITEMS) return;
    // Lookups by a key (byMac, get, byIp, find...) answer null for a key nobody knows; lists (of a
    // known host's attributes, the global ones) answer [] for a known scope and stay with the rest.
    const empty = r === null || r === undefined;
    const [cache, max] = empty ? [this.emptyCache, this.emptyCacheMax] : [this.readCache, this.readCacheMax];
    cache.set(cacheKey, structuredClone(r));
    if (cache.size > max) cache.delete(cache.keys().next().value as string);
  }

  /** Answers in the read cache now: at most store.readCacheEntries, + a quarter of that for lookups that found nothing. */
  get readCacheSize(): number {
    return this.readCache.size + this.emptyCache.size;
  }

  /** host:port/database, for messages (no user, no password). */
  get where(): string {
    return whereOf(this.url);
  }

  private repos(call: Call): Repos {
    return {
      hosts: bind<HostRepo>('host', (q) => new PgHosts(q), HOST_MODES, call),
      appliances: bind<ApplianceRepo>('appliance', (q) => new PgAppliances(q), APPLIANCE_MODES, call),
      attributes: bind<AttributeRepo>('attribute', (q) => new PgAttributes(q), ATTRIBUTE_MODES, call),
      events: bind<EventRepo>('event', (q) => new PgEvents(q, this.maxEvents), EVENT_MODES, call),
      boot: bind<BootRepo>('boot', (q) => new PgBoot(q), BOOT_MODES, call),
      tokens: bind<TokenRepo>('token', (q) => new PgTokens(q), TOKEN_MODES, call),
      bmcs: bind<BmcRepo>('bmc', (q) => new PgBmcs(q), BMC_MODES, call),
      servers: bind<ServerRepo>('server', (q) => new PgServers(q), SERVER_MODES, call),
    };
  }

  /** Connects and migrates once; a failure is E_STORE_UNREACHABLE and the next call tries again. */
  ready(): Promise<void> {
    this.opening ??= this.open().catch((e: unknown) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  private async open(): Promise<void> {
    const c = await this.connect();
    try {
      // Already current (every open but the first): no lock taken, so a CLI command does not queue behind writers.
      const exists = (await c.query<{ t: boolean }>("SELECT to_regclass('schema_version') IS NOT NULL AS t")).rows[0]?.t === true;
      if (exists && (await this.version(c)) === PG_MIGRATIONS.length) return;
      await this.locked(c, () => c.query(PG_VERSION_TABLE));
      for (let v = await this.version(c); v < PG_MIGRATIONS.length; v++) {
        await this.locked(c, async () => {
          // Another server may have migrated while we waited for the lock.
          if ((await this.version(c)) > v) return;
          await c.query(PG_MIGRATIONS[v]!);
          await c.query('UPDATE schema_version SET version = $1', [v + 1]);
        });
      }
      const now = await this.version(c);
      if (now > PG_MIGRATIONS.length)
        throw new NetrootError('E_STORE_VERSION', `database ${this.where} has schema ${now}, newer than this netroot (${PG_MIGRATIONS.length})`);
    } finally {
      c.release(c.broken);
    }
  }

  private async version(c: Conn): Promise<number> {
    return (await c.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]?.version ?? 0;
  }

  /**
   * fn in a transaction on connection c: under the write lock (waiting at most lockWaitMs for it,
   * when given) or in a read snapshot. A failed ROLLBACK (the connection is gone) marks c broken.
   */
  private async tx<T>(c: Conn, mode: 'read' | 'write', fn: () => Promise<T>, lockWaitMs?: number): Promise<T> {
    try {
      if (mode === 'read') await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      else if (lockWaitMs === undefined) await c.query(`BEGIN; ${WRITE_LOCK}`);
      else await c.query(`BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockWaitMs))}; ${WRITE_LOCK}`);
      const r = await fn();
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch((x: Error) => (c.broken = x));
      throw e;
    }
  }

  private locked<T>(c: Conn, fn: () => Promise<T>): Promise<T> {
    return this.tx(c, 'write', fn);
  }

  /**
   * fn on a pooled connection: in a read snapshot, as one statement without a transaction
   * ('statement'), or under the write lock (write(): queued, grouped).
   */
  private async within<T>(mode: Mode, fn: (q: Q) => Promise<T>, lockWaitMs?: number): Promise<T> {
    await this.ready();
    if (mode === 'write') return this.write(fn, lockWaitMs);
    const c = await this.connect();
    try {
      if (mode === 'statement') return await fn(new Q(c, true));
      return await this.tx(c, 'read', () => fn(new Q(c)));
    } finally {
      // A connection whose ROLLBACK failed (server gone) is not given back to the pool.
      c.release(c.broken);
    }
  }

  /**
   * fn under the write lock, durable when this resolves. This process's writes queue here, FIFO,
   * before they take a connection: they reach the lock in the order they were called (insert-ethers
   * names machines in arrival order, as on SQLite) and a queue of writers holds no connections the
   * readers need. Group commit: the writes that queued while a transaction ran go together in the
   * next one (at most GROUP_MAX, in order), each under its own savepoint — one that fails is rolled
   * back alone and rejects with its error, the others go on — and one COMMIT (one WAL flush) makes
   * them all durable; only then does any of them resolve. A write alone runs as before (no
   * savepoint). When the transaction itself fails (the server lost, COMMIT refused), nothing of the
   * group was committed and every write of it rejects. A write with lockWaitMs (probeWritable) runs alone.
   */
  private write<T>(fn: (q: Q) => Promise<T>, lockWaitMs: number | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.writeQueue.push({ fn, lockWaitMs, resolve: resolve as (v: unknown) => void, reject });
      if (!this.writing) void this.drainWrites();
    });
  }

  private async drainWrites(): Promise<void> {
    this.writing = true;
    try {
      while (this.writeQueue.length > 0) {
        let n = 1;
        if (this.writeQueue[0]!.lockWaitMs === undefined)
          while (n < Math.min(GROUP_MAX, this.writeQueue.length) && this.writeQueue[n]!.lockWaitMs === undefined) n++;
        await this.commitGroup(this.writeQueue.splice(0, n));
      }
    } finally {
      this.writing = false;
    }
  }

  private async commitGroup(group: QueuedWrite[]): Promise<void> {
    let c: Conn;
    try {
      c = await this.connect();
    } catch (e) {
      for (const w of group) w.reject(e);
      return;
    }
    const done: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      if (group.length === 1) {
        const value = await this.tx(c, 'write', () => group[0]!.fn(new Q(c)), group[0]!.lockWaitMs);
        done.push({ ok: true, value });
      } else {
        await this.tx(c, 'write', async () => {
          // A member's savepoint is released with the next one's SAVEPOINT (the last by COMMIT): one round trip.
          let release = '';
          for (let i = 0; i < group.length; i++) {
            await c.query(`${release}SAVEPOINT g${i}`);
            release = '';
            try {
              const value = await group[i]!.fn(new Q(c));
              release = `RELEASE SAVEPOINT g${i}; `;
              done.push({ ok: true, value });
            } catch (error) {
              // A failed ROLLBACK TO (the connection gone) fails the whole transaction below.
              await c.query(`ROLLBACK TO SAVEPOINT g${i}; RELEASE SAVEPOINT g${i}`);
              done.push({ ok: false, error });
            }
          }
        });
      }
    } catch (e) {
      // Nothing of the group was committed: each write fails with its own error, or the transaction's.
      group.forEach((w, i) => {
        const d = done[i];
        w.reject(d && !d.ok ? d.error : e);
      });
      return;
    } finally {
      c.release(c.broken);
    }
    group.forEach((w, i) => {
      const d = done[i]!;
      if (d.ok) w.resolve(d.value);
      else w.reject(d.error);
    });
  }

  private async connect(): Promise<Conn> {
    let c: Conn;
    try {
      c = (await this.pool.connect()) as Conn;
    } catch (e) {
      throw unreachable(this.url, e);
    }
    // The server gone while a connection is checked out between two queries (a transaction awaiting
    // a plugin): node-postgres emits 'error' on it, which would end the process unheard. The next
    // query on it fails instead, and its ROLLBACK marks it broken.
    if (!c.guarded) {
      c.guarded = true;
      c.on('error', (e: Error) => (c.broken ??= e));
    }
    return c;
  }

  async transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    if (this.txScope.getStore()?.open) throw new NetrootError('E_STORE_NESTED_TX', 'nested transactions are not supported');
    return this.within('write', async (q) => {
      const scope = { open: true };
      // One connection: the transaction's calls run one after another, each write under a savepoint.
      const order = new Mutex();
      const inTx: Call = (mode, key, run) => {
        if (!scope.open) return Promise.reject(new NetrootError('E_STORE_IN_TX', `tx.${key}() called after its transaction ended`));
        return order.run(() => (mode === 'write' && !ONE_STATEMENT.has(key) ? q.savepoint(() => run(q)) : run(q)));
      };
      try {
        return await this.txScope.run(scope, () => fn(this.repos(inTx)));
      } finally {
        scope.open = false;
      }
    });
  }

  /** A write under the lock (schema_version rewritten with its own value), waiting at most waitMs for the lock. */
  async probeWritable(waitMs: number): Promise<void> {
    await this.within('write', (q) => q.run('UPDATE schema_version SET version = version'), waitMs);
  }

  /**
   * fn with a connection inside a transaction holding the write lock (after migrations): for
   * `store migrate`, which copies whole tables. Not a Store method: callers are in store/.
   */
  async writeTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.within('write', (q) => fn(q.client));
  }

  /** Ends the pool (waits for calls in flight); a second close() does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
