// Where discovery events meet insert-ethers sessions, inside the running frontend.
// The DHCP server reports every DISCOVER from an unknown MAC here; each is logged as an event, and
// while an insert-ethers session is open it is added as a host, in the order of first DISCOVER (a
// MAC seen again while queued is not queued twice). Adds run one batch at a time: the DISCOVERs that
// queued while the previous batch ran (at most `maxBatch`) are named together by the engine's
// addMany (one write transaction, the plugins over the batch, each machine answering alone), so a
// rack powered on at once costs one transaction and one hosts-file rewrite per batch, not per machine.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { normalizeMac } from '../net/address.js';
import { UserError } from '../errors.js';
import type { AddOutcome, DiscoveryEngine, InsertOptions, Discovery } from './engine.js';
import type { AddedHost } from './host-service.js';

export interface SessionMachine {
  mac: string;
  host: string | null;
  /** discovered → kickstarted → installed → booted; failed with error. */
  state: string;
  error: string | null;
  at: string;
  /** The volume this host took back (kept by an earlier remove --keep-volume): its old data is on it. */
  reusedVolume?: string;
}

export interface SessionView {
  id: string;
  options: InsertOptions;
  count: number | null;
  machines: SessionMachine[];
  open: boolean;
  /** Bumps on every change; long-poll clients wait for a newer version. */
  version: number;
  /**
   * The provisioning interfaces a DHCP server of this frontend listens on and reports DISCOVERs
   * from; empty: nothing feeds the hub (DHCP off) and no machine will be discovered.
   */
  fedBy: string[];
}

interface Session {
  id: string;
  options: InsertOptions;
  count: number | null;
  machines: SessionMachine[];
  open: boolean;
}

export class DiscoveryHub {
  private readonly emitter = new EventEmitter();
  private readonly sessions = new Map<string, Session>();
  private queue: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  /** Machines waiting for the next batch, in order of first DISCOVER. */
  private pending: Array<{ session: Session; d: Discovery }> = [];
  /** Whether a batch is chained on `queue` that has not yet taken its machines. */
  private scheduled = false;
  private version = 0;
  /** Repeated DISCOVERs of one MAC within this window are logged once. */
  private readonly lastLogged = new Map<string, number>();
  /** A MAC whose add failed (e.g. storage full) is retried on a DISCOVER at most once per window. */
  private readonly lastFailed = new Map<string, number>();
  /**
   * Counters for /metrics: DISCOVERs reported from unknown MACs, machines insert-ethers added from
   * them, and adds that failed (e.g. a plugin failed, storage full).
   */
  readonly metrics = { discovered: 0, added: 0, addFailed: 0 };

  constructor(
    private readonly store: Store,
    private readonly engine: DiscoveryEngine,
    private readonly logger: Logger,
    private readonly dedupeMs = 5000,
    /** The clock (epoch ms) the dedupe and retry windows are measured with; tests inject one. */
    private readonly now: () => number = Date.now,
    /** The most machines one batch names (one write transaction holds the store's write lock for
     * all of them: this bounds how long other writers wait). */
    private readonly maxBatch = 250,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a whole number ≥ 1, not ${maxBatch}`);
    this.emitter.setMaxListeners(1000);
  }

  private feeders: string[] = [];

  /** The frontend says which interfaces its DHCP server reports from (empty when DHCP stops). */
  setFeeders(interfaces: readonly string[]): void {
    this.feeders = [...interfaces];
  }

  private bump(): void {
    this.version++;
    this.emitter.emit('change', this.version);
  }

  /** Called by the DHCP server for every DISCOVER from a MAC the store does not know. */
  report(d: Discovery): void {
    const mac = normalizeMac(d.mac);
    if (!mac) return;
    this.metrics.discovered++;
    const now = this.now();
    if ((this.lastLogged.get(mac) ?? 0) + this.dedupeMs < now) {
      this.lastLogged.set(mac, now);
      if (this.lastLogged.size > 10000) this.lastLogged.clear();
      this.logger.info('discovery: DISCOVER from an unknown machine', { host: null, mac, iface: d.interfaceName ?? null, arch: d.arch ?? null });
      void this.store.events
        .append({
          kind: 'dhcp.discover',
          mac,
          detail: { arch: d.arch ?? null, vendorClass: d.vendorClass ?? null, interface: d.interfaceName ?? null, giaddr: d.giaddr ?? null },
        })
        .catch((e) => this.logger.error('cannot log discovery', { error: e }));
      this.bump();
    }
    const session = this.openSession();
    if (!session || this.queued.has(mac)) return;
    if ((this.lastFailed.get(mac) ?? -Infinity) + this.dedupeMs > now) return;
    this.queued.add(mac);
    this.pending.push({ session, d: { ...d, mac } });
    this.schedule();
  }

  /** Chains one batch on the queue unless one is already waiting to take the pending machines. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // The chain never rejects (addBatch reports its failures; anything else is logged), or one
    // store error would stop every later add.
    this.queue = this.queue.then(() => this.runBatch()).catch((e: unknown) => this.logger.error('insert-ethers: adding machines failed', { error: e }));
  }

  private async runBatch(): Promise<void> {
    this.scheduled = false;
    const batch = this.takeBatch();
    // What is left (another session's machines, past maxBatch) is the next batch.
    if (this.pending.length) this.schedule();
    try {
      await this.addBatch(batch);
    } finally {
      for (const b of batch) this.queued.delete(b.d.mac);
    }
  }

  /**
   * The next machines to name together: the first pending machine's session's, in order, at most
   * maxBatch and no more than the session still wants (its count); one alone when the session
   * fixes the next machine's name or address (Rocks: --hostname/--ipaddr name one machine).
   */
  private takeBatch(): Array<{ session: Session; d: Discovery }> {
    const first = this.pending[0];
    if (!first) return [];
    const s = first.session;
    let room = this.maxBatch;
    if (s.options.hostname !== undefined || s.options.ipaddr !== undefined) room = 1;
    if (s.count !== null) room = Math.min(room, Math.max(1, s.count - s.machines.filter((m) => m.host).length));
    const take: Array<{ session: Session; d: Discovery }> = [];
    const keep: Array<{ session: Session; d: Discovery }> = [];
    for (const p of this.pending) (p.session === s && take.length < room ? take : keep).push(p);
    this.pending = keep;
    return take;
  }

  /** Resolves once every add queued so far has run (tests; a caller that must not race them). */
  async drain(): Promise<void> {
    for (;;) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  private openSession(): Session | undefined {
    for (const s of this.sessions.values()) if (s.open) return s;
    return undefined;
  }

  private async addBatch(batch: ReadonlyArray<{ session: Session; d: Discovery }>): Promise<void> {
    const s = batch[0]?.session;
    if (!s?.open) return;
    // A machine another server (or the CLI) named meanwhile is not added again: one read for the
    // batch; when that fails, each machine's own lookup, so a store error on one machine's is that
    // machine's and the others go on.
    let todo: Discovery[] = [];
    try {
      const known = new Set(await this.store.hosts.knownMacs(batch.map((b) => b.d.mac)));
      todo = batch.map((b) => b.d).filter((d) => !known.has(d.mac));
    } catch {
      for (const { d } of batch) {
        try {
          if (!(await this.store.hosts.byMac(d.mac))) todo.push(d);
        } catch (e) {
          this.logger.error('insert-ethers: adding a machine failed', { mac: d.mac, error: e });
        }
      }
    }
    if (todo.length === 0) return;
    const at = new Date().toISOString();
    let outcomes: AddOutcome[];
    try {
      outcomes = await this.engine.addMany(todo, s.options);
    } catch (e) {
      outcomes = todo.map(() => ({ error: e as Error }));
    }
    todo.forEach((d, k) => {
      const r = outcomes[k]!;
      if (r.host) this.added(s, d, r.host, at);
      else this.failed(s, d, r.error, at);
    });
    this.bump();
  }

  private added(s: Session, d: Discovery, h: AddedHost, at: string): void {
    this.metrics.added++;
    this.lastFailed.delete(d.mac);
    this.logger.info('insert-ethers added a machine', { host: h.name, mac: d.mac, state: h.state });
    const i = s.machines.findIndex((m) => m.mac === d.mac && m.host === null);
    if (i >= 0) s.machines.splice(i, 1);
    s.machines.push({ mac: d.mac, host: h.name, state: h.state, error: null, at, ...(h.reusedVolume ? { reusedVolume: h.reusedVolume } : {}) });
    // Rocks: an explicit --rank or --hostname/--ipaddr applies to the next machine only.
    if (s.options.rank !== undefined) s.options = { ...s.options, rank: h.rank + 1 };
    if (s.options.hostname !== undefined || s.options.ipaddr !== undefined) s.open = false;
    if (s.count !== null && s.machines.filter((m) => m.host).length >= s.count) s.open = false;
  }

  private failed(s: Session, d: Discovery, e: Error, at: string): void {
    this.metrics.addFailed++;
    this.lastFailed.set(d.mac, this.now());
    if (this.lastFailed.size > 10000) this.lastFailed.clear();
    // One line per machine on the screen: a retry that fails again replaces the earlier failure.
    const i = s.machines.findIndex((m) => m.mac === d.mac && m.host === null);
    const entry = { mac: d.mac, host: null, state: 'failed', error: e.message, at };
    if (i >= 0) s.machines[i] = entry;
    else s.machines.push(entry);
    this.logger.warn('insert-ethers could not add a machine', { host: null, mac: d.mac, error: e });
  }

  startSession(options: InsertOptions, count: number | null): SessionView {
    if (this.openSession()) throw new UserError('E_SESSION_BUSY', 'another insert-ethers is already running');
    const s: Session = { id: randomUUID(), options, count, machines: [], open: true };
    this.sessions.set(s.id, s);
    this.bump();
    return this.view(s);
  }

  private must(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new UserError('E_NOT_FOUND', `no insert-ethers session ${id}`);
    return s;
  }

  /** The named machines' current states, one read for all of them (a session names up to thousands). */
  private async refresh(s: Session): Promise<void> {
    const named = s.machines.filter((m) => m.host);
    if (named.length === 0) return;
    const states = new Map((await this.store.hosts.states(named.map((m) => m.host!))).map((r) => [r.name, r.state]));
    for (const m of named) m.state = states.get(m.host!) ?? 'removed';
  }

  private view(s: Session): SessionView {
    return {
      id: s.id,
      options: s.options,
      count: s.count,
      machines: s.machines.map((m) => ({ ...m })),
      open: s.open,
      version: this.version,
      fedBy: [...this.feeders],
    };
  }

  /** The session's machines with their current state; waits up to waitMs for a change after `after`. */
  async getSession(id: string, after = -1, waitMs = 0): Promise<SessionView> {
    const s = this.must(id);
    if (this.version <= after && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(waitMs, 30_000));
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.emitter.once('change', done);
      });
    }
    await this.refresh(s);
    return this.view(s);
  }

  /** Ends a session; plugins get done(). */
  async endSession(id: string): Promise<SessionView> {
    const s = this.must(id);
    s.open = false;
    await this.drain();
    await this.engine.done();
    this.sessions.delete(id);
    await this.refresh(s);
    this.bump();
    return this.view(s);
  }

  /** Host state changes made elsewhere (kickstart fetched, install complete) wake long-polls. */
  changed(): void {
    this.bump();
  }

  /** Calls `listener` after every change (a discovery, a host added or changed); answers the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
