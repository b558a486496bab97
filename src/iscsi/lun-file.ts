// A logical unit backed by a sparse file. All I/O is positional on one open fd (fs.read /
// fs.writev with a position, callback API: the cheapest path through libuv), so independent
// commands run concurrently and nothing ever seeks. Writes are gathered: adjacent writes
// waiting for the thread pool leave as one pwritev (see write()). Every access is checked against the
// volume size here as well as in the SCSI layer: no read or write can leave the volume.
//
// Thin provisioning: the file is created with ftruncate (sparse). Deallocation (UNMAP, WRITE
// SAME with UNMAP) punches holes with util-linux `fallocate --punch-hole` (Node has no
// fallocate(2)); small ranges, or a system without the tool, are zero-filled instead. Either
// way a deallocated block reads back as zeros (we report LBPRZ=1).
// Durability: FUA writes and SYNCHRONIZE CACHE call fdatasync before status is returned.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { NetrootError } from '../errors.js';
import type { LunStore } from './lun-store.js';

export interface LunBackingOptions {
  path: string;
  sizeBytes: number;
  blockSize?: 512 | 4096;
}

/**
 * Ranges at least this long are punched; shorter ones are zero-filled. Punching costs a process
 * spawn (~5 ms, more on a busy host), writing 1 MiB of zeros well under that; libiscsi's
 * WRITE SAME / UNMAP tests issue hundreds of 1-256-block deallocations, which at 64 KiB made
 * them take seconds each.
 */
const PUNCH_MIN = 1024 * 1024;
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
/**
 * Writes handed to the thread pool at once: one per pool thread (libuv's pool has
 * UV_THREADPOOL_SIZE threads, 4 by default, fixed when the process starts), so the pool is
 * kept busy while later writes wait here, where they can still be gathered.
 */
const MAX_WRITES_IN_FLIGHT = threadPoolSize();

function threadPoolSize(): number {
  const n = Number(process.env['UV_THREADPOOL_SIZE']);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}
/** pwritev(2) takes at most IOV_MAX (1024 on Linux) buffers. */
const IOV_MAX = 1024;
const MAX_GATHER_BYTES = 8 * 1024 * 1024;
const CLOSE_WAIT_MS = 10_000;

interface PendingWrite {
  parts: Buffer[];
  pos: number;
  len: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** pwrite/pwritev `parts` at `pos` until every byte is written (short writes continue). */
function writeAll(fd: number, parts: readonly Buffer[], pos: number, done: (err: NodeJS.ErrnoException | null) => void): void {
  let list = parts;
  let at = pos;
  const step = (): void => {
    if (list.length === 0) return done(null);
    const cb = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return done(err);
      if (n <= 0) return done(new NetrootError('E_ISCSI_LUN_WRITE', `write at ${at} made no progress`));
      at += n;
      // Drop fully written buffers, trim a partially written one.
      let skip = n;
      let k = 0;
      while (k < list.length && skip >= list[k]!.length) skip -= list[k++]!.length;
      list = k === list.length ? [] : [skip > 0 ? list[k]!.subarray(skip) : list[k]!, ...list.slice(k + 1)];
      step();
    };
    try {
      if (list.length === 1) fs.write(fd, list[0]!, 0, list[0]!.length, at, cb);
      else fs.writev(fd, list as Buffer[], at, cb);
    } catch (e) {
      done(e as NodeJS.ErrnoException); // argument errors are thrown, not passed to cb
    }
  };
  step();
}

function fsOpen(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((res, rej) => fs.open(path, flags, mode, (e, fd) => (e ? rej(e) : res(fd))));
}

export class LunFile implements LunStore {
  readonly path: string;
  readonly blockSize: 512 | 4096;
  readonly sizeBytes: number;
  readonly blocks: bigint;
  readonly blockCount: number;
  private fd: number;
  private closed = false;
  private punchTool: boolean | undefined;
  private writesInFlight = 0;
  private waiting: PendingWrite[] = [];
  /** write() calls, and the pwrite/pwritev requests they became (fewer when gathered). */
  readonly writeStats = { writes: 0, requests: 0 };
  /** Set by close() while it waits for in-flight writes. */
  private idle: (() => void) | undefined;

  private constructor(path: string, fd: number, sizeBytes: number, blockSize: 512 | 4096) {
    this.path = path;
    this.fd = fd;
    this.blockSize = blockSize;
    this.sizeBytes = sizeBytes;
    this.blockCount = Math.floor(sizeBytes / blockSize);
    this.blocks = BigInt(this.blockCount);
  }

  /**
   * Open (creating a sparse file if missing) a volume of `sizeBytes`, rounded down to whole
   * blocks. A smaller existing file is extended (sparse); a larger one is used as is but only
   * its first `sizeBytes` are exposed. Without `sizeBytes` the file must exist.
   */
  static async open(opts: { path: string; sizeBytes?: number; blockSize?: 512 | 4096 }): Promise<LunFile> {
    const blockSize = opts.blockSize ?? 512;
    let st: fs.Stats | undefined;
    try {
      st = await fs.promises.stat(opts.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st && !st.isFile()) throw new NetrootError('E_ISCSI_LUN_PATH', `${opts.path} is not a regular file`);
    const size = opts.sizeBytes ?? st?.size;
    if (size === undefined) throw new NetrootError('E_ISCSI_LUN_SIZE', `${opts.path} does not exist and no size was given`);
    if (!Number.isSafeInteger(size) || size < blockSize) {
      throw new NetrootError('E_ISCSI_LUN_SIZE', `volume size ${size} is smaller than one ${blockSize}-byte block`);
    }
    if (!st) await fs.promises.mkdir(dirname(opts.path), { recursive: true });
    const fd = await fsOpen(opts.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    const usable = size - (size % blockSize);
    if (!st || st.size < usable) {
      await new Promise<void>((res, rej) => fs.ftruncate(fd, usable, (e) => (e ? rej(e) : res())));
    }
    return new LunFile(opts.path, fd, usable, blockSize);
  }

  private check(pos: number, len: number): void {
    if (this.closed) throw new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed');
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.sizeBytes) {
      throw new NetrootError('E_ISCSI_LUN_RANGE', `I/O ${pos}+${len} outside the volume (${this.sizeBytes} bytes)`);
    }
  }

  /** Fill `buf[off, off+len)` from byte `pos` of the volume. */
  read(buf: Buffer, off: number, len: number, pos: number): Promise<void> {
    this.check(pos, len);
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done >= len) return resolve();
        fs.read(this.fd, buf, off + done, len - done, pos + done, (err, n) => {
          if (err) return reject(err);
          if (n === 0) {
            buf.fill(0, off + done, off + len); // past the file's end: sparse zeros
            return resolve();
          }
          step(done + n);
        });
      };
      step(0);
    });
  }

  /**
   * Write `parts` contiguously at byte `pos`; resolves once the bytes are in the file (page
   * cache; durable only after sync()). Write gathering: at most MAX_WRITES_IN_FLIGHT writes
   * are handed to libuv's thread pool at once; the rest wait, and when one finishes the
   * waiting writes are sorted by position and every run of exactly adjacent ones leaves as one
   * pwritev. A burst of sequential 4 KiB writes thus costs a few thread-pool round trips
   * instead of one each. Overlapping writes are never merged; as with concurrent SIMPLE
   * commands on a disk, their relative order is not defined (SAM-5 §8.6).
   */
  write(parts: readonly Buffer[], pos: number): Promise<void> {
    let len = 0;
    for (const p of parts) len += p.length;
    this.check(pos, len);
    if (len === 0) return Promise.resolve();
    this.writeStats.writes++;
    return new Promise((resolve, reject) => {
      const w: PendingWrite = { parts: parts.filter((p) => p.length > 0), pos, len, resolve, reject };
      if (this.waiting.length === 0 && this.writesInFlight < MAX_WRITES_IN_FLIGHT) this.issue([w]);
      else this.waiting.push(w);
    });
  }

  private issue(group: PendingWrite[]): void {
    if (this.closed) {
      for (const w of group) w.reject(new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed'));
      return;
    }
    this.writesInFlight++;
    this.writeStats.requests++;
    const parts = group.length === 1 ? group[0]!.parts : group.flatMap((w) => w.parts);
    writeAll(this.fd, parts, group[0]!.pos, (err) => {
      this.writesInFlight--;
      for (const w of group) {
        if (err) w.reject(err);
        else w.resolve();
      }
      if (this.writesInFlight === 0 && this.idle) this.idle();
      this.drainWrites();
    });
  }

  private drainWrites(): void {
    if (this.waiting.length === 0) return;
    const q = this.waiting.sort((a, b) => a.pos - b.pos);
    let i = 0;
    while (i < q.length && this.writesInFlight < MAX_WRITES_IN_FLIGHT) {
      const group = [q[i]!];
      let end = q[i]!.pos + q[i]!.len;
      let iov = q[i]!.parts.length;
      let bytes = q[i]!.len;
      i++;
      while (i < q.length && q[i]!.pos === end && iov + q[i]!.parts.length <= IOV_MAX && bytes + q[i]!.len <= MAX_GATHER_BYTES) {
        end += q[i]!.len;
        iov += q[i]!.parts.length;
        bytes += q[i]!.len;
        group.push(q[i++]!);
      }
      this.issue(group);
    }
    this.waiting = q.slice(i);
  }

  /** fdatasync: everything written so far is on stable storage when this resolves. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed'));
    return new Promise((res, rej) => fs.fdatasync(this.fd, (e) => (e ? rej(e) : res())));
  }

  /** Write zeros over `[pos, pos+len)`. */
  async zero(pos: number, len: number): Promise<void> {
    this.check(pos, len);
    let done = 0;
    while (done < len) {
      const n = Math.min(ZERO_CHUNK.length, len - done);
      await this.write([ZERO_CHUNK.subarray(0, n)], pos + done);
      done += n;
    }
  }

  /** Deallocate `[pos, pos+len)`; reads return zeros afterwards. */
  async deallocate(pos: number, len: number): Promise<void> {
    this.check(pos, len);
    if (len === 0) return;
    if (len >= PUNCH_MIN && this.punchTool !== false) {
      const ok = await new Promise<boolean>((res) => {
        execFile('fallocate', ['--punch-hole', '--keep-size', '--offset', String(pos), '--length', String(len), this.path], { timeout: 60_000 }, (err) =>
          res(!err),
        );
      });
      if (ok) {
        this.punchTool = true;
        return;
      }
      if (this.punchTool === undefined) this.punchTool = false;
    }
    await this.zero(pos, len);
  }

  /**
   * Close the volume. Queued writes fail with E_ISCSI_LUN_CLOSED; writes already handed to the
   * thread pool are waited for first (up to CLOSE_WAIT_MS), so the descriptor is not closed
   * (and its number reused by another open) while a pwrite still targets it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const queued = this.waiting;
    this.waiting = [];
    for (const w of queued) w.reject(new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed'));
    if (this.writesInFlight > 0) {
      // Bounded: a write stuck in the kernel (a hung device) must not hang shutdown forever.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => (this.idle = r)), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    this.idle = undefined;
    const fd = this.fd;
    this.fd = -1;
    await new Promise<void>((res) => fs.close(fd, () => res()));
  }
}
