// bench:golden's file-level helpers: the data a boot reads from an installed image, the disk a set
// of files really uses, and dropping their pages from the page cache before a cold storm.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/**
 * The byte ranges of `file` from `from` on that hold data: every `grain`-sized piece that is not
 * all zeros, adjacent pieces merged. What an installed image's boot can read (a superset: a boot
 * reads less than everything the installer wrote); a hole or a zero piece is nothing to read.
 */
export function dataRanges(file: string, o: { from?: number; grain?: number } = {}): Array<[number, number]> {
  const grain = o.grain ?? 64 * 1024;
  const size = statSync(file).size;
  const buf = Buffer.alloc(grain);
  const out: Array<[number, number]> = [];
  const fd = openSync(file, 'r');
  try {
    for (let at = o.from ?? 0; at < size; at += grain) {
      const n = readSync(fd, buf, 0, Math.min(grain, size - at), at);
      if (!buf.subarray(0, n).some((b) => b !== 0)) continue;
      const last = out[out.length - 1];
      if (last && last[0] + last[1] === at) last[1] += n;
      else out.push([at, n]);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Disk space the files really use (allocated blocks, as `du`), in bytes; a missing file counts 0. */
export function allocatedBytes(files: readonly string[]): number {
  return files.reduce((sum, f) => sum + (existsSync(f) ? statSync(f).blocks * 512 : 0), 0);
}

/**
 * Writes the files' dirty pages back and drops their pages from the page cache (`dd iflag=nocache
 * count=0`: posix_fadvise DONTNEED over the whole file, GNU dd's documented idiom), so the next
 * read comes from the disk. Only these files: the machine's other work keeps its cache.
 */
export function dropCache(files: readonly string[]): void {
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) return;
  const s = spawnSync('sync', present);
  if (s.status !== 0) throw new Error(`sync ${present.join(' ')}: ${s.stderr}`);
  for (const f of present) {
    const r = spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    if (r.status !== 0) throw new Error(`dd iflag=nocache ${f}: ${r.stderr}`);
  }
}
