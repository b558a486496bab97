// Router Solicitation / Router Advertisement codec (RFC 4861 §4.1, §4.2, §4.6), pure: no sockets.
// The bytes are the ICMPv6 message as a raw ICMPv6 socket gives and takes it (no IPv6 header).
// The checksum is the kernel's on both sides (RFC 3542 §3.1: always computed and verified for
// IPPROTO_ICMPV6 raw sockets), so it is left 0 here and not checked.
//
// Why netroot sends RAs at all (issue #23): iPXE's IPv6 configurator (src/net/ndp.c, ipv6conf)
// sends Router Solicitations with a retry timer (src/net/retry.c: 0.25 s doubling up to 10 s, so it
// gives up after 0.25+0.5+1+2+4+8 = 15.75 s in Debian's 2019 build 36a4c85), and `autoboot`'s
// ifconf (src/usr/ifmgmt.c) waits for every configurator, DHCPv4 and IPv6 alike. The first RA that
// arrives while that timer runs ends it: ipv6conf_rx_router_advertisement registers the RA's
// options as settings, starts DHCPv6 only when M or O is set, and otherwise finishes at once.
// ndp_rx_options rejects the RA (and then nothing finishes) if an option has length 0 or runs past
// the end, so the minimal RA carries no options at all.
import { BufferReader } from '../net/buffer-reader.js';
import { DecodeError } from '../errors.js';

export const ICMP6_ROUTER_SOLICITATION = 133;
export const ICMP6_ROUTER_ADVERTISEMENT = 134;
/** RFC 4861 §4.6.1: Source Link-Layer Address option. */
export const ND_OPT_SOURCE_LINKADDR = 1;
/** RFC 4861 §6.1.1 / §6.1.2: ND messages are sent with, and accepted only with, hop limit 255. */
export const ND_HOP_LIMIT = 255;
/** RFC 4861 §10: MAX_RA_DELAY_TIME, the most a solicited RA may be delayed (it must be, randomly). */
export const MAX_RA_DELAY_MS = 500;
/** RFC 4861 §10: MIN_DELAY_BETWEEN_RAS, the least time between two RAs to the all-nodes group. */
export const MIN_DELAY_BETWEEN_MULTICAST_RAS_MS = 3000;

export interface NdOption {
  type: number;
  /** Option bytes after the type and length octets. */
  body: Buffer;
}

export interface RouterSolicitation {
  code: number;
  options: NdOption[];
  /** The Source Link-Layer Address option's address, when present (first one). */
  sourceLinkLayer: Buffer | null;
}

export interface RouterAdvertisement {
  code: number;
  /** 0: unspecified (hosts keep their own). */
  curHopLimit: number;
  /** M: addresses from DHCPv6. */
  managed: boolean;
  /** O: other configuration from DHCPv6. */
  other: boolean;
  /** The whole flags octet (M, O and the reserved/extension bits: RFC 4191 Prf, RFC 3775 H). */
  flags: number;
  /** Seconds; 0 means "not a default router" (RFC 4861 §4.2, §6.3.4). */
  routerLifetime: number;
  reachableTimeMs: number;
  retransTimerMs: number;
  options: NdOption[];
}

/** RFC 4861 §4.6: type, length in units of 8 octets (0 is invalid), body. Every option is checked. */
function decodeOptions(r: BufferReader): NdOption[] {
  const out: NdOption[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u8('option type');
    const units = r.u8('option length');
    if (units === 0) throw new DecodeError('E_ND_OPTION_LENGTH', 'option length', at + 1, 'an ND option of length 0 is invalid (RFC 4861 §4.6)');
    if (units * 8 - 2 > r.remaining)
      throw new DecodeError('E_ND_OPTION_LENGTH', 'option length', at + 1, `option of ${units * 8} bytes runs past the message (${r.remaining + 2} left)`);
    out.push({ type, body: r.bytes(units * 8 - 2, `option ${type}`) });
  }
  return out;
}

export function decodeRouterSolicitation(buf: Buffer): RouterSolicitation {
  const r = new BufferReader(buf);
  const type = r.u8('type');
  if (type !== ICMP6_ROUTER_SOLICITATION) throw new DecodeError('E_ND_TYPE', 'type', 0, `ICMPv6 type ${type} is not a Router Solicitation (133)`);
  const code = r.u8('code');
  r.u16('checksum');
  r.u32('reserved');
  const options = decodeOptions(r);
  const sll = options.find((o) => o.type === ND_OPT_SOURCE_LINKADDR);
  return { code, options, sourceLinkLayer: sll ? sll.body : null };
}

export function decodeRouterAdvertisement(buf: Buffer): RouterAdvertisement {
  const r = new BufferReader(buf);
  const type = r.u8('type');
  if (type !== ICMP6_ROUTER_ADVERTISEMENT) throw new DecodeError('E_ND_TYPE', 'type', 0, `ICMPv6 type ${type} is not a Router Advertisement (134)`);
  const code = r.u8('code');
  r.u16('checksum');
  const curHopLimit = r.u8('cur hop limit');
  const flags = r.u8('flags');
  const routerLifetime = r.u16('router lifetime');
  const reachableTimeMs = r.u32('reachable time');
  const retransTimerMs = r.u32('retrans timer');
  return {
    code,
    curHopLimit,
    managed: (flags & 0x80) !== 0,
    other: (flags & 0x40) !== 0,
    flags,
    routerLifetime,
    reachableTimeMs,
    retransTimerMs,
    options: decodeOptions(r),
  };
}

/**
 * The RA netroot answers with: 16 bytes, no options. Router lifetime 0 (RFC 4861 §6.3.4: not a
 * default router — iPXE's ndp_prefix_fetch_gateway6 and Linux alike add no route; and no prefix
 * option, so no address), M = O = 0 (no DHCPv6: iPXE's ipv6conf finishes instead of calling
 * start_dhcpv6), Prf 00 (RFC 4191 §2.2: required with lifetime 0), hop limit, reachable time and
 * retrans timer 0 = unspecified (hosts keep their own values).
 */
export function encodeRouterAdvertisement(): Buffer {
  const b = Buffer.alloc(16);
  b[0] = ICMP6_ROUTER_ADVERTISEMENT;
  return b;
}

/** The unspecified address `::` in any spelling Node or inet_ntop gives. */
export function isUnspecified(addr: string): boolean {
  return /^(0*:){2,7}0*$/.test(addr) || addr === '::';
}

export function isLinkLocal(addr: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(addr);
}

/**
 * RFC 4861 §6.1.1 validity checks of a received Router Solicitation; null when valid, else why not.
 * (The checksum is the kernel's: see the header.)
 */
export function invalidSolicitation(buf: Buffer, source: string, hopLimit: number): string | null {
  if (hopLimit !== ND_HOP_LIMIT) return `hop limit ${hopLimit}, not 255`;
  let rs: RouterSolicitation;
  try {
    rs = decodeRouterSolicitation(buf);
  } catch (e) {
    return e instanceof DecodeError ? e.message : 'undecodable';
  }
  if (rs.code !== 0) return `ICMP code ${rs.code}, not 0`;
  if (isUnspecified(source) && rs.sourceLinkLayer) return 'source link-layer address option from the unspecified address';
  return null;
}
