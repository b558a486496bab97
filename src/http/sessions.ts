// The dashboard's login sessions (issue #18 point 3). A login with the API token gets a session:
// a random 256-bit id (the `netroot_session` cookie: HttpOnly, SameSite=Strict, Path=/, Secure over
// TLS, Max-Age = `http.sessionMaxAgeSeconds`) and a random 256-bit CSRF token the page keeps and
// sends back as `X-CSRF-Token` (a per-session synchronizer token, OWASP CSRF cheat sheet). The table
// is kept in memory, keyed by the SHA-256 of the id (a heap dump shows no usable cookie); it holds
// at most `http.maxSessions`: beyond it the expired ones go, then the oldest (a login always
// succeeds and the table never grows; only token holders can log in at all). A restart ends every
// session. Logins are limited per client address (`LoginLimiter`).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'netroot_session';
export const CSRF_HEADER = 'x-csrf-token';
/** Cookie values and CSRF tokens netroot makes are 43 base64url characters; anything longer is no match. */
const MAX_TOKEN_CHARS = 128;

export interface Session {
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

const digest = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64url');
const token = (): string => randomBytes(32).toString('base64url');

export class SessionTable {
  /** By SHA-256 of the id, in creation order (Map keeps insertion order: the first is the oldest). */
  private readonly byHash = new Map<string, Session>();

  constructor(
    readonly maxSessions: number,
    readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.byHash.size;
  }

  /** A new session: its id (the cookie value, given out once) and its CSRF token. */
  create(): { id: string; session: Session } {
    const t = this.now();
    if (this.byHash.size >= this.maxSessions) this.sweep();
    while (this.byHash.size >= this.maxSessions) {
      const oldest = this.byHash.keys().next().value as string;
      this.byHash.delete(oldest);
    }
    const id = token();
    const session = { csrf: token(), createdAt: t, expiresAt: t + this.maxAgeMs };
    this.byHash.set(digest(id), session);
    return { id, session };
  }

  /** The live session of a cookie value, or null (unknown, expired: an expired one is dropped). */
  get(id: string | undefined): Session | null {
    if (!id || id.length > MAX_TOKEN_CHARS) return null;
    const h = digest(id);
    const s = this.byHash.get(h);
    if (!s) return null;
    if (s.expiresAt <= this.now()) {
      this.byHash.delete(h);
      return null;
    }
    return s;
  }

  /** Whether `given` is the session's CSRF token (constant time in the token's content). */
  static csrfMatches(s: Session, given: string | undefined): boolean {
    if (!given || given.length > MAX_TOKEN_CHARS) return false;
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(s.csrf).digest();
    return timingSafeEqual(a, b);
  }

  end(id: string | undefined): boolean {
    if (!id || id.length > MAX_TOKEN_CHARS) return false;
    return this.byHash.delete(digest(id));
  }

  private sweep(): void {
    const t = this.now();
    for (const [h, s] of this.byHash) if (s.expiresAt <= t) this.byHash.delete(h);
  }
}

/**
 * Login attempts per client address: at most `perMinute` in any sliding minute (every attempt
 * counts, right or wrong, so guessing the token costs a minute per `perMinute` tries). At most
 * `maxSources` addresses are tracked; beyond it the least recently seen is forgotten.
 */
export class LoginLimiter {
  private readonly bySource = new Map<string, number[]>();

  constructor(
    readonly perMinute: number,
    readonly maxSources = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an attempt from `source`: 0 when allowed, else the seconds until the next one is. */
  attempt(source: string): number {
    const t = this.now();
    const recent = (this.bySource.get(source) ?? []).filter((x) => x > t - 60_000);
    this.bySource.delete(source);
    if (recent.length >= this.perMinute) {
      this.bySource.set(source, recent);
      return Math.max(1, Math.ceil((recent[0]! + 60_000 - t) / 1000));
    }
    recent.push(t);
    this.bySource.set(source, recent);
    while (this.bySource.size > this.maxSources) this.bySource.delete(this.bySource.keys().next().value as string);
    return 0;
  }
}

/** The value of one cookie of a Cookie header (RFC 6265 §5.4 shape; the first of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
