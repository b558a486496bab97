// Built-in plugin: keeps <stateDir>/hosts, an /etc/hosts-style list of every host, rewritten
// atomically (write to a temporary file, then rename) whenever hosts come or go.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../../store/index.js';
import type { Plugin, PluginContext } from '../plugin.js';

async function write(ctx: PluginContext, without?: string): Promise<void> {
  const hosts: Host[] = (await ctx.store.hosts.list()).filter((h) => h.name !== without);
  const domain = ctx.config.network.domain;
  const lines = [`# written by netroot; do not edit`, `${ctx.config.network.frontendAddress}\tfrontend.${domain} frontend`];
  for (const h of hosts) for (const i of h.interfaces) if (i.ip) lines.push(`${i.ip}\t${h.name}.${domain} ${h.name}`);
  mkdirSync(ctx.config.stateDir, { recursive: true });
  const file = join(ctx.config.stateDir, 'hosts');
  writeFileSync(file + '.tmp', lines.join('\n') + '\n');
  renameSync(file + '.tmp', file);
}

export const hostsFilePlugin: Plugin = {
  name: '50-hosts-file',
  added: (_h, ctx) => write(ctx),
  // `removed` runs before the host row is deleted: write the list without it.
  removed: (host, ctx) => write(ctx, host.name),
  update: (ctx) => write(ctx),
};
