// A StorageBackend that is a storage node elsewhere, over storage-service.ts's HTTP/JSON API.
// A node that cannot be reached (refused, reset, unreachable, timed out) is E_STORAGE_DOWN, so
// the allocation policy skips it; a rejected token is E_STORAGE_AUTH; any other error comes back
// with the node's own { code, message }.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { NetrootError, UserError } from '../errors.js';
import { isErrorCode } from '../error-codes.js';
import type { StorageBackend } from './backend.js';
import type { BackendKind, ExportInfo, ExportSpec, ReconcileResult, VolumeInfo, VolumeSpec } from './spec.js';
import { validateDesired, validateExportSpec, validateSize, validateVolumeName } from './spec.js';
import { assertIqn } from './iqn.js';

export interface RemoteBackendOptions {
  /** http(s)://<storage node>:<port> */
  url: string;
  token: string;
  /** The backend kind the node runs (from configuration; /v1/info tells the truth). */
  kind: BackendKind;
  /** Per-request deadline; default 30 s (reconcile on a big node can take a while). */
  timeoutMs?: number;
  /** Largest response accepted; default 64 MiB. */
  maxResponseBytes?: number;
}

const DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'E_TIMEOUT']);

export class RemoteBackend implements StorageBackend {
  readonly kind: BackendKind;
  private readonly base: URL;
  private readonly opts: RemoteBackendOptions;

  constructor(opts: RemoteBackendOptions) {
    this.opts = opts;
    this.kind = opts.kind;
    this.base = new URL(opts.url);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new UserError('E_STORAGE_BAD_URL', `storage node URL ${opts.url} is not http(s)`);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const where = `${this.base.host}`;
    return new Promise<T>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          timeout: this.opts.timeoutMs ?? 30_000,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const max = this.opts.maxResponseBytes ?? 64 << 20;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > max) {
              req.destroy();
              reject(new NetrootError('E_STORAGE_BAD_RESPONSE', `storage node ${where}: response larger than ${max} bytes`));
            } else chunks.push(c);
          });
          res.on('error', (e) => reject(down(where, e)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status === 204) return resolve(undefined as T);
            let value: unknown;
            try {
              value = text ? JSON.parse(text) : undefined;
            } catch {
              return reject(
                new NetrootError('E_STORAGE_BAD_RESPONSE', `storage node ${where}: ${method} ${url.pathname} answered ${status} with a body that is not JSON`),
              );
            }
            if (status >= 200 && status < 300) return resolve(value as T);
            const err = value as { code?: unknown; message?: unknown } | undefined;
            const code = isErrorCode(err?.code) ? err.code : 'E_STORAGE_REMOTE';
            const message = `storage node ${where}: ${typeof err?.message === 'string' ? err.message.slice(0, 500) : `HTTP ${status}`}`;
            if (status === 401) return reject(new NetrootError('E_STORAGE_AUTH', `storage node ${where} rejected our token`));
            reject(status < 500 || code === 'E_STORAGE_FULL' ? new UserError(code, message) : new NetrootError(code, message, { user: false }));
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'E_TIMEOUT' })));
      req.on('error', (e) => reject(down(where, e)));
      req.end(payload);
    });
  }

  capacity(): Promise<{ totalBytes: number; freeBytes: number }> {
    return this.call('GET', '/v1/capacity');
  }
  /** The node's real backend kind. */
  async remoteKind(): Promise<BackendKind> {
    return (await this.call<{ kind: BackendKind }>('GET', '/v1/info')).kind;
  }
  async createVolume(v: VolumeSpec): Promise<VolumeInfo> {
    validateVolumeName(v.name);
    validateSize(v.sizeBytes);
    return this.call('PUT', `/v1/volumes/${encodeURIComponent(v.name)}`, { sizeBytes: v.sizeBytes });
  }
  async resizeVolume(name: string, sizeBytes: number): Promise<VolumeInfo> {
    validateVolumeName(name);
    validateSize(sizeBytes);
    return this.call('POST', `/v1/volumes/${encodeURIComponent(name)}/resize`, { sizeBytes });
  }
  async deleteVolume(name: string): Promise<void> {
    validateVolumeName(name);
    await this.call('DELETE', `/v1/volumes/${encodeURIComponent(name)}`);
  }
  async exportVolume(e: ExportSpec): Promise<ExportInfo> {
    return this.call('PUT', '/v1/exports', validateExportSpec(e));
  }
  async unexport(targetIqn: string): Promise<void> {
    assertIqn(targetIqn, 'target IQN');
    await this.call('DELETE', `/v1/exports/${encodeURIComponent(targetIqn)}`);
  }
  listVolumes(): Promise<VolumeInfo[]> {
    return this.call('GET', '/v1/volumes');
  }
  listExports(): Promise<ExportInfo[]> {
    return this.call('GET', '/v1/exports');
  }
  async reconcile(desired: ExportSpec[]): Promise<ReconcileResult> {
    return this.call('POST', '/v1/reconcile', { desired: validateDesired(desired) });
  }
}

function down(where: string, e: unknown): NetrootError {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  if (DOWN_CODES.has(code)) return new NetrootError('E_STORAGE_DOWN', `storage node ${where} is down (${code === 'E_TIMEOUT' ? 'timed out' : code})`);
  return new NetrootError('E_STORAGE_DOWN', `storage node ${where} is unreachable (${(e as Error)?.message ?? String(e)})`);
}
