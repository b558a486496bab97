// The insert-ethers plugin API (after Rocks' insert-ethers plugins). A plugin is a module whose
// default export (or `plugin` export) has a `name` and any of the hooks below. Plugins run in name
// order; `added` hooks of one host run as one unit: if one fails or exceeds its time limit, the
// `removed` hooks of those that already ran are called in reverse order and the host is removed.
// A batch of hosts (insert-ethers naming many machines at once) runs plugin by plugin over the
// batch (`addedBatch` once, or `added` per host, in the batch's order); a host that fails is rolled
// back alone and the others go on.
// A hook past its time limit is cancelled through its context's `signal`: it must stop, undo what
// that call made, and throw. One that has not stopped within the grace period is reported as still
// running (logged, so the plugin can be fixed); the rollback goes on.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/index.js';
import type { Host, Store } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { NetrootError, UserError } from '../errors.js';

export interface PluginContext {
  store: Store;
  config: Config;
  logger: Logger;
  /** Set by the engine for `removed`: keep the node's data volume (insert-ethers --keep-volume). */
  keepVolume?: boolean;
  /** Set by the engine when `removed` undoes a failed `added` of the same host (rollback). */
  rollback?: boolean;
  /** Aborted when this hook's time limit passes (reason: a PluginTimeoutError). Check it between
   * steps (`signal.throwIfAborted()`) and pass it to I/O that takes one; on abort, undo what this
   * call made and throw. */
  signal?: AbortSignal;
  /**
   * The id of this process's row in the store's `servers` table (a running `netroot serve`; unset in
   * CLI processes). Work a plugin claims in the store names it, so another server can tell a claim
   * whose server died (its heartbeat stale, database clock) from a live one (iscsi-allocation).
   */
  serverId?: string;
}

export interface Plugin {
  readonly name: string;
  added?(host: Host, ctx: PluginContext): Promise<void>;
  removed?(host: Host, ctx: PluginContext): Promise<void>;
  /**
   * Optional batch form of `added`: insert-ethers names many machines at once (a rack powered on)
   * and calls it once with every host of the batch still being added, instead of `added` per host
   * (one host alone still gets `added` when the plugin has it). It resolves with the hosts it could
   * not provide for (name → error): each is rolled back alone; a throw (or the time limit, which is
   * the one hook's limit for the whole call) fails every host of the call. A plugin that rewrites a
   * whole list (the hosts file) does it once here.
   */
  addedBatch?(hosts: readonly Host[], ctx: PluginContext): Promise<ReadonlyMap<string, Error> | undefined>;
  /** Optional batch form of `removed` for the rollback of several hosts of one batch (`rollback`
   * set): once for all of them. A throw means none was undone. */
  removedBatch?(hosts: readonly Host[], ctx: PluginContext): Promise<void>;
  /** After `host set` / `host interface add|remove` committed a change to the host (its address, MAC,
   * interfaces, boot action, attributes...). A failure is reported; the change stays. */
  changed?(host: Host, ctx: PluginContext): Promise<void>;
  /** `host set NAME boot=reset` (issue #20): make the host's per-node state from its golden image
   * again (the iSCSI plugin re-clones its volume). A failure fails the command; nothing is recorded. */
  reset?(host: Host, ctx: PluginContext): Promise<void>;
  update?(ctx: PluginContext): Promise<void>;
  done?(ctx: PluginContext): Promise<void>;
}

/** A hook that did not finish within its time limit. `settled`: it stopped (and undid its work)
 * within the grace period after its signal was aborted; false: it may still be running. */
export class PluginTimeoutError extends NetrootError {
  constructor(
    what: string,
    ms: number,
    readonly settled: boolean,
    graceMs: number,
  ) {
    super('E_PLUGIN_TIMEOUT', `${what} did not finish within ${ms} ms${settled ? '' : ` and had not stopped ${graceMs} ms after it was cancelled`}`);
    this.name = 'PluginTimeoutError';
  }
}

/**
 * Runs fn with a time limit of `ms`. When the limit passes, fn's signal is aborted and fn gets
 * `graceMs` more to stop; either way the answer is a PluginTimeoutError (its `settled` says whether
 * fn stopped), so a caller's rollback never runs while the hook it undoes is still working unless it
 * is told so.
 */
export async function withTimeout<T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>, graceMs = Math.min(ms, 5000)): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const run = Promise.resolve().then(() => fn(ac.signal));
  const limit = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    const first = await Promise.race([run.then((v) => ({ v })), limit]);
    if (first !== 'late') return first.v;
  } finally {
    clearTimeout(timer);
  }
  ac.abort(new PluginTimeoutError(what, ms, true, graceMs));
  let grace: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    run.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      grace = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(grace);
  throw new PluginTimeoutError(what, ms, settled, graceMs);
}

/** Loads site plugins (*.js, *.mjs) from dir in name order. A missing dir means none. */
export async function loadPluginsFrom(dir: string): Promise<Plugin[]> {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /\.(m?js)$/.test(n))
      .sort();
  } catch {
    return [];
  }
  const out: Plugin[] = [];
  for (const n of names) {
    const mod = (await import(pathToFileURL(join(dir, n)).href)) as { default?: Plugin; plugin?: Plugin };
    const p = mod.default ?? mod.plugin;
    if (!p || typeof p.name !== 'string') throw new UserError('E_PLUGIN_INVALID', `${join(dir, n)}: exports no plugin (default export with a name)`);
    out.push(p);
  }
  return out;
}
