// Pagination of every /api/v1 list: `?limit=` (default 100, at most `maxPageSize`) and an opaque
// `?cursor=` (the `next` of the previous page). The answer is { items, next }; next is null on the
// last page. A cursor is base64url JSON of the last key served, so a page walk stays correct when
// rows are added or removed between pages (no offsets). Bad values are 400 E_BAD_REQUEST naming
// the parameter; nothing in a cursor is trusted beyond being a string or a number.
import { UserError } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 100;
const MAX_CURSOR_CHARS = 512;

export interface PageRequest {
  limit: number;
  /** The key the previous page ended with, or null for the first page. */
  after: string | number | null;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

const one = (v: unknown, name: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UserError('E_BAD_REQUEST', 'give it once, as a plain value', { where: name });
  return v;
};

/** Reads `limit` and `cursor` from a parsed query string. */
export function pageRequest(query: Record<string, unknown>, maxPageSize: number): PageRequest {
  const l = one(query['limit'], 'limit');
  let limit = Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (l !== undefined) {
    if (!/^\d{1,7}$/.test(l) || Number(l) < 1 || Number(l) > maxPageSize)
      throw new UserError('E_BAD_REQUEST', `must be an integer from 1 to ${maxPageSize}`, { where: 'limit' });
    limit = Number(l);
  }
  const c = one(query['cursor'], 'cursor');
  return { limit, after: c === undefined ? null : decodeCursor(c) };
}

export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

export function decodeCursor(c: string): string | number {
  const bad = () => new UserError('E_BAD_REQUEST', 'not one this server gave out (pass the `next` of the previous page unchanged)', { where: 'cursor' });
  if (c.length === 0 || c.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(c)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const k = (v as { k?: unknown } | null)?.k;
  if (typeof k === 'string' || (typeof k === 'number' && Number.isSafeInteger(k))) return k;
  throw bad();
}

/** One page of `all`, ordered by `key` (strings or numbers, ascending), after `req.after`. */
export function pageOf<T>(all: readonly T[], key: (t: T) => string | number, req: PageRequest): Page<T> {
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...all].sort((a, b) => cmp(key(a), key(b)));
  const rest = req.after === null ? sorted : sorted.filter((t) => cmp(key(t), req.after!) > 0);
  const items = rest.slice(0, req.limit);
  return { items, next: rest.length > req.limit ? encodeCursor(key(items[items.length - 1]!)) : null };
}
