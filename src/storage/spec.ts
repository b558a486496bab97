// The shapes every backend, the storage service and the remote client exchange (volumes, exports,
// CHAP) and their validation, so all of them refuse the same inputs with the same codes. A leaf of
// this folder: it imports nothing of src/storage, so backend.ts, volumes.ts and secrets.ts can all
// use it without importing each other.
import { z } from 'zod';
import { UserError } from '../errors.js';
import { parseIPv4 } from '../net/address.js';
import { validateIqn } from '../validate/iscsi-name.js';

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

export type BackendKind = 'embedded' | 'tgt' | 'lio' | 'rbd';

export interface ReconcileResult {
  added: string[];
  removed: string[];
  updated: string[];
}

// ---- volumes ----

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

const VOLUME_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True for a volume name: 1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric, no "..". */
export function isVolumeName(name: string): boolean {
  return VOLUME_NAME_RE.test(name) && !name.includes('..');
}

/** A volume name (isVolumeName), or E_STORAGE_BAD_NAME. */
export function validateVolumeName(name: unknown): string {
  if (typeof name !== 'string' || !isVolumeName(name))
    throw new UserError(
      'E_STORAGE_BAD_NAME',
      `volume name ${JSON.stringify(String(name)).slice(0, 80)} is invalid (1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric, no "..")`,
    );
  return name;
}

// ---- CHAP ----
//
// Length: RFC 7143 §12.1.3 wants CHAP secrets of at least 96 bits when no IPsec protects the
// login; 12 random characters of a 62-symbol alphabet give 71 bits, 16 give 95 bits, so
// secrets.ts generates 16 (the default) and we accept 12-16 for secrets supplied by an operator.
// The upper bound 16 is the Microsoft initiator's (12-16) and what iPXE documents; open-iscsi
// accepts up to 256 (AUTH_STR_MAX_LEN), tgt and LIO up to 255, libiscsi any length. Alphanumerics
// only: the secret travels in iPXE `set password`, dracut netroot=, libiscsi URLs (user%secret@)
// and tgtadm argv without any quoting problem.

export const CHAP_SECRET_MIN = 12;
export const CHAP_SECRET_MAX = 16;

/** Throws E_STORAGE_BAD_SECRET (the message never contains the secret). */
export function validateChapSecret(secret: string, field = 'secret'): string {
  if (typeof secret !== 'string' || secret.length < CHAP_SECRET_MIN || secret.length > CHAP_SECRET_MAX)
    throw new UserError('E_STORAGE_BAD_SECRET', `${field} must be ${CHAP_SECRET_MIN}-${CHAP_SECRET_MAX} characters`);
  if (!/^[A-Za-z0-9]+$/.test(secret)) throw new UserError('E_STORAGE_BAD_SECRET', `${field} may contain only A-Z a-z 0-9`);
  return secret;
}

// ---- exports ----

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
