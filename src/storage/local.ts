// A storage backend on this machine, by composition: one volume store (FileVolumes: sparse files)
// and one TargetExports per target kind (embedded.ts, tgt.ts, lio.ts). LocalBackend owns what
// every kind shares — the volume half, the in-use check, validation, one lock and the order of a
// reconcile — so a target kind writes only how it makes, reads and removes an export.
import type { StorageBackend } from './backend.js';
import { assertIqn } from './iqn.js';
import {
  validateDesired,
  validateExportSpec,
  validateVolumeName,
  type BackendKind,
  type ExportInfo,
  type ExportSpec,
  type ReconcileResult,
  type VolumeInfo,
  type VolumeSpec,
} from './spec.js';
import { Mutex } from './util.js';
import { UserError } from '../errors.js';
import type { FileVolumes } from './volumes.js';

/** The volume half of a local backend: FileVolumes (volumes.ts) or RbdVolumes (rbd-volumes.ts). */
export interface VolumeStore {
  capacity(): Promise<{ totalBytes: number; freeBytes: number }>;
  create(v: VolumeSpec): Promise<VolumeInfo>;
  resize(name: string, sizeBytes: number): Promise<VolumeInfo>;
  list(): Promise<VolumeInfo[]>;
  /** One volume by name, or null. */
  get(name: string): Promise<VolumeInfo | null>;
  /** Idempotent. */
  delete(name: string): Promise<void>;
}

/** What one export step did (reconcile reports 'added' and 'updated'). */
export type ApplyResult = 'added' | 'updated' | 'same';

/**
 * The export half of a local backend, one implementation per target kind. Specs it receives are
 * validated (validateExportSpec) and passed by refuse(); every method but list() is called with
 * the backend's lock held, so an implementation needs no lock of its own.
 */
export interface TargetExports {
  readonly kind: BackendKind;
  /** Where initiators connect (ExportInfo.portal/port); read at each call. */
  address(): { portal: string; port: number };
  /** Throws for a valid spec this kind cannot honour (E_STORAGE_UNSUPPORTED; tgt's LUN 0). */
  refuse(e: ExportSpec): void;
  /** The target IQN that exports `volume`, if any: deleteVolume refuses while there is one. */
  exporterOf(volume: string): Promise<string | undefined>;
  /**
   * Makes the target `e.targetIqn` export `e`: nothing when it already does (and the volume has
   * the size it was exported at), else creates or replaces it. The volume must exist
   * (E_STORAGE_NOT_FOUND) and not be exported by another target (E_STORAGE_IN_USE).
   */
  apply(e: ExportSpec): Promise<ApplyResult>;
  /** Removes the target if present; never touches volume data. */
  remove(targetIqn: string): Promise<void>;
  /** The exports as the target serves them (portal and port are added by the backend). */
  list(): Promise<ExportSpec[]>;
  /** Removes every target this kind manages that is not in `wanted`; returns their IQNs, in the order removed. */
  prune(wanted: ReadonlySet<string>): Promise<string[]>;
}

const byTarget = (a: ExportInfo, b: ExportInfo): number => (a.targetIqn < b.targetIqn ? -1 : 1);

export class LocalBackend<X extends TargetExports = TargetExports, V extends VolumeStore = FileVolumes> implements StorageBackend {
  readonly kind: BackendKind;
  /** Mutations of volumes and exports are serialised (tid, HBA index and file races). */
  protected readonly lock = new Mutex();

  constructor(
    readonly volumes: V,
    readonly exports: X,
  ) {
    this.kind = exports.kind;
  }

  // ---- volumes ----

  capacity(): Promise<{ totalBytes: number; freeBytes: number }> {
    return this.volumes.capacity();
  }
  createVolume(v: VolumeSpec): Promise<VolumeInfo> {
    return this.lock.run(() => this.volumes.create(v));
  }
  /** Grows the file; an exported LUN shows the new size after the next reconcile (it re-exports). */
  resizeVolume(name: string, sizeBytes: number): Promise<VolumeInfo> {
    return this.lock.run(() => this.volumes.resize(name, sizeBytes));
  }
  listVolumes(): Promise<VolumeInfo[]> {
    return this.volumes.list();
  }
  getVolume(name: string): Promise<VolumeInfo | null> {
    return this.volumes.get(name);
  }
  deleteVolume(name: string): Promise<void> {
    return this.lock.run(async () => {
      validateVolumeName(name);
      const by = await this.exports.exporterOf(name);
      if (by !== undefined) throw new UserError('E_STORAGE_IN_USE', `volume ${name} is exported as ${by}; unexport it first`);
      await this.volumes.delete(name);
    });
  }

  // ---- exports ----

  private info(e: ExportSpec): ExportInfo {
    return { ...e, chap: { ...e.chap }, ...this.exports.address() };
  }

  async exportVolume(spec: ExportSpec): Promise<ExportInfo> {
    const e = validateExportSpec(spec);
    this.exports.refuse(e);
    return this.lock.run(async () => {
      await this.exports.apply(e);
      return this.info(e);
    });
  }

  async unexport(targetIqn: string): Promise<void> {
    assertIqn(targetIqn, 'target IQN');
    return this.lock.run(() => this.exports.remove(targetIqn));
  }

  async listExports(): Promise<ExportInfo[]> {
    return (await this.exports.list()).map((e) => this.info(e)).sort(byTarget);
  }

  async reconcile(desired: ExportSpec[]): Promise<ReconcileResult> {
    const want = validateDesired(desired);
    for (const e of want) this.exports.refuse(e);
    return this.lock.run(async () => {
      const res: ReconcileResult = { added: [], removed: [], updated: [] };
      res.removed = await this.exports.prune(new Set(want.map((e) => e.targetIqn)));
      // One export that cannot be made (a missing volume, a clone whose golden file changed) does
      // not keep the others from being served: all are tried, then the first failure is thrown.
      let failed: unknown;
      for (const e of want) {
        let r: ApplyResult;
        try {
          r = await this.exports.apply(e);
        } catch (err) {
          failed ??= err;
          continue;
        }
        if (r === 'added') res.added.push(e.targetIqn);
        if (r === 'updated') res.updated.push(e.targetIqn);
      }
      if (failed !== undefined) throw failed;
      return res;
    });
  }
}
