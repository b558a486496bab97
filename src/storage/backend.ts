// The storage contract every backend (embedded, tgt, lio, remote) implements: per-node volumes
// (sparse files) and one iSCSI target per node that exports that volume to exactly one initiator
// IQN with CHAP. The shapes it takes and their validation are in spec.ts (a leaf), the local
// backends' one implementation of it in local.ts.
import type { BackendKind, ExportInfo, ExportSpec, ReconcileResult, VolumeInfo, VolumeSpec } from './spec.js';

export interface StorageBackend {
  readonly kind: BackendKind;
  capacity(): Promise<{ totalBytes: number; freeBytes: number }>;
  /** Idempotent: same name + size → the same volume; another size → E_STORAGE_EXISTS (use resizeVolume). */
  createVolume(v: VolumeSpec): Promise<VolumeInfo>;
  /** Grow only; a smaller size is E_STORAGE_SHRINK. */
  resizeVolume(name: string, sizeBytes: number): Promise<VolumeInfo>;
  /** Idempotent; E_STORAGE_IN_USE while the volume is exported. */
  deleteVolume(name: string): Promise<void>;
  /** Idempotent: the same spec twice changes nothing; a changed spec for the same target IQN replaces it. */
  exportVolume(e: ExportSpec): Promise<ExportInfo>;
  /** Idempotent; never touches volume data. */
  unexport(targetIqn: string): Promise<void>;
  listVolumes(): Promise<VolumeInfo[]>;
  /** Optional: one volume by name, or null (without listing them all); callers fall back to listVolumes. */
  getVolume?(name: string): Promise<VolumeInfo | null>;
  listExports(): Promise<ExportInfo[]>;
  /**
   * Make the backend match `desired` (after a restart or crash): create missing exports, replace
   * changed ones, remove the ones it manages that are not desired; never delete volume data.
   * Returns the target IQNs it changed.
   */
  reconcile(desired: ExportSpec[]): Promise<ReconcileResult>;
}

/** The LUN number a backend exports the disk as by default: with tgt (and rbd, which exports through tgt), LUN 0 is its controller. */
export function defaultLun(kind: BackendKind): number {
  return kind === 'tgt' || kind === 'rbd' ? 1 : 0;
}

/**
 * The host attributes the boot code reads (src/boot: iscsi_initiator, iscsi_target, iscsi_portal,
 * iscsi_port, iscsi_lun, iscsi_user, iscsi_secret) for an export.
 */
export function exportAttributes(info: ExportInfo): Record<string, string> {
  const a: Record<string, string> = {
    iscsi_initiator: info.initiatorIqn,
    iscsi_target: info.targetIqn,
    iscsi_portal: info.portal,
    iscsi_port: String(info.port),
    iscsi_lun: String(info.lun),
    iscsi_user: info.chap.user,
    iscsi_secret: info.chap.secret,
  };
  if (info.chap.mutualUser && info.chap.mutualSecret) {
    a['iscsi_mutual_user'] = info.chap.mutualUser;
    a['iscsi_mutual_secret'] = info.chap.mutualSecret;
  }
  return a;
}

/** A backend that holds golden volumes and clones them: copy-on-write (embedded, rbd) or by reflink/full copy (tgt, lio: file-clones.ts). */
export interface CloningBackend extends StorageBackend {
  hasGolden(name: string): Promise<boolean>;
  /** Volume `name` as a clone of golden volume `golden`, at least `sizeBytes` large. */
  cloneVolume(name: string, golden: string, sizeBytes?: number): Promise<VolumeInfo>;
  /** Throws an unexported clone's delta away and re-clones it (E_GOLDEN_SOURCE for a plain volume). */
  resetClone(name: string): Promise<VolumeInfo>;
  /**
   * How clones of golden volume `name` boot without installing (root file-system UUID, OS image),
   * or null when that is not known (its clones install). Optional: a backend without it is treated
   * as returning null.
   */
  goldenBoot?(name: string): Promise<{ rootUuid: string; osImage: string | null } | null>;
}

export function canClone(b: StorageBackend): b is CloningBackend {
  const c = b as Partial<CloningBackend>;
  return typeof c.hasGolden === 'function' && typeof c.cloneVolume === 'function' && typeof c.resetClone === 'function';
}
