// Accounts and cluster files for the nodes (`netroot sync users`, src/sync):
//   GET /sync/v1/payload    the signed envelope, to a node that presents its own secret from its own
//                           address (src/sync/node-auth.ts). No credential: 401; any other refusal:
//                           403. Both with an empty body: the client learns nothing about why.
//                           `If-None-Match: "<serial>"` of the current serial: 304 (a poll costs a
//                           header). Nothing published yet: 404 E_SYNC_NONE.
//   GET /sync/v1/client.sh  the node-side client (no secret in it), which the sync-client role installs.
// Every payload request, right or wrong, counts against http.syncRequestsPerMinute per client
// address (429 E_TOO_MANY_SYNC_REQUESTS + Retry-After), checked before anything else, so the limit
// also stops secret guessing. A request with a body is 413 unread. The envelope carries the munge
// key: it is answered `Cache-Control: no-store` and never logged (the log line has host, from, serial).
import { Router, type Request, type Response } from 'express';
import type { Repos } from '../store/index.js';
import { authorizeNode, clientScript, type CurrentPayload, type SyncKeys } from '../sync/index.js';
import { LoginLimiter } from './sessions.js';
import { remoteIPv4 } from './remote.js';
import { silentLogger, type Logger } from '../log/logger.js';

export interface SyncRouteDeps {
  repos: Pick<Repos, 'hosts'>;
  keys: SyncKeys;
  current: CurrentPayload;
  requestsPerMinute: number;
  logger?: Logger;
  /** The limiter's clock (tests); Date.now by default. */
  now?: () => number;
}

function hasBody(req: Request): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

export function syncRoutes(d: SyncRouteDeps): Router {
  const r = Router();
  const logger = d.logger ?? silentLogger;
  const limiter = new LoginLimiter(d.requestsPerMinute, 10_000, d.now);

  r.get('/sync/v1/client.sh', (_req, res) => {
    res.type('text/x-shellscript').send(clientScript());
  });

  r.get('/sync/v1/payload', async (req: Request, res: Response) => {
    const from = remoteIPv4(req);
    const wait = limiter.attempt(from);
    if (wait > 0) {
      res.status(429).set('Retry-After', String(wait)).json({ code: 'E_TOO_MANY_SYNC_REQUESTS', message: 'too many sync requests from this address' });
      return;
    }
    if (hasBody(req)) {
      res.set('Connection', 'close').status(413).json({ code: 'E_BODY_TOO_LARGE', message: 'a sync request has no body' });
      return;
    }
    const auth = await authorizeNode(d.repos, d.keys, from, req.headers.authorization);
    if (!auth.ok) {
      logger.warn('sync refused', { from, status: auth.status, reason: auth.reason });
      if (auth.status === 401) res.set('WWW-Authenticate', 'Bearer realm="netroot-sync"');
      res.status(auth.status).end();
      return;
    }
    const cur = d.current.get();
    res.set('Cache-Control', 'no-store');
    if (!cur) {
      res.status(404).json({ code: 'E_SYNC_NONE', message: 'no sync payload published yet (netroot sync users)' });
      return;
    }
    const etag = `"${cur.serial}"`;
    res.set('ETag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    logger.info('sync payload served', { host: auth.host, from, serial: cur.serial, bytes: cur.envelope.length });
    res.type('text/plain').send(cur.envelope);
  });

  return r;
}
