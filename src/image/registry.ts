// The images on this frontend: one directory per image under `<boot root>/images/<name>/` holding
// vmlinuz, initrd.img, root.tar.gz and manifest.json, so the HTTP and TFTP file servers hand them
// out as /boot/files/images/<name>/... with no copy. Work in progress lives in dot-directories next
// to them (`.staging-*`), which list() never shows and which a later build sweeps when stale.
// Registration is one rename of a complete directory; removal is one rename away, then deletion.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import { parseManifest, validImageName, type ImageManifest } from './manifest.js';

export const MANIFEST = 'manifest.json';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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

  /** The manifest of a whole image; E_IMAGE_NOT_FOUND, or E_IMAGE_INCOMPLETE naming what is wrong. */
  async get(name: string): Promise<ImageManifest> {
    const dir = this.imageDir(name);
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST), 'utf8');
    } catch (e) {
      if (!existsSync(dir)) throw new UserError('E_IMAGE_NOT_FOUND', `no image ${JSON.stringify(name)} (netroot image list)`, { where: 'os_image' });
      throw new UserError('E_IMAGE_INCOMPLETE', `image ${name} has no readable manifest: ${(e as Error).message}`, { where: 'os_image' });
    }
    const m = parseManifest(text, `image ${name}`);
    if (m.name !== name) throw new UserError('E_IMAGE_INCOMPLETE', `image ${name}: its manifest names ${JSON.stringify(m.name)}`, { where: 'os_image' });
    for (const f of [m.kernel, m.initrd, m.rootTarball]) {
      const s = await stat(join(dir, f.file)).catch(() => null);
      if (!s?.isFile()) throw new UserError('E_IMAGE_INCOMPLETE', `image ${name}: ${f.file} is missing`, { where: 'os_image' });
      if (s.size !== f.size) throw new UserError('E_IMAGE_INCOMPLETE', `image ${name}: ${f.file} is ${s.size} bytes, the manifest says ${f.size}`, { where: 'os_image' });
    }
    return m;
  }

  async list(): Promise<ImageListing[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    } catch {
      return [];
    }
    const out: ImageListing[] = [];
    for (const name of names) {
      try {
        out.push({ name, manifest: await this.get(name), problem: null });
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
    if (existsSync(dest)) throw new UserError('E_IMAGE_EXISTS', `image ${name} already exists (netroot image remove ${name} first)`, { where: 'name' });
    await rename(readyDir, dest);
  }

  async remove(name: string): Promise<void> {
    const dir = this.imageDir(name);
    if (!existsSync(dir)) throw new UserError('E_IMAGE_NOT_FOUND', `no image ${JSON.stringify(name)}`, { where: 'name' });
    const doomed = join(this.dir, `.removing-${name}-${randomBytes(4).toString('hex')}`);
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }

  /** Deletes staging and removal leftovers of processes that are gone (a build killed mid-way). */
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
      await rm(p, { recursive: true, force: true }).catch((e: unknown) => {
        throw new NetrootError('E_IMAGE_SWEEP', `cannot remove ${p}: ${(e as Error).message}`);
      });
      removed.push(n);
    }
    return removed;
  }
}
