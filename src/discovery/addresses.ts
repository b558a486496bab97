// Address assignment, after Rocks' insert-ethers: start at --baseip and step by --inc, skipping
// addresses already in use, never leaving the private network and never handing out its network
// or broadcast address. Rocks' default counts down from the top of the private network.
import { parseCidr, parseIPv4, formatIPv4, inNetwork } from '../net/address.js';
import { UserError } from '../errors.js';

export interface AddressPlan {
  network: string; // CIDR
  baseip?: string | undefined;
  inc?: number | undefined;
}

export function defaultBaseIp(network: string): string {
  const n = parseCidr(network);
  if (!n) throw new UserError('E_BAD_NETWORK', `not a network: ${network}`);
  const broadcast = (n.network | (~n.mask >>> 0)) >>> 0;
  return formatIPv4(broadcast - 1);
}

/** The first free address of the plan, or E_ADDRESS_EXHAUSTED. `used` holds dotted addresses. */
export function nextFreeAddress(plan: AddressPlan, used: ReadonlySet<string>): string {
  const n = parseCidr(plan.network);
  if (!n) throw new UserError('E_BAD_NETWORK', `not a network: ${plan.network}`);
  const inc = plan.inc ?? -1;
  if (!Number.isInteger(inc) || inc === 0) throw new UserError('E_BAD_INC', `--inc must be a non-zero whole number, got ${inc}`, { where: 'inc' });
  const base = parseIPv4(plan.baseip ?? defaultBaseIp(plan.network));
  if (base === null) throw new UserError('E_BAD_IPV4', `--baseip: not an IPv4 address: ${plan.baseip}`, { where: 'baseip' });
  const broadcast = (n.network | (~n.mask >>> 0)) >>> 0;
  if (!inNetwork(base, n)) throw new UserError('E_BAD_IPV4', `--baseip ${plan.baseip} is outside the private network ${plan.network}`, { where: 'baseip' });
  for (let a = base; a > n.network && a < broadcast; a += inc) {
    const s = formatIPv4(a);
    if (!used.has(s)) return s;
  }
  throw new UserError('E_ADDRESS_EXHAUSTED', `no free address left in ${plan.network} from ${formatIPv4(base)} stepping ${inc}`);
}
