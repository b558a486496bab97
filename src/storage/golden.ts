// Golden volumes (issue #20): read-only images that per-node volumes are cloned from, copy-on-write
// (src/iscsi/lun-clone.ts on the embedded target). They live on the storage node that holds them,
// under `<volumesDir>/golden/`:
//   <name>.img   the image, mode 0444, never opened for writing after create()
//   <name>.json  its record: size, sha256, where it came from, and its file identity (size, inode,
//                mtime, ctime in ns) taken after the chmod
// The record is the storage node's own metadata (not the database): the file and the facts about
// it stay together on the node that has them, src/storage may not import src/store, and the CLI and
// a running frontend on the same machine see the same record without an API.
// Integrity: verifyIdentity() (every export of a clone) compares the file's identity with the
// record — any write, truncate, rename-over or chmod changes the ctime, which user space cannot set
// back — and refuses with E_GOLDEN_CHANGED; verifyChecksum() re-reads the whole file (`golden show
// --verify`), for changes made below the file system.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { NetrootError, UserError } from '../errors.js';
import { isVolumeName } from './spec.js';
import { namesIn } from './util.js';

export interface GoldenIdentity {
  size: number;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
}

/**
 * How a clone of a golden volume boots without installing (issue #20): the UUID of the root file
 * system inside it (what `root=UUID=` names) and the OS image whose kernel and dracut initrd boot
 * it (null: the frontend's shared diskless kernel and initrd).
 */
export interface GoldenBoot {
  rootUuid: string;
  osImage: string | null;
}

const FS_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The origin a new golden volume records, checked (both backends): boot facts a clone can use, a
 * parent name (`validParent` throws for a bad one), a version ≥ 1; E_GOLDEN_SOURCE otherwise.
 */
export function checkedOrigin(name: string, origin: string | GoldenOrigin, validParent: (n: string) => unknown): GoldenOrigin {
  const o: GoldenOrigin = typeof origin === 'string' ? { from: origin } : origin;
  if (o.boot !== undefined && !validBoot(o.boot))
    throw new UserError(
      'E_GOLDEN_SOURCE',
      `golden volume ${name}: ${JSON.stringify(o.boot.rootUuid)} is not a file-system UUID (or the OS image name is invalid)`,
    );
  if (o.parent !== undefined) validParent(o.parent);
  if (o.version !== undefined && (!Number.isSafeInteger(o.version) || o.version < 1))
    throw new UserError('E_GOLDEN_SOURCE', `golden volume ${name}: version ${o.version} is not a positive whole number`);
  return o;
}

/** `b` as a GoldenBoot, or undefined when it is not one (a record's field, untrusted). */
export function validBoot(b: unknown): GoldenBoot | undefined {
  if (typeof b !== 'object' || b === null) return undefined;
  const { rootUuid, osImage } = b as Partial<GoldenBoot>;
  if (typeof rootUuid !== 'string' || !FS_UUID.test(rootUuid)) return undefined;
  if (osImage !== null && (typeof osImage !== 'string' || !isVolumeName(osImage))) return undefined;
  return { rootUuid, osImage };
}

/**
 * What every golden volume records, whatever holds it: the embedded target's file (GoldenInfo
 * below), an RBD image (rbd-volumes.ts RbdGoldenInfo), and what `netroot golden` reports
 * (golden-catalog.ts GoldenEntry) all extend it.
 */
export interface GoldenBase {
  name: string;
  sizeBytes: number;
  /** Where it was frozen from (e.g. `host compute-0-0`, `image NAME`). */
  from: string;
  createdAt: string;
  /** 1 for a first golden volume; `promote` makes parent's version + 1. */
  version: number;
  /** The golden volume this one was promoted from (its clone's state), if any. */
  parent?: string;
  /** Absent when unknown (the source host never recorded its root file system): clones then install. */
  boot?: GoldenBoot;
}

/** A golden volume file (this file's GoldenVolumes): its checksum, copy kind, identity and path. */
export interface GoldenInfo extends GoldenBase {
  sha256: string;
  /** True when the copy shares blocks with its source (a reflink); false: a full copy. */
  reflinked: boolean;
  identity: GoldenIdentity;
  path: string;
}

/**
 * The next version in `name`'s line among `all` (golden volumes with version and parent): the
 * line's first volume (parent's parent's …; cycles and gaps end the walk) and 1 + the highest
 * version of any volume of the same line.
 */
export function nextVersionIn(
  all: ReadonlyArray<{ name: string; version: number; parent?: string | undefined }>,
  name: string,
): { root: string; version: number } {
  const by = new Map(all.map((g) => [g.name, g]));
  const rootOf = (n: string): string => {
    let cur = n;
    const seen = new Set([cur]);
    for (let p = by.get(cur)?.parent; p !== undefined && by.has(p) && !seen.has(p); p = by.get(cur)?.parent) {
      seen.add(p);
      cur = p;
    }
    return cur;
  };
  const root = rootOf(name);
  let max = 0;
  for (const g of all) if (rootOf(g.name) === root) max = Math.max(max, g.version);
  return { root, version: max + 1 };
}

/** Where a new golden volume came from and how its clones boot. */
export interface GoldenOrigin {
  from: string;
  boot?: GoldenBoot | undefined;
  version?: number;
  parent?: string | undefined;
}

export interface GoldenCreateResult {
  info: GoldenInfo;
  /** Set when the file system could not reflink and a full copy was made. */
  warning?: string;
}

function validateGoldenName(name: unknown): string {
  if (typeof name !== 'string' || !isVolumeName(name))
    throw new UserError(
      'E_STORAGE_BAD_NAME',
      `golden volume name ${JSON.stringify(String(name)).slice(0, 80)} is invalid (1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric, no "..")`,
    );
  return name;
}

async function identityOf(path: string): Promise<GoldenIdentity> {
  const st = await stat(path, { bigint: true });
  return { size: Number(st.size), ino: String(st.ino), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

const sameIdentity = (a: GoldenIdentity, b: GoldenIdentity): boolean =>
  a.size === b.size && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function cp(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((res) => execFile('cp', args, (e, _o, stderr) => res({ ok: !e, stderr: String(stderr).trim() })));
}

/**
 * Copies file `source` to `dest` (which must not exist) sharing its blocks where the file system can:
 * `cp --reflink=always` (the FICLONE ioctl: XFS with reflink=1, btrfs; same file system only). Where it
 * cannot (ext4, tmpfs, another file system), a full sparse copy (`cp --reflink=never --sparse=always`)
 * and `warning`, which says so in `what`'s words. E_STORAGE_BACKEND when even the copy fails.
 */
export async function reflinkOrCopy(source: string, dest: string, what: string): Promise<{ reflinked: boolean; warning?: string }> {
  const r = await cp(['--reflink=always', '--', source, dest]);
  if (r.ok) return { reflinked: true };
  await unlink(dest).catch(() => {});
  const full = await cp(['--reflink=never', '--sparse=always', '--', source, dest]);
  if (!full.ok) throw new NetrootError('E_STORAGE_BACKEND', `copying ${source} failed: ${full.stderr}`);
  const size = (await stat(dest)).size;
  return {
    reflinked: false,
    warning: `the file system of ${dirname(dest)} cannot reflink (${r.stderr || 'cp --reflink=always failed'}): ${what} is a full copy of ${size} bytes`,
  };
}

export class GoldenVolumes {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  pathOf(name: string): string {
    validateGoldenName(name);
    const p = join(this.dir, `${name}.img`);
    if (dirname(p) !== this.dir) throw new UserError('E_STORAGE_BAD_NAME', `golden volume name ${JSON.stringify(name)} leaves its directory`);
    return p;
  }

  private recordOf(name: string): string {
    return join(this.dir, `${validateGoldenName(name)}.json`);
  }

  async get(name: string): Promise<GoldenInfo | null> {
    let text: string;
    try {
      text = await readFile(this.recordOf(name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let r: Omit<GoldenInfo, 'path'>;
    try {
      r = JSON.parse(text) as Omit<GoldenInfo, 'path'>;
    } catch {
      throw new NetrootError('E_GOLDEN_CHANGED', `golden volume ${name}: its record ${this.recordOf(name)} is not valid JSON`);
    }
    if (typeof r.sha256 !== 'string' || typeof r.sizeBytes !== 'number' || typeof r.identity !== 'object' || r.identity === null)
      throw new NetrootError('E_GOLDEN_CHANGED', `golden volume ${name}: its record ${this.recordOf(name)} is incomplete`);
    const boot = validBoot(r.boot);
    const version = Number.isSafeInteger(r.version) && r.version > 0 ? r.version : 1;
    const parent = typeof r.parent === 'string' && isVolumeName(r.parent) ? r.parent : undefined;
    const { boot: _b, parent: _p, ...rest } = r;
    return { ...rest, name, path: this.pathOf(name), version, ...(boot ? { boot } : {}), ...(parent ? { parent } : {}) };
  }

  async require(name: string): Promise<GoldenInfo> {
    const g = await this.get(name);
    if (!g) throw new UserError('E_GOLDEN_NOT_FOUND', `no golden volume ${name} (netroot golden list)`);
    return g;
  }

  async list(): Promise<GoldenInfo[]> {
    const names = await namesIn(this.dir);
    const out: GoldenInfo[] = [];
    for (const f of names) {
      if (!f.endsWith('.json')) continue;
      const n = f.slice(0, -'.json'.length);
      if (!isVolumeName(n)) continue;
      const g = await this.get(n);
      if (g) out.push(g);
    }
    return out;
  }

  /**
   * Freezes `source` (a volume file) as golden volume `name`: a reflink copy where the file system
   * can (`cp --reflink=always`), else a full sparse copy and a warning saying so; then 0444, the
   * sha256 and the identity are recorded. The source must not be written meanwhile (the caller
   * freezes an installed, powered-off node's volume).
   */
  async create(name: string, source: string, origin: string | GoldenOrigin): Promise<GoldenCreateResult> {
    const st = await lstat(source).catch(() => null);
    if (!st?.isFile()) throw new UserError('E_GOLDEN_SOURCE', `${source} is not a regular file`);
    return this.createWith(name, origin, (tmp) => reflinkOrCopy(source, tmp, `golden volume ${name}`));
  }

  /**
   * A new golden volume whose image `fill` writes to the temporary path it is given (a flattened
   * clone for `promote`, an installed image for `create --image`); then, as for create(): 0444,
   * sha256, renamed into place, identity and record. Nothing is left behind when `fill` throws.
   */
  async createWith(
    name: string,
    origin: string | GoldenOrigin,
    fill: (tmp: string) => Promise<{ reflinked: boolean; warning?: string }>,
  ): Promise<GoldenCreateResult> {
    const o = checkedOrigin(name, origin, validateGoldenName);
    const path = this.pathOf(name);
    if (await this.get(name)) throw new UserError('E_GOLDEN_EXISTS', `golden volume ${name} exists (netroot golden show ${name})`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.${name}.img.${process.pid}.tmp`);
    await unlink(tmp).catch(() => {});
    try {
      const { reflinked, warning } = await fill(tmp);
      await chmod(tmp, 0o444);
      const sha256 = await sha256File(tmp);
      await rename(tmp, path);
      const identity = await identityOf(path);
      const rec: Omit<GoldenInfo, 'path' | 'name'> & { name: string } = {
        name,
        sizeBytes: identity.size,
        sha256,
        from: o.from,
        createdAt: new Date().toISOString(),
        reflinked,
        identity,
        version: o.version ?? 1,
        ...(o.boot ? { boot: { rootUuid: o.boot.rootUuid, osImage: o.boot.osImage } } : {}),
        ...(o.parent ? { parent: o.parent } : {}),
      };
      await writeFileAtomic(this.recordOf(name), JSON.stringify(rec, null, 2) + '\n', { mode: 0o644, durable: true });
      return { info: { ...rec, path }, ...(warning ? { warning } : {}) };
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  /** The first golden volume of `name`'s line: its parent's parent's … (cycles and gaps end the walk). */
  async lineageRoot(name: string): Promise<string> {
    let cur = await this.require(name);
    const seen = new Set([cur.name]);
    while (cur.parent && !seen.has(cur.parent)) {
      const p = await this.get(cur.parent);
      if (!p) break;
      seen.add(p.name);
      cur = p;
    }
    return cur.name;
  }

  /** The next version in `name`'s line: 1 + the highest version of any golden volume of the same line. */
  async nextVersion(name: string): Promise<{ root: string; version: number }> {
    const root = await this.lineageRoot(name);
    let max = 0;
    for (const g of await this.list()) if ((await this.lineageRoot(g.name)) === root) max = Math.max(max, g.version);
    return { root, version: max + 1 };
  }

  /** E_GOLDEN_CHANGED unless the file is the one recorded (cheap: one stat). Returns the record. */
  async verifyIdentity(name: string): Promise<GoldenInfo> {
    const g = await this.require(name);
    let now: GoldenIdentity;
    try {
      now = await identityOf(g.path);
    } catch (e) {
      throw new NetrootError('E_GOLDEN_CHANGED', `golden volume ${name}: ${g.path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!sameIdentity(now, g.identity))
      throw new NetrootError(
        'E_GOLDEN_CHANGED',
        `golden volume ${name} (${g.path}) changed since it was recorded (size/inode/mtime/ctime differ): its clones are not exported; restore the file or remove the clones`,
      );
    return g;
  }

  /** Re-reads the whole file: E_GOLDEN_CHANGED when its sha256 differs from the record. */
  async verifyChecksum(name: string): Promise<GoldenInfo> {
    const g = await this.require(name);
    const sum = await sha256File(g.path);
    if (sum !== g.sha256) throw new NetrootError('E_GOLDEN_CHANGED', `golden volume ${name}: sha256 ${sum} differs from the recorded ${g.sha256}`);
    return g;
  }

  /** Removes the image and its record; the caller checks there are no clones (E_GOLDEN_IN_USE). */
  async remove(name: string): Promise<void> {
    await this.require(name);
    await unlink(this.pathOf(name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await unlink(this.recordOf(name));
  }
}
