// The images on this frontend: one directory per image under `<boot root>/images/<name>/` holding
// vmlinuz, initrd.img, root.tar.gz and manifest.json, so the HTTP and TFTP file servers hand them
// out as /boot/files/images/<name>/... with no copy. Work in progress lives in dot-directories next
// to them (`.staging-*`), which list() never shows and which a later build sweeps when stale.
// Registration is one rename of a complete directory; removal is one rename away, then deletion.
// Nothing is deleted while something is mounted under it (a root's /dev bound by an old build).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import { parseManifest, validImageName, type ImageManifest } from './manifest.js';
import { pidAlive } from '../pid.js';

export const MANIFEST = 'manifest.json';

/** Mount points at or under `dir` (from /proc/self/mountinfo; octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const d = resolve(dir);
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === d || m.startsWith(d + '/'));
}

/** Deletes a directory tree unless something is mounted inside it (rm would recurse into the mount). */
export async function removeTree(dir: string): Promise<void> {
  const mounted = mountsUnder(dir);
  if (mounted.length) throw new NetrootError('E_IMAGE_MOUNTED', `not removing ${dir}: ${mounted.join(', ')} mounted inside (umount -R it first)`);
  await rm(dir, { recursive: true, force: true });
}

export interface ImageListing {
  name: string;
  manifest: ImageManifest | null;
  /** Why the image is unusable (missing file, bad manifest); null when it is whole. */
  problem: string | null;
}

export class ImageRegistry {
  readonly dir: string;

  constructor(bootRoot: string) {
    this.dir = join(bootRoot, 'images');
  }

  /** Path of an image's directory (name validated). */
  imageDir(name: string): string {
    return join(this.dir, validImageName(name));
  }

  /** Boot-root-relative path of a file of the image, as boot records and URLs use it. */
  relative(name: string, file: string): string {
    return `images/${validImageName(name)}/${file}`;
  }

  exists(name: string): boolean {
    return existsSync(this.imageDir(name));
  }

  /**
   * The manifest of a whole image (manifest valid, names it, every file present at its recorded
   * size; sums are not re-read); else E_IMAGE_NOT_FOUND, or E_IMAGE_INCOMPLETE naming what is
   * wrong. `where` prefixes the message (the booter's and kickstart's callers: os_image).
   */
  async get(name: string, where: string | null = 'os_image'): Promise<ImageManifest> {
    const dir = this.imageDir(name);
    const opts = where ? { where } : {};
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST), 'utf8');
    } catch (e) {
      if (!existsSync(dir)) throw new UserError('E_IMAGE_NOT_FOUND', `no image ${JSON.stringify(name)} (netroot image list)`, opts);
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no ${MANIFEST}` : (e as Error).message;
      throw new UserError('E_IMAGE_INCOMPLETE', `image ${name} has no readable manifest: ${why}`, opts);
    }
    const m = parseManifest(text, where ? `${where}: image ${name}` : `image ${name}`);
    if (m.name !== name) throw new UserError('E_IMAGE_INCOMPLETE', `image ${name}: its manifest names ${JSON.stringify(m.name)}`, opts);
    for (const f of [m.kernel, m.initrd, m.rootTarball]) {
      const s = await stat(join(dir, f.file)).catch(() => null);
      if (!s?.isFile()) throw new UserError('E_IMAGE_INCOMPLETE', `image ${name}: ${f.file} is missing`, opts);
      if (s.size !== f.size) throw new UserError('E_IMAGE_INCOMPLETE', `image ${name}: ${f.file} is ${s.size} bytes, the manifest says ${f.size}`, opts);
    }
    return m;
  }

  async list(): Promise<ImageListing[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
    const out: ImageListing[] = [];
    for (const name of names) {
      try {
        out.push({ name, manifest: await this.get(name, null), problem: null });
      } catch (e) {
        out.push({ name, manifest: null, problem: (e as Error).message });
      }
    }
    return out;
  }

  /** A fresh private staging directory for a build or import of `name`. */
  async staging(name: string): Promise<string> {
    validImageName(name);
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const dir = join(this.dir, `.staging-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { mode: 0o755 }); // mmdebstrap's apt sandbox user (_apt) must reach the root inside
    return dir;
  }

  /** Registers a complete directory (manifest already inside) as image `name`. */
  async commit(readyDir: string, name: string): Promise<void> {
    const dest = this.imageDir(name);
    const exists = () => new UserError('E_IMAGE_EXISTS', `image ${name} already exists (netroot image remove ${name} first)`, { where: 'name' });
    if (existsSync(dest)) throw exists();
    // rename(2) replaces an empty directory and fails on a full one: a race lost to a concurrent
    // build of the same name is reported as such.
    await rename(readyDir, dest).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOTEMPTY' || e.code === 'EEXIST' ? exists() : e;
    });
  }

  async remove(name: string): Promise<void> {
    const dir = this.imageDir(name);
    if (!existsSync(dir)) throw new UserError('E_IMAGE_NOT_FOUND', `no image ${JSON.stringify(name)}`, { where: 'name' });
    const mounted = mountsUnder(dir);
    if (mounted.length) throw new NetrootError('E_IMAGE_MOUNTED', `image ${name}: ${mounted.join(', ')} mounted inside (umount it first)`);
    const doomed = join(this.dir, `.removing-${name}-${randomBytes(4).toString('hex')}`);
    await rename(dir, doomed);
    await removeTree(doomed);
  }

  /**
   * Deletes staging and removal leftovers of processes that are gone (a build killed mid-way);
   * a live process's staging is kept, and so is anything with a mount inside (E_IMAGE_MOUNTED).
   */
  async sweep(): Promise<string[]> {
    let entries: string[];
    try {
      entries = (await readdir(this.dir)).filter((n) => n.startsWith('.staging-') || n.startsWith('.removing-'));
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const n of entries) {
      const p = join(this.dir, n);
      const pid = Number(/^\.staging-.+-(\d+)-[0-9a-f]{8}$/.exec(n)?.[1] ?? NaN);
      if (Number.isInteger(pid) && pidAlive(pid)) continue;
      await removeTree(p).catch((e: unknown) => {
        if (e instanceof NetrootError) throw e;
        throw new NetrootError('E_IMAGE_SWEEP', `cannot remove ${p}: ${(e as Error).message}`);
      });
      removed.push(n);
    }
    return removed;
  }
}
