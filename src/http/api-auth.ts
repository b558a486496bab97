// The REST API's bearer token check (every /api/v1 router shares it). The token is compared as a
// SHA-256 digest in constant time: neither its length nor a prefix leaks through timing.
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { UserError } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export interface ApiAuth {
  /** Whether the request carries `Authorization: Bearer <the token>`. */
  allowed(req: Request): boolean;
  /** Throws E_UNAUTHORIZED (401) unless allowed. */
  require(req: Request): void;
}

export function apiAuth(token: string): ApiAuth {
  const want = digest(token);
  const allowed = (req: Request) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    return m !== null && timingSafeEqual(digest(m[1]!), want);
  };
  return {
    allowed,
    require: (req) => {
      if (!allowed(req)) throw new UserError('E_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer …)');
    },
  };
}
