// The one host service (DESIGN: one owner per concept): every change to a host — `netroot host
// add|remove|set|interface`, the REST API (src/http/api-routes.ts) and insert-ethers (engine.ts,
// which extends this class with its naming) — comes through here, so the plugins always run.
// Contracts:
//  - add: the host row, its interface and the event are one transaction; then the plugins' `added`
//    run as one unit: on a failure or time-out the plugins that ran are undone (`removed` with
//    `rollback`, reverse order) and the host is removed; the reason is recorded and thrown.
//    A batch (provisionMany: insert-ethers naming many machines at once) runs plugin by plugin over
//    its hosts; one host's failure rolls back that host alone.
//    The host is inserted with boot action `local`, so it never PXE-installs half-provisioned;
//    `90-boot-action` makes it `install`, and an explicit `bootAction` is applied after the plugins.
//  - a host that took back a volume kept by an earlier `remove --keep-volume` says so
//    (`AddedHost.reusedVolume`), and the service logs it: the caller must tell the operator.
//  - remove: the plugins' `removed` run first (reverse order; the iSCSI plugin unexports the volume
//    and deletes it unless keepVolume), then the host row goes; a plugin failure keeps the host.
//  - set: validated changes in one transaction (unique MAC/IP by the database), then the plugins'
//    `changed` hooks (the hosts file). Attribute values never reach the log or the events (only names).
import { FactsChangeLimiter } from './facts-limit.js';
import type { Config } from '../config/index.js';
import {
  BOOT_ACTIONS,
  HOST_STATES,
  type BootAction,
  type Host,
  type HostPatch,
  type HostState,
  type NetInterface,
  type Repos,
  type Store,
} from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { mustMac, mustIPv4 } from '../net/address.js';
import { NetrootError, UserError } from '../errors.js';
import { validHostname } from '../validate/hostname.js';
import { validAttributeName } from '../validate/attribute-name.js';
import { PluginTimeoutError, withTimeout, type Plugin, type PluginContext } from './plugin.js';
import { hostAttributes, REUSED_ATTRIBUTE, VOLUME_ATTRIBUTE } from './plugins/iscsi-allocation.js';
import { abandonedClaim, ADDING_ATTRIBUTE, claimValue } from './claims.js';
import { randomUUID } from 'node:crypto';

export function parseBootAction(v: string, where = 'boot'): BootAction {
  if (!(BOOT_ACTIONS as readonly string[]).includes(v))
    throw new UserError('E_BAD_BOOT_ACTION', `boot action must be one of ${BOOT_ACTIONS.join(', ')}, got ${JSON.stringify(v)}`, { where });
  return v as BootAction;
}

export function parseHostState(v: string, where = 'state'): HostState {
  if (!(HOST_STATES as readonly string[]).includes(v))
    throw new UserError('E_BAD_STATE', `state must be one of ${HOST_STATES.join(', ')}, got ${JSON.stringify(v)}`, { where });
  return v as HostState;
}

/** `netroot host add`: the name is the operator's; rack/rank come from a Rocks name (compute-1-3) unless given. */
export interface HostSpec {
  name: string;
  appliance: string;
  mac: string;
  ip?: string | null | undefined;
  rack?: number | undefined;
  rank?: number | undefined;
  os?: string | undefined;
  arch?: string | undefined;
  device?: string | undefined;
  subnet?: string | undefined;
  bootAction?: BootAction | undefined;
}

/**
 * `netroot host set` / `PATCH /api/v1/hosts/:name`. `ip`/`mac` change the primary (first) interface.
 * `bootAction: 'reset'` (issue #20) runs the plugins' `reset` hooks first (the host's golden clone
 * is thrown away and made again), then sets boot action `os`.
 */
export interface HostChanges extends Omit<HostPatch, 'bootAction'> {
  bootAction?: BootAction | 'reset' | undefined;
  ip?: string | null;
  mac?: string;
  /** Host-scope attributes: a string sets, null unsets. */
  attributes?: Record<string, string | null>;
}

export interface AddedHost extends Host {
  /** Set when the host took back the volume of this name kept by an earlier `remove --keep-volume`. */
  reusedVolume?: string;
}

export interface RemovedHost {
  name: string;
  /** The host's iSCSI volume, when it had one; kept says whether it is still on its storage node. */
  volume: { name: string; kept: boolean } | null;
}

/** Who made a change (events' `by`); `node`: facts a node reported itself (netroot.reportStatus). */
export type Actor = 'cli' | 'api' | 'insert-ethers' | 'node';

/** Failures of one plugin hook (or its time-outs), counted for /metrics. */
export interface PluginFailureCount {
  plugin: string;
  hook: 'added' | 'removed' | 'changed' | 'reset' | 'update' | 'done';
  count: number;
}

/**
 * ADDING_ATTRIBUTE (claims.ts): held while a server runs a new host's plugins (issue #21: several
 * servers on one database): written with the host row by a `netroot serve` (its server id in it),
 * removed when the plugins are done (or with the host, on a rollback). A server killed between the
 * two leaves a host half-provisioned (boot action still `local`): once its heartbeat is stale,
 * another server's `resumeAbandoned()` takes the claim over and runs the plugins' `added` again
 * (each is safe to repeat for a host: iscsi-allocation re-exports or takes over its own claim).
 */
export { ADDING_ATTRIBUTE };

export class HostService {
  protected readonly ctx: PluginContext;
  private readonly failures = new Map<string, PluginFailureCount>();
  /** setFacts: changes of one host's reported facts per hour (http.factsChangesPerHostPerHour). */
  private readonly factsLimiter: FactsChangeLimiter;

  /** Plugin hooks that failed or timed out since start, by plugin and hook (names come from plugin files: bounded). */
  pluginFailures(): PluginFailureCount[] {
    return [...this.failures.values()].map((f) => ({ ...f }));
  }

  protected countFailure(plugin: string, hook: PluginFailureCount['hook']): void {
    const key = `${plugin}\u0000${hook}`;
    const f = this.failures.get(key);
    if (f) f.count++;
    else this.failures.set(key, { plugin, hook, count: 1 });
  }

  /**
   * Runs one plugin hook (`subject` null for update/done, several hosts for a batch hook); a failure
   * is counted and rethrown. Each run is one line: info 'plugin run' or warn 'plugin failed' with
   * plugin, hook, host, MAC (or the batch's size) and ms.
   */
  private async hook<T>(
    plugin: string,
    hook: PluginFailureCount['hook'],
    subject: Host | readonly Host[] | null,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    // A batch hook (addedBatch/removedBatch) is one line naming how many hosts and the first.
    const many = Array.isArray(subject) ? (subject as readonly Host[]) : null;
    const host = many ? null : (subject as Host | null);
    const who = many
      ? { plugin, hook, host: many[0]?.name ?? null, hosts: many.length, mac: null }
      : { plugin, hook, host: host?.name ?? null, mac: host?.interfaces[0]?.mac ?? null };
    const what = many ? `${many.length} host${many.length === 1 ? '' : 's'} from ${many[0]?.name ?? ''}` : (host?.name ?? '');
    try {
      const out = await withTimeout(`plugin ${plugin}: ${hook}(${what})`, this.pluginTimeoutMs, fn);
      this.logger.info('plugin run', { ...who, ms: Date.now() - started });
      return out;
    } catch (e) {
      this.countFailure(plugin, hook);
      this.logger.warn('plugin failed', { ...who, ms: Date.now() - started, error: e });
      throw e;
    }
  }

  constructor(
    protected readonly store: Store,
    protected readonly config: Config,
    readonly plugins: readonly Plugin[],
    protected readonly logger: Logger,
    protected readonly pluginTimeoutMs = 60_000,
    /** This server's id in the `servers` table (`netroot serve`), handed to every plugin hook. */
    serverId?: string,
  ) {
    this.ctx = { store, config, logger, ...(serverId !== undefined ? { serverId } : {}) };
    this.factsLimiter = new FactsChangeLimiter(config.http.factsChangesPerHostPerHour);
  }

  /** `netroot host add` / `POST /api/v1/hosts` with a name. */
  async addHost(spec: HostSpec, by: Actor = 'cli'): Promise<AddedHost> {
    const name = validHostname(spec.name);
    const mac = mustMac(spec.mac, 'mac');
    if (spec.ip !== undefined && spec.ip !== null) mustIPv4(spec.ip, 'ip');
    const mark = this.addingMark();
    const host = await this.store.transaction(async (tx) => {
      if (await tx.hosts.get(name)) throw new UserError('E_DUPLICATE', `host ${name} already exists`, { where: 'name' });
      const appliance = await tx.appliances.get(spec.appliance);
      if (!appliance) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(spec.appliance)}`, { where: 'appliance' });
      // Rocks names encode rack and rank: compute-1-3 → rack 1, rank 3, unless given.
      const m = /-(\d+)-(\d+)$/.exec(name);
      const rack = spec.rack ?? (m ? Number(m[1]) : 0);
      const rank = spec.rank ?? (m ? Number(m[2]) : (await tx.hosts.maxRank(appliance.basename, rack)) + 1);
      const h = await tx.hosts.add({
        name,
        appliance: appliance.name,
        rack,
        rank,
        os: spec.os ?? 'linux',
        arch: spec.arch ?? 'x86_64',
        bootAction: 'local',
        interfaces: [{ mac, ip: spec.ip ?? null, subnet: spec.subnet ?? this.config.network.privateNetwork, device: spec.device ?? 'eth0' }],
      });
      await tx.events.append({ kind: 'host.added', host: name, mac, detail: { by, ip: spec.ip ?? null } });
      if (mark) await tx.attributes.set({ scope: 'host', target: name, name: ADDING_ATTRIBUTE, value: mark });
      return h;
    });
    const added = await this.provision(host, mark);
    if (spec.bootAction !== undefined && added.bootAction !== spec.bootAction) {
      return { ...(await this.store.hosts.update(name, { bootAction: spec.bootAction })), ...(added.reusedVolume ? { reusedVolume: added.reusedVolume } : {}) };
    }
    return added;
  }

  /**
   * The ADDING_ATTRIBUTE value for a new host's add. A server's names it (another server may take
   * it over once this one is judged dead); a CLI process's names none and never expires (claims.ts):
   * it still tells the boot scripts that the host is being added, and a CLI killed mid-add leaves
   * the host waiting until `netroot host remove`, not booting a local disk it may not have.
   */
  protected addingMark(): string {
    return claimValue(randomUUID(), this.ctx.serverId);
  }

  /**
   * Whether this add's claim (ADDING_ATTRIBUTE) was taken over by another server (judged dead): the
   * host is there and its claim is not ours any more (another's, or dropped by the one that finished).
   */
  private async takenOver(name: string, mark: string | undefined): Promise<boolean> {
    if (!mark) return false;
    try {
      if (!(await this.store.hosts.get(name))) return false;
      return (await hostAttributes(this.store, name))[ADDING_ATTRIBUTE] !== mark;
    } catch {
      return false;
    }
  }

  /** Drops this add's claim when it is still ours. */
  private async releaseMark(name: string, mark: string | undefined): Promise<void> {
    if (!mark) return;
    await this.store.transaction(async (tx) => {
      if ((await hostAttributes(tx, name))[ADDING_ATTRIBUTE] === mark) await tx.attributes.unset('host', name, ADDING_ATTRIBUTE);
    });
  }

  /**
   * Runs the plugins' `added` for a host just inserted (see the header); the host as it is after
   * them. `mark`: this server's add claim (ADDING_ATTRIBUTE), dropped at the end; when another
   * server took it over meanwhile (this one was judged dead), nothing is rolled back or dropped:
   * the host is the other server's to finish (E_ADD_TAKEN_OVER).
   */
  protected async provision(host: Host, mark?: string): Promise<AddedHost> {
    const [r] = await this.provisionMany([host], mark);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * `provision` for a batch of hosts just inserted (insert-ethers naming many machines at once):
   * plugin by plugin over the batch, in the batch's order — `addedBatch` once when the plugin has it
   * (and the batch has more than one host, or it has no `added`), else `added` per host. A host whose
   * hook fails (or times out) is rolled back alone: the plugins that ran for it are undone in reverse
   * order (`removedBatch` once for the hosts failed at the same step, else `removed` each), its row
   * goes (or stays marked failed when something could not be undone), and its answer is the
   * E_PLUGIN_FAILED error; the other hosts go on. Answers one entry per host, in order. `mark`: the
   * batch's add claim (see provision); a host whose claim another server took over is left to it,
   * neither rolled back nor released (E_ADD_TAKEN_OVER).
   */
  protected async provisionMany(hosts: readonly Host[], mark?: string): Promise<Array<AddedHost | Error>> {
    const out = new Map<string, AddedHost | Error>();
    const done = new Map<string, Plugin[]>(hosts.map((h) => [h.name, []]));
    let live = [...hosts];
    for (const p of this.plugins) {
      if (live.length === 0) break;
      if (!p.added && !p.addedBatch) continue;
      const failed: Array<{ host: Host; error: unknown }> = [];
      if (p.addedBatch && (live.length > 1 || !p.added)) {
        const group = live;
        try {
          const refused = await this.hook(p.name, 'added', group, (signal) => p.addedBatch!(group, { ...this.ctx, signal }));
          for (const h of group) {
            const e = refused?.get(h.name);
            if (e) failed.push({ host: h, error: e });
            else done.get(h.name)!.push(p);
          }
        } catch (e) {
          for (const h of group) failed.push({ host: h, error: e });
        }
      } else {
        for (const h of live) {
          try {
            await this.hook(p.name, 'added', h, (signal) => p.added!(h, { ...this.ctx, signal }));
            done.get(h.name)!.push(p);
          } catch (e) {
            failed.push({ host: h, error: e });
          }
        }
      }
      if (failed.length === 0) continue;
      const ours: typeof failed = [];
      for (const f of failed) {
        if (await this.takenOver(f.host.name, mark))
          out.set(
            f.host.name,
            new NetrootError('E_ADD_TAKEN_OVER', `${f.host.name}: another server took over its add (this one was judged dead): nothing undone`, {
              cause: f.error,
            }),
          );
        else ours.push(f);
      }
      if (ours.length) for (const [name, e] of await this.rollBack(p, ours, done, mark)) out.set(name, e);
      live = live.filter((h) => !out.has(h.name));
    }
    // The batch's claims are released in one transaction (not one per host: a batch is up to 250),
    // each only while it is still ours; a host whose claim another server took over is its to finish.
    const taken = new Set<string>();
    if (mark && live.length)
      await this.store.transaction(async (tx) => {
        const present = new Set((await tx.hosts.states(live.map((h) => h.name))).map((r) => r.name));
        for (const h of live) {
          if (!present.has(h.name)) continue;
          if ((await hostAttributes(tx, h.name))[ADDING_ATTRIBUTE] === mark) await tx.attributes.unset('host', h.name, ADDING_ATTRIBUTE);
          else taken.add(h.name);
        }
      });
    // Each host as the plugins left it: reads, made at once (PostgreSQL: on pooled connections).
    const after = await Promise.all(live.map((h) => (taken.has(h.name) ? null : this.afterAdd(h))));
    for (const [k, h] of live.entries())
      out.set(h.name, after[k] ?? new NetrootError('E_ADD_TAKEN_OVER', `${h.name}: another server took over its add (this one was judged dead)`));
    return hosts.map((h) => out.get(h.name)!);
  }

  /** Undoes the hosts `failed` at plugin `p` (see provisionMany); their errors by host name. */
  private async rollBack(
    p: Plugin,
    failed: ReadonlyArray<{ host: Host; error: unknown }>,
    done: ReadonlyMap<string, Plugin[]>,
    mark: string | undefined,
  ): Promise<Map<string, Error>> {
    const reasons = new Map<string, string>();
    const undo = new Map<string, string[]>();
    for (const { host, error } of failed) {
      reasons.set(host.name, `plugin ${p.name} failed: ${(error as Error).message}`);
      undo.set(host.name, []);
      this.logger.error('host add: plugin failed, rolling back', { host: host.name, plugin: p.name, error });
      // A hook cancelled at its time limit that ignored its signal may still be working; the
      // rollback goes on (the host row goes, so its late writes find no host: see
      // iscsi-allocation's E_STORAGE_HOST_GONE), and the log says which plugin to fix.
      if (error instanceof PluginTimeoutError && !error.settled)
        this.logger.warn('plugin ignored its cancellation and may still be running', { host: host.name, plugin: p.name });
    }
    const ctx = { ...this.ctx, keepVolume: false, rollback: true };
    for (const q of [...this.plugins].reverse()) {
      const hs = failed.map((f) => f.host).filter((h) => done.get(h.name)!.includes(q));
      if (hs.length === 0) continue;
      if (q.removedBatch && (hs.length > 1 || !q.removed)) {
        try {
          await this.hook(q.name, 'removed', hs, (signal) => q.removedBatch!(hs, { ...ctx, signal }));
        } catch (u) {
          for (const h of hs) undo.get(h.name)!.push(`plugin ${q.name} could not undo: ${(u as Error).message}`);
        }
        continue;
      }
      for (const h of hs) {
        try {
          await this.hook(q.name, 'removed', h, (signal) => q.removed?.(h, { ...ctx, signal }) ?? Promise.resolve());
        } catch (u) {
          undo.get(h.name)!.push(`plugin ${q.name} could not undo: ${(u as Error).message}`);
        }
      }
    }
    const clean = failed.filter((f) => undo.get(f.host.name)!.length === 0).map((f) => f.host);
    if (clean.length) {
      await this.store.transaction(async (tx) => {
        for (const h of clean) {
          await tx.hosts.remove(h.name);
          await tx.events.append({ kind: 'host.add_failed', host: h.name, mac: h.interfaces[0]?.mac ?? null, detail: { reason: reasons.get(h.name)! } });
        }
      });
    }
    const out = new Map<string, Error>();
    for (const { host, error } of failed) {
      const reason = reasons.get(host.name)!;
      const left = undo.get(host.name)!;
      if (left.length) {
        // Something outside the database could not be undone: keep the host, marked failed, so
        // the operator sees what is left (`netroot host remove` cleans it up).
        await this.store.hosts.update(host.name, { state: 'failed', stateDetail: [reason, ...left].join('; ') });
        await this.releaseMark(host.name, mark);
        await this.store.events.append({ kind: 'host.add_failed', host: host.name, detail: { reason, undo: left } });
      }
      out.set(
        host.name,
        new NetrootError('E_PLUGIN_FAILED', `${host.name} was not added: ${reason}${left.length ? ` (${left.join('; ')})` : ''}`, { cause: error }),
      );
    }
    return out;
  }

  /** The host as the plugins left it; `reusedVolume` (logged) when it took back a kept volume. */
  private async afterAdd(host: Host): Promise<AddedHost> {
    const after = (await this.store.hosts.get(host.name))!;
    const attrs = await hostAttributes(this.store, host.name);
    if (attrs[REUSED_ATTRIBUTE] === 'true') {
      const volume = attrs[VOLUME_ATTRIBUTE] ?? host.name;
      this.logger.warn('host took back a kept volume: its old data is on it', { host: host.name, volume });
      return { ...after, reusedVolume: volume };
    }
    return after;
  }

  /**
   * Finishes the adds of servers that died mid-way (ADDING_ATTRIBUTE naming a server whose heartbeat
   * is older than servers.staleSeconds, database clock, or gone): takes each claim over under the
   * write lock (event `host.add-resumed`) and runs the plugins' `added` again, with the same rollback
   * as a new add. Only a server (ctx.serverId) does this; the names it resumed, and those that failed.
   */
  async resumeAbandoned(): Promise<{ resumed: string[]; failed: string[] }> {
    const out = { resumed: [] as string[], failed: [] as string[] };
    const serverId = this.ctx.serverId;
    if (!serverId) return out;
    const marks = (await this.store.attributes.list({ scope: 'host' })).filter((a) => a.name === ADDING_ATTRIBUTE);
    for (const m of marks) {
      const mark = claimValue(randomUUID(), serverId);
      const taken = await this.store.transaction(async (tx) => {
        const held = (await hostAttributes(tx, m.target))[ADDING_ATTRIBUTE];
        const dead = held ? await abandonedClaim(tx, held, this.config.servers.staleSeconds) : null;
        const host = dead ? await tx.hosts.get(m.target) : null;
        if (!dead || !host) return null;
        await tx.attributes.set({ scope: 'host', target: m.target, name: ADDING_ATTRIBUTE, value: mark });
        await tx.events.append({ kind: 'host.add-resumed', host: m.target, mac: host.interfaces[0]?.mac ?? null, detail: { ...dead } });
        return { host, dead };
      });
      if (!taken) continue;
      this.logger.warn('host add of a dead server taken over', { host: m.target, server: taken.dead.server, heartbeatAgeSeconds: taken.dead.ageSeconds });
      try {
        await this.provision(taken.host, mark);
        out.resumed.push(m.target);
      } catch (e) {
        this.logger.error('host add taken over failed', { host: m.target, error: e });
        out.failed.push(m.target);
      }
    }
    return out;
  }

  /** `host remove` / `insert-ethers --remove` / `DELETE /api/v1/hosts/:name`. */
  async remove(name: string, opts: { keepVolume?: boolean | undefined; by?: Actor } = {}): Promise<RemovedHost> {
    const host = await this.mustHost(name);
    const keepVolume = opts.keepVolume ?? false;
    const volumeName = (await hostAttributes(this.store, name))[VOLUME_ATTRIBUTE];
    for (const p of [...this.plugins].reverse()) {
      if (!p.removed) continue;
      try {
        await this.hook(p.name, 'removed', host, (signal) => p.removed!(host, { ...this.ctx, keepVolume, signal }));
      } catch (e) {
        throw new NetrootError('E_PLUGIN_FAILED', `${name} was not removed: plugin ${p.name} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    await this.store.transaction(async (tx) => {
      await tx.hosts.remove(name);
      await tx.events.append({ kind: 'host.removed', host: name, detail: { keepVolume, by: opts.by ?? 'cli' } });
    });
    return { name, volume: volumeName ? { name: volumeName, kept: keepVolume } : null };
  }

  /** insert-ethers --replace: a new MAC takes the host's name, rack, rank and address (and its volume). */
  async replace(name: string, newMac: string): Promise<Host> {
    const mac = mustMac(newMac);
    return this.store.transaction(async (tx) => {
      const host = await tx.hosts.get(name);
      if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      const other = await tx.hosts.byMac(mac);
      if (other) throw new UserError('E_MAC_KNOWN', `${mac} is already ${other.name}`, { where: 'mac' });
      const old = host.interfaces[0];
      if (old) await tx.hosts.updateInterface(old.mac, { mac });
      else await tx.hosts.addInterface(name, { mac, ip: null, subnet: this.config.network.privateNetwork, device: 'eth0' });
      await tx.events.append({ kind: 'host.replaced', host: name, mac, detail: { oldMac: old?.mac ?? null } });
      return (await tx.hosts.get(name))!;
    });
  }

  /** `host set` / `PATCH /api/v1/hosts/:name`: validated, one transaction, then the plugins' `changed`. */
  async set(name: string, c: HostChanges, by: Actor = 'cli'): Promise<Host> {
    const patch: HostPatch = {};
    const reset = c.bootAction === 'reset';
    if (reset) patch.bootAction = 'os';
    else if (c.bootAction !== undefined) patch.bootAction = parseBootAction(c.bootAction);
    if (c.state !== undefined) patch.state = parseHostState(c.state);
    if (c.stateDetail !== undefined) patch.stateDetail = c.stateDetail;
    for (const k of ['appliance', 'os', 'arch'] as const) {
      const v = c[k];
      if (v !== undefined) {
        if (v === '') throw new UserError('E_USAGE', 'must not be empty', { where: k });
        patch[k] = v;
      }
    }
    for (const k of ['rack', 'rank'] as const) {
      const v = c[k];
      if (v !== undefined) {
        if (!Number.isInteger(v) || v < 0 || v > 1_000_000)
          throw new UserError('E_USAGE', `expected a whole number from 0 to 1000000, got ${JSON.stringify(v)}`, { where: k });
        patch[k] = v;
      }
    }
    const mac = c.mac === undefined ? undefined : mustMac(c.mac, 'mac');
    if (c.ip !== undefined && c.ip !== null) mustIPv4(c.ip, 'ip');
    const attrs = Object.entries(c.attributes ?? {});
    for (const [k] of attrs) validAttributeName(k, 'attributes');
    const fields = [...Object.keys(patch), ...(mac !== undefined ? ['mac'] : []), ...(c.ip !== undefined ? ['ip'] : [])];
    if (fields.length === 0 && attrs.length === 0) throw new UserError('E_USAGE', `nothing to change for ${name}`);
    if (reset) {
      // Before the change is recorded: a reset that fails leaves the host as it was (and says why).
      const h = await this.store.hosts.get(name);
      if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      const resetters = this.plugins.filter((p) => p.reset);
      if (resetters.length === 0) throw new UserError('E_USAGE', `boot=reset: no plugin can reset ${name}`);
      for (const p of resetters) await this.hook(p.name, 'reset', h, (signal) => p.reset!(h, { ...this.ctx, signal }));
    }
    const host = await this.store.transaction(async (tx) => {
      const before = await tx.hosts.get(name);
      if (!before) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      if (patch.appliance !== undefined && !(await tx.appliances.get(patch.appliance)))
        throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(patch.appliance)}`, { where: 'appliance' });
      if (Object.keys(patch).length) await tx.hosts.update(name, patch);
      if (mac !== undefined || c.ip !== undefined) {
        const primary = before.interfaces[0];
        if (!primary) throw new UserError('E_NO_INTERFACE', `${name} has no interface (add one with: netroot host interface add)`, { where: 'host' });
        await tx.hosts.updateInterface(primary.mac, { ...(mac !== undefined ? { mac } : {}), ...(c.ip !== undefined ? { ip: c.ip } : {}) });
      }
      await setAttributes(tx, name, attrs);
      await tx.events.append({ kind: 'host.changed', host: name, mac: mac ?? null, detail: { by, fields, attributes: attrs.map(([k]) => k) } });
      return (await tx.hosts.get(name))!;
    });
    await this.runChanged(host);
    return host;
  }

  /**
   * Facts a node reported about itself (netroot.reportStatus: `cpus`, `memory_mb`; already checked
   * by the caller), stored as host attributes. A node reports at every boot, so:
   *  - values equal to the stored ones change nothing (no event, no plugin runs); answers false;
   *  - changed ones are written with a `host.changed` event (by `node`), then the plugins' `changed`
   *    run (the slurm-conf plugin rewrites slurm.conf and applies it); answers true;
   *  - when a `changed` hook fails, the facts are rolled back like a failed add: the previous values
   *    are put back (each only while it is still the one written here: a newer report wins), the
   *    plugins' `changed` run again on them (best effort; the slurm-conf plugin has put its previous
   *    file back already, so it has nothing to do), event `host.facts-rolled-back`; then E_PLUGIN_FAILED
   *    is thrown. So the next report (the next boot) finds them different and tries again;
   *  - a host whose facts changed http.factsChangesPerHostPerHour times in the last hour is refused
   *    (E_TOO_MANY_FACT_CHANGES) before anything is written: each change restarts slurmctld.
   */
  async setFacts(name: string, facts: Readonly<Record<string, string>>, by: Actor = 'node'): Promise<boolean> {
    for (const k of Object.keys(facts)) validAttributeName(k, 'facts');
    const previous = await this.store.transaction(async (tx) => {
      if (!(await tx.hosts.get(name))) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      const now = await hostAttributes(tx, name);
      const differ = Object.entries(facts).filter(([k, v]) => now[k] !== v);
      if (differ.length === 0) return null;
      if (!this.factsLimiter.take(name))
        throw new UserError(
          'E_TOO_MANY_FACT_CHANGES',
          `${name}: its reported facts changed more than ${this.config.http.factsChangesPerHostPerHour} times in the last hour; not stored (http.factsChangesPerHostPerHour)`,
        );
      await setAttributes(tx, name, differ);
      await tx.events.append({ kind: 'host.changed', host: name, detail: { by, fields: [], attributes: differ.map(([k]) => k) } });
      return differ.map(([k]): [string, string | null] => [k, now[k] ?? null]);
    });
    if (previous === null) return false;
    const host = await this.mustHost(name);
    try {
      await this.runChanged(host);
      return true;
    } catch (e) {
      const restored = await this.store.transaction(async (tx) => {
        const now = await hostAttributes(tx, name);
        const ours = previous.filter(([k]) => now[k] === facts[k]);
        await setAttributes(tx, name, ours);
        await tx.events.append({ kind: 'host.facts-rolled-back', host: name, detail: { by, attributes: ours.map(([k]) => k) } });
        return ours.length;
      });
      this.logger.error('reported facts not applied: rolled back', { host: name, attributes: previous.map(([k]) => k), error: e });
      if (restored > 0) {
        try {
          await this.runChanged(await this.mustHost(name));
        } catch (again) {
          this.logger.error('reported facts rolled back, but a plugin failed on the previous values too', { host: name, error: again });
        }
      }
      throw new NetrootError('E_PLUGIN_FAILED', `${name}: the reported facts were rolled back: ${(e as Error).message}`, { cause: e });
    }
  }

  /** `host interface add`: a second NIC, or a BMC (device `bmc`/`ipmi`), on an existing host. */
  async addInterface(
    name: string,
    iface: { mac: string; ip?: string | null | undefined; device: string; subnet?: string | null | undefined },
    by: Actor = 'cli',
  ): Promise<Host> {
    const mac = mustMac(iface.mac, 'mac');
    if (iface.ip !== undefined && iface.ip !== null) mustIPv4(iface.ip, 'ip');
    if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(iface.device))
      throw new UserError('E_USAGE', `not a device name: ${JSON.stringify(iface.device)}`, { where: 'device' });
    const host = await this.store.transaction(async (tx) => {
      const h = await tx.hosts.get(name);
      if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      if (h.interfaces.some((i) => i.device === iface.device))
        throw new UserError('E_DUPLICATE', `${name} already has an interface ${iface.device}`, { where: 'device' });
      const row: NetInterface = { mac, ip: iface.ip ?? null, subnet: iface.subnet ?? this.config.network.privateNetwork, device: iface.device };
      await tx.hosts.addInterface(name, row);
      await tx.events.append({ kind: 'host.interface_added', host: name, mac, detail: { by, device: iface.device, ip: row.ip } });
      return (await tx.hosts.get(name))!;
    });
    await this.runChanged(host);
    return host;
  }

  /** `host interface remove`: by MAC or device; the primary (first) interface stays (use `host set mac=`). */
  async removeInterface(name: string, which: string, by: Actor = 'cli'): Promise<Host> {
    const host = await this.store.transaction(async (tx) => {
      const h = await tx.hosts.get(name);
      if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
      const mac = /^[0-9a-fA-F:-]{12,17}$/.test(which) ? mustMac(which, 'interface') : null;
      const i = h.interfaces.findIndex((x) => (mac !== null ? x.mac === mac : x.device === which));
      if (i < 0) throw new UserError('E_NOT_FOUND', `${name} has no interface ${JSON.stringify(which)}`, { where: 'interface' });
      if (i === 0)
        throw new UserError(
          'E_USAGE',
          `${h.interfaces[0]!.device} is ${name}'s primary interface (it boots from it); change it with: netroot host set ${name} mac=…`,
          { where: 'interface' },
        );
      await tx.hosts.removeInterface(h.interfaces[i]!.mac);
      await tx.events.append({ kind: 'host.interface_removed', host: name, mac: h.interfaces[i]!.mac, detail: { by, device: h.interfaces[i]!.device } });
      return (await tx.hosts.get(name))!;
    });
    await this.runChanged(host);
    return host;
  }

  async update(): Promise<void> {
    for (const p of this.plugins) if (p.update) await this.hook(p.name, 'update', null, (signal) => p.update!({ ...this.ctx, signal }));
  }

  async done(): Promise<void> {
    for (const p of this.plugins) if (p.done) await this.hook(p.name, 'done', null, (signal) => p.done!({ ...this.ctx, signal }));
  }

  async mustHost(name: string): Promise<Host> {
    const h = await this.store.hosts.get(name);
    if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
    return h;
  }

  /** The change is committed; a hook that fails is reported (the operator reruns `insert-ethers --update`). */
  private async runChanged(host: Host): Promise<void> {
    const failed: string[] = [];
    for (const p of this.plugins) {
      if (!p.changed) continue;
      try {
        await this.hook(p.name, 'changed', host, (signal) => p.changed!(host, { ...this.ctx, signal }));
      } catch (e) {
        failed.push(`plugin ${p.name} failed: ${(e as Error).message}`);
      }
    }
    if (failed.length) throw new NetrootError('E_PLUGIN_FAILED', `${host.name} was changed, but ${failed.join('; ')} (run: netroot insert-ethers --update)`);
  }
}

async function setAttributes(tx: Repos, host: string, attrs: Array<[string, string | null]>): Promise<void> {
  for (const [k, v] of attrs) {
    if (v === null) await tx.attributes.unset('host', host, k);
    else await tx.attributes.set({ scope: 'host', target: host, name: k, value: v });
  }
}
