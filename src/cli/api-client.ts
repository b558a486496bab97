// The CLI's client for the running frontend's REST API (http://127.0.0.1:<http.port>/api/v1).
// One connection per call (no pooling): a CLI run is short, and a pooled socket the frontend has
// since closed would turn "frontend restarted" into a confusing socket error.
import { request } from 'node:http';
import type { Config } from '../config/index.js';
import { readApiToken } from '../app/api-token.js';
import { NetrootError, UserError } from '../errors.js';
import { isErrorCode } from '../error-codes.js';

export class FrontendDown extends NetrootError {
  constructor(url: string) {
    super('E_FRONTEND_DOWN', `the frontend is not running at ${url} (start it with: netroot serve)`);
  }
}

export class ApiClient {
  readonly base: string;
  private readonly host: string;
  private readonly port: number;
  private readonly token: string | null;

  constructor(config: Config) {
    this.host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
    this.port = config.http.port;
    this.base = `http://${this.host}:${this.port}`;
    this.token = readApiToken(config);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method,
          agent: false,
          headers: {
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          },
        },
        (res) => {
          let t = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (t += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
          res.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ECONNREFUSED' ? new FrontendDown(this.base) : e));
      req.end(payload);
    });
    if (status === 204) return undefined as T;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new NetrootError('E_API', `${method} ${path}: HTTP ${status}: ${text.slice(0, 200)}`);
    }
    if (status < 200 || status >= 300) {
      const d = data as { code?: string; message?: string };
      // Frontend and CLI are one version: an unknown code is a broken answer, reported as E_API.
      throw new UserError(isErrorCode(d.code) ? d.code : 'E_API', d.message ?? `HTTP ${status}`);
    }
    return data as T;
  }

  /**
   * Every item of a paginated list (`{items, next}`): follows `next` as `?cursor=` until it is null,
   * `pageSize` items a request. `last` is the last page (lists may carry more, e.g. errors).
   */
  async listAll<T, P extends { items: T[]; next: string | null } = { items: T[]; next: string | null }>(
    path: string,
    pageSize = 1000,
  ): Promise<{ items: T[]; last: P }> {
    const items: T[] = [];
    const sep = path.includes('?') ? '&' : '?';
    let cursor: string | null = null;
    for (;;) {
      const page: P = await this.call<P>('GET', `${path}${sep}limit=${pageSize}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      items.push(...page.items);
      if (page.next === null || page.next === cursor) return { items, last: page };
      cursor = page.next;
    }
  }
}
