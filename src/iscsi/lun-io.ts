// The optional native helper of lun-file.ts and lun-clone.ts (native/lunio, `npm run build:native`):
// several positional writes in one thread-pool request, reads of what the page cache holds
// and small writes without a thread-pool round trip (its header states the contract); and
// `dirtyPagesLow`, the check that keeps those small writes away from dirty-page throttling; and
// `readAt`, the read of a LUN's files through readCached with the pool behind it. Without
// the build, `lunIo` is undefined and LunFile issues one fs.write/fs.writev per write, as before;
// nothing else changes (the same bytes reach the same offsets, durability is the same).
import * as fs from 'node:fs';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

export interface LunIo {
  /** errors[i]: 0 or the errno of write i; see native/lunio/lunio.c. */
  writeBatch(fd: number, positions: Float64Array, counts: Uint32Array, buffers: Buffer[], done: (errors: Int32Array) => void): void;
  /** preadv2 RWF_NOWAIT on this thread: bytes read (0 at the end), or -errno (-EAGAIN: not cached). */
  readCached(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  /**
   * pwritev on this thread: the bytes written (all), -EAGAIN (nothing written: a partial page not
   * cached, or too many buffers; use the pool), or -errno of a failed write. With `slept`,
   * slept[0] = this thread's voluntary context switches during the write (-1 unknown).
   */
  writeNow(fd: number, buffers: readonly Buffer[], position: number, slept?: Float64Array): number;
}

/** What writeNowTimed returns (one object, reused: read it at once). */
export interface TimedWrite {
  /** writeNow's result. */
  r: number;
  /** The write slept in the kernel (or may have) and took longer than the caller's slowMs. */
  waited: boolean;
}

const timed: TimedWrite = { r: 0, waited: false };
const slept = new Float64Array(1);

/**
 * io.writeNow, timed. `waited` only when the write took longer than `slowMs` AND the kernel made
 * it sleep (a voluntary context switch: a journal commit, a page under writeback, a lock) — the
 * file's state, which the caller answers by sending such writes to the pool for a while. A write
 * that was slow only because the thread was preempted (a loaded machine: another process had the
 * CPU) did not wait for the file and does not count: the pool would have been as slow, and on a
 * busy machine that happens every few hundred milliseconds, which kept the path paused.
 */
export function writeNowTimed(io: LunIo, fd: number, buffers: readonly Buffer[], position: number, slowMs: number): Readonly<TimedWrite> {
  const t0 = performance.now();
  timed.r = io.writeNow(fd, buffers, position, slept);
  timed.waited = performance.now() - t0 > slowMs && slept[0] !== 0;
  return timed;
}

/** How often /proc/vmstat is read for dirtyPagesLow (at most). */
const VMSTAT_EVERY_MS = 100;
let vmstatAt = -Infinity;
let vmstatLow = false;

/**
 * True while the system's dirty and writeback pages are under the background writeback threshold
 * (/proc/vmstat nr_dirty + nr_writeback < nr_dirty_background_threshold), read at most every
 * VMSTAT_EVERY_MS. Below it the kernel never pauses a writer (mm/page-writeback.c,
 * balance_dirty_pages: throttling starts halfway between the background and the hard threshold),
 * so a buffered write on the event loop's thread does not sleep there. False when /proc/vmstat
 * cannot be read. `now`: performance.now().
 */
export function dirtyPagesLow(now: number): boolean {
  if (now - vmstatAt < VMSTAT_EVERY_MS) return vmstatLow;
  vmstatAt = now;
  vmstatLow = parseDirtyLow(readVmstat());
  return vmstatLow;
}

function readVmstat(): string {
  try {
    return readFileSync('/proc/vmstat', 'latin1'); // procfs: never waits for I/O
  } catch {
    return '';
  }
}

/** The /proc/vmstat text is under the background threshold (false when a field is missing). */
export function parseDirtyLow(vmstat: string): boolean {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(vmstat);
    return m ? Number(m[1]) : undefined;
  };
  const dirty = field('nr_dirty');
  const writeback = field('nr_writeback');
  const bg = field('nr_dirty_background_threshold');
  if (dirty === undefined || writeback === undefined || bg === undefined) return false;
  return dirty + writeback < bg;
}

/** native/lunio/build/Release/lunio.node above this file (from src/iscsi and dist/src/iscsi). */
function addonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'native', 'lunio', 'build', 'Release', 'lunio.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

/** The helper's API version (lunio.c `version`): a build of another version is not used. */
const LUNIO_VERSION = 2;

function load(): LunIo | undefined {
  const p = addonPath();
  if (!p) return undefined;
  try {
    const m = createRequire(import.meta.url)(p) as LunIo & { version?: unknown };
    return m.version === LUNIO_VERSION ? m : undefined; // a stale build (npm run build:native): the fs path
  } catch {
    return undefined; // built for another Node ABI: the fs path still works
  }
}

export const lunIo: LunIo | undefined = load();

/** An errno from the native helper as the Error fs would have given (code, errno, syscall). */
export function errnoError(errno: number, syscall = 'pwritev'): NodeJS.ErrnoException {
  let name = `E${errno}`;
  try {
    name = getSystemErrorName(-errno);
  } catch {
    // an errno Node does not name: keep the number
  }
  const e: NodeJS.ErrnoException = new Error(`${name}: ${syscall} failed`);
  e.code = name;
  e.errno = -errno;
  e.syscall = syscall;
  return e;
}

/**
 * Fill `buf[off, off+len)` from byte `pos` of `fd`; bytes past the file's end read as zeros (a
 * sparse volume's tail). With the native helper (`io`) what the page cache holds is read at once on
 * this thread (readCached: preadv2 RWF_NOWAIT, never waits for I/O); the rest goes through the
 * thread pool (fs.read, continued after short reads). The one read path of LunFile and of LunClone's
 * golden file: a clone's cached golden blocks cost what a plain volume's cached blocks cost.
 */
export function readAt(io: LunIo | undefined, fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<void> {
  let cached = 0;
  if (io && len > 0) {
    const n = io.readCached(fd, buf, off, len, pos);
    if (n === len) return Promise.resolve();
    if (n > 0) cached = n; // the rest through the pool (it may be a hole's end or not cached)
  }
  return readPool(fd, buf, off + cached, len - cached, pos + cached);
}

function readPool(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= len) return resolve();
      fs.read(fd, buf, off + done, len - done, pos + done, (err, n) => {
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
