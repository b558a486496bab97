// A copy-on-write clone of a golden volume (issue #20): the golden file, shared by every clone and
// only ever opened read-only, plus this clone's own sparse delta file and its allocation map.
//
// - The map has one bit per logical block: set = the block's current content is in the delta.
//   Reads of unset blocks fall through to the golden file, so one page cache serves every clone
//   that reads the same golden blocks; writes go to the delta and set their bits. Both files are
//   read as a plain volume is (lun-io.ts readAt: cached bytes on the loop's thread). The SCSI layer
//   only moves whole logical blocks, so a write never has to merge golden bytes (no
//   read-modify-write); an unaligned access is E_ISCSI_LUN_RANGE.
// - zero() and deallocate() (WRITE SAME, UNMAP) set the bits too, over zeros or a punched hole in
//   the delta: the range reads back as zeros (LBPRZ = 1), never as the golden data under it.
// - Map file: a 64-byte header — "NRCLONE1", version 1, block size, volume size, and the golden
//   file's identity when the clone was made (size, inode, mtime in ns) — then the bitmap.
//   open() refuses a clone whose golden file is no longer the one it was made from
//   (E_ISCSI_CLONE_GOLDEN): serving its old delta over changed golden data would mix two
//   volumes. (The golden layer also records a checksum; the identity is the check every open
//   can afford.)
// - Durability, in the order that keeps the map consistent:
//   write(): the data is pwritten into the delta, then the changed map bytes are pwritten (one
//     map write at a time, each from the bitmap as it is then, so a later one never loses an
//     earlier bit; the writes the delta resolved at one moment share one map write, made on the
//     loop's thread when it can be). Both are in the kernel when write() resolves: a kill -9 of
//     the target loses no acknowledged write.
//   sync() (FUA, SYNCHRONIZE CACHE): fdatasync the delta, then the map writes still queued, then
//     fdatasync the map — a bit is on stable storage only after the data it points at.
//   Power loss (not a process kill) before a sync can leave a bit whose block never reached the
//   disk: that block then reads as zeros. Only blocks written without a later flush are affected,
//   which a volatile write cache (WCE = 1) may lose anyway.
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { NetrootError } from '../errors.js';
import { LunFile } from './lun-file.js';
import { dirtyPagesLow, errnoError, lunIo, readAt, writeNowTimed } from './lun-io.js';
import type { LunStore, WriteStats } from './lun-store.js';

const MAGIC = Buffer.from('NRCLONE1', 'latin1');
const VERSION = 1;
const HEADER = 64;
/** flatten(): zero pieces of this size are left as holes in the output. */
const HOLE_GRAIN = 64 * 1024;
/**
 * A map write on the loop's thread that slept in the kernel and took longer than this (a journal
 * commit, writeback of the map's page; lun-io.ts writeNowTimed) pauses that path for
 * MAP_NOW_PAUSE_MS: map writes then go through the pool.
 */
const MAP_NOW_SLOW_MS = 2;
const MAP_NOW_PAUSE_MS = 1000;
const EAGAIN = osConstants.errno.EAGAIN;

export interface GoldenIdentity {
  size: number;
  ino: bigint;
  mtimeNs: bigint;
}

export interface CloneCreateOptions {
  /** The golden volume (read-only from here on). */
  golden: string;
  /** The clone's delta (a sparse file, created) and allocation map (created). */
  delta: string;
  map: string;
  /** Default: the golden file's size. May be larger (the rest reads as zeros until written); never smaller. */
  sizeBytes?: number;
  blockSize?: 512 | 4096;
}

function bad(message: string): NetrootError {
  return new NetrootError('E_ISCSI_CLONE_BAD', message);
}

async function identityOf(golden: string): Promise<GoldenIdentity> {
  const st = await fs.promises.stat(golden, { bigint: true });
  if (!st.isFile()) throw new NetrootError('E_ISCSI_LUN_PATH', `golden volume ${golden} is not a regular file`);
  return { size: Number(st.size), ino: st.ino, mtimeNs: st.mtimeNs };
}

function fsOpen(path: string, flags: string): Promise<number> {
  return new Promise((res, rej) => fs.open(path, flags, (e, fd) => (e ? rej(e) : res(fd))));
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
}

function pwrite(fd: number, buf: Buffer, pos: number): Promise<void> {
  return new Promise((res, rej) => {
    const step = (done: number): void => {
      if (done === buf.length) return res();
      fs.write(fd, buf, done, buf.length - done, pos + done, (e, n) => (e ? rej(e) : n <= 0 ? rej(bad('map write made no progress')) : step(done + n)));
    };
    step(0);
  });
}

export class LunClone implements LunStore {
  readonly path: string;
  readonly blockSize: 512 | 4096;
  readonly sizeBytes: number;
  readonly blocks: bigint;
  readonly blockCount: number;
  get writeStats(): WriteStats {
    return this.delta.writeStats;
  }
  /** Blocks whose content is in the delta (set bits), for reports and tests. */
  get allocatedBlocks(): number {
    let n = 0;
    for (const b of this.bitmap) for (let v = b; v; v &= v - 1) n++;
    return n;
  }

  /** Map writes made (pwrite of changed map bytes), and how many of them on the loop's thread. */
  readonly mapStats = { writes: 0, onLoop: 0 };

  private closed = false;
  /** Lowest and highest bitmap byte changed since the last map write began (lo > hi: none). */
  private dirtyLo = Number.POSITIVE_INFINITY;
  private dirtyHi = -1;
  /** The running map write, if any; flushMap() waiters chain on it. */
  private mapWriting: Promise<void> | null = null;
  /** The map write the writes of this task share (flushSoon). */
  private mapSoon: Promise<void> | null = null;
  /** Map writes on the loop's thread are paused until this time (one was slow: MAP_NOW_SLOW_MS). */
  private mapNowPausedUntil = 0;

  private constructor(
    private readonly delta: LunFile,
    private readonly goldenFd: number,
    private readonly goldenSize: number,
    private readonly mapFd: number,
    private readonly bitmap: Buffer,
  ) {
    this.path = delta.path;
    this.blockSize = delta.blockSize;
    this.sizeBytes = delta.sizeBytes;
    this.blockCount = delta.blockCount;
    this.blocks = delta.blocks;
  }

  /** Makes a new, empty clone of `golden` (its delta and map must not exist) and opens it. */
  static async create(o: CloneCreateOptions): Promise<LunClone> {
    const blockSize = o.blockSize ?? 512;
    const id = await identityOf(o.golden);
    const size = o.sizeBytes ?? id.size;
    if (!Number.isSafeInteger(size) || size < id.size || size < blockSize || size % blockSize !== 0) {
      throw new NetrootError('E_ISCSI_LUN_SIZE', `clone size ${size} must be whole ${blockSize}-byte blocks and at least the golden volume's ${id.size} bytes`);
    }
    const blockCount = size / blockSize;
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(VERSION, 8);
    header.writeUInt32LE(blockSize, 12);
    header.writeBigUInt64LE(BigInt(size), 16);
    header.writeBigUInt64LE(BigInt(id.size), 24);
    header.writeBigUInt64LE(id.ino, 32);
    header.writeBigUInt64LE(id.mtimeNs, 40);
    await fs.promises.mkdir(dirname(o.map), { recursive: true });
    // 'wx': never overwrite an existing clone's map (that would forget where its data is).
    const fh = await fs.promises.open(o.map, 'wx', 0o600);
    try {
      await fh.write(header, 0, HEADER, 0);
      await fh.truncate(HEADER + Math.ceil(blockCount / 8));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    try {
      await fs.promises.access(o.delta);
      throw bad(`${o.delta} already exists: a new clone starts with an empty delta`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        await fs.promises.rm(o.map, { force: true });
        throw e;
      }
    }
    return LunClone.open({ golden: o.golden, delta: o.delta, map: o.map, create: true });
  }

  /**
   * Writes the clone's current content — golden blocks under unset bits, delta blocks under set ones —
   * as one plain volume file `out` (created, 0600; never an existing file), sparse where the content
   * is zeros, fdatasync'd (`golden promote`: a clone's state becomes the next golden volume). The
   * clone is opened read-only for this (the golden identity is checked as at every open); a clone the
   * target serves meanwhile may change under the copy: promote a node that is powered off.
   */
  static async flatten(o: { golden: string; delta: string; map: string; out: string; chunkBytes?: number }): Promise<{ sizeBytes: number }> {
    const c = await LunClone.open({ golden: o.golden, delta: o.delta, map: o.map });
    const chunk = Math.max(HOLE_GRAIN, Math.floor((o.chunkBytes ?? 1 << 20) / HOLE_GRAIN) * HOLE_GRAIN);
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(o.out, 'wx', 0o600);
      const buf = Buffer.alloc(chunk);
      for (let pos = 0; pos < c.sizeBytes; pos += chunk) {
        const n = Math.min(chunk, c.sizeBytes - pos);
        await c.read(buf, 0, n, pos);
        // Zeros stay a hole (per 64 KiB piece): a golden volume is as sparse as its content allows.
        for (let at = 0; at < n; at += HOLE_GRAIN) {
          const m = Math.min(HOLE_GRAIN, n - at);
          if (buf.subarray(at, at + m).some((x) => x !== 0)) await fh.write(buf, at, m, pos + at);
        }
      }
      await fh.truncate(c.sizeBytes);
      await fh.datasync();
      return { sizeBytes: c.sizeBytes };
    } catch (e) {
      if (fh) {
        await fh.close().catch(() => {});
        fh = undefined;
        await fs.promises.rm(o.out, { force: true });
      }
      throw e;
    } finally {
      await fh?.close();
      await c.close();
    }
  }

  /** Opens an existing clone; E_ISCSI_CLONE_GOLDEN when its golden file changed, E_ISCSI_CLONE_BAD for a bad map. */
  static async open(o: { golden: string; delta: string; map: string; create?: boolean }): Promise<LunClone> {
    const id = await identityOf(o.golden);
    const mapBuf = await fs.promises.readFile(o.map).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? bad(`clone map ${o.map} does not exist`) : e;
    });
    if (mapBuf.length < HEADER || !mapBuf.subarray(0, 8).equals(MAGIC)) throw bad(`${o.map} is not a clone map`);
    const version = mapBuf.readUInt32LE(8);
    if (version !== VERSION) throw bad(`${o.map}: clone map version ${version} is not ${VERSION}`);
    const blockSize = mapBuf.readUInt32LE(12);
    if (blockSize !== 512 && blockSize !== 4096) throw bad(`${o.map}: block size ${blockSize} is not 512 or 4096`);
    const size = Number(mapBuf.readBigUInt64LE(16));
    if (!Number.isSafeInteger(size) || size < blockSize || size % blockSize !== 0) throw bad(`${o.map}: volume size ${size} is not whole blocks`);
    const blockCount = size / blockSize;
    if (mapBuf.length !== HEADER + Math.ceil(blockCount / 8)) {
      throw bad(`${o.map}: ${mapBuf.length - HEADER} bitmap bytes for ${blockCount} blocks (want ${Math.ceil(blockCount / 8)})`);
    }
    const made: GoldenIdentity = { size: Number(mapBuf.readBigUInt64LE(24)), ino: mapBuf.readBigUInt64LE(32), mtimeNs: mapBuf.readBigUInt64LE(40) };
    if (made.size !== id.size || made.ino !== id.ino || made.mtimeNs !== id.mtimeNs) {
      throw new NetrootError(
        'E_ISCSI_CLONE_GOLDEN',
        `golden volume ${o.golden} changed since clone ${o.delta} was made (size ${made.size} → ${id.size}, inode ${made.ino} → ${id.ino}, mtime ${made.mtimeNs} → ${id.mtimeNs} ns): refusing to serve the clone over other data`,
      );
    }
    if (!o.create) {
      // An existing clone must have its delta: a missing one would silently read as the golden volume.
      const st = await fs.promises.stat(o.delta).catch(() => null);
      if (!st?.isFile()) throw bad(`clone delta ${o.delta} is missing`);
    }
    const goldenFd = await fsOpen(o.golden, 'r');
    let mapFd = -1;
    try {
      mapFd = await fsOpen(o.map, 'r+');
      const delta = await LunFile.open({ path: o.delta, sizeBytes: size, blockSize });
      return new LunClone(delta, goldenFd, id.size, mapFd, Buffer.from(mapBuf.subarray(HEADER)));
    } catch (e) {
      fs.closeSync(goldenFd);
      if (mapFd >= 0) fs.closeSync(mapFd);
      throw e;
    }
  }

  private check(pos: number, len: number): void {
    if (this.closed) throw new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed');
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.sizeBytes) {
      throw new NetrootError('E_ISCSI_LUN_RANGE', `I/O ${pos}+${len} outside the volume (${this.sizeBytes} bytes)`);
    }
    if (pos % this.blockSize !== 0 || len % this.blockSize !== 0) {
      throw new NetrootError('E_ISCSI_LUN_RANGE', `I/O ${pos}+${len} is not whole ${this.blockSize}-byte blocks (a clone maps blocks)`);
    }
  }

  private isSet(block: number): boolean {
    return (this.bitmap[block >> 3]! & (1 << (block & 7))) !== 0;
  }

  /** Sets the bits of blocks [first, end); true when any was clear. */
  private setRange(first: number, end: number): boolean {
    let changed = false;
    for (let b = first; b < end; b++) {
      const i = b >> 3;
      const m = 1 << (b & 7);
      if ((this.bitmap[i]! & m) === 0) {
        this.bitmap[i] = this.bitmap[i]! | m;
        if (i < this.dirtyLo) this.dirtyLo = i;
        if (i > this.dirtyHi) this.dirtyHi = i;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * The map write of the writes that set bits in this task: it starts once the task's microtasks
   * are done, so every write the delta resolved at one moment (a thread-pool batch of
   * lun-file.ts) shares one map write instead of one each. Each of them still resolves only after
   * its bits are in the kernel.
   */
  private flushSoon(): Promise<void> {
    if (this.mapSoon) return this.mapSoon;
    const soon = new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        this.mapSoon = null;
        this.flushMap().then(resolve, reject);
      });
    });
    this.mapSoon = soon;
    return soon;
  }

  /**
   * Writes the changed map bytes: one map write at a time, each from the bitmap as it is when it
   * starts, so a write that starts later carries every bit set before it (none is lost to an
   * older write landing last). Resolves when every bit set before the call is in the kernel.
   * With no map write running, the bytes go on the loop's thread (native writeNow: a few dozen
   * bytes into a page that stays cached, under the dirty-page threshold lun-io.ts dirtyPagesLow
   * checks) instead of a thread-pool round trip; when writeNow declines, through the pool.
   */
  private flushMap(): Promise<void> {
    if (!this.mapWriting && this.dirtyLo <= this.dirtyHi) {
      const done = this.flushMapNow();
      if (done !== undefined) return done;
    }
    const run = async (): Promise<void> => {
      while (this.dirtyLo <= this.dirtyHi) {
        const lo = this.dirtyLo;
        const hi = this.dirtyHi;
        this.dirtyLo = Number.POSITIVE_INFINITY;
        this.dirtyHi = -1;
        this.mapStats.writes++;
        try {
          await pwrite(this.mapFd, Buffer.from(this.bitmap.subarray(lo, hi + 1)), HEADER + lo);
        } catch (e) {
          this.redirty(lo, hi);
          throw e;
        }
      }
    };
    const prev = this.mapWriting ?? Promise.resolve();
    const next = prev.then(run, run);
    this.mapWriting = next;
    // Cleared either way; this branch swallows nothing (the caller awaits `next` and sees its
    // failure) but must not leave a rejected promise unhandled (that ends the process).
    const clear = () => {
      if (this.mapWriting === next) this.mapWriting = null;
    };
    next.then(clear, clear);
    return next;
  }

  /** Still dirty after a failed map write: the next write or sync tries these bytes again (the write that waited for them fails, so it is not acknowledged). */
  private redirty(lo: number, hi: number): void {
    this.dirtyLo = Math.min(this.dirtyLo, lo);
    this.dirtyHi = Math.max(this.dirtyHi, hi);
  }

  /** The dirty map bytes written on the loop's thread: settled when written or failed; undefined when the pool must (nothing written). */
  private flushMapNow(): Promise<void> | undefined {
    const now = performance.now();
    if (!lunIo || now < this.mapNowPausedUntil || !dirtyPagesLow(now)) return undefined;
    const lo = this.dirtyLo;
    const hi = this.dirtyHi;
    // Synchronous: the bitmap cannot change under the view while the kernel copies it.
    const { r, waited } = writeNowTimed(lunIo, this.mapFd, [this.bitmap.subarray(lo, hi + 1)], HEADER + lo, MAP_NOW_SLOW_MS);
    if (waited) this.mapNowPausedUntil = performance.now() + MAP_NOW_PAUSE_MS;
    if (r === -EAGAIN) return undefined;
    this.mapStats.writes++;
    this.mapStats.onLoop++;
    if (r < 0) return Promise.reject(errnoError(-r)); // still dirty: retried by the next write or sync
    this.dirtyLo = Number.POSITIVE_INFINITY;
    this.dirtyHi = -1;
    return Promise.resolve();
  }

  /**
   * Fill `buf[off, off+len)` from byte `pos`: each run of blocks from the delta or the golden file,
   * both through the plain volume's read path (lun-io.ts readAt: cached bytes at once on the loop's
   * thread, the rest through the thread pool). One run — the common case — costs no more than a
   * plain volume's read.
   */
  read(buf: Buffer, off: number, len: number, pos: number): Promise<void> {
    try {
      this.check(pos, len);
    } catch (e) {
      return Promise.reject(e); // a rejection, as from every other method here
    }
    const bs = this.blockSize;
    let b = pos / bs;
    const end = (pos + len) / bs;
    let first: Promise<void> | undefined;
    let more: Promise<void>[] | undefined;
    while (b < end) {
      const e = this.runEnd(b, end);
      const at = b * bs;
      const n = (e - b) * bs;
      const into = off + (at - pos);
      const p = this.isSet(b) ? this.delta.read(buf, into, n, at) : this.readGolden(buf, into, n, at);
      if (!first) first = p;
      else (more ??= [first]).push(p);
      b = e;
    }
    if (more) return Promise.all(more).then(() => undefined);
    return first ?? Promise.resolve();
  }

  /** The end of the run of blocks from `b` (before `end`) whose bits equal block b's; whole bytes of the map at a time. */
  private runEnd(b: number, end: number): number {
    const set = this.isSet(b);
    const full = set ? 0xff : 0;
    let e = b + 1;
    while (e < end) {
      if ((e & 7) === 0 && e + 8 <= end && this.bitmap[e >> 3] === full) {
        e += 8;
        continue;
      }
      if (this.isSet(e) !== set) break;
      e++;
    }
    return e;
  }

  /** Golden bytes; past the golden file's end (a clone larger than its golden), zeros. */
  private readGolden(buf: Buffer, off: number, len: number, pos: number): Promise<void> {
    const avail = Math.max(0, Math.min(len, this.goldenSize - pos));
    if (avail < len) buf.fill(0, off + avail, off + len);
    return avail > 0 ? readAt(lunIo, this.goldenFd, buf, off, avail, pos) : Promise.resolve();
  }

  /** The data into the delta, then its bits into the map (see the header for the order). */
  async write(parts: readonly Buffer[], pos: number): Promise<void> {
    let len = 0;
    for (const p of parts) len += p.length;
    this.check(pos, len);
    if (len === 0) return;
    await this.delta.write(parts, pos);
    if (this.setRange(pos / this.blockSize, (pos + len) / this.blockSize)) await this.flushSoon();
  }

  /** The delta's data, then the map, on stable storage, in that order. */
  async sync(): Promise<void> {
    if (this.closed) throw new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed');
    await this.delta.sync();
    await this.flushMap();
    await fdatasync(this.mapFd);
  }

  async zero(pos: number, len: number): Promise<void> {
    this.check(pos, len);
    await this.delta.zero(pos, len);
    if (this.setRange(pos / this.blockSize, (pos + len) / this.blockSize)) await this.flushMap();
  }

  /** The range reads as zeros afterwards: a hole in the delta, and the bits set so the golden data stays hidden. */
  async deallocate(pos: number, len: number): Promise<void> {
    this.check(pos, len);
    await this.delta.deallocate(pos, len);
    if (this.setRange(pos / this.blockSize, (pos + len) / this.blockSize)) await this.flushMap();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flushMap(); // a failure is the caller's to see: bits not in the map file are data lost
    } finally {
      await this.delta.close();
      await new Promise<void>((r) => fs.close(this.goldenFd, () => r()));
      await new Promise<void>((r) => fs.close(this.mapFd, () => r()));
    }
  }
}
