// Built-in plugin, runs last: once everything else a node needs exists, its boot action becomes
// `install` (Rocks' insert-ethers does the same), so it never PXE-installs half-provisioned.
import type { Plugin } from '../plugin.js';

export const bootActionPlugin: Plugin = {
  name: '90-boot-action',
  async added(host, ctx) {
    await ctx.store.hosts.update(host.name, { bootAction: 'install' });
  },
};
