// Masking of secret attribute values in API answers (src/log/secret-values.ts: isSecretName's
// names read as MASK) unless the caller is authenticated and asked for `?showSecrets=1`.
import type { Request } from 'express';
import { UserError } from '../errors.js';
import type { ApiAuth } from './api-auth.js';

/** `?showSecrets=1|true`: only with the token (401 otherwise); anything else but 0/false is 400. */
export function wantsSecrets(req: Request, auth: ApiAuth): boolean {
  const v = req.query['showSecrets'];
  if (v === undefined || v === '0' || v === 'false') return false;
  if (v !== '1' && v !== 'true') throw new UserError('E_BAD_REQUEST', 'must be 1 or 0', { where: 'showSecrets' });
  auth.require(req);
  return true;
}
