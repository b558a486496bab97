// DHCPv4 message codec (RFC 2131 §2 layout, RFC 2132 options). Pure: no sockets.
// Decoding is bounds-checked through BufferReader; every problem is a DecodeError naming the field
// and byte offset. Options: PAD/END, option overload (RFC 2131 §4.1 / RFC 2132 §9.3: `file` then
// `sname` carry options; an overload option inside an overloaded field is ignored, so no loops),
// repeated codes concatenated (RFC 3396 long options). Encoding writes options in the order given,
// splits values over 255 bytes (RFC 3396), and pads to the 300-byte BOOTP minimum.
import { BufferReader } from '../net/buffer-reader.js';
import { DecodeError } from '../errors.js';
import { MAGIC_COOKIE, Opt } from './options.js';

export interface DhcpMessage {
  op: number; // 1 request, 2 reply
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Buffer; // 16 bytes
  sname: string;
  file: string;
  /** Options in first-seen order; repeated codes concatenated. */
  options: Map<number, Buffer>;
}

export const BOOTP_MIN = 300;
const HEADER = 236;

function ip(b: Buffer, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** The NUL-terminated latin1 string in the fixed field b[at, at + n) (the caller checked the bounds). */
function cstr(b: Buffer, at: number, n: number): string {
  let end = at;
  while (end < at + n && b[end] !== 0) end++;
  return end === at ? '' : b.toString('latin1', at, end);
}

function readOptions(r: BufferReader, into: Map<number, Buffer>, field: string): void {
  while (r.remaining > 0) {
    // The field names of the errors are built only when a read fails (a template string per
    // option byte was a good part of decoding's garbage, issue #23); remaining > 0 here.
    const code = r.u8(field);
    if (code === Opt.PAD) continue;
    if (code === Opt.END) return;
    const len = r.u8(r.remaining > 0 ? field : `${field} option ${code} length`);
    // A view of the datagram, not a copy (one object less per option; the datagram is the
    // message's own, and nothing writes to either).
    const data = r.bytes(len, len <= r.remaining ? field : `${field} option ${code} data`);
    const prev = into.get(code);
    into.set(code, prev ? Buffer.concat([prev, data]) : data);
  }
  // Running off the end without END is tolerated in sname/file (they are fixed-size), not in options.
  if (field === 'options') throw new DecodeError('E_DHCP_NO_END', 'options', r.offset, 'options end without END (255)');
}

export function decodeDhcp(buf: Buffer): DhcpMessage {
  if (buf.length < HEADER + 4) throw new DecodeError('E_DHCP_SHORT', 'message', buf.length, `${buf.length} bytes is shorter than a DHCP header (240)`);
  const r = new BufferReader(buf);
  const op = r.u8('op');
  if (op !== 1 && op !== 2) throw new DecodeError('E_DHCP_OP', 'op', 0, `op must be 1 or 2, got ${op}`);
  const htype = r.u8('htype');
  const hlen = r.u8('hlen');
  if (hlen > 16) throw new DecodeError('E_DHCP_HLEN', 'hlen', 2, `hlen ${hlen} exceeds 16`);
  const hops = r.u8('hops');
  const xid = r.u32('xid');
  const secs = r.u16('secs');
  const flags = r.u16('flags');
  // The fixed header lies within the 240 bytes checked above: read in place (offsets of RFC 2131 §2).
  const ciaddr = ip(buf, 12);
  const yiaddr = ip(buf, 16);
  const siaddr = ip(buf, 20);
  const giaddr = ip(buf, 24);
  const chaddr = buf.subarray(28, 44);
  r.skip(HEADER - 12, 'addresses, chaddr, sname, file');
  const cookieAt = r.offset;
  const cookie = r.u32('magic cookie');
  if (cookie !== MAGIC_COOKIE) throw new DecodeError('E_DHCP_COOKIE', 'magic cookie', cookieAt, `expected 0x63825363, got 0x${cookie.toString(16)}`);
  const options = new Map<number, Buffer>();
  readOptions(r, options, 'options');
  let sname = cstr(buf, 44, 64);
  let file = cstr(buf, 108, 128);
  const overload = options.get(Opt.OVERLOAD);
  if (overload) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3)
      throw new DecodeError('E_DHCP_OVERLOAD', 'option 52', cookieAt + 4, 'overload value must be 1, 2 or 3');
    options.delete(Opt.OVERLOAD);
    const more = new Map<number, Buffer>();
    if (overload[0]! & 1) {
      readOptions(new BufferReader(Buffer.from(buf.subarray(108, HEADER))), more, 'file');
      file = '';
    }
    if (overload[0]! & 2) {
      readOptions(new BufferReader(Buffer.from(buf.subarray(44, 108))), more, 'sname');
      sname = '';
    }
    // An overload option inside an overloaded field is ignored: no loops.
    more.delete(Opt.OVERLOAD);
    for (const [k, v] of more) {
      const prev = options.get(k);
      options.set(k, prev ? Buffer.concat([prev, v]) : v);
    }
  }
  return { op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file, options };
}

/** Writes dotted-quad `s` at `at`; RangeError unless it is exactly four decimal octets 0..255. */
function writeIp(buf: Buffer, at: number, s: string): void {
  let octet = 0;
  let digits = 0;
  let part = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a virtual '.' closes the last octet
    if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else if (c === 46 && digits > 0 && octet <= 255 && part < 4) {
      buf[at + part++] = octet;
      octet = 0;
      digits = 0;
    } else throw new RangeError(`not an IPv4 address: ${s}`);
  }
  if (part !== 4) throw new RangeError(`not an IPv4 address: ${s}`);
}

/** A NUL-terminated latin1 string in a fixed field of n bytes (the buffer is zero-filled). */
function writeField(buf: Buffer, at: number, s: string, n: number): void {
  if (s.length >= n) throw new RangeError(`field longer than ${n - 1} bytes: ${s}`);
  if (s.length > 0) buf.write(s, at, 'latin1');
}

/**
 * One buffer per message: the size is computed first (options split at 255 bytes per
 * RFC 3396, END, padding to the BOOTP minimum), then every field is written in place.
 */
export function encodeDhcp(m: DhcpMessage): Buffer {
  let size = HEADER + 4 + 1;
  for (const value of m.options.values()) size += value.length === 0 ? 2 : value.length + 2 * Math.ceil(value.length / 255);
  // allocUnsafe + fill: a slice of Node's shared 8 KiB pool instead of an ArrayBuffer of its own
  // per reply (fewer objects for the GC, issue #23); zero-filled all the same.
  const buf = Buffer.allocUnsafe(Math.max(size, BOOTP_MIN)).fill(0);
  buf[0] = m.op;
  buf[1] = m.htype;
  buf[2] = m.hlen;
  buf[3] = m.hops;
  buf.writeUInt32BE(m.xid >>> 0, 4);
  buf.writeUInt16BE(m.secs, 8);
  buf.writeUInt16BE(m.flags, 10);
  writeIp(buf, 12, m.ciaddr);
  writeIp(buf, 16, m.yiaddr);
  writeIp(buf, 20, m.siaddr);
  writeIp(buf, 24, m.giaddr);
  m.chaddr.copy(buf, 28, 0, Math.min(16, m.chaddr.length));
  writeField(buf, 44, m.sname, 64);
  writeField(buf, 108, m.file, 128);
  buf.writeUInt32BE(MAGIC_COOKIE, HEADER);
  let at = HEADER + 4;
  // forEach, not for-of over entries: no [code, value] array per option (issue #23: garbage per reply).
  m.options.forEach((value, code) => {
    // 0 (PAD) and 255 (END) are single bytes without a length (RFC 2132 §3.1-3.2): never options.
    if (!Number.isInteger(code) || code < 1 || code > 254) throw new RangeError(`option code ${code}`);
    if (value.length === 0) {
      buf[at++] = code;
      buf[at++] = 0;
      return;
    }
    for (let off = 0; off < value.length; off += 255) {
      const n = Math.min(255, value.length - off);
      buf[at++] = code;
      buf[at++] = n;
      value.copy(buf, at, off, off + n);
      at += n;
    }
  });
  buf[at] = Opt.END;
  return buf;
}

// Typed views of the options a PXE server needs.
export const messageType = (m: DhcpMessage): number | null => m.options.get(Opt.MESSAGE_TYPE)?.[0] ?? null;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export const clientMac = (m: DhcpMessage): string => {
  const c = m.chaddr;
  return `${HEX[c[0] ?? 0]}:${HEX[c[1] ?? 0]}:${HEX[c[2] ?? 0]}:${HEX[c[3] ?? 0]}:${HEX[c[4] ?? 0]}:${HEX[c[5] ?? 0]}`;
};

/** Option 93 (RFC 4578 §2.1): a list of 16-bit architecture types; the first is used. */
export function clientArch(m: DhcpMessage): number | null {
  const v = m.options.get(Opt.CLIENT_ARCH);
  return v && v.length >= 2 ? v.readUInt16BE(0) : null;
}

export function textOption(m: DhcpMessage, code: number): string | null {
  const v = m.options.get(code);
  return v ? v.toString('latin1').replace(/\0+$/, '') : null;
}

/** iPXE identifies itself with option 175 (encapsulated) or user class "iPXE" (RFC 3004 framing or raw). */
export function isIpxe(m: DhcpMessage): boolean {
  if (m.options.has(Opt.IPXE)) return true;
  const uc = m.options.get(Opt.USER_CLASS);
  return uc?.toString('latin1').includes('iPXE') === true;
}

/** Option 97 (RFC 4578 §2.3): type 0 + 16-byte GUID. */
export function clientUuid(m: DhcpMessage): string | null {
  const v = m.options.get(Opt.CLIENT_UUID);
  if (v?.length !== 17 || v[0] !== 0) return null;
  const h = v.subarray(1).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function ipOption(m: DhcpMessage, code: number): string | null {
  const v = m.options.get(code);
  return v && v.length === 4 ? ip(v) : null;
}
