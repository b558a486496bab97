// REST API v1 appliances, the same operations as `netroot appliance`, on the store's repo:
//   GET    /api/v1/appliances[?limit=&cursor=]   → {items, next} (by name)
//   GET    /api/v1/appliances/:name
//   POST   /api/v1/appliances  {name, rootNode, basename?, graph?, discoverable?} = `appliance add`
//          (the root node must have a node file in the graph: E_NODE_MISSING / E_GRAPH_MISSING)
//   PATCH  /api/v1/appliances/:name  {basename?, graph?, rootNode?, discoverable?} (checked the same way)
//   DELETE /api/v1/appliances/:name  (409 E_APPLIANCE_IN_USE while a host has it)
// Changes need the token.
import { Router, json } from 'express';
import { z } from 'zod';
import type { Repos } from '../store/index.js';
import { validHostname } from '../validate/hostname.js';
import { UserError } from '../errors.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { parseBody } from './api-routes.js';
import { pageRequest, pageOf as pageAll } from './pagination.js';
import { appliance, pageOf, pageQuery } from './api-schemas.js';

export interface ApplianceRoutesDeps {
  repos: Repos;
  auth: ApiAuth;
  table: ApiTable;
  maxPageSize: number;
  /** The graph an appliance gets when none is given (config profile.graph). */
  defaultGraph: string;
  /** Throws unless `rootNode` has a node file in `graph` (boot/appliance-check.ts). */
  checkGraph(graph: string, rootNode: string): void;
}

const text = z.string().min(1).max(255);
const newAppliance = z.object({ name: text, rootNode: text, basename: text.optional(), graph: text.optional(), discoverable: z.boolean().optional() }).strict();
const appliancePatch = z
  .object({ basename: text.optional(), graph: text.optional(), rootNode: text.optional(), discoverable: z.boolean().optional() })
  .strict();

export function applianceRoutes(d: ApplianceRoutesDeps): Router {
  const { repos, auth, table: t } = d;
  const r = Router();
  const body = json({ limit: '64kb' });
  const mustGet = async (name: string) => {
    const a = await repos.appliances.get(name);
    if (!a) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(name)}`);
    return a;
  };

  t.add(
    r,
    { method: 'get', path: '/api/v1/appliances', summary: 'List appliances (by name)', auth: false, query: z.object(pageQuery), response: pageOf(appliance) },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      res.json(pageAll(await repos.appliances.list(), (a) => a.name, page));
    },
  );
  t.add(r, { method: 'get', path: '/api/v1/appliances/:name', summary: 'One appliance', auth: false, response: appliance }, async (req, res) => {
    res.json(await mustGet(String(req.params['name'])));
  });
  t.add(
    r,
    { method: 'post', path: '/api/v1/appliances', summary: '`appliance add`', auth: true, body: newAppliance, status: 201, response: appliance },
    async (req, res) => {
      auth.require(req);
      const b = parseBody(newAppliance, req.body);
      const name = validHostname(b.name);
      const graph = b.graph ?? d.defaultGraph;
      d.checkGraph(graph, b.rootNode);
      res.status(201).json(
        await repos.appliances.add({
          name,
          basename: validHostname(b.basename ?? name, 'basename'),
          graph,
          rootNode: b.rootNode,
          discoverable: b.discoverable ?? true,
        }),
      );
    },
    body,
  );
  t.add(
    r,
    {
      method: 'patch',
      path: '/api/v1/appliances/:name',
      summary: 'Change basename, graph, root node or discoverable',
      auth: true,
      body: appliancePatch,
      response: appliance,
    },
    async (req, res) => {
      auth.require(req);
      const p = parseBody(appliancePatch, req.body);
      const cur = await mustGet(String(req.params['name']));
      if (p.basename !== undefined) validHostname(p.basename, 'basename');
      if (p.graph !== undefined || p.rootNode !== undefined) d.checkGraph(p.graph ?? cur.graph, p.rootNode ?? cur.rootNode);
      res.json(await repos.appliances.update(cur.name, p));
    },
    body,
  );
  t.add(
    r,
    {
      method: 'delete',
      path: '/api/v1/appliances/:name',
      summary: '`appliance remove` (refused while hosts use it)',
      auth: true,
      status: 204,
      response: 'empty',
    },
    async (req, res) => {
      auth.require(req);
      await repos.appliances.remove(String(req.params['name']));
      res.status(204).end();
    },
  );
  return r;
}
