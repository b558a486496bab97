// The storage contract every backend (embedded, tgt, lio, remote) implements: per-node volumes
// (sparse files) and one iSCSI target per node that exports that volume to exactly one initiator
// IQN with CHAP. Validation of export specs is shared here so every backend, the storage service
// and the remote client refuse the same inputs with the same codes.
import { z } from 'zod';
import { UserError } from '../errors.js';
import { validateIqn } from '../validate/iscsi-name.js';
import { parseIPv4 } from '../net/address.js';
import { validateChapSecret } from './secrets.js';
import { validateVolumeName } from './volumes.js';

export interface VolumeSpec {
  /** e.g. compute-0-0; see validateVolumeName. */
  name: string;
  sizeBytes: number;
}

export interface ChapSpec {
  user: string;
  secret: string;
  /** Mutual (target → initiator) CHAP; both or neither. */
  mutualUser?: string;
  mutualSecret?: string;
}

export interface ExportSpec {
  volume: string;
  targetIqn: string;
  initiatorIqn: string;
  /** Only the embedded target can enforce it; tgt and LIO refuse a spec that sets it (README). */
  sourceAddress?: string;
  chap: ChapSpec;
  lun: number;
}

export interface VolumeInfo {
  name: string;
  sizeBytes: number;
  /** Bytes actually allocated on disk (the files are sparse). */
  allocatedBytes: number;
  path?: string;
}

export interface ExportInfo extends ExportSpec {
  /** The address initiators connect to (the backend's advertised portal). */
  portal: string;
  port: number;
}

export type BackendKind = 'embedded' | 'tgt' | 'lio';

export interface ReconcileResult {
  added: string[];
  removed: string[];
  updated: string[];
}

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
  listExports(): Promise<ExportInfo[]>;
  /**
   * Make the backend match `desired` (after a restart or crash): create missing exports, replace
   * changed ones, remove the ones it manages that are not desired; never delete volume data.
   * Returns the target IQNs it changed.
   */
  reconcile(desired: ExportSpec[]): Promise<ReconcileResult>;
}

/** The LUN number a backend exports the disk as by default: with tgt, LUN 0 is its controller. */
export function defaultLun(kind: BackendKind): number {
  return kind === 'tgt' ? 1 : 0;
}

// ---- validation shared by all backends and the storage service ----

/** Largest volume we accept: 2^53 - 1 rounded down to 512 (JSON numbers stay exact). */
export const MAX_VOLUME_BYTES = Math.floor(Number.MAX_SAFE_INTEGER / 512) * 512;
export const SECTOR = 512;

export function validateSize(sizeBytes: unknown, field = 'sizeBytes'): number {
  if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes <= 0)
    throw new UserError('E_STORAGE_BAD_SIZE', `${field} must be a positive integer number of bytes`);
  if (sizeBytes % SECTOR !== 0) throw new UserError('E_STORAGE_BAD_SIZE', `${field} must be a multiple of ${SECTOR} (the LUN block size)`);
  if (sizeBytes > MAX_VOLUME_BYTES) throw new UserError('E_STORAGE_BAD_SIZE', `${field} is too large`);
  return sizeBytes;
}

const chapUserRe = /^[A-Za-z0-9._:@-]{1,64}$/;

/** Zod shape of an ExportSpec on the wire (storage service); semantic checks are in validateExportSpec. */
export const exportSpecSchema = z
  .object({
    volume: z.string().max(128),
    targetIqn: z.string().max(223),
    initiatorIqn: z.string().max(223),
    sourceAddress: z.string().max(64).optional(),
    chap: z
      .object({
        user: z.string().max(64),
        secret: z.string().max(255),
        mutualUser: z.string().max(64).optional(),
        mutualSecret: z.string().max(255).optional(),
      })
      .strict(),
    lun: z.number().int().min(0).max(255),
  })
  .strict();

/**
 * Checks an ExportSpec and returns a normalised copy (no undefined optional keys). Messages never
 * contain a secret. Throws UserError E_STORAGE_BAD_SPEC (or the name/IQN codes).
 */
export function validateExportSpec(e: ExportSpec): ExportSpec {
  const parsed = exportSpecSchema.safeParse(e);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new UserError('E_STORAGE_BAD_SPEC', `export spec is malformed (${where})`);
  }
  const s = parsed.data;
  validateVolumeName(s.volume);
  const t = validateIqn(s.targetIqn);
  if (t.length) throw new UserError('E_STORAGE_BAD_IQN', `target IQN ${JSON.stringify(s.targetIqn)}: ${t.join('; ')}`);
  const i = validateIqn(s.initiatorIqn);
  if (i.length) throw new UserError('E_STORAGE_BAD_IQN', `initiator IQN ${JSON.stringify(s.initiatorIqn)}: ${i.join('; ')}`);
  if (s.targetIqn === s.initiatorIqn) throw new UserError('E_STORAGE_BAD_SPEC', 'target and initiator IQN are the same');
  if (s.sourceAddress !== undefined && parseIPv4(s.sourceAddress) === null)
    throw new UserError('E_STORAGE_BAD_SPEC', `sourceAddress ${JSON.stringify(s.sourceAddress)} is not an IPv4 address`);
  if (!chapUserRe.test(s.chap.user)) throw new UserError('E_STORAGE_BAD_SPEC', 'chap.user must be 1-64 of A-Z a-z 0-9 . _ : @ -');
  validateChapSecret(s.chap.secret, 'chap.secret');
  const hasMu = s.chap.mutualUser !== undefined;
  const hasMs = s.chap.mutualSecret !== undefined;
  if (hasMu !== hasMs) throw new UserError('E_STORAGE_BAD_SPEC', 'chap.mutualUser and chap.mutualSecret go together');
  const chap: ChapSpec = { user: s.chap.user, secret: s.chap.secret };
  if (s.chap.mutualUser !== undefined && s.chap.mutualSecret !== undefined) {
    if (!chapUserRe.test(s.chap.mutualUser)) throw new UserError('E_STORAGE_BAD_SPEC', 'chap.mutualUser must be 1-64 of A-Z a-z 0-9 . _ : @ -');
    validateChapSecret(s.chap.mutualSecret, 'chap.mutualSecret');
    // RFC 7143 §12.1.3: the secret that authenticates the target must differ from the initiator's.
    if (s.chap.mutualSecret === s.chap.secret) throw new UserError('E_STORAGE_BAD_SPEC', 'the mutual CHAP secret must differ from the initiator secret');
    chap.mutualUser = s.chap.mutualUser;
    chap.mutualSecret = s.chap.mutualSecret;
  }
  const out: ExportSpec = { volume: s.volume, targetIqn: s.targetIqn, initiatorIqn: s.initiatorIqn, chap, lun: s.lun };
  if (s.sourceAddress !== undefined) out.sourceAddress = s.sourceAddress;
  return out;
}

/** True when two validated specs describe the same export (field by field, secrets included). */
export function sameExport(a: ExportSpec, b: ExportSpec): boolean {
  return (
    a.volume === b.volume &&
    a.targetIqn === b.targetIqn &&
    a.initiatorIqn === b.initiatorIqn &&
    (a.sourceAddress ?? '') === (b.sourceAddress ?? '') &&
    a.lun === b.lun &&
    a.chap.user === b.chap.user &&
    a.chap.secret === b.chap.secret &&
    (a.chap.mutualUser ?? '') === (b.chap.mutualUser ?? '') &&
    (a.chap.mutualSecret ?? '') === (b.chap.mutualSecret ?? '')
  );
}

/** Duplicate target IQNs in a desired set are an error: reconcile would flap between them. */
export function validateDesired(desired: ExportSpec[]): ExportSpec[] {
  const seen = new Set<string>();
  return desired.map((d) => {
    const v = validateExportSpec(d);
    if (seen.has(v.targetIqn)) throw new UserError('E_STORAGE_BAD_SPEC', `target IQN ${v.targetIqn} is listed twice`);
    seen.add(v.targetIqn);
    return v;
  });
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
