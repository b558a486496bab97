// store.url and the errors of the PostgreSQL store. The URL's password is a secret: `safeUrl`
// (what every message, log line and CLI answer shows) replaces it with MASK, and the errors of a
// failed connection name host:port/database and the server's reason, never the URL as written.
// Constraint violations map to the same UserErrors as SQLite's (rows.ts DUPLICATE).
import { NetrootError, UserError } from '../errors.js';

export const MASK = '********';

/** What a store.url selects: '' is SQLite under the state directory. */
export type StoreUrlKind = 'sqlite' | 'postgres';

/** '' → sqlite; postgres://… or postgresql://… → postgres; anything else is E_STORE_URL (the value is not echoed: it may hold a password). */
export function storeUrlKind(url: string): StoreUrlKind {
  if (url === '') return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new UserError('E_STORE_URL', 'store.url is not a valid postgres:// URL', { where: 'store.url' });
    }
    return 'postgres';
  }
  throw new UserError('E_STORE_URL', 'store.url must be empty (SQLite under the state directory) or postgres://user:password@host:port/database', {
    where: 'store.url',
  });
}

/** The URL with its password replaced by MASK (for messages and logs); a URL that does not parse shows as `postgres://…`. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = MASK;
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|key/i.test(k)) u.searchParams.set(k, MASK);
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** host:port/database of a URL, for "cannot reach" messages. */
export function whereOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'postgres://…';
  }
}

/** `text` with every occurrence of the URL's password masked (a driver message could echo it). */
export function maskPassword(text: string, url: string): string {
  let pw = '';
  try {
    pw = decodeURIComponent(new URL(url).password);
  } catch {
    return text;
  }
  return pw === '' ? text : text.split(pw).join(MASK);
}

/** The first connection failed (refused, unknown host, login refused, timeout): E_STORE_UNREACHABLE. */
export function unreachable(url: string, e: unknown): NetrootError {
  const err = e as { code?: string; message?: string };
  const reason = maskPassword(err?.message || err?.code || String(e), url);
  return new NetrootError('E_STORE_UNREACHABLE', `cannot reach PostgreSQL at ${whereOf(url)}: ${reason}`);
}

interface PgError {
  code?: string;
  constraint?: string;
  table?: string;
  message?: string;
}

/** SQLSTATE class 23 (integrity constraint violation). */
export function isConstraintError(e: unknown): boolean {
  return typeof (e as PgError)?.code === 'string' && (e as PgError).code!.startsWith('23');
}

/**
 * Which rows.ts key a violation is: 'hosts.name', 'hosts.basename' (basename+rack+rank),
 * 'interfaces.mac', 'interfaces.ip', 'appliances.name'; 'CHECK' for a check constraint; null otherwise.
 */
export function violated(e: unknown): string | null {
  const p = e as PgError;
  if (p?.code === '23514') return 'CHECK';
  if (p?.code !== '23505' || !p.constraint) return null;
  const m = /^(appliances|hosts|interfaces)_(name|basename|mac|ip)(?:_rack_rank)?_key$/.exec(p.constraint);
  return m ? `${m[1]}.${m[2]}` : null;
}

/** Throws the UserError for the violation whose key is in `what` (E_DUPLICATE naming the field), E_CONSTRAINT for another; rethrows anything else. */
export function mapPgConstraint(e: unknown, what: Record<string, string>): never {
  if (isConstraintError(e)) {
    const key = violated(e);
    const text = key === null ? undefined : what[key];
    if (text !== undefined) throw new UserError('E_DUPLICATE', text, { where: key!.split('.').pop() });
    throw new UserError('E_CONSTRAINT', `rejected by the database: ${(e as PgError).message ?? ''}`);
  }
  throw e;
}
