// `netroot host interface add|remove` — a host's second NIC or its BMC address (device `bmc`), next to
// the primary interface it boots from (that one changes with `host set NAME mac=… ip=…`). Through the
// host service like every host change (REST, else in this process), so the hosts file follows.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { json } from './output.js';
import { UserError } from '../errors.js';
import { mustMac, mustIPv4 } from '../net/address.js';
import type { Host } from '../store/index.js';
import { FrontendOrLocal } from './frontend-or-local.js';
import { validHostname } from '../validate/hostname.js';

export const INTERFACE_USAGE = `       netroot host interface add NAME --mac MAC [--device DEV (default eth1; bmc for a BMC)] [--ip IP] [--subnet CIDR]
       netroot host interface remove NAME MAC|DEVICE`;

export async function hostInterfaceCommand(ctx: CliContext, argv: string[], usage: string): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'add': {
      const { values: v, positionals: p } = parse(
        rest,
        { mac: { type: 'string' }, device: { type: 'string' }, ip: { type: 'string' }, subnet: { type: 'string' } },
        usage,
      );
      needPositional(p, 1, usage);
      noExtra(p, 1, usage);
      const name = validHostname(p[0]!, 'host');
      if (!v.mac) throw new UserError('E_USAGE', `--mac is required\nusage: ${usage}`);
      if (v.ip !== undefined) mustIPv4(v.ip, 'ip');
      const iface = {
        mac: mustMac(v.mac, 'mac'),
        device: v.device ?? 'eth1',
        ...(v.ip !== undefined ? { ip: v.ip } : {}),
        ...(v.subnet !== undefined ? { subnet: v.subnet } : {}),
      };
      const h = await new FrontendOrLocal(ctx).run(
        (api) => api.call<Host>('POST', `/api/v1/hosts/${encodeURIComponent(name)}/interfaces`, iface),
        (e) => e.addInterface(name, iface, 'cli'),
      );
      ctx.io.out(v.json ? json(h) : `${h.name}: interface ${iface.device} ${iface.mac} ${iface.ip ?? '-'} added\n`);
      return 0;
    }
    case 'remove': {
      const { values: v, positionals: p } = parse(rest, {}, usage);
      needPositional(p, 2, usage);
      noExtra(p, 2, usage);
      const name = validHostname(p[0]!, 'host');
      const h = await new FrontendOrLocal(ctx).run(
        (api) => api.call<Host>('DELETE', `/api/v1/hosts/${encodeURIComponent(name)}/interfaces/${encodeURIComponent(p[1]!)}`),
        (e) => e.removeInterface(name, p[1]!, 'cli'),
      );
      ctx.io.out(v.json ? json(h) : `${h.name}: interface ${p[1]} removed\n`);
      return 0;
    }
    default:
      throw badVerb('host interface', verb, usage);
  }
}
