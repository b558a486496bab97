// Volumes as RBD images in one pool (the pool, or at least its volume-named images, is netroot's):
// volume NAME is image `<pool>/NAME`, created thin (format 2, the cluster's default features).
// Golden volumes are images `<pool>/_golden.NAME` (a leading `_` is never a volume name, so the
// two cannot collide) with one protected snapshot `@golden`; a clone is `rbd clone` of that
// snapshot, so it shares the golden's objects and writes its own (copy-on-write in the cluster).
// The snapshot is immutable while protected, which is what the embedded target's recorded
// checksum guards against for files: nothing in the cluster can change a clone's base.
// Where a golden came from and when is kept as image metadata (`netroot.golden`: {from, createdAt,
// version, parent?, boot?}): the same facts as the embedded target's record (golden.ts) but the
// sha256 and file identity, which a protected snapshot does not need.
//
// Same contract as FileVolumes (volumes.ts): create is idempotent for the same size and
// E_STORAGE_EXISTS for another, resize grows only (E_STORAGE_SHRINK), delete is idempotent;
// capacity is `storage.rbd.limitGiB` if set, else the pool's stored + max_avail (`ceph df`, which
// counts replication and the full ratio), less the provisioned size of every image (thin images
// count as if full, like the promised space of sparse files).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { NetrootError, UserError } from '../errors.js';
import { RbdCli, RbdError, type RbdClientOptions } from './rbd-cli.js';
import { isVolumeName, validateSize, validateVolumeName, type VolumeInfo, type VolumeSpec } from './spec.js';
import { checkedOrigin, validBoot, type GoldenBase, type GoldenOrigin } from './golden.js';

export const GOLDEN_PREFIX = '_golden.';
export const GOLDEN_SNAP = 'golden';
/** The short-lived snapshot a volume is copied from when it is frozen as a golden volume. */
const FREEZE_SNAP = 'netroot-freeze';

export interface RbdVolumesOptions extends RbdClientOptions {
  pool: string;
  /** Provisioning limit in bytes (else the pool's own capacity). */
  limitBytes?: number;
  /**
   * Where the conf tgtd's bs_rbd reads is written: the cluster conf plus a `[client.<id>]` section
   * naming the keyring (bs_rbd takes only conf= and id=; the key itself stays in the keyring).
   */
  tgtConf: string;
}

/** A golden RBD image: the common record (golden.ts GoldenBase) and its snapshot. */
export interface RbdGoldenInfo extends GoldenBase {
  /** `<pool>/_golden.NAME@golden`: the protected snapshot clones are made from. */
  snapshot: string;
}

const poolName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);

/** `rbd du --format json` (images and their snapshots). */
export const duSchema = z.object({
  images: z.array(
    z.object({
      name: z.string(),
      snapshot: z.string().optional(),
      provisioned_size: z.number().int().nonnegative(),
      used_size: z.number().int().nonnegative(),
    }),
  ),
});
/** `rbd info --format json`. */
export const infoSchema = z.object({
  name: z.string(),
  size: z.number().int().nonnegative(),
  parent: z.object({ pool: z.string(), image: z.string(), snapshot: z.string() }).optional(),
});
/** `rbd info --format json` of a snapshot: whether it is protected (a string in some releases). */
export const snapInfoSchema = z.object({ protected: z.union([z.boolean(), z.string()]).optional() });
/** `rbd children --format json`. */
export const childrenSchema = z.array(z.object({ pool: z.string(), image: z.string() }));
/** `ceph df --format json` (the pools part). */
export const dfSchema = z.object({
  pools: z.array(z.object({ name: z.string(), stats: z.object({ stored: z.number().nonnegative(), max_avail: z.number().nonnegative() }) })),
});
/** `rbd image-meta list --format json`. */
export const metaSchema = z.record(z.string(), z.string());
/** The golden record, JSON in image metadata key META_KEY. */
const META_KEY = 'netroot.golden';
const recordSchema = z.object({
  from: z.string(),
  createdAt: z.string(),
  version: z.number().int().positive().optional(),
  parent: z.string().optional(),
  boot: z.unknown().optional(),
});
const safeJson = (t: string): unknown => {
  try {
    return JSON.parse(t);
  } catch {
    return null;
  }
};

export class RbdVolumes {
  readonly pool: string;
  readonly cli: RbdCli;
  private readonly limitBytes: number | undefined;

  constructor(private readonly opts: RbdVolumesOptions) {
    if (!poolName.safeParse(opts.pool).success) throw new UserError('E_RBD_CONFIG', `RBD pool name ${JSON.stringify(opts.pool)} is not a plain pool name`);
    this.pool = opts.pool;
    this.limitBytes = opts.limitBytes;
    this.cli = new RbdCli(opts);
  }

  /** `<pool>/<name>`: what tgtadm shows as the LUN's backing store path. */
  pathOf(name: string): string {
    return `${this.pool}/${validateVolumeName(name)}`;
  }

  /** The volume name of a backing store path in this pool, or null. */
  nameOf(path: string): string | null {
    if (!path.startsWith(`${this.pool}/`)) return null;
    const n = path.slice(this.pool.length + 1);
    return isVolumeName(n) ? n : null;
  }

  /** tgtadm's arguments for the LUN (after --lun N): the rbd backing store, its conf and client id. */
  async backingStore(name: string): Promise<string[]> {
    // bs_rbd splits its options at ';' (and the tgtadm parameter string at ','): neither may be in the path.
    if (/[;,=\s]/.test(this.opts.tgtConf) || /[;,=\s]/.test(this.opts.clientId))
      throw new NetrootError('E_RBD_CONFIG', `tgtd's bs_rbd cannot be given ${this.opts.tgtConf} (no ; , = or spaces in the state directory)`, { user: true });
    await this.writeTgtConf();
    return ['--bstype', 'rbd', '--backing-store', this.pathOf(name), '--bsopts', `conf=${this.opts.tgtConf};id=${this.opts.clientId}`];
  }

  /**
   * The cluster conf with the client's keyring path and short mount timeouts appended: tgtd opens
   * an image in its main loop, so a cluster that does not answer must not freeze it for minutes.
   */
  private async writeTgtConf(): Promise<void> {
    let base: string;
    try {
      base = await readFile(this.opts.conf, 'utf8');
    } catch {
      throw new NetrootError('E_RBD_CONFIG', `the RBD backend's ceph conf ${this.opts.conf} cannot be read (storage.rbd.conf)`, { user: true });
    }
    const t = this.opts.timeoutSeconds ?? 10;
    const text = `${base.trimEnd()}\n\n# added by netroot for tgtd's bs_rbd\n[client.${this.opts.clientId}]\nkeyring = ${this.opts.keyring}\nclient mount timeout = ${t}\nrados mon op timeout = ${t}\n`;
    await mkdir(dirname(this.opts.tgtConf), { recursive: true, mode: 0o700 });
    await writeFile(this.opts.tgtConf, text, { mode: 0o600 });
  }

  private img(name: string): string {
    return `${this.pool}/${name}`;
  }

  private async du(image?: string): Promise<z.infer<typeof duSchema>['images']> {
    try {
      return (await this.cli.json('rbd', ['du', ...(image ? [this.img(image)] : ['-p', this.pool])], duSchema)).images;
    } catch (e) {
      if (image && e instanceof RbdError && e.errno === 2) return [];
      throw e;
    }
  }

  async capacity(): Promise<{ totalBytes: number; freeBytes: number }> {
    const images = await this.du();
    const provisioned = images.filter((i) => i.snapshot === undefined).reduce((s, i) => s + i.provisioned_size, 0);
    let total = this.limitBytes;
    if (total === undefined) {
      const df = await this.cli.json('ceph', ['df'], dfSchema);
      const p = df.pools.find((x) => x.name === this.pool);
      if (!p) throw new NetrootError('E_RBD_CONFIG', `the Ceph cluster has no pool ${this.pool} (storage.rbd.pool)`, { user: true });
      total = Math.floor(p.stats.stored + p.stats.max_avail);
    }
    return { totalBytes: total, freeBytes: Math.max(0, total - provisioned) };
  }

  async get(name: string): Promise<VolumeInfo | null> {
    validateVolumeName(name);
    const i = (await this.du(name)).find((x) => x.snapshot === undefined && x.name === name);
    return i ? { name, sizeBytes: i.provisioned_size, allocatedBytes: i.used_size, path: this.pathOf(name) } : null;
  }

  async require(name: string): Promise<VolumeInfo> {
    const v = await this.get(name);
    if (!v) throw new UserError('E_STORAGE_NOT_FOUND', `no volume ${name} (RBD image ${this.img(name)})`);
    return v;
  }

  async list(): Promise<VolumeInfo[]> {
    return (await this.du())
      .filter((i) => i.snapshot === undefined && isVolumeName(i.name))
      .map((i) => ({ name: i.name, sizeBytes: i.provisioned_size, allocatedBytes: i.used_size, path: this.pathOf(i.name) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private async fits(sizeBytes: number, what: string): Promise<void> {
    const cap = await this.capacity();
    if (sizeBytes > cap.freeBytes) throw new UserError('E_STORAGE_FULL', `${what} needs ${sizeBytes} bytes, ${cap.freeBytes} free in pool ${this.pool}`);
  }

  async create(v: VolumeSpec): Promise<VolumeInfo> {
    const size = validateSize(v.sizeBytes);
    const cur = await this.get(v.name);
    if (cur) {
      if (cur.sizeBytes === size) return cur;
      throw new UserError('E_STORAGE_EXISTS', `volume ${v.name} exists with ${cur.sizeBytes} bytes (use resize)`);
    }
    await this.fits(size, `volume ${v.name}`);
    await this.cli.rbd(['create', '--size', `${size}B`, this.img(v.name)]);
    return this.require(v.name);
  }

  async resize(name: string, sizeBytes: number): Promise<VolumeInfo> {
    const size = validateSize(sizeBytes);
    const cur = await this.require(name);
    if (size < cur.sizeBytes) throw new UserError('E_STORAGE_SHRINK', `volume ${name} has ${cur.sizeBytes} bytes; shrinking would lose data`);
    if (size === cur.sizeBytes) return cur;
    await this.fits(size - cur.sizeBytes, `growing volume ${name}`);
    await this.cli.rbd(['resize', '--size', `${size}B`, this.img(name)]);
    return this.require(name);
  }

  /** Idempotent; E_STORAGE_IN_USE while a client (tgtd elsewhere) has it open or it has snapshots. */
  async delete(name: string): Promise<void> {
    validateVolumeName(name);
    await this.removeImage(name, `volume ${name}`);
  }

  private async removeImage(image: string, what: string): Promise<void> {
    try {
      await this.cli.rbd(['rm', this.img(image)]);
    } catch (e) {
      if (e instanceof RbdError && e.errno === 2) return;
      if (e instanceof RbdError && (e.errno === 16 || e.errno === 39))
        throw new UserError('E_STORAGE_IN_USE', `${what} is open by another client or has snapshots (${e.message})`, { cause: e });
      throw e;
    }
  }

  // ---- golden volumes and clones ----

  private goldenImage(name: string): string {
    return `${GOLDEN_PREFIX}${validateVolumeName(name)}`;
  }

  private goldenSnap(name: string): string {
    return `${this.img(this.goldenImage(name))}@${GOLDEN_SNAP}`;
  }

  /** The golden snapshot's size, or null when golden `name` does not exist (one `rbd du`). */
  async goldenSize(name: string): Promise<number | null> {
    const snap = (await this.du(this.goldenImage(name))).find((x) => x.snapshot === GOLDEN_SNAP);
    return snap ? snap.provisioned_size : null;
  }

  /** Golden `name` with its record (size, and the `netroot.golden` image metadata), or null. */
  async golden(name: string): Promise<RbdGoldenInfo | null> {
    const size = await this.goldenSize(name);
    if (size === null) return null;
    const meta = await this.cli.json('rbd', ['image-meta', 'list', this.img(this.goldenImage(name))], metaSchema).catch(() => ({}) as Record<string, string>);
    const rec = recordSchema.safeParse(safeJson(meta[META_KEY] ?? ''));
    const r = rec.success ? rec.data : undefined;
    const boot = validBoot(r?.boot);
    const parent = r?.parent !== undefined && isVolumeName(r.parent) ? r.parent : undefined;
    return {
      name,
      sizeBytes: size,
      from: r?.from ?? '',
      createdAt: r?.createdAt ?? '',
      version: r?.version ?? 1,
      ...(parent ? { parent } : {}),
      ...(boot ? { boot } : {}),
      snapshot: this.goldenSnap(name),
    };
  }

  /** Whether golden `name`'s snapshot is protected (what keeps it, and so every clone's base, unchanged). */
  async goldenProtected(name: string): Promise<boolean> {
    const i = await this.cli.json('rbd', ['info', this.goldenSnap(name)], snapInfoSchema);
    return i.protected === true || i.protected === 'true';
  }

  async requireGolden(name: string): Promise<RbdGoldenInfo> {
    const g = await this.golden(name);
    if (!g) throw new UserError('E_GOLDEN_NOT_FOUND', `no golden volume ${name} in pool ${this.pool}`);
    return g;
  }

  async listGolden(): Promise<RbdGoldenInfo[]> {
    const names = (await this.du())
      .filter((i) => i.snapshot === GOLDEN_SNAP && i.name.startsWith(GOLDEN_PREFIX) && isVolumeName(i.name.slice(GOLDEN_PREFIX.length)))
      .map((i) => i.name.slice(GOLDEN_PREFIX.length));
    const out: RbdGoldenInfo[] = [];
    for (const n of [...new Set(names)].sort()) {
      const g = await this.golden(n);
      if (g) out.push(g);
    }
    return out;
  }

  /**
   * Golden volume `name` from volume `source` (a copy inside the cluster, `rbd cp` of a snapshot of
   * it; `flatten`: the volume may be a clone, and the copy is its current content, golden blocks
   * under its own writes — `golden promote`) or from an image file (`rbd import`), then its
   * protected snapshot. E_GOLDEN_EXISTS if it exists; a failure removes what was made.
   */
  async createGolden(name: string, source: { volume: string; flatten?: boolean } | { file: string }, origin: string | GoldenOrigin): Promise<RbdGoldenInfo> {
    const o = checkedOrigin(name, origin, validateVolumeName);
    const img = this.goldenImage(name);
    if ((await this.goldenSize(name)) !== null) throw new UserError('E_GOLDEN_EXISTS', `golden volume ${name} exists`);
    if ((await this.du(img)).length)
      throw new UserError('E_GOLDEN_EXISTS', `image ${this.img(img)} exists without its @${GOLDEN_SNAP} snapshot; remove it first`);
    if ('volume' in source) {
      const v = await this.get(source.volume);
      if (!v) throw new UserError('E_GOLDEN_SOURCE', `no volume ${source.volume} to freeze`);
      if (source.flatten !== true && (await this.cloneOf(source.volume)) !== null)
        throw new UserError('E_GOLDEN_SOURCE', `volume ${source.volume} is a clone; freezing a clone (flattening it) is not supported yet`);
      await this.fits(v.sizeBytes, `golden volume ${name}`);
    }
    try {
      if ('volume' in source) await this.copyAtSnapshot(source.volume, img);
      else await this.cli.rbd(['import', '--image-format', '2', source.file, this.img(img)], { long: true });
      const rec = {
        from: o.from.slice(0, 200),
        createdAt: new Date().toISOString(),
        version: o.version ?? 1,
        ...(o.parent ? { parent: o.parent } : {}),
        ...(o.boot ? { boot: { rootUuid: o.boot.rootUuid, osImage: o.boot.osImage } } : {}),
      };
      await this.cli.rbd(['image-meta', 'set', this.img(img), META_KEY, JSON.stringify(rec)]);
      await this.cli.rbd(['snap', 'create', this.goldenSnap(name)]);
      await this.cli.rbd(['snap', 'protect', this.goldenSnap(name)]);
    } catch (e) {
      await this.dropGolden(name).catch(() => {});
      throw e;
    }
    return this.requireGolden(name);
  }

  /**
   * Copies volume `volume` to image `to` as of one instant: a snapshot `@netroot-freeze` is taken
   * (with exclusive-lock, librbd asks the client that holds the image — tgtd — to take it), copied,
   * and removed. A live node's disk is thus copied crash-consistent; power it off for a clean one.
   */
  private async copyAtSnapshot(volume: string, to: string): Promise<void> {
    const snap = `${this.img(volume)}@${FREEZE_SNAP}`;
    const gone = (e: unknown) => {
      if (!(e instanceof RbdError && e.errno === 2)) throw e;
    };
    await this.cli.rbd(['snap', 'rm', snap]).catch(gone);
    await this.cli.rbd(['snap', 'create', snap]);
    try {
      await this.cli.rbd(['cp', snap, this.img(to)], { long: true });
    } finally {
      await this.cli.rbd(['snap', 'rm', snap]).catch(() => {});
    }
  }

  /** The volumes cloned from golden `name` (`rbd children`). */
  async clonesOf(name: string): Promise<string[]> {
    try {
      const kids = await this.cli.json('rbd', ['children', this.goldenSnap(name)], childrenSchema);
      return kids
        .filter((k) => k.pool === this.pool && isVolumeName(k.image))
        .map((k) => k.image)
        .sort();
    } catch (e) {
      if (e instanceof RbdError && e.errno === 2) return [];
      throw e;
    }
  }

  /** The golden volume `volume` is a clone of, or null (a plain volume, or a clone of something else). */
  async cloneOf(volume: string): Promise<string | null> {
    validateVolumeName(volume);
    let info;
    try {
      info = await this.cli.json('rbd', ['info', this.img(volume)], infoSchema);
    } catch (e) {
      if (e instanceof RbdError && e.errno === 2) return null;
      throw e;
    }
    const p = info.parent;
    if (!p || p.pool !== this.pool || p.snapshot !== GOLDEN_SNAP || !p.image.startsWith(GOLDEN_PREFIX)) return null;
    return p.image.slice(GOLDEN_PREFIX.length);
  }

  /** Volume `name` as a clone of golden `golden`, grown to `sizeBytes` when that is larger. */
  async clone(name: string, golden: string, sizeBytes = 0): Promise<VolumeInfo> {
    validateVolumeName(name);
    if (await this.get(name)) throw new UserError('E_STORAGE_EXISTS', `volume ${name} exists; delete it before cloning into it`);
    const gSize = await this.goldenSize(golden);
    if (gSize === null) throw new UserError('E_GOLDEN_NOT_FOUND', `no golden volume ${golden} in pool ${this.pool}`);
    const g = { sizeBytes: gSize };
    const size = Math.max(g.sizeBytes, sizeBytes);
    if (sizeBytes > 0) validateSize(size);
    await this.fits(size, `clone ${name}`);
    try {
      await this.cli.rbd(['clone', this.goldenSnap(golden), this.img(name)]);
      if (size > g.sizeBytes) await this.cli.rbd(['resize', '--size', `${size}B`, this.img(name)]);
    } catch (e) {
      await this.removeImage(name, `clone ${name}`).catch(() => {});
      throw e;
    }
    return this.require(name);
  }

  /** Removes golden `name`; E_GOLDEN_IN_USE while clones exist. */
  async removeGolden(name: string): Promise<void> {
    if ((await this.goldenSize(name)) === null) throw new UserError('E_GOLDEN_NOT_FOUND', `no golden volume ${name} in pool ${this.pool}`);
    const clones = await this.clonesOf(name);
    if (clones.length)
      throw new UserError(
        'E_GOLDEN_IN_USE',
        `golden volume ${name} has ${clones.length} clone(s): ${clones.slice(0, 10).join(', ')}${clones.length > 10 ? ', ...' : ''}`,
      );
    await this.dropGolden(name);
  }

  /** Unprotects and removes the snapshot, then the image; each step tolerates "already gone" (or already unprotected). */
  private async dropGolden(name: string): Promise<void> {
    const gone = (e: unknown) => {
      if (e instanceof RbdError && (e.errno === 2 || e.errno === 22)) return;
      throw e;
    };
    // `rbd snap unprotect` of an unprotected snapshot exits 1 with no errno in its message.
    await this.cli.rbd(['snap', 'unprotect', this.goldenSnap(name)]).catch((e: unknown) => {
      if (e instanceof RbdError && /already unprotected/.test(e.message)) return;
      gone(e);
    });
    await this.cli.rbd(['snap', 'rm', this.goldenSnap(name)]).catch(gone);
    await this.removeImage(this.goldenImage(name), `golden volume ${name}`);
  }
}
