// Volumes as sparse files: <volumesDir>/<name>.img. Every path is built by pathOf(), which
// validates the name and checks the result is a direct child of volumesDir, and files are opened
// with O_NOFOLLOW, so no name or planted symlink makes us write outside that directory.
import { constants as C } from 'node:fs';
import { lstat, mkdir, open, readFile, statfs, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { NetrootError, UserError } from '../errors.js';
import { isVolumeName, validateSize, validateVolumeName, type VolumeInfo, type VolumeSpec } from './spec.js';
import { namesIn } from './util.js';

export interface FileVolumesOptions {
  dir: string;
  /**
   * Provisioning limit in bytes for this directory: capacity() reports it as the total and free =
   * limit − Σ volume sizes. Without it, the file system's size and free space are used, less the
   * space already promised to (but not yet written by) existing sparse volumes.
   */
  limitBytes?: number;
  /**
   * How long (ms) capacity() answers from its last reading of the directory (default 1000; 0 reads
   * it every time). Reading lstat()s every volume: naming a rack of machines at once would read
   * them all per volume. This instance's own creates are added to the reading at once, and its
   * deletes, resizes and clones drop it; another process's changes are seen within this time
   * (capacity is an estimate at creation anyway: sparse files, several processes).
   */
  capacityCacheMs?: number;
}

export class FileVolumes {
  readonly dir: string;
  private readonly limitBytes: number | undefined;
  private readonly capacityCacheMs: number;
  /** The last reading of the volumes' sizes (see capacityCacheMs). */
  private tally: { at: number; sizeBytes: number; promisedBytes: number } | null = null;
  private reading: Promise<{ at: number; sizeBytes: number; promisedBytes: number }> | null = null;

  constructor(opts: FileVolumesOptions) {
    this.dir = resolve(opts.dir);
    this.limitBytes = opts.limitBytes;
    this.capacityCacheMs = opts.capacityCacheMs ?? 1000;
  }

  pathOf(name: string): string {
    validateVolumeName(name);
    const p = join(this.dir, `${name}.img`);
    if (dirname(p) !== this.dir) throw new UserError('E_STORAGE_BAD_NAME', `volume name ${JSON.stringify(name)} leaves the volumes directory`);
    return p;
  }

  /** The volume name of a path inside this directory, or null. */
  nameOf(path: string): string | null {
    const p = resolve(path);
    if (dirname(p) !== this.dir || !p.endsWith('.img')) return null;
    const n = p.slice(this.dir.length + 1, -'.img'.length);
    return isVolumeName(n) ? n : null;
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  async capacity(): Promise<{ totalBytes: number; freeBytes: number }> {
    await this.ensureDir();
    let t = this.tally;
    if (!t || Date.now() - t.at >= this.capacityCacheMs) {
      // Callers at once share one reading.
      this.reading ??= this.readTally().finally(() => (this.reading = null));
      t = await this.reading;
    }
    if (this.limitBytes !== undefined) return { totalBytes: this.limitBytes, freeBytes: Math.max(0, this.limitBytes - t.sizeBytes) };
    const s = await statfs(this.dir);
    return { totalBytes: s.blocks * s.bsize, freeBytes: Math.max(0, s.bavail * s.bsize - t.promisedBytes) };
  }

  private async readTally(): Promise<NonNullable<FileVolumes['tally']>> {
    const at = Date.now();
    const vols = await this.list();
    const t = {
      at,
      sizeBytes: vols.reduce((sum, v) => sum + v.sizeBytes, 0),
      promisedBytes: vols.reduce((sum, v) => sum + Math.max(0, v.sizeBytes - v.allocatedBytes), 0),
    };
    this.tally = t;
    return t;
  }

  async get(name: string): Promise<VolumeInfo | null> {
    const path = this.pathOf(name);
    let st;
    try {
      st = await lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (!st.isFile()) throw new NetrootError('E_STORAGE_NOT_FILE', `${path} is not a regular file`);
    return { name, sizeBytes: st.size, allocatedBytes: st.blocks * 512, path };
  }

  async require(name: string): Promise<VolumeInfo> {
    const v = await this.get(name);
    if (!v) throw new UserError('E_STORAGE_NOT_FOUND', `no volume ${name}`);
    return v;
  }

  async create(v: VolumeSpec): Promise<VolumeInfo> {
    const path = this.pathOf(v.name);
    const size = validateSize(v.sizeBytes);
    await this.ensureDir();
    const existing = await this.get(v.name);
    if (existing) {
      if (existing.sizeBytes === size) return existing;
      throw new UserError('E_STORAGE_EXISTS', `volume ${v.name} exists with ${existing.sizeBytes} bytes, not ${size} (resize it instead)`);
    }
    const cap = await this.capacity();
    if (size > cap.freeBytes) throw new UserError('E_STORAGE_FULL', `volume ${v.name} needs ${size} bytes, ${cap.freeBytes} free`);
    let fh;
    try {
      fh = await open(path, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    } catch (e) {
      // Lost a race with a concurrent create of the same name: answer like the idempotent path.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return this.create(v);
      throw e;
    }
    try {
      await fh.truncate(size);
    } finally {
      await fh.close();
    }
    // A new sparse file: all of it promised, none written.
    if (this.tally) {
      this.tally.sizeBytes += size;
      this.tally.promisedBytes += size;
    }
    return this.require(v.name);
  }

  async resize(name: string, sizeBytes: number): Promise<VolumeInfo> {
    const size = validateSize(sizeBytes);
    const cur = await this.require(name);
    if (size < cur.sizeBytes)
      throw new UserError('E_STORAGE_SHRINK', `volume ${name} has ${cur.sizeBytes} bytes; shrinking to ${size} would lose data and is refused`);
    if (size === cur.sizeBytes) return cur;
    this.tally = null;
    const cap = await this.capacity();
    if (size - cur.sizeBytes > cap.freeBytes)
      throw new UserError('E_STORAGE_FULL', `growing ${name} needs ${size - cur.sizeBytes} more bytes, ${cap.freeBytes} free`);
    const fh = await open(cur.path!, C.O_RDWR | C.O_NOFOLLOW);
    try {
      await fh.truncate(size);
    } finally {
      this.tally = null;
      await fh.close();
    }
    return this.require(name);
  }

  async delete(name: string): Promise<void> {
    const path = this.pathOf(name);
    this.tally = null;
    const c = this.cloneFiles(name);
    // The delta first: a crash between the unlinks leaves a record without a volume, which
    // clonesOf() ignores, never a volume without its map.
    for (const f of [path, c.map, c.record]) {
      try {
        await unlink(f);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }

  // ---- clones (issue #20): <name>.img is the delta, <name>.map its allocation map,
  // <name>.clone.json {"golden": NAME} says which golden volume it is a clone of. ----

  cloneFiles(name: string): { map: string; record: string } {
    const p = this.pathOf(name);
    return { map: `${p.slice(0, -'.img'.length)}.map`, record: `${p.slice(0, -'.img'.length)}.clone.json` };
  }

  /** The golden volume `name` is a clone of, or null for a plain volume. */
  async cloneOf(name: string): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.cloneFiles(name).record, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const g = (JSON.parse(text) as { golden?: unknown }).golden;
    if (typeof g !== 'string' || !isVolumeName(g)) throw new NetrootError('E_STORAGE_NOT_FILE', `${this.cloneFiles(name).record} names no golden volume`);
    return g;
  }

  /** Records that `name` (delta and map already made) is a clone of `golden`. */
  async recordClone(name: string, golden: string): Promise<void> {
    this.tally = null;
    await writeFileAtomic(this.cloneFiles(name).record, JSON.stringify({ golden }) + '\n', { mode: 0o600, durable: true });
  }

  /** The volumes that are clones of `golden`. */
  async clonesOf(golden: string): Promise<string[]> {
    const out: string[] = [];
    for (const v of await this.list()) if ((await this.cloneOf(v.name)) === golden) out.push(v.name);
    return out;
  }

  async list(): Promise<VolumeInfo[]> {
    const names = await namesIn(this.dir);
    // The lstat()s at once (libuv's pool), not one event-loop round trip each.
    const found = await Promise.all(
      names.map(async (f): Promise<VolumeInfo | null> => {
        const n = this.nameOf(join(this.dir, f));
        if (!n) return null;
        const path = join(this.dir, f);
        let st;
        try {
          st = await lstat(path);
        } catch (e) {
          // Deleted since the directory was read.
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw e;
        }
        return st.isFile() ? { name: n, sizeBytes: st.size, allocatedBytes: st.blocks * 512, path } : null;
      }),
    );
    return found.filter((v): v is VolumeInfo => v !== null);
  }
}
