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
}

export class FileVolumes {
  readonly dir: string;
  private readonly limitBytes: number | undefined;

  constructor(opts: FileVolumesOptions) {
    this.dir = resolve(opts.dir);
    this.limitBytes = opts.limitBytes;
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
    const vols = await this.list();
    if (this.limitBytes !== undefined) {
      const used = vols.reduce((s, v) => s + v.sizeBytes, 0);
      return { totalBytes: this.limitBytes, freeBytes: Math.max(0, this.limitBytes - used) };
    }
    const s = await statfs(this.dir);
    const promised = vols.reduce((sum, v) => sum + Math.max(0, v.sizeBytes - v.allocatedBytes), 0);
    return { totalBytes: s.blocks * s.bsize, freeBytes: Math.max(0, s.bavail * s.bsize - promised) };
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
    return this.require(v.name);
  }

  async resize(name: string, sizeBytes: number): Promise<VolumeInfo> {
    const size = validateSize(sizeBytes);
    const cur = await this.require(name);
    if (size < cur.sizeBytes)
      throw new UserError('E_STORAGE_SHRINK', `volume ${name} has ${cur.sizeBytes} bytes; shrinking to ${size} would lose data and is refused`);
    if (size === cur.sizeBytes) return cur;
    const cap = await this.capacity();
    if (size - cur.sizeBytes > cap.freeBytes)
      throw new UserError('E_STORAGE_FULL', `growing ${name} needs ${size - cur.sizeBytes} more bytes, ${cap.freeBytes} free`);
    const fh = await open(cur.path!, C.O_RDWR | C.O_NOFOLLOW);
    try {
      await fh.truncate(size);
    } finally {
      await fh.close();
    }
    return this.require(name);
  }

  async delete(name: string): Promise<void> {
    const path = this.pathOf(name);
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
    const out: VolumeInfo[] = [];
    for (const f of names) {
      const n = this.nameOf(join(this.dir, f));
      if (!n) continue;
      const st = await lstat(join(this.dir, f));
      if (st.isFile()) out.push({ name: n, sizeBytes: st.size, allocatedBytes: st.blocks * 512, path: join(this.dir, f) });
    }
    return out;
  }
}
