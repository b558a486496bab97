// TFTP packet codec (pure: no sockets, no files). RFC 1350 packets, RFC 2347 option lists on
// RRQ/WRQ/OACK. Every read is bounds-checked; a DecodeError names the byte offset and field.
//
//   RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
//   DATA     | 03 | block u16 | 0..blksize bytes
//   ACK      | 04 | block u16
//   ERROR    | 05 | code u16 | message | 0
//   OACK     | 06 | opt1 | 0 | value1 | 0 | ...            (RFC 2347)
import { BufferReader } from '../net/buffer-reader.js';
import { DecodeError } from '../errors.js';

export const Op = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 section 5 error codes, plus 8 from RFC 2347. */
export const TftpError = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** RFC 1350 transfer modes ("mail" is obsolete but still a defined mode; a read server refuses it). */
export const MODES = ['netascii', 'octet', 'mail'] as const;
export type Mode = (typeof MODES)[number];

export interface RequestPacket {
  op: 'RRQ' | 'WRQ';
  filename: string;
  mode: Mode;
  options: ReadonlyMap<string, string>;
}

export type TftpPacket =
  | RequestPacket
  | { op: 'DATA'; block: number; data: Buffer }
  | { op: 'ACK'; block: number }
  | { op: 'ERROR'; code: number; message: string }
  | { op: 'OACK'; options: ReadonlyMap<string, string> };

/** Largest packet netroot ever reads: DATA with RFC 2348's largest block. */
export const MAX_PACKET = 4 + 65464;

/**
 * Option list (RFC 2347): NUL-terminated name/value pairs up to the end of the packet. Names are
 * case-insensitive (stored lower-case); the first occurrence of a name wins. Trailing NUL padding
 * (some PXE ROMs pad the request) is ignored; any other unterminated string is an error.
 */
function readOptions(r: BufferReader): Map<string, string> {
  const options = new Map<string, string>();
  while (r.remaining > 0) {
    if (r.buf.subarray(r.offset, r.end).every((b) => b === 0)) break;
    const at = r.offset;
    const name = r.cstring('option name').toLowerCase();
    const value = r.cstring(`option ${JSON.stringify(name.slice(0, 32))} value`);
    if (name === '') throw new DecodeError('E_TFTP_OPTION', 'option name', at, 'empty option name');
    if (!options.has(name)) options.set(name, value);
  }
  return options;
}

export function decodeTftp(buf: Buffer): TftpPacket {
  const r = new BufferReader(buf);
  const op = r.u16('opcode');
  switch (op) {
    case Op.RRQ:
    case Op.WRQ: {
      const filename = r.cstring('filename');
      const modeAt = r.offset;
      const mode = r.cstring('mode').toLowerCase();
      if (!(MODES as readonly string[]).includes(mode)) {
        throw new DecodeError('E_TFTP_MODE', 'mode', modeAt, `unknown transfer mode ${JSON.stringify(mode.slice(0, 32))}`);
      }
      return { op: op === Op.RRQ ? 'RRQ' : 'WRQ', filename, mode: mode as Mode, options: readOptions(r) };
    }
    case Op.DATA: {
      const block = r.u16('block');
      if (r.remaining > 65464) throw new DecodeError('E_TFTP_SIZE', 'data', r.offset, `${r.remaining} bytes exceed the largest block (65464)`);
      return { op: 'DATA', block, data: r.rest() };
    }
    case Op.ACK: {
      const block = r.u16('block');
      // RFC 1350 fixes the ACK at 4 bytes; trailing bytes are tolerated (seen from some ROMs) but ignored.
      return { op: 'ACK', block };
    }
    case Op.ERROR: {
      const code = r.u16('error code');
      // A missing NUL on the message is tolerated: the error is what matters.
      const rest = r.rest();
      const nul = rest.indexOf(0);
      return { op: 'ERROR', code, message: rest.toString('latin1', 0, nul < 0 ? rest.length : nul) };
    }
    case Op.OACK:
      return { op: 'OACK', options: readOptions(r) };
    default:
      throw new DecodeError('E_TFTP_OPCODE', 'opcode', 0, `unknown opcode ${op}`);
  }
}

function cstr(s: string, field: string): Buffer {
  if (s.includes('\0')) throw new DecodeError('E_TFTP_ENCODE', field, 0, 'contains a NUL byte');
  return Buffer.from(s + '\0', 'latin1');
}

function optionBytes(options: ReadonlyMap<string, string>): Buffer[] {
  const out: Buffer[] = [];
  for (const [k, v] of options) out.push(cstr(k, 'option name'), cstr(v, `option ${k}`));
  return out;
}

function head(op: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt16BE(op, 0);
  b.writeUInt16BE(n, 2);
  return b;
}

/** The 4-byte DATA header; the server sends it with the payload as a second buffer (no copy). */
export function dataHeader(block: number): Buffer {
  return head(Op.DATA, block & 0xffff);
}

export function encodeTftp(p: TftpPacket): Buffer {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ': {
      const op = Buffer.alloc(2);
      op.writeUInt16BE(p.op === 'RRQ' ? Op.RRQ : Op.WRQ);
      return Buffer.concat([op, cstr(p.filename, 'filename'), cstr(p.mode, 'mode'), ...optionBytes(p.options)]);
    }
    case 'DATA':
      if (p.data.length > 65464) throw new DecodeError('E_TFTP_ENCODE', 'data', 4, 'block larger than 65464');
      return Buffer.concat([dataHeader(p.block), p.data]);
    case 'ACK':
      return head(Op.ACK, p.block & 0xffff);
    case 'ERROR':
      return Buffer.concat([head(Op.ERROR, p.code), cstr(p.message, 'message')]);
    case 'OACK': {
      const op = Buffer.alloc(2);
      op.writeUInt16BE(Op.OACK);
      return Buffer.concat([op, ...optionBytes(p.options)]);
    }
  }
}
