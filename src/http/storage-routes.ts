// REST API v1 for storage (`netroot storage ...` talks to these):
//   GET  /api/v1/storage/nodes          → NodeReport[]
//   GET  /api/v1/storage/volumes        → { volumes: VolumeReport[], errors }
//   GET  /api/v1/storage/volumes/:name  → ShowReport (a host name or a volume name)
//   POST /api/v1/storage/reconcile      → NodeReconcile[]   (needs the API token)
// No answer ever carries a CHAP secret (the reports leave them out).
import { Router, type Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { UserError } from '../errors.js';
import { nodesReport, showReport, volumesReport, type StorageView } from '../discovery/storage-report.js';
import { reconcileStorage } from '../discovery/plugins/iscsi-allocation.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function storageRoutes(store: Store, storage: StorageView, token: string, logger: Logger): Router {
  const r = Router();
  const want = digest(token);
  const auth = (req: Request) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    if (!m || !timingSafeEqual(digest(m[1]!), want)) throw new UserError('E_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer …)');
  };
  r.get('/api/v1/storage/nodes', async (_req, res) => {
    res.json(await nodesReport(storage));
  });
  r.get('/api/v1/storage/volumes', async (_req, res) => {
    res.json(await volumesReport(store, storage));
  });
  r.get('/api/v1/storage/volumes/:name', async (req, res) => {
    res.json(await showReport(store, storage, req.params.name));
  });
  r.post('/api/v1/storage/reconcile', async (req, res) => {
    auth(req);
    res.json(await reconcileStorage(store, storage.nodes, logger));
  });
  return r;
}
