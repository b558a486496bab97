// Per-node CHAP credentials.
//
// Length: RFC 7143 §12.1.3 wants CHAP secrets of at least 96 bits when no IPsec protects the
// login; 12 random characters of a 62-symbol alphabet give 71 bits, 16 give 95 bits, so we
// generate 16 (the default) and accept 12-16 for secrets supplied by an operator. The upper bound
// 16 is the Microsoft initiator's (12-16) and what iPXE documents; open-iscsi accepts up to 256
// (AUTH_STR_MAX_LEN), tgt and LIO up to 255, libiscsi any length. Alphanumerics only: the secret
// travels in iPXE `set password`, dracut netroot=, libiscsi URLs (user%secret@) and tgtadm argv
// without any quoting problem.
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import type { ChapSpec } from './backend.js';

export const CHAP_SECRET_MIN = 12;
export const CHAP_SECRET_MAX = 16;
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

/** Throws E_STORAGE_BAD_SECRET (the message never contains the secret). */
export function validateChapSecret(secret: string, field = 'secret'): string {
  if (typeof secret !== 'string' || secret.length < CHAP_SECRET_MIN || secret.length > CHAP_SECRET_MAX)
    throw new UserError('E_STORAGE_BAD_SECRET', `${field} must be ${CHAP_SECRET_MIN}-${CHAP_SECRET_MAX} characters`);
  if (!/^[A-Za-z0-9]+$/.test(secret)) throw new UserError('E_STORAGE_BAD_SECRET', `${field} may contain only A-Z a-z 0-9`);
  return secret;
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
