// The insert-ethers plugin API (after Rocks' insert-ethers plugins). A plugin is a module whose
// default export (or `plugin` export) has a `name` and any of the hooks below. Plugins run in name
// order; `added` hooks of one host run as one unit: if one fails or exceeds its time limit, the
// `removed` hooks of those that already ran are called in reverse order and the host is removed.
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
}

export interface Plugin {
  readonly name: string;
  added?(host: Host, ctx: PluginContext): Promise<void>;
  removed?(host: Host, ctx: PluginContext): Promise<void>;
  /** After `host set` / `host interface add|remove` committed a change to the host (its address, MAC,
   * interfaces, boot action, attributes...). A failure is reported; the change stays. */
  changed?(host: Host, ctx: PluginContext): Promise<void>;
  update?(ctx: PluginContext): Promise<void>;
  done?(ctx: PluginContext): Promise<void>;
}

/** Runs fn with a time limit; a plugin that hangs fails with E_PLUGIN_TIMEOUT. */
export async function withTimeout<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NetrootError('E_PLUGIN_TIMEOUT', `${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([fn(), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Loads site plugins (*.js, *.mjs) from dir in name order. A missing dir means none. */
export async function loadPluginsFrom(dir: string): Promise<Plugin[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.(m?js)$/.test(n)).sort();
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
