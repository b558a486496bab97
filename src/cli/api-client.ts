// The CLI's client for the running frontend's REST API (http://127.0.0.1:<http.port>/api/v1).
import type { Config } from '../config/index.js';
import { readApiToken } from '../app/api-token.js';
import { NetrootError, UserError } from '../errors.js';

export class FrontendDown extends NetrootError {
  constructor(url: string) {
    super('E_FRONTEND_DOWN', `the frontend is not running at ${url} (start it with: netroot serve)`, { user: true });
  }
}

export class ApiClient {
  readonly base: string;
  private readonly token: string | null;

  constructor(config: Config) {
    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
    this.base = `http://${host}:${config.http.port}`;
    this.token = readApiToken(config);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code;
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET') throw new FrontendDown(this.base);
      throw e;
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new NetrootError('E_API', `${method} ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const d = data as { code?: string; message?: string };
      throw new UserError(d.code ?? 'E_API', d.message ?? `HTTP ${res.status}`);
    }
    return data as T;
  }
}
