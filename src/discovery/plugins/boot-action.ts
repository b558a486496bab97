// Built-in plugin, runs last: once everything else a node needs exists, its boot action becomes
// `install` (Rocks' insert-ethers does the same), so it never PXE-installs half-provisioned.
// A host that 40-iscsi-allocation gave a golden clone (issue #20) needs no install: `bootClone`
// (src/boot/diskless.ts, passed in by the composition root: discovery may not import boot) writes
// its overlay with the first-boot personalisation and its boot record, and sets boot action `os`;
// it answers false when the host is no clone or its golden volume does not say how it boots (no
// root file-system UUID recorded), and the host installs as before. `reset` (host set boot=reset,
// after the allocation plugin re-cloned the volume with a new clone id) renders the overlay again,
// so the personalisation runs once more on the fresh clone. A batch of hosts (`addedBatch`) sets
// every non-clone to `install` in one transaction.
import type { Host } from '../../store/index.js';
import type { Plugin, PluginContext } from '../plugin.js';

export interface BootActionDeps {
  /** Boots a golden clone without an install; false when `host` is not one that can. */
  bootClone?: (host: Host, ctx: PluginContext) => Promise<boolean>;
}

export function makeBootActionPlugin(deps: BootActionDeps = {}): Plugin {
  const { bootClone } = deps;
  return {
    name: '90-boot-action',
    async added(host, ctx) {
      if (bootClone && (await bootClone(host, ctx))) return;
      await ctx.store.hosts.update(host.name, { bootAction: 'install' });
    },
    // A batch (insert-ethers naming many machines at once): each clone booted alone (a failure is
    // that host's), then every other host set to `install` in one transaction.
    async addedBatch(hosts, ctx) {
      const refused = new Map<string, Error>();
      const install: Host[] = [];
      for (const h of hosts) {
        ctx.signal?.throwIfAborted();
        try {
          if (!bootClone || !(await bootClone(h, ctx))) install.push(h);
        } catch (e) {
          refused.set(h.name, e as Error);
        }
      }
      await ctx.store.transaction(async (tx) => {
        for (const h of install) await tx.hosts.update(h.name, { bootAction: 'install' });
      });
      return refused;
    },
    ...(bootClone
      ? {
          async reset(host: Host, ctx: PluginContext) {
            await bootClone(host, ctx);
          },
        }
      : {}),
  };
}

/** The plugin without clone boots (every new host installs). */
export const bootActionPlugin: Plugin = makeBootActionPlugin();
