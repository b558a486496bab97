// Masking of secret attribute values in API answers: a name isSecretAttribute matches
// reads as MASK unless the caller is authenticated and asked for `?showSecrets=1`. The mask is
// fixed, so it does not tell a secret's length.
import type { Request } from 'express';
import { isSecretName } from '../log/logger.js';
import { UserError } from '../errors.js';
import type { ApiAuth } from './api-auth.js';

export const MASK = '********';

/**
 * Whether an attribute's value is a secret: isSecretName (the log redaction rule: secret,
 * password, passwd, token, chap, credential) or a crypt(3) hash (`crypted`, which `netroot attr
 * list` masks too): the union of both rules, so the API never shows what the CLI hides.
 */
export function isSecretAttribute(name: string): boolean {
  return isSecretName(name) || /crypted/i.test(name);
}

export function masked<T extends { name: string; value: string }>(rows: readonly T[], reveal: boolean): T[] {
  return rows.map((a) => (reveal || a.value === '' || !isSecretAttribute(a.name) ? a : { ...a, value: MASK }));
}

/** `?showSecrets=1|true`: only with the token (401 otherwise); anything else but 0/false is 400. */
export function wantsSecrets(req: Request, auth: ApiAuth): boolean {
  const v = req.query['showSecrets'];
  if (v === undefined || v === '0' || v === 'false') return false;
  if (v !== '1' && v !== 'true') throw new UserError('E_BAD_REQUEST', 'must be 1 or 0', { where: 'showSecrets' });
  auth.require(req);
  return true;
}

/** `text` with every occurrence of each non-empty secret replaced by MASK (longest first). */
export function maskText(text: string, secrets: Iterable<string>): string {
  const list = [...new Set([...secrets].filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of list) out = out.split(s).join(MASK);
  return out;
}
