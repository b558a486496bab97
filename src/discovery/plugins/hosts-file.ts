// Built-in plugin: keeps <stateDir>/hosts, an /etc/hosts-style list of every host, rewritten
// atomically (write to a temporary file, then rename) whenever hosts come or go.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../atomic-file.js';
import type { Host } from '../../store/index.js';
import type { Plugin, PluginContext } from '../plugin.js';

async function write(ctx: PluginContext, without?: string): Promise<void> {
  const hosts: Host[] = (await ctx.store.hosts.list()).filter((h) => h.name !== without);
  const domain = ctx.config.network.domain;
  const lines = [`# written by netroot; do not edit`, `${ctx.config.network.frontendAddress}\tfrontend.${domain} frontend`];
  // One name per address: the primary (first) interface is the host's name, another one (a second
  // NIC, a BMC) is <host>-<device> (other characters than a-z 0-9 - become -), e.g. compute-0-0-bmc.
  for (const h of hosts)
    h.interfaces.forEach((i, n) => {
      const name = n === 0 ? h.name : `${h.name}-${i.device.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
      if (i.ip) lines.push(`${i.ip}\t${name}.${domain} ${name}`);
    });
  mkdirSync(ctx.config.stateDir, { recursive: true, mode: 0o700 });
  // A unique temporary per write: the daemon and a CLI process may rewrite the list at once.
  // No secret in it: readable like /etc/hosts (the state directory itself is 0700).
  await writeFileAtomic(join(ctx.config.stateDir, 'hosts'), lines.join('\n') + '\n', { mode: 0o644 });
}

export const hostsFilePlugin: Plugin = {
  name: '50-hosts-file',
  added: (_h, ctx) => write(ctx),
  // `removed` runs before the host row is deleted: write the list without it.
  removed: (host, ctx) => write(ctx, host.name),
  changed: (_h, ctx) => write(ctx),
  update: (ctx) => write(ctx),
};
