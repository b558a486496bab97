// The REST API from the page: same origin, the session cookie (HttpOnly: the page never sees it)
// plus the session's CSRF token in X-CSRF-Token on every call (the server accepts the cookie only
// with it). The token comes from the login answer, or GET /api/v1/session after a reload.

let csrf: string | null = null;
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string | null): void {
  csrf = token;
}

export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<T> {
  const headers: Record<string, string> = { accept: as === 'json' ? 'application/json' : 'text/plain' };
  if (csrf) headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (!res.ok) {
    let code = 'E_HTTP';
    let message = `${res.status} ${res.statusText}`;
    try {
      const e = (await res.json()) as { code?: string; message?: string };
      code = e.code ?? code;
      message = e.message ?? message;
    } catch {
      // not JSON: keep the status line
    }
    if (res.status === 401 && path !== '/api/v1/session') onUnauthorized();
    throw new ApiError(res.status, code, message);
  }
  if (res.status === 204) return undefined as T;
  return (as === 'json' ? await res.json() : await res.text()) as T;
}

export const enc = encodeURIComponent;

export interface HostRow {
  name: string;
  appliance: string;
  ip: string | null;
  mac: string | null;
  volume: string | null;
  bootAction: string;
  state: string;
  stateDetail: string | null;
  status: { state: string; at: string } | null;
  power: { state: string | null; action: string | null; ok: boolean; at: string } | null;
  lastEvent: { id: number; at: string; kind: string } | null;
}

export interface NetrootEvent {
  id: number;
  at: string;
  kind: string;
  host: string | null;
  mac: string | null;
  detail: Record<string, unknown>;
}

/** What the table's State column says (issue #18: discovered → installing (progress) → installed → booted diskless / failed). */
export function stateText(r: Pick<HostRow, 'state' | 'bootAction' | 'stateDetail' | 'status'>): string {
  switch (r.state) {
    case 'installing':
      return r.status ? `installing (reported ${new Date(r.status.at).toLocaleTimeString()})` : 'installing';
    case 'booted':
      return r.bootAction === 'os' ? 'booted diskless' : r.bootAction === 'sanboot' ? 'booted (SAN)' : 'booted';
    case 'failed':
      return r.stateDetail ? `failed: ${r.stateDetail}` : 'failed';
    default:
      return r.state;
  }
}

export function powerText(p: HostRow['power']): string {
  if (!p) return '—';
  if (p.state) return p.ok ? p.state : `${p.state} (last ${p.action ?? 'action'} failed)`;
  return p.ok ? `${p.action ?? '?'} sent` : `${p.action ?? 'action'} failed`;
}

/** One line for an event in a timeline. */
export function eventText(e: NetrootEvent): string {
  const d = Object.entries(e.detail)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${e.kind}${e.mac ? ' ' + e.mac : ''}${d ? ' ' + d : ''}`;
}
