// The one bearer-token check (RFC 6750 §2.1): the REST API's and the storage service's. The token in
// `Authorization: Bearer <token>` is compared with the expected one as SHA-256 digests in constant
// time, so neither its length nor a matching prefix shows in the timing. A header that is absent,
// of another scheme, or longer than MAX_BEARER_CHARS is simply not a match.

import { createHash, timingSafeEqual } from 'node:crypto';

/** A token longer than this is refused without hashing it (tokens netroot makes are 43 characters). */
export const MAX_BEARER_CHARS = 512;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** A matcher for one expected token: true when `authorization` carries exactly it. */
export function bearerMatcher(expected: string): (authorization: string | undefined) => boolean {
  const want = digest(expected);
  return (authorization) => {
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? '');
    const given = m && m[1]!.length <= MAX_BEARER_CHARS ? m[1]! : '';
    // Always one digest and one comparison, whatever was sent.
    return timingSafeEqual(digest(given), want) && given !== '';
  };
}
