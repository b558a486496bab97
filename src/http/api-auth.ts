// The REST API's authentication (every /api/v1 router shares it): `Authorization: Bearer <token>`
// on the one bearer matcher (src/validate/bearer.ts: SHA-256 digests compared in constant time), or
// the dashboard's session cookie together with that session's CSRF token in `X-CSRF-Token`
// (sessions.ts). The cookie alone authorizes nothing: a page of another site can make the browser
// send it (SameSite=Strict already stops that in current browsers; the CSRF token does not depend
// on it), but cannot read the token nor set a custom header without a CORS preflight this server
// never answers. Reads that need no authorization (every open GET, the event stream) ignore both.
import type { Request } from 'express';
import { UserError } from '../errors.js';
import { bearerMatcher } from '../validate/bearer.js';
import { CSRF_HEADER, SESSION_COOKIE, SessionTable, cookieValue, type Session } from './sessions.js';

export interface ApiAuth {
  /** Whether the request carries the token, or a live session cookie with its CSRF token. */
  allowed(req: Request): boolean;
  /** Throws E_UNAUTHORIZED (401) unless allowed. */
  require(req: Request): void;
  /** The live session the request's cookie names (CSRF not checked), or null. */
  session(req: Request): Session | null;
}

export function apiAuth(token: string, sessions?: SessionTable): ApiAuth {
  const matches = bearerMatcher(token);
  const session = (req: Request) => (sessions ? sessions.get(cookieValue(req.get('cookie'), SESSION_COOKIE)) : null);
  const allowed = (req: Request) => {
    if (matches(req.get('authorization'))) return true;
    const s = session(req);
    return s !== null && SessionTable.csrfMatches(s, req.get(CSRF_HEADER));
  };
  return {
    allowed,
    session,
    require: (req) => {
      if (!allowed(req))
        throw new UserError('E_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer …, or the session cookie with its X-CSRF-Token)');
    },
  };
}
