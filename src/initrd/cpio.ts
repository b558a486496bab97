// newc cpio ("070701", the format the Linux initramfs unpacker reads: Documentation/driver-api/
// early-userspace/buffer-format.rst). Each entry: a 110-byte ASCII header (magic + 13 fields of 8
// hex digits: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
// namesize check), the NUL-terminated name padded so header+name is a multiple of 4, then the
// data padded to 4. The archive ends with an entry named TRAILER!!!.
//
// The writer is deterministic: inodes are numbered 1, 2, 3... in insertion order, mtime is 0
// unless given, parent directories are added (0755) before their first child, and the same
// input always gives the same bytes. Pure: no file system access.
import { gunzipSync, gzipSync } from 'node:zlib';
import { DecodeError, NetrootError } from '../errors.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

const MAGIC = '070701';
const HEADER = 110;
const TRAILER = 'TRAILER!!!';
const MAX32 = 0xffffffff;

interface Meta {
  /** Permission bits (and setuid/setgid/sticky); the type bits come from the entry kind. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default: the writer's mtime (0 unless set). */
  mtime?: number;
}

export type CpioEntry =
  | ({ type: 'file'; path: string; data: Buffer } & Meta)
  | ({ type: 'dir'; path: string } & Meta)
  | ({ type: 'symlink'; path: string; target: string } & Meta)
  | ({ type: 'char' | 'block'; path: string; major: number; minor: number } & Meta);

/** An entry as read back: the raw header fields plus name and data. */
export interface CpioRecord {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
  data: Buffer;
  /** Byte offset of the header in the (decompressed) archive. */
  offset: number;
}

function badEntry(message: string): NetrootError {
  return new NetrootError('E_CPIO_ENTRY', message);
}

/** Archive path: relative, '/'-separated, no '.', '..' or empty components. A leading '/' is dropped. */
export function normalizeArchivePath(p: string): string {
  const parts = p.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') throw badEntry(`bad archive path ${JSON.stringify(p)}`);
  }
  const out = parts.join('/');
  if (out.includes('\0') || Buffer.byteLength(out) > 4095) throw badEntry(`bad archive path ${JSON.stringify(p.slice(0, 80))}`);
  return out;
}

function checkU32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > MAX32) throw badEntry(`${field} ${v} does not fit a newc header`);
  return v;
}

const hex8 = (v: number) => v.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

export class CpioWriter {
  private readonly chunks: Buffer[] = [];
  private readonly seen = new Map<string, CpioEntry['type']>();
  private ino = 0;
  private size = 0;
  private done = false;
  private readonly mtime: number;

  constructor(opts: { mtime?: number } = {}) {
    this.mtime = checkU32(opts.mtime ?? 0, 'mtime');
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.size;
  }

  has(path: string): boolean {
    return this.seen.has(normalizeArchivePath(path));
  }

  add(entry: CpioEntry): this {
    if (this.done) throw badEntry('archive already finished');
    const path = normalizeArchivePath(entry.path);
    if (this.seen.has(path)) {
      // A directory asked for twice (e.g. implicitly, then explicitly) is harmless; anything else is a mistake.
      if (entry.type === 'dir' && this.seen.get(path) === 'dir') return this;
      throw new NetrootError('E_CPIO_DUPLICATE', `${path} is already in the archive`);
    }
    const slash = path.lastIndexOf('/');
    if (slash > 0) this.ensureDir(path.slice(0, slash));
    const perm = entry.mode ?? (entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644);
    if (!Number.isInteger(perm) || perm < 0 || perm > 0o7777) throw badEntry(`mode ${perm} of ${path} is not a permission mask`);
    let typeBits: number;
    let data: Buffer = Buffer.alloc(0);
    let rdevMajor = 0;
    let rdevMinor = 0;
    let nlink = 1;
    switch (entry.type) {
      case 'file':
        typeBits = S_IFREG;
        data = entry.data;
        break;
      case 'dir':
        typeBits = S_IFDIR;
        nlink = 2;
        break;
      case 'symlink':
        typeBits = S_IFLNK;
        if (entry.target === '' || entry.target.includes('\0')) throw badEntry(`bad symlink target for ${path}`);
        data = Buffer.from(entry.target, 'utf8');
        break;
      case 'char':
      case 'block':
        typeBits = entry.type === 'char' ? S_IFCHR : S_IFBLK;
        rdevMajor = checkU32(entry.major, 'major');
        rdevMinor = checkU32(entry.minor, 'minor');
        break;
    }
    this.seen.set(path, entry.type);
    this.record(
      path,
      typeBits | perm,
      checkU32(entry.uid ?? 0, 'uid'),
      checkU32(entry.gid ?? 0, 'gid'),
      nlink,
      checkU32(entry.mtime ?? this.mtime, 'mtime'),
      data,
      rdevMajor,
      rdevMinor,
      ++this.ino,
    );
    return this;
  }

  file(path: string, data: Buffer | string, meta: Meta = {}): this {
    return this.add({ type: 'file', path, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data, ...meta });
  }

  dir(path: string, meta: Meta = {}): this {
    return this.add({ type: 'dir', path, ...meta });
  }

  symlink(path: string, target: string, meta: Meta = {}): this {
    return this.add({ type: 'symlink', path, target, ...meta });
  }

  device(path: string, kind: 'char' | 'block', major: number, minor: number, meta: Meta = {}): this {
    return this.add({ type: kind, path, major, minor, ...meta });
  }

  /** Appends the trailer and returns the archive. */
  finish(): Buffer {
    if (!this.done) {
      this.record(TRAILER, 0, 0, 0, 1, 0, Buffer.alloc(0), 0, 0, 0);
      this.done = true;
    }
    return Buffer.concat(this.chunks, this.size);
  }

  private ensureDir(path: string): void {
    const kind = this.seen.get(path);
    if (kind === 'dir') return;
    if (kind !== undefined) throw badEntry(`${path} is a ${kind}, not a directory`);
    this.add({ type: 'dir', path });
  }

  private record(
    name: string,
    mode: number,
    uid: number,
    gid: number,
    nlink: number,
    mtime: number,
    data: Buffer,
    rdevMajor: number,
    rdevMinor: number,
    ino: number,
  ): void {
    checkU32(data.length, 'file size');
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    const header = MAGIC + [ino, mode, uid, gid, nlink, mtime, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0].map(hex8).join('');
    const head = Buffer.concat([Buffer.from(header, 'latin1'), nameBytes, Buffer.alloc(pad4(HEADER + nameBytes.length))]);
    this.chunks.push(head);
    this.size += head.length;
    if (data.length > 0) {
      // A copy: the archive holds the bytes as they were at add(), whatever the caller later does
      // with its Buffer (finish() would otherwise read it then).
      this.chunks.push(Buffer.from(data), Buffer.alloc(pad4(data.length)));
      this.size += data.length + pad4(data.length);
    }
  }
}

/** Builds an archive from a list of entries. */
export function writeCpio(entries: readonly CpioEntry[], opts: { mtime?: number } = {}): Buffer {
  const w = new CpioWriter(opts);
  for (const e of entries) w.add(e);
  return w.finish();
}

/** gzip with a fixed header (no name, mtime 0), so equal archives compress to equal bytes. */
export function gzip(archive: Buffer): Buffer {
  return gzipSync(archive, { level: 9 });
}

// ---------------------------------------------------------------------------------------------
// Reader (for tests and `netroot` inspection commands): bounds-checked, never trusts a field.

const FIELDS = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'filesize', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'namesize', 'check'] as const;
const HEX8 = /^[0-9A-Fa-f]{8}$/;

function decodeError(field: string, offset: number, message: string): DecodeError {
  return new DecodeError('E_CPIO_DECODE', field, offset, message);
}

/**
 * Reads a newc archive (gzip-compressed or not). With `concatenated`, several archives one after
 * another (as the kernel accepts: base initrd + overlay, NUL padding between) are read as one list.
 * The trailer is not returned.
 */
export function readCpio(input: Buffer, opts: { concatenated?: boolean; maxBytes?: number } = {}): CpioRecord[] {
  const maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
  const buf = decompress(input, maxBytes);
  const out: CpioRecord[] = [];
  let off = 0;
  for (;;) {
    if (off + HEADER > buf.length) throw decodeError('header', off, `truncated: ${buf.length - off} bytes left, a header needs ${HEADER}`);
    const magic = buf.toString('latin1', off, off + 6);
    if (magic !== MAGIC) throw decodeError('magic', off, `expected "070701", found ${JSON.stringify(magic)}`);
    const f: Record<string, number> = {};
    FIELDS.forEach((name, i) => {
      const at = off + 6 + i * 8;
      const text = buf.toString('latin1', at, at + 8);
      if (!HEX8.test(text)) throw decodeError(name, at, `not 8 hex digits: ${JSON.stringify(text)}`);
      f[name] = parseInt(text, 16);
    });
    const namesize = f['namesize'] ?? 0;
    const filesize = f['filesize'] ?? 0;
    const nameAt = off + HEADER;
    if (namesize < 2 || namesize > 4096) throw decodeError('namesize', off + 6 + 11 * 8, `${namesize} is outside 2..4096`);
    if (nameAt + namesize > buf.length) throw decodeError('name', nameAt, `name of ${namesize} bytes runs past the end`);
    if (buf[nameAt + namesize - 1] !== 0) throw decodeError('name', nameAt, 'name is not NUL-terminated');
    const name = buf.toString('utf8', nameAt, nameAt + namesize - 1);
    if (name.includes('\0')) throw decodeError('name', nameAt, 'name contains NUL');
    const dataAt = nameAt + namesize + pad4(HEADER + namesize);
    if (dataAt + filesize > buf.length) throw decodeError('filesize', off + 6 + 6 * 8, `data of ${filesize} bytes runs past the end`);
    const next = dataAt + filesize + pad4(filesize);
    if (name === TRAILER) {
      if (!opts.concatenated) return out;
      off = Math.min(next, buf.length);
      while (off < buf.length && buf[off] === 0) off++;
      if (off >= buf.length) return out;
      continue;
    }
    out.push({
      ino: f['ino'] ?? 0,
      mode: f['mode'] ?? 0,
      uid: f['uid'] ?? 0,
      gid: f['gid'] ?? 0,
      nlink: f['nlink'] ?? 0,
      mtime: f['mtime'] ?? 0,
      devMajor: f['devmajor'] ?? 0,
      devMinor: f['devminor'] ?? 0,
      rdevMajor: f['rdevmajor'] ?? 0,
      rdevMinor: f['rdevminor'] ?? 0,
      name,
      data: Buffer.from(buf.subarray(dataAt, dataAt + filesize)),
      offset: off,
    });
    off = next;
  }
}

function decompress(input: Buffer, maxBytes: number): Buffer {
  if (input.length >= 2 && input[0] === 0x1f && input[1] === 0x8b) {
    try {
      return gunzipSync(input, { maxOutputLength: maxBytes });
    } catch (e) {
      throw decodeError('gzip', 0, e instanceof Error ? e.message : String(e));
    }
  }
  return input;
}

/** `ls -l`-style type letter of a mode, for listings. */
export function typeOf(mode: number): 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'other' {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    default:
      return 'other';
  }
}
