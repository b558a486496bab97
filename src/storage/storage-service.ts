// The storage node service (`netroot storage serve`): a StorageBackend behind HTTP/JSON so the
// frontend can place volumes on several storage nodes (remote.ts is the client).
//
//   GET    /v1/info                     → { kind }
//   GET    /v1/capacity                 → { totalBytes, freeBytes }
//   GET    /v1/volumes                  → VolumeInfo[]
//   PUT    /v1/volumes/:name            { sizeBytes } → VolumeInfo       (create, idempotent)
//   POST   /v1/volumes/:name/resize     { sizeBytes } → VolumeInfo
//   DELETE /v1/volumes/:name            → 204
//   GET    /v1/exports                  → ExportInfo[]
//   PUT    /v1/exports                  ExportSpec → ExportInfo           (idempotent)
//   DELETE /v1/exports/:targetIqn       → 204
//   POST   /v1/reconcile                { desired: ExportSpec[] } → { added, removed, updated }
//
// Every request needs `Authorization: Bearer <token>` (this node's token, compared in constant
// time over SHA-256 digests). Bodies are JSON, at most maxBodyBytes, validated with zod before
// the backend sees them. Errors are { code, message }: a NetrootError's own code and message
// (which never carry secrets; any CHAP secret from the request is scrubbed anyway), anything
// else is E_STORAGE_INTERNAL "internal error" and goes to the log only.
import { bearerMatcher } from '../validate/bearer.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { NetrootError, UserError, httpStatusOf } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import type { StorageBackend } from './backend.js';
import { exportSpecSchema, type ExportSpec } from './spec.js';

export interface StorageServiceOptions {
  backend: StorageBackend;
  /** This storage node's bearer token (at least 32 characters). */
  token: string;
  logger?: Logger;
  /** Request body limit; default 4 MiB (a reconcile of ~10,000 exports). */
  maxBodyBytes?: number;
}

const sizeBody = z.object({ sizeBytes: z.number() }).strict();
const reconcileBody = z.object({ desired: z.array(exportSpecSchema).max(100_000) }).strict();

export function createStorageServiceHandler(opts: StorageServiceOptions): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof opts.token !== 'string' || opts.token.length < 32)
    throw new UserError('E_STORAGE_TOKEN', 'the storage service token must be at least 32 characters');
  const tokenMatches = bearerMatcher(opts.token);
  const authorized = (req: IncomingMessage): boolean => tokenMatches(req.headers.authorization);
  const limit = opts.maxBodyBytes ?? 4 << 20;
  const log = opts.logger ?? silentLogger;
  const be = opts.backend;

  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') return reject(new UserError('E_STORAGE_MEDIA_TYPE', 'the body must be application/json'));
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > limit) return reject(new UserError('E_STORAGE_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit && !failed) {
          failed = true;
          reject(new UserError('E_STORAGE_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`));
          req.resume();
        } else if (!failed) chunks.push(c);
      });
      req.on('end', () => {
        if (failed) return;
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new UserError('E_STORAGE_BAD_JSON', 'the body is not valid JSON'));
        }
      });
      req.on('error', reject);
    });

  const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const r = schema.safeParse(body);
    if (!r.success)
      throw new UserError('E_STORAGE_BAD_SPEC', `request body is malformed (${r.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')})`);
    return r.data;
  };

  const route = async (req: IncomingMessage, secrets: string[]): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://storage.invalid');
    const parts = url.pathname
      .split('/')
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new UserError('E_STORAGE_NO_ROUTE', 'malformed path');
        }
      });
    const method = req.method ?? 'GET';
    const is = (m: string, n: number) => method === m && parts.length === n;
    if (parts[0] !== 'v1') throw new UserError('E_STORAGE_NO_ROUTE', 'no such endpoint');
    const body = async <T>(schema: z.ZodType<T>): Promise<T> => parse(schema, await readBody(req));
    switch (parts[1]) {
      case 'info':
        if (is('GET', 2)) return [200, { kind: be.kind }];
        break;
      case 'capacity':
        if (is('GET', 2)) return [200, await be.capacity()];
        break;
      case 'volumes':
        if (is('GET', 2)) return [200, await be.listVolumes()];
        if (is('PUT', 3)) return [200, await be.createVolume({ name: parts[2]!, sizeBytes: (await body(sizeBody)).sizeBytes })];
        if (is('POST', 4) && parts[3] === 'resize') return [200, await be.resizeVolume(parts[2]!, (await body(sizeBody)).sizeBytes)];
        if (is('DELETE', 3)) return [204, await be.deleteVolume(parts[2]!)];
        break;
      case 'exports':
        if (is('GET', 2)) return [200, await be.listExports()];
        if (is('PUT', 2)) {
          const spec = (await body(exportSpecSchema)) as ExportSpec;
          secrets.push(spec.chap.secret, spec.chap.mutualSecret ?? '');
          return [200, await be.exportVolume(spec)];
        }
        if (is('DELETE', 3)) return [204, await be.unexport(parts[2]!)];
        break;
      case 'reconcile':
        if (is('POST', 2)) {
          const { desired } = await body(reconcileBody);
          for (const d of desired) secrets.push(d.chap.secret, d.chap.mutualSecret ?? '');
          return [200, await be.reconcile(desired as ExportSpec[])];
        }
        break;
      default:
        throw new UserError('E_STORAGE_NO_ROUTE', 'no such endpoint');
    }
    throw new UserError('E_STORAGE_METHOD', `${method} is not allowed here`);
  };

  const send = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}) => {
    if (status === 204) {
      res.writeHead(204, extra).end();
      return;
    }
    const text = JSON.stringify(value);
    res
      .writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
        ...extra,
      })
      .end(text);
  };

  return (req, res) => {
    if (!authorized(req)) {
      req.resume();
      send(res, 401, { code: 'E_STORAGE_AUTH', message: 'a valid storage token is required (Authorization: Bearer …)' }, { 'www-authenticate': 'Bearer' });
      return;
    }
    const secrets: string[] = [];
    route(req, secrets).then(
      ([status, value]) => send(res, status, value),
      (e: unknown) => {
        if (e instanceof NetrootError) {
          let message = e.message;
          for (const s of secrets) if (s) message = message.split(s).join('[redacted]');
          const status = httpStatusOf(e);
          if (status >= 500) log.warn('storage request failed', { method: req.method, path: req.url, code: e.code, message });
          send(res, status, { code: e.code, message });
        } else {
          log.error('storage request crashed', { method: req.method, path: req.url, error: e });
          send(res, 500, { code: 'E_STORAGE_INTERNAL', message: 'internal error' });
        }
        if (!req.complete) req.resume();
      },
    );
  };
}
