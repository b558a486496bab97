// The REST API's bearer token check (every /api/v1 router shares it), on the one bearer matcher
// (src/validate/bearer.ts: SHA-256 digests compared in constant time).
import type { Request } from 'express';
import { UserError } from '../errors.js';
import { bearerMatcher } from '../validate/bearer.js';

export interface ApiAuth {
  /** Whether the request carries `Authorization: Bearer <the token>`. */
  allowed(req: Request): boolean;
  /** Throws E_UNAUTHORIZED (401) unless allowed. */
  require(req: Request): void;
}

export function apiAuth(token: string): ApiAuth {
  const matches = bearerMatcher(token);
  const allowed = (req: Request) => matches(req.get('authorization'));
  return {
    allowed,
    require: (req) => {
      if (!allowed(req)) throw new UserError('E_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer …)');
    },
  };
}
