// Built-in plugin: keeps <stateDir>/hosts, an /etc/hosts-style list of every host, rewritten
// atomically (write to a temporary file, then rename) whenever hosts come or go. A batch of hosts
// (insert-ethers naming many machines at once) is one rewrite (`addedBatch`), and so is the
// rollback of several of them (`removedBatch`: the list without them, before their rows go).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../atomic-file.js';
import type { Host } from '../../store/index.js';
import type { Plugin, PluginContext } from '../plugin.js';

/**
 * The name of a host's interface: the primary (first) interface is the host's name, another one (a
 * second NIC, a BMC) is <host>-<device> (other characters than a-z 0-9 - become -), e.g. compute-0-0-bmc.
 */
export function interfaceName(host: Host, index: number): string {
  const i = host.interfaces[index];
  return index === 0 || !i ? host.name : `${host.name}-${i.device.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
}

/** The /etc/hosts text for these hosts: the frontend, then one line per interface with an address. */
export function hostsFileText(hosts: readonly Host[], network: { frontendAddress: string; domain: string }): string {
  const domain = network.domain;
  const lines = [`# written by netroot; do not edit`, `${network.frontendAddress}\tfrontend.${domain} frontend`];
  for (const h of hosts)
    h.interfaces.forEach((i, n) => {
      const name = interfaceName(h, n);
      if (i.ip) lines.push(`${i.ip}\t${name}.${domain} ${name}`);
    });
  return lines.join('\n') + '\n';
}

async function write(ctx: PluginContext, without: ReadonlySet<string> = new Set()): Promise<void> {
  const text = hostsFileText(
    (await ctx.store.hosts.list()).filter((h) => !without.has(h.name)),
    ctx.config.network,
  );
  mkdirSync(ctx.config.stateDir, { recursive: true, mode: 0o700 });
  // A unique temporary per write: the daemon and a CLI process may rewrite the list at once.
  // No secret in it: readable like /etc/hosts (the state directory itself is 0700).
  await writeFileAtomic(join(ctx.config.stateDir, 'hosts'), text, { mode: 0o644 });
}

export const hostsFilePlugin: Plugin = {
  name: '50-hosts-file',
  added: (_h, ctx) => write(ctx),
  addedBatch: async (_hs, ctx) => {
    await write(ctx);
    return undefined;
  },
  // `removed` runs before the host row is deleted: write the list without it.
  removed: (host, ctx) => write(ctx, new Set([host.name])),
  removedBatch: (hosts, ctx) => write(ctx, new Set(hosts.map((h) => h.name))),
  changed: (_h, ctx) => write(ctx),
  update: (ctx) => write(ctx),
};
