// `netroot report hosts|dhcp|kickstart HOST` (Rocks' `rocks report host`, `report dhcpd`): the text
// netroot would write or serve, on stdout, for an admin to read, diff or migrate. Nothing is written.
// - hosts: the /etc/hosts list the hosts-file plugin keeps in <stateDir>/hosts (same renderer).
// - dhcp: what the DHCP server hands out, as an ISC dhcpd.conf (src/boot/dhcpd-conf.ts).
// - kickstart HOST: `netroot kickstart HOST`, with the value of every secret-named attribute (the CHAP
//   secrets, passwords, tokens) replaced by ******** wherever it appears, unless --show-secrets.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { mustHost } from './host.js';
import { UserError } from '../errors.js';
import { KickstartService } from '../boot/kickstart.js';
import { renderDhcpdConf } from '../boot/dhcpd-conf.js';
import { hostsFileText } from '../discovery/plugins/hosts-file.js';
import { maskSecretValues } from '../log/secret-values.js';

export const USAGE = `netroot report hosts
       netroot report dhcp
       netroot report kickstart HOST [--show-secrets]`;

export async function reportCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'hosts' && verb !== 'dhcp' && verb !== 'kickstart') throw badVerb('report', verb, USAGE);
  const { values: v, positionals: p } = parse(rest, verb === 'kickstart' ? { 'show-secrets': { type: 'boolean' } } : {}, USAGE);
  if (v.json) throw new UserError('E_USAGE', `report prints text (a hosts file, a dhcpd.conf, a kickstart): --json is not supported\nusage: ${USAGE}`);
  switch (verb) {
    case 'hosts':
      noExtra(p, 0, USAGE);
      ctx.io.out(hostsFileText(await ctx.store.hosts.list(), ctx.config.network));
      return 0;
    case 'dhcp':
      noExtra(p, 0, USAGE);
      ctx.io.out(renderDhcpdConf(await ctx.store.hosts.list(), ctx.config));
      return 0;
    case 'kickstart': {
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const host = await mustHost(ctx, p[0]!);
      const ks = new KickstartService(ctx.store, ctx.config);
      const text = await ks.render(host);
      ctx.io.out(v['show-secrets'] === true ? text : maskSecretValues(text, await ks.attributesOf(host)));
      return 0;
    }
  }
}
