// REST API v1 hosts and discoveries, used by the CLI (host, insert-ethers) and by scripts. Reads are open; anything that
// changes state needs `Authorization: Bearer <token>` (compared in constant time). Bodies are JSON,
// at most 64 KiB, validated; errors come back as { code, message }. Every host change goes through
// the host service (src/discovery/host-service.ts; the engine is one), so the plugins always run:
//   POST   /api/v1/hosts                  {name, appliance, mac, ...} = `host add`; without name = insert-ethers naming
//   PATCH  /api/v1/hosts/:name            {bootAction, ip, mac, attributes: {k: v|null}, ...} = `host set`
//   GET    /api/v1/hosts[?appliance=A&limit=&cursor=] → {items, next}
//   DELETE /api/v1/hosts/:name[?keepVolume=1]   → {name, volume: {name, kept} | null}
//   POST   /api/v1/hosts/:name/interfaces {mac, device, ip?, subnet?};  DELETE …/interfaces/:macOrDevice
import { Router, json } from 'express';
import { z } from 'zod';
import type { Repos } from '../store/index.js';
import type { DiscoveryEngine, InsertOptions } from '../discovery/engine.js';
import type { DiscoveryHub } from '../discovery/hub.js';
import { UserError } from '../errors.js';
import { BOOT_ACTIONS, HOST_STATES } from '../store/index.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { pageRequest, pageOf as pageAll } from './pagination.js';
import { anyObject, event, host, pageOf, pageQuery, removedHost } from './api-schemas.js';

const insertOptions = z
  .object({
    appliance: z.string().min(1),
    basename: z.string().optional(),
    rack: z.number().int().min(0).optional(),
    rank: z.number().int().min(0).optional(),
    hostname: z.string().optional(),
    ipaddr: z.string().optional(),
    baseip: z.string().optional(),
    inc: z.number().int().optional(),
  })
  .strict();

const addHost = insertOptions.extend({ mac: z.string().min(1), arch: z.number().int().nullable().optional() }).strict();
const namedHost = z
  .object({
    name: z.string().min(1),
    appliance: z.string().min(1),
    mac: z.string().min(1),
    ip: z.string().nullable().optional(),
    rack: z.number().int().min(0).optional(),
    rank: z.number().int().min(0).optional(),
    os: z.string().min(1).optional(),
    arch: z.string().min(1).optional(),
    device: z.string().min(1).optional(),
    subnet: z.string().min(1).optional(),
    bootAction: z.enum(BOOT_ACTIONS).optional(),
  })
  .strict();
const hostChanges = z
  .object({
    bootAction: z.enum([...BOOT_ACTIONS, 'reset']).optional(),
    state: z.enum(HOST_STATES).optional(),
    appliance: z.string().min(1).optional(),
    rack: z.number().int().min(0).optional(),
    rank: z.number().int().min(0).optional(),
    os: z.string().min(1).optional(),
    arch: z.string().min(1).optional(),
    ip: z.string().nullable().optional(),
    mac: z.string().min(1).optional(),
    attributes: z.record(z.string(), z.string().nullable()).optional(),
  })
  .strict();
const newInterface = z
  .object({ mac: z.string().min(1), device: z.string().min(1), ip: z.string().nullable().optional(), subnet: z.string().nullable().optional() })
  .strict();
const replaceBody = z.object({ mac: z.string().min(1) }).strict();
const startSession = z.object({ options: insertOptions, count: z.number().int().min(1).nullable().optional() }).strict();

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new UserError('E_BAD_REQUEST', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

export interface HostRoutesDeps {
  repos: Repos;
  engine: DiscoveryEngine;
  hub: DiscoveryHub;
  auth: ApiAuth;
  table: ApiTable;
  maxPageSize: number;
}

const discoveriesQuery = z.object({ since: z.string().optional() });
const sessionQuery = z.object({ after: z.string().optional(), wait: z.string().optional() });
const keepVolumeQuery = z.object({ keepVolume: z.enum(['1', 'true', '0', 'false']).optional() });

export function apiRoutes(d: HostRoutesDeps): Router {
  const { repos, engine, hub, auth, table: t } = d;
  const r = Router();
  const body = json({ limit: '64kb' });

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/hosts',
      summary: 'List hosts (by name)',
      auth: false,
      query: z.object({ ...pageQuery, appliance: z.string().optional() }),
      response: pageOf(host),
    },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      const appliance = typeof req.query['appliance'] === 'string' ? req.query['appliance'] : undefined;
      res.json(pageAll(await repos.hosts.list(appliance ? { appliance } : {}), (h) => h.name, page));
    },
  );
  t.add(r, { method: 'get', path: '/api/v1/hosts/:name', summary: 'One host', auth: false, response: host }, async (req, res) => {
    const h = await repos.hosts.get(String(req.params['name']));
    if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(req.params['name'])}`);
    res.json(h);
  });
  t.add(
    r,
    {
      method: 'post',
      path: '/api/v1/hosts',
      summary: 'Add a host: with a name = `host add`; without = insert-ethers naming',
      auth: true,
      body: z.union([namedHost, addHost]),
      status: 201,
      response: host,
    },
    async (req, res) => {
      auth.require(req);
      let h;
      if (typeof req.body === 'object' && req.body !== null && 'name' in req.body) {
        h = await engine.addHost(parseBody(namedHost, req.body), 'api');
      } else {
        const { mac, arch, ...o } = parseBody(addHost, req.body);
        h = await engine.add({ mac, arch: arch ?? null }, o as InsertOptions);
      }
      hub.changed();
      res.status(201).json(h);
    },
    body,
  );
  t.add(
    r,
    {
      method: 'patch',
      path: '/api/v1/hosts/:name',
      summary: '`host set`: boot action, ip, mac, attributes (null unsets)…',
      auth: true,
      body: hostChanges,
      response: host,
    },
    async (req, res) => {
      auth.require(req);
      const h = await engine.set(String(req.params['name']), parseBody(hostChanges, req.body), 'api');
      hub.changed();
      res.json(h);
    },
    body,
  );
  t.add(
    r,
    {
      method: 'delete',
      path: '/api/v1/hosts/:name',
      summary: '`host remove`; ?keepVolume=1 keeps its iSCSI volume',
      auth: true,
      query: keepVolumeQuery,
      response: removedHost,
    },
    async (req, res) => {
      auth.require(req);
      const removed = await engine.remove(String(req.params['name']), {
        keepVolume: req.query['keepVolume'] === '1' || req.query['keepVolume'] === 'true',
        by: 'api',
      });
      hub.changed();
      res.json(removed);
    },
  );
  t.add(
    r,
    { method: 'post', path: '/api/v1/hosts/:name/interfaces', summary: 'Add an interface', auth: true, body: newInterface, status: 201, response: host },
    async (req, res) => {
      auth.require(req);
      const h = await engine.addInterface(String(req.params['name']), parseBody(newInterface, req.body), 'api');
      hub.changed();
      res.status(201).json(h);
    },
    body,
  );
  t.add(
    r,
    { method: 'delete', path: '/api/v1/hosts/:name/interfaces/:which', summary: 'Remove an interface (by MAC or device)', auth: true, response: host },
    async (req, res) => {
      auth.require(req);
      const h = await engine.removeInterface(String(req.params['name']), String(req.params['which']), 'api');
      hub.changed();
      res.json(h);
    },
  );
  t.add(
    r,
    {
      method: 'post',
      path: '/api/v1/hosts/:name/replace',
      summary: 'insert-ethers --replace: the host gets a new MAC',
      auth: true,
      body: replaceBody,
      response: host,
    },
    async (req, res) => {
      auth.require(req);
      const { mac } = parseBody(replaceBody, req.body);
      const h = await engine.replace(String(req.params['name']), mac);
      hub.changed();
      res.json(h);
    },
    body,
  );
  t.add(
    r,
    { method: 'post', path: '/api/v1/update', summary: "insert-ethers --update: run every plugin's update", auth: true, status: 204, response: 'empty' },
    async (req, res) => {
      auth.require(req);
      await engine.update();
      res.status(204).end();
    },
  );

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/discoveries',
      summary: 'DHCP discover events after ?since=ID (at most 1000)',
      auth: false,
      query: discoveriesQuery,
      response: z.array(event),
    },
    async (req, res) => {
      const since = Number(req.query['since'] ?? 0);
      const list = await repos.events.list({ kind: 'dhcp.discover', sinceId: Number.isFinite(since) ? since : 0, limit: 1000 });
      res.json(list);
    },
  );
  t.add(
    r,
    {
      method: 'post',
      path: '/api/v1/discoveries/sessions',
      summary: 'Start an insert-ethers session',
      auth: true,
      body: startSession,
      status: 201,
      response: anyObject,
    },
    async (req, res) => {
      auth.require(req);
      const b = parseBody(startSession, req.body);
      res.status(201).json(hub.startSession(b.options as InsertOptions, b.count ?? null));
    },
    body,
  );
  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/discoveries/sessions/:id',
      summary: 'A session (long poll: ?after=VERSION&wait=MS)',
      auth: false,
      query: sessionQuery,
      response: anyObject,
    },
    async (req, res) => {
      const after = Number(req.query['after'] ?? -1);
      const wait = Number(req.query['wait'] ?? 0);
      res.json(await hub.getSession(String(req.params['id']), Number.isFinite(after) ? after : -1, Number.isFinite(wait) ? wait : 0));
    },
  );
  t.add(r, { method: 'delete', path: '/api/v1/discoveries/sessions/:id', summary: 'End a session', auth: true, response: anyObject }, async (req, res) => {
    auth.require(req);
    res.json(await hub.endSession(String(req.params['id'])));
  });
  return r;
}
