// Per-node CHAP credentials: 16 random alphanumerics (why that length and alphabet, and the
// accepted range 12-16: spec.ts, next to validateChapSecret).
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import { CHAP_SECRET_MAX, CHAP_SECRET_MIN, type ChapSpec } from './spec.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A uniformly random alphanumeric secret (rejection sampling: no modulo bias). */
export function generateChapSecret(length = CHAP_SECRET_MAX): string {
  if (!Number.isInteger(length) || length < CHAP_SECRET_MIN || length > CHAP_SECRET_MAX)
    throw new UserError('E_STORAGE_BAD_SECRET', `CHAP secret length must be ${CHAP_SECRET_MIN}-${CHAP_SECRET_MAX}`);
  let out = '';
  const limit = 256 - (256 % ALPHABET.length); // 248: bytes ≥ limit are dropped
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit) out += ALPHABET[b % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * Fresh credentials for one node: the CHAP user is the host name (tgt accounts are global, so a
 * per-node user keeps nodes apart); with `mutual`, the target authenticates back with its own
 * user and an independent secret.
 */
export function generateNodeChap(host: string, opts: { mutual?: boolean; length?: number } = {}): ChapSpec {
  const chap: ChapSpec = { user: host, secret: generateChapSecret(opts.length) };
  if (opts.mutual) {
    let m = generateChapSecret(opts.length);
    while (m === chap.secret) m = generateChapSecret(opts.length);
    chap.mutualUser = `target-${host}`;
    chap.mutualSecret = m;
  }
  return chap;
}
