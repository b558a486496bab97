// `GoldenCatalog`: the golden-volume operations `netroot golden` needs (issue #20), one interface
// over the backends that hold golden volumes, so the CLI does not branch per backend:
//   embedded, tgt, lio  files under <volumesDir>/golden/ with a sha256 and file identity (golden.ts);
//             clones are deltas over them (embedded) or reflink/full copies of them (file-clones.ts)
//   rbd       images <pool>/_golden.NAME with a protected snapshot @golden (rbd-volumes.ts)
// Both record the same facts — from, createdAt, version, parent, boot — so clones boot `os` at
// once on either. Verification differs and says so: a file is re-read against its sha256; a
// protected RBD snapshot cannot be written, so `verify` checks it is still protected and states
// that there is no checksum to compare.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import type { StorageBackend } from './backend.js';
import { EmbeddedBackend } from './embedded.js';
import type { GoldenBase, GoldenOrigin, GoldenVolumes } from './golden.js';
import { RbdBackend } from './rbd.js';
import { FileCloningBackend } from './file-clones.js';
import type { TargetExports } from './local.js';
import type { FileVolumes } from './volumes.js';

/**
 * A golden volume as `golden list|show` report it: the common record (golden.ts GoldenBase, which
 * rbd-volumes.ts RbdGoldenInfo extends too) and each backend's own fields, absent on the other.
 */
export interface GoldenEntry extends GoldenBase {
  /** embedded: the image's sha256, whether it shares blocks with its source, its path. */
  sha256?: string;
  reflinked?: boolean;
  path?: string;
  /** rbd: the protected snapshot clones are made from (`<pool>/_golden.NAME@golden`). */
  snapshot?: string;
}

export interface GoldenVerification {
  entry: GoldenEntry;
  /** One line for `golden show --verify`: what was checked and that it matched. */
  note: string;
  /** True when the content was re-read and its checksum compared (embedded); false on rbd. */
  checksummed: boolean;
}

export interface GoldenCatalog {
  /** The backend kind, for messages. */
  readonly kind: string;
  list(): Promise<GoldenEntry[]>;
  /** E_GOLDEN_NOT_FOUND when there is none of that name. */
  require(name: string): Promise<GoldenEntry>;
  /** E_GOLDEN_CHANGED when it is not what was recorded. */
  verify(name: string): Promise<GoldenVerification>;
  clonesOf(name: string): Promise<string[]>;
  /** Golden `name` from plain volume `volume` (E_GOLDEN_SOURCE for a clone or a missing volume). */
  freeze(name: string, volume: string, origin: GoldenOrigin): Promise<{ entry: GoldenEntry; warning?: string }>;
  /** Golden `name` from a raw image that `lay` writes to the path it is given (a temporary file). */
  fromImage(name: string, origin: GoldenOrigin, lay: (file: string) => Promise<void>): Promise<GoldenEntry>;
  /** Clone `volume`'s current state as the next version of its golden volume's line. */
  promote(volume: string, opts: { name?: string | undefined; from: string }): Promise<GoldenEntry>;
  /** E_GOLDEN_IN_USE while clones exist. */
  remove(name: string): Promise<void>;
}

/** What a catalog of golden files needs: the embedded target's backend, or tgt's/LIO's (file-clones.ts). */
type FileGoldenBackend = (EmbeddedBackend | FileCloningBackend<TargetExports>) & { readonly golden: GoldenVolumes; readonly volumes: FileVolumes };

/**
 * Golden files (golden.ts) on the embedded target, tgt or LIO: the same record, sha256 and
 * identity; only how clones are made differs (a delta over the file, or a reflink/full copy).
 */
class FileCatalog implements GoldenCatalog {
  readonly kind: string;
  constructor(private readonly b: FileGoldenBackend) {
    this.kind = b.kind;
  }
  list = () => this.b.golden.list();
  require = (name: string) => this.b.golden.require(name);
  clonesOf = (name: string) => this.b.volumes.clonesOf(name);
  remove = (name: string) => this.b.removeGolden(name);

  async verify(name: string): Promise<GoldenVerification> {
    await this.b.golden.verifyIdentity(name);
    return { entry: await this.b.golden.verifyChecksum(name), note: 'yes (identity and sha256 match the record)', checksummed: true };
  }

  async freeze(name: string, volume: string, origin: GoldenOrigin): Promise<{ entry: GoldenEntry; warning?: string }> {
    const vol = await this.b.volumes.get(volume);
    if (!vol) throw new UserError('E_GOLDEN_SOURCE', `volume ${volume} is not on this node's disk`);
    const base = await this.b.volumes.cloneOf(vol.name);
    if (base !== null) throw new UserError('E_GOLDEN_SOURCE', `volume ${volume} is a clone of ${base}; freezing a clone (flattening it) is not supported yet`);
    const r = await this.b.golden.create(name, vol.path!, origin);
    return { entry: r.info, ...(r.warning ? { warning: r.warning } : {}) };
  }

  async fromImage(name: string, origin: GoldenOrigin, lay: (file: string) => Promise<void>): Promise<GoldenEntry> {
    const r = await this.b.golden.createWith(name, origin, async (tmp) => {
      await lay(tmp);
      return { reflinked: false };
    });
    return r.info;
  }

  async promote(volume: string, opts: { name?: string | undefined; from: string }): Promise<GoldenEntry> {
    return (await this.b.promoteClone(volume, opts)).info;
  }
}

class RbdCatalog implements GoldenCatalog {
  readonly kind = 'rbd';
  constructor(
    private readonly b: RbdBackend,
    private readonly tmpDir: string,
  ) {}
  list = () => this.b.listGolden();
  require = (name: string) => this.b.requireGolden(name);
  clonesOf = (name: string) => this.b.clonesOf(name);
  remove = (name: string) => this.b.removeGolden(name);

  async verify(name: string): Promise<GoldenVerification> {
    const entry = await this.b.requireGolden(name);
    if (!(await this.b.goldenProtected(name)))
      throw new NetrootError(
        'E_GOLDEN_CHANGED',
        `golden volume ${name}: its snapshot ${entry.snapshot} is not protected (rbd snap protect it, or remove the golden volume)`,
      );
    return {
      entry,
      note: `no checksum: ${entry.snapshot} is a protected RBD snapshot, which cannot be written (checked: protected)`,
      checksummed: false,
    };
  }

  async freeze(name: string, volume: string, origin: GoldenOrigin): Promise<{ entry: GoldenEntry }> {
    return { entry: await this.b.freezeGolden(name, volume, origin) };
  }

  /** Lays the image into a temporary file under tmpDir (removed afterwards), then `rbd import`. */
  async fromImage(name: string, origin: GoldenOrigin, lay: (file: string) => Promise<void>): Promise<GoldenEntry> {
    if (await this.b.hasGolden(name)) throw new UserError('E_GOLDEN_EXISTS', `golden volume ${name} exists`);
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.tmpDir, '.golden-'));
    try {
      const file = join(dir, 'image.raw');
      await lay(file);
      return await this.b.importGolden(name, file, origin);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  promote(volume: string, opts: { name?: string | undefined; from: string }): Promise<GoldenEntry> {
    return this.b.promoteClone(volume, opts);
  }
}

/**
 * The golden catalog of backend `b`, or null when it holds no golden volumes (a remote node). `tmpDir` (made when missing): where rbd lays an image before
 * importing it.
 */
export function goldenCatalogOf(b: StorageBackend, tmpDir: string): GoldenCatalog | null {
  if (b instanceof EmbeddedBackend || b instanceof FileCloningBackend) return new FileCatalog(b);
  if (b instanceof RbdBackend) return new RbdCatalog(b, tmpDir);
  return null;
}
