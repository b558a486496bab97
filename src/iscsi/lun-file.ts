// A logical unit backed by a sparse file. All I/O is positional on one open fd (fs.read /
// fs.writev with a position, callback API: the cheapest path through libuv), so independent
// commands run concurrently and nothing ever seeks. Writes are gathered: adjacent writes
// waiting for the thread pool leave as one pwritev, and with the native helper (lun-io.ts,
// native/lunio) the writes waiting at one moment leave in a few thread-pool requests of several
// pwritev each instead of one request per write (see write()). Every access is checked against
// the volume size here as well as in the SCSI layer: no read or write can leave the volume.
//
// Thin provisioning: the file is created with ftruncate (sparse). Deallocation (UNMAP, WRITE
// SAME with UNMAP) punches holes with util-linux `fallocate --punch-hole` (Node has no
// fallocate(2)); small ranges, or a system without the tool, are zero-filled instead. Either
// way a deallocated block reads back as zeros (we report LBPRZ=1).
// Durability: FUA writes and SYNCHRONIZE CACHE call fdatasync before status is returned.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { NetrootError } from '../errors.js';
import { dirtyPagesLow, errnoError, lunIo as nativeIo, type LunIo, readAt, writeNowTimed } from './lun-io.js';
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
/**
 * With the native helper: a thread-pool request carries at least BATCH_MIN runs of gathered
 * writes when that many wait (fewer requests, fewer thread hand-offs: ~6 futex calls per request
 * here), and at most BATCH_MAX runs or BATCH_MAX_BYTES (the rest go in the next request).
 */
const BATCH_MIN = 4;
const BATCH_MAX = 64;
const BATCH_MAX_BYTES = 16 * 1024 * 1024;
const CLOSE_WAIT_MS = 10_000;
/**
 * A lone write (nothing in flight, nothing waiting) of at most WRITE_NOW_MAX bytes is written on
 * the event loop's thread (native writeNow) instead of a thread-pool round trip: at queue depth
 * 1 that round trip (wake a pool thread, its eventfd back to the loop) was most of a 4 KiB
 * write's time. Buffered writes cannot be made non-blocking on ext4 (pwritev2 RWF_NOWAIT:
 * EOPNOTSUPP), so what could make them sleep is ruled out or bounded instead: a partial page not
 * cached (writeNow probes it and declines), dirty-page throttling (only while the system is under
 * its background dirty threshold, lun-io.ts dirtyPagesLow), and anything else (a journal
 * commit, a page under writeback): a write on the loop that slept in the kernel and took over
 * WRITE_NOW_SLOW_MS pauses the path for WRITE_NOW_PAUSE_MS (lun-io.ts writeNowTimed; one that was
 * only preempted by another process does not).
 */
const WRITE_NOW_MAX = 32 * 1024;
const WRITE_NOW_SLOW_MS = 2;
const WRITE_NOW_PAUSE_MS = 1000;
const EAGAIN = osConstants.errno.EAGAIN;

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

function partsOf(run: readonly PendingWrite[]): Buffer[] {
  return run.length === 1 ? run[0]!.parts : run.flatMap((w) => w.parts);
}

function runLength(run: readonly PendingWrite[]): number {
  let n = 0;
  for (const w of run) n += w.len;
  return n;
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
  private drainQueued = false;
  private readonly io: LunIo | undefined;
  /**
   * write() calls, the pwrite/pwritev requests they became (fewer when gathered), the
   * thread-pool requests those went out in (fewer with the native helper), the requests
   * written on the loop's thread instead (`onLoop`, see WRITE_NOW_MAX), and how often a slow one
   * paused that path (`slowPauses`, WRITE_NOW_SLOW_MS).
   */
  readonly writeStats = { writes: 0, requests: 0, batches: 0, onLoop: 0, slowPauses: 0 };
  /** Lone small writes go on the loop's thread (WRITE_NOW_MAX) unless paused until this time. */
  private writeNowPausedUntil: number;
  /** Set by close() while it waits for in-flight writes. */
  private idle: (() => void) | undefined;

  private constructor(path: string, fd: number, sizeBytes: number, blockSize: 512 | 4096, io: LunIo | undefined, writeNow: boolean) {
    this.path = path;
    this.writeNowPausedUntil = writeNow ? 0 : Infinity;
    this.io = io;
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
  static async open(opts: {
    path: string;
    sizeBytes?: number;
    blockSize?: 512 | 4096;
    /** false: one fs.write/fs.writev per run of writes even when the native helper is built. */
    native?: boolean;
    /** false: never write on the loop's thread (WRITE_NOW_MAX); every write goes through the pool. */
    writeNow?: boolean;
  }): Promise<LunFile> {
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
    return new LunFile(opts.path, fd, usable, blockSize, opts.native === false ? undefined : nativeIo, opts.writeNow !== false);
  }

  private check(pos: number, len: number): void {
    if (this.closed) throw new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed');
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.sizeBytes) {
      throw new NetrootError('E_ISCSI_LUN_RANGE', `I/O ${pos}+${len} outside the volume (${this.sizeBytes} bytes)`);
    }
  }

  /**
   * Fill `buf[off, off+len)` from byte `pos` of the volume. With the native helper the bytes the
   * page cache holds are read at once on this thread (preadv2 RWF_NOWAIT: never waits for I/O);
   * what it does not hold is read through the thread pool.
   */
  read(buf: Buffer, off: number, len: number, pos: number): Promise<void> {
    this.check(pos, len);
    return readAt(this.io, this.fd, buf, off, len, pos);
  }

  /**
   * Write `parts` contiguously at byte `pos`; resolves once the bytes are in the file (page
   * cache; durable only after sync()). Write gathering: a write waits until the current task's
   * microtasks are done (every command of one received chunk has then queued its write) or until
   * a request finishes; one that finds nothing in flight and nothing waiting and is not small
   * enough for the loop's thread is issued at once. A write alone when the wait ends, with
   * nothing in flight, is written on the loop's thread if it is small (WRITE_NOW_MAX), else
   * issued to the pool: a lone command's latency. The others leave
   * together: sorted by position, every run of
   * exactly adjacent writes becomes one pwritev, and at most MAX_WRITES_IN_FLIGHT thread-pool
   * requests run at once. With the native helper one request carries several such runs
   * (BATCH_MIN..BATCH_MAX), run one after the other on a pool thread; without it each run is its
   * own request. A burst of 4 KiB writes thus costs a few thread-pool round trips instead of one
   * each. Overlapping writes are never merged; as with concurrent SIMPLE commands on a disk,
   * their relative order is not defined (SAM-5 §8.6).
   */
  write(parts: readonly Buffer[], pos: number): Promise<void> {
    let len = 0;
    for (const p of parts) len += p.length;
    this.check(pos, len);
    if (len === 0) return Promise.resolve();
    this.writeStats.writes++;
    return new Promise((resolve, reject) => {
      const w: PendingWrite = { parts: parts.filter((p) => p.length > 0), pos, len, resolve, reject };
      if (this.waiting.length === 0 && this.writesInFlight === 0 && !this.mayWriteNow(len)) {
        this.issue([[w]]); // a lone write for the pool: at once
        return;
      }
      this.waiting.push(w);
      if (!this.drainQueued) {
        this.drainQueued = true;
        queueMicrotask(() => {
          this.drainQueued = false;
          this.drainWrites();
        });
      }
    });
  }

  /** A write of `len` bytes may go on the loop's thread (WRITE_NOW_MAX; not paused). */
  private mayWriteNow(len: number): boolean {
    return this.io !== undefined && len <= WRITE_NOW_MAX && performance.now() >= this.writeNowPausedUntil;
  }

  /**
   * A lone small write on the loop's thread (WRITE_NOW_MAX). True when it was written or failed
   * (`w` settled), false when it is the pool's (nothing written). (Bursts stay in the pool: written
   * here one after the other — the commands of one received chunk at queue depth 32 — they took
   * the loop from reading the next commands; bench:iscsi rand-write QD32 halved.)
   */
  private writeNow(w: PendingWrite): boolean {
    const io = this.io;
    if (!io || !this.mayWriteNow(w.len) || this.closed || !dirtyPagesLow(performance.now())) return false;
    const { r, waited } = writeNowTimed(io, this.fd, w.parts, w.pos, WRITE_NOW_SLOW_MS);
    if (waited) {
      this.writeNowPausedUntil = performance.now() + WRITE_NOW_PAUSE_MS;
      this.writeStats.slowPauses++;
    }
    if (r === -EAGAIN) return false;
    this.writeStats.requests++;
    this.writeStats.onLoop++;
    if (r < 0) w.reject(errnoError(-r));
    else w.resolve();
    return true;
  }

  /** One thread-pool request for `runs` (each a run of adjacent writes; several only with the native helper). */
  private issue(runs: PendingWrite[][]): void {
    if (this.closed) {
      for (const run of runs) for (const w of run) w.reject(new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed'));
      return;
    }
    this.writesInFlight++;
    this.writeStats.requests += runs.length;
    this.writeStats.batches++;
    const finished = (errs: ReadonlyArray<NodeJS.ErrnoException | null>): void => {
      this.writesInFlight--;
      runs.forEach((run, i) => {
        const err = errs[i];
        for (const w of run) {
          if (err) w.reject(err);
          else w.resolve();
        }
      });
      if (this.writesInFlight === 0 && this.idle) this.idle();
      this.drainWrites();
    };
    const io = this.io;
    if (!io || runs.length === 1) {
      writeAll(this.fd, partsOf(runs[0]!), runs[0]![0]!.pos, (err) => finished([err]));
      return;
    }
    const positions = new Float64Array(runs.length);
    const counts = new Uint32Array(runs.length);
    const buffers: Buffer[] = [];
    runs.forEach((run, i) => {
      positions[i] = run[0]!.pos;
      const parts = partsOf(run);
      counts[i] = parts.length;
      for (const p of parts) buffers.push(p);
    });
    try {
      // `buffers` stays referenced by this closure until the callback runs: the pool thread reads them.
      io.writeBatch(this.fd, positions, counts, buffers, (errors) => {
        void buffers;
        finished(Array.from(errors, (e) => (e === 0 ? null : errnoError(e))));
      });
    } catch (e) {
      finished(runs.map(() => e as NodeJS.ErrnoException)); // argument errors are thrown
    }
  }

  private drainWrites(): void {
    if (this.waiting.length === 0 || this.writesInFlight >= MAX_WRITES_IN_FLIGHT) return;
    if (this.waiting.length === 1 && this.writesInFlight === 0) {
      // A lone write: on the loop's thread when small, else at once through the pool.
      const w = this.waiting[0]!;
      this.waiting = [];
      if (!this.writeNow(w)) this.issue([[w]]);
      return;
    }
    const q = this.waiting.sort((a, b) => a.pos - b.pos);
    // Runs of exactly adjacent writes, each within IOV_MAX buffers and MAX_GATHER_BYTES.
    const runs: PendingWrite[][] = [];
    let i = 0;
    while (i < q.length) {
      const run = [q[i]!];
      let end = q[i]!.pos + q[i]!.len;
      let iov = q[i]!.parts.length;
      let bytes = q[i]!.len;
      i++;
      while (i < q.length && q[i]!.pos === end && iov + q[i]!.parts.length <= IOV_MAX && bytes + q[i]!.len <= MAX_GATHER_BYTES) {
        end += q[i]!.len;
        iov += q[i]!.parts.length;
        bytes += q[i]!.len;
        run.push(q[i++]!);
      }
      runs.push(run);
    }
    let r = 0;
    while (r < runs.length && this.writesInFlight < MAX_WRITES_IN_FLIGHT) {
      if (!this.io) {
        this.issue([runs[r++]!]);
        continue;
      }
      // Spread what waits over the free requests, at least BATCH_MIN runs each.
      const free = MAX_WRITES_IN_FLIGHT - this.writesInFlight;
      const want = Math.min(BATCH_MAX, Math.max(BATCH_MIN, Math.ceil((runs.length - r) / free)));
      const batch: PendingWrite[][] = [];
      let bytes = 0;
      while (r < runs.length && batch.length < want) {
        const n = runLength(runs[r]!);
        if (batch.length > 0 && bytes + n > BATCH_MAX_BYTES) break;
        batch.push(runs[r++]!);
        bytes += n;
      }
      this.issue(batch);
    }
    this.waiting = runs.slice(r).flat();
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
