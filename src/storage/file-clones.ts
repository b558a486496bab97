// Golden volumes and their clones on the tgt and LIO backends (issue #20, Build 2's last point).
// tgtd and the kernel target serve plain files only, not the embedded target's copy-on-write LUN
// (a delta over the golden file, src/iscsi/lun-clone.ts), so a clone here is a whole volume file
// `<volumesDir>/<name>.img`: a reflink copy of the golden file (golden.ts reflinkOrCopy, the FICLONE
// ioctl through `cp --reflink=always`: XFS with reflink=1, btrfs), which shares every block with the
// golden file until the node writes; where the file system cannot reflink (ext4, tmpfs) a full
// sparse copy, and a warning saying so (logged, and returned to the caller). Once made, the clone
// does not read the golden file again, so exporting one checks nothing about it.
// The golden volumes are the embedded target's (`<volumesDir>/golden/`, GoldenVolumes, with their
// record, sha256 and identity); a clone is recorded as on the embedded target (volumes.ts
// `<name>.clone.json`, without a map), so clonesOf, `golden remove`'s refusal, `boot=reset` and
// the allocation plugin's clone attributes work the same.
import { chmod, rename, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { CloningBackend } from './backend.js';
import { GoldenVolumes, reflinkOrCopy, type GoldenBoot, type GoldenCreateResult } from './golden.js';
import { LocalBackend, type TargetExports } from './local.js';
import type { VolumeInfo } from './spec.js';
import type { Mutex } from './util.js';
import type { FileVolumes } from './volumes.js';

/** A clone as made: the volume, whether it shares its blocks with the golden file, and the warning of a full copy. */
export interface FileCloneResult {
  volume: VolumeInfo;
  reflinked: boolean;
  warning?: string;
}

export class FileClones {
  private readonly log: Logger;

  constructor(
    private readonly volumes: FileVolumes,
    readonly golden: GoldenVolumes,
    /** The backend's lock (LocalBackend's): every mutation here runs under it. */
    private readonly lock: Mutex,
    /** The target IQN that exports `volume`, if any (the backend's TargetExports.exporterOf). */
    private readonly exporterOf: (volume: string) => Promise<string | undefined>,
    logger?: Logger,
  ) {
    this.log = logger ?? silentLogger;
  }

  async hasGolden(name: string): Promise<boolean> {
    return (await this.golden.get(name)) !== null;
  }

  async goldenBoot(name: string): Promise<GoldenBoot | null> {
    return (await this.golden.require(name)).boot ?? null;
  }

  /**
   * Volume `name` as a copy of golden volume `golden` (reflink where possible), of max(golden size,
   * sizeBytes) bytes. E_STORAGE_EXISTS when a volume of that name exists; E_GOLDEN_CHANGED when the
   * golden file is not the one recorded; E_STORAGE_FULL when a full-size volume would not fit.
   */
  clone(name: string, golden: string, sizeBytes = 0): Promise<FileCloneResult> {
    return this.lock.run(async () => {
      if (await this.volumes.get(name)) throw new UserError('E_STORAGE_EXISTS', `volume ${name} exists; delete it before cloning into it`);
      return this.copy(name, golden, sizeBytes);
    });
  }

  /** Throws an unexported clone away and copies its golden volume again at the same size (E_GOLDEN_SOURCE for a plain volume). */
  reset(name: string): Promise<FileCloneResult> {
    return this.lock.run(async () => {
      const cur = await this.volumes.require(name);
      const golden = await this.volumes.cloneOf(name);
      if (golden === null) throw new UserError('E_GOLDEN_SOURCE', `volume ${name} is not a clone; there is nothing to reset it to`);
      const by = await this.exporterOf(name);
      if (by !== undefined) throw new UserError('E_STORAGE_IN_USE', `volume ${name} is exported as ${by}; unexport it first`);
      await this.golden.verifyIdentity(golden);
      await this.volumes.delete(name);
      return this.copy(name, golden, cur.sizeBytes);
    });
  }

  /** The copy, under the lock: a temporary file renamed into place, so a crash leaves no half volume. */
  private async copy(name: string, golden: string, sizeBytes: number): Promise<FileCloneResult> {
    const g = await this.golden.verifyIdentity(golden);
    const size = Math.max(g.sizeBytes, sizeBytes);
    const cap = await this.volumes.capacity();
    if (size > cap.freeBytes) throw new UserError('E_STORAGE_FULL', `clone ${name} may grow to ${size} bytes, ${cap.freeBytes} free`);
    const path = this.volumes.pathOf(name);
    const tmp = join(this.volumes.dir, `.${name}.img.${process.pid}.tmp`);
    await unlink(tmp).catch(() => {});
    try {
      const r = await reflinkOrCopy(g.path, tmp, `clone ${name} of golden volume ${golden}`);
      // cp gives the copy the golden file's 0444; a volume is 0600 (volumes.ts).
      await chmod(tmp, 0o600);
      if (size > g.sizeBytes) await truncate(tmp, size);
      // The record first: a crash before the rename leaves a record without a volume, which
      // clonesOf() ignores; never a clone that is not recorded as one.
      await this.volumes.recordClone(name, golden);
      await rename(tmp, path);
      if (r.warning) this.log.warn('golden clone is a full copy', { volume: name, golden, warning: r.warning });
      else this.log.info('golden clone (reflink)', { volume: name, golden });
      return { volume: await this.volumes.require(name), reflinked: r.reflinked, ...(r.warning ? { warning: r.warning } : {}) };
    } catch (e) {
      await unlink(tmp).catch(() => {});
      await this.volumes.delete(name).catch(() => {});
      throw e;
    }
  }

  /**
   * `golden promote`: clone `volume`'s current content (a whole file here) becomes the next version
   * of its golden volume's line, as on the embedded target (embedded.ts promoteClone): a reflink
   * copy where possible, else a full copy with the warning. E_GOLDEN_SOURCE for a plain volume.
   */
  promote(volume: string, opts: { name?: string | undefined; from: string }): Promise<GoldenCreateResult> {
    return this.lock.run(async () => {
      const vol = await this.volumes.require(volume);
      const base = await this.volumes.cloneOf(volume);
      if (base === null)
        throw new UserError('E_GOLDEN_SOURCE', `volume ${volume} is not a clone (freeze a plain volume with: netroot golden create NAME --from HOST)`);
      const g = await this.golden.require(base);
      const { root, version } = await this.golden.nextVersion(base);
      const r = await this.golden.create(opts.name ?? `${root}-v${version}`, vol.path!, { from: opts.from, boot: g.boot, version, parent: base });
      if (r.warning) this.log.warn('golden volume is a full copy', { golden: r.info.name, warning: r.warning });
      return r;
    });
  }

  /** Removes a golden volume; E_GOLDEN_IN_USE while any volume is a clone of it. */
  removeGolden(name: string): Promise<void> {
    return this.lock.run(async () => {
      await this.golden.require(name);
      const clones = await this.volumes.clonesOf(name);
      if (clones.length)
        throw new UserError(
          'E_GOLDEN_IN_USE',
          `golden volume ${name} has ${clones.length} clone(s): ${clones.slice(0, 10).join(', ')}${clones.length > 10 ? ', ...' : ''}`,
        );
      await this.golden.remove(name);
    });
  }
}

/**
 * A LocalBackend over files (tgt, LIO) that holds golden volumes under `<volumesDir>/golden/` and
 * clones them as FileClones copies: the allocation plugin's CloningBackend, `netroot golden`'s
 * catalog (golden-catalog.ts) and `boot=reset` work on it as on the embedded target.
 */
export class FileCloningBackend<X extends TargetExports> extends LocalBackend<X> implements CloningBackend {
  readonly golden: GoldenVolumes;
  readonly clones: FileClones;

  constructor(volumes: FileVolumes, exports: X, logger?: Logger) {
    super(volumes, exports);
    this.golden = new GoldenVolumes(join(volumes.dir, 'golden'));
    this.clones = new FileClones(volumes, this.golden, this.lock, (v) => this.exports.exporterOf(v), logger);
  }

  hasGolden(name: string): Promise<boolean> {
    return this.clones.hasGolden(name);
  }

  goldenBoot(name: string): Promise<GoldenBoot | null> {
    return this.clones.goldenBoot(name);
  }

  /** A reflink (else full, with a warning in the log) copy of golden `golden` as volume `name`. */
  async cloneVolume(name: string, golden: string, sizeBytes?: number): Promise<VolumeInfo> {
    return (await this.clones.clone(name, golden, sizeBytes)).volume;
  }

  async resetClone(name: string): Promise<VolumeInfo> {
    return (await this.clones.reset(name)).volume;
  }

  promoteClone(volume: string, opts: { name?: string | undefined; from: string }): Promise<GoldenCreateResult> {
    return this.clones.promote(volume, opts);
  }

  removeGolden(name: string): Promise<void> {
    return this.clones.removeGolden(name);
  }
}
