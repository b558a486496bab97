// Checks between settings, after each one passed the schema on its own: addresses inside the
// networks they serve, a DHCP pool that is whole and ordered. Returns every problem, each naming
// the settings involved (load.ts reports them together with the schema's).
import { formatIPv4, inNetwork as inside, parseCidr, parseIPv4 } from '../net/address.js';
import type { Config } from './schema.js';

export function consistencyProblems(c: Config): string[] {
  const problems: string[] = [];
  const net = parseCidr(c.network.privateNetwork);
  if (!net) return problems; // the schema reported it
  const where = `${formatIPv4(net.network)}/${net.prefix}`;
  const fe = parseIPv4(c.network.frontendAddress);
  if (fe !== null && !inside(fe, net)) {
    problems.push(`network.frontendAddress: ${c.network.frontendAddress} is outside network.privateNetwork ${where}`);
  }
  if (c.network.router !== undefined) {
    const r = parseIPv4(c.network.router);
    if (r !== null && !inside(r, net)) problems.push(`network.router: ${c.network.router} is outside network.privateNetwork ${where}`);
  }
  const { poolStart, poolEnd } = c.dhcp;
  if ((poolStart === '') !== (poolEnd === '')) {
    problems.push(`dhcp.poolStart/dhcp.poolEnd: give both or neither (got ${poolStart === '' ? 'only poolEnd' : 'only poolStart'})`);
  } else if (poolStart !== '') {
    const a = parseIPv4(poolStart);
    const b = parseIPv4(poolEnd);
    if (a !== null && b !== null) {
      if (a > b) problems.push(`dhcp.poolStart ${poolStart} is after dhcp.poolEnd ${poolEnd}`);
      for (const [k, v, n] of [
        ['dhcp.poolStart', poolStart, a],
        ['dhcp.poolEnd', poolEnd, b],
      ] as const) {
        if (!inside(n, net)) problems.push(`${k}: ${v} is outside network.privateNetwork ${where}`);
      }
      if (fe !== null && a <= fe && fe <= b)
        problems.push(`dhcp.poolStart..poolEnd (${poolStart}-${poolEnd}) holds network.frontendAddress ${c.network.frontendAddress}`);
    }
  }
  return problems;
}
