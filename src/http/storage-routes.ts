// REST API v1 for storage (`netroot storage ...` talks to these):
//   GET    /api/v1/storage/nodes                → NodeReport[]
//   GET    /api/v1/storage/volumes[?limit=&cursor=] → { items: VolumeReport[], next, errors } (by node/volume)
//   GET    /api/v1/storage/volumes/:name        → ShowReport (a host name or a volume name)
//   DELETE /api/v1/storage/volumes/:name[?node=N][&force=1] → { node, volume, host } (token; 409 while a host uses it)
//   POST   /api/v1/storage/reconcile            → NodeReconcile[]   (token)
// No answer ever carries a CHAP secret (the reports leave them out).
import { Router } from 'express';
import { z } from 'zod';
import type { Store } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { nodesReport, showReport, volumesReport, type StorageView } from '../discovery/storage-report.js';
import { reconcileStorage } from '../discovery/plugins/iscsi-allocation.js';
import { deleteVolumeByName } from '../discovery/volume-delete.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { pageRequest, pageOf as pageAll } from './pagination.js';
import { anyObject, nodeError, pageOf, pageQuery, volumeReport } from './api-schemas.js';

export interface StorageRoutesDeps {
  store: Store;
  storage: StorageView;
  auth: ApiAuth;
  table: ApiTable;
  logger: Logger;
  maxPageSize: number;
}

const flag = z.enum(['1', 'true', '0', 'false']).optional();
const isSet = (v: unknown) => v === '1' || v === 'true';

export function storageRoutes(d: StorageRoutesDeps): Router {
  const { store, storage, auth, table: t } = d;
  const r = Router();
  t.add(
    r,
    { method: 'get', path: '/api/v1/storage/nodes', summary: 'Storage nodes, their capacity and state', auth: false, response: z.array(anyObject) },
    async (_req, res) => {
      res.json(await nodesReport(storage));
    },
  );
  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/storage/volumes',
      summary: 'Volumes on every reachable node (errors: the nodes that did not answer)',
      auth: false,
      query: z.object(pageQuery),
      response: pageOf(volumeReport).extend({ errors: z.array(nodeError) }),
    },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      const { volumes, errors } = await volumesReport(store, storage);
      res.json({ ...pageAll(volumes, (v) => `${v.node}/${v.volume}`, page), errors });
    },
  );
  t.add(
    r,
    { method: 'get', path: '/api/v1/storage/volumes/:name', summary: 'One volume (by volume or host name)', auth: false, response: anyObject },
    async (req, res) => {
      res.json(await showReport(store, storage, String(req.params['name'])));
    },
  );
  t.add(
    r,
    {
      method: 'delete',
      path: '/api/v1/storage/volumes/:name',
      summary: 'Delete a volume; 409 while a host uses it unless ?force=1',
      auth: true,
      query: z.object({ node: z.string().optional(), force: flag }),
      response: z.object({ node: z.string(), volume: z.string(), host: z.string().nullable() }),
    },
    async (req, res) => {
      auth.require(req);
      const node = typeof req.query['node'] === 'string' ? req.query['node'] : undefined;
      res.json(await deleteVolumeByName(store, storage.nodes, String(req.params['name']), { node, force: isSet(req.query['force']), logger: d.logger }));
    },
  );
  t.add(
    r,
    {
      method: 'post',
      path: '/api/v1/storage/reconcile',
      summary: 'Make every storage node serve what the database records',
      auth: true,
      response: z.array(anyObject),
    },
    async (req, res) => {
      auth.require(req);
      res.json(await reconcileStorage(store, storage.nodes, d.logger));
    },
  );
  return r;
}
