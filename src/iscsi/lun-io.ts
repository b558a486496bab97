// The optional native helper of lun-file.ts (native/lunio, built by `npm run build:native`):
// several positional writes in one thread-pool request, reads of what the page cache holds
// and small writes without a thread-pool round trip (its header states the contract); and
// `dirtyPagesLow`, the check that keeps those small writes away from dirty-page throttling. Without
// the build, `lunIo` is undefined and LunFile issues one fs.write/fs.writev per write, as before;
// nothing else changes (the same bytes reach the same offsets, durability is the same).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LunIo {
  /** errors[i]: 0 or the errno of write i; see native/lunio/lunio.c. */
  writeBatch(fd: number, positions: Float64Array, counts: Uint32Array, buffers: Buffer[], done: (errors: Int32Array) => void): void;
  /** preadv2 RWF_NOWAIT on this thread: bytes read (0 at the end), or -errno (-EAGAIN: not cached). */
  readCached(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  /**
   * pwritev on this thread: the bytes written (all), -EAGAIN (nothing written: a partial page not
   * cached, or too many buffers; use the pool), or -errno of a failed write.
   */
  writeNow(fd: number, buffers: readonly Buffer[], position: number): number;
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

function load(): LunIo | undefined {
  const p = addonPath();
  if (!p) return undefined;
  try {
    return createRequire(import.meta.url)(p) as LunIo;
  } catch {
    return undefined; // built for another Node ABI: the fs path still works
  }
}

export const lunIo: LunIo | undefined = load();
