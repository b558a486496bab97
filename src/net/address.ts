// IPv4 and MAC helpers. Parsers return null on malformed text; `must*` variants throw a UserError
// naming the field, for CLI/config input.
import { UserError } from '../errors.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseIPv4(s: string): number | null {
  if (!IPV4.test(s)) return null;
  return s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function formatIPv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not an IPv4 number: ${n}`);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function ipv4ToBuffer(s: string): Buffer {
  const n = mustIPv4(s, 'address');
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function mustIPv4(s: string, field: string): number {
  const n = parseIPv4(s);
  if (n === null) throw new UserError('E_BAD_IPV4', `not an IPv4 address: ${JSON.stringify(s)}`, { where: field });
  return n;
}

/** Prefix length (0..32) → netmask as a number. */
export function prefixToMask(prefix: number): number {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new RangeError(`bad prefix ${prefix}`);
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.1.0.0/16" → "255.255.0.0" (a bare prefix length falls back to /24 when unparsable). */
export function netmaskOf(cidr: string): string {
  const prefix = Number(cidr.split('/')[1] ?? '24');
  return formatIPv4(prefixToMask(Number.isInteger(prefix) && prefix >= 0 && prefix <= 32 ? prefix : 24));
}

/** Parses "10.1.0.0/16" into network, prefix, mask (numbers). */
export function parseCidr(s: string): { network: number; prefix: number; mask: number } | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return null;
  const addr = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (addr === null || prefix > 32) return null;
  const mask = prefixToMask(prefix);
  return { network: (addr & mask) >>> 0, prefix, mask };
}

/** Whether `addr` (a parsed IPv4) lies in `net` (a parseCidr result). */
export function inNetwork(addr: number, net: { network: number; mask: number }): boolean {
  return (addr & net.mask) >>> 0 === net.network;
}

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const MAC_BARE = /^[0-9a-f]{12}$/i;

/** Normalises a MAC to lower-case colon form, or null. Accepts `:`/`-` separated or 12 hex digits. */
export function normalizeMac(s: string): string | null {
  const t = s.trim();
  if (MAC.test(t)) return t.toLowerCase().replace(/-/g, ':');
  if (MAC_BARE.test(t)) return t.toLowerCase().match(/../g)!.join(':');
  return null;
}

export function mustMac(s: string, field = 'mac'): string {
  const m = normalizeMac(s);
  if (m === null) throw new UserError('E_BAD_MAC', `not a MAC address: ${JSON.stringify(s)}`, { where: field });
  return m;
}

export function macToBuffer(mac: string): Buffer {
  return Buffer.from(mustMac(mac).replace(/:/g, ''), 'hex');
}

export function macFromBuffer(b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 6)).toString('hex').match(/../g)!.join(':');
}
