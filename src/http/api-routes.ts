// REST API v1, used by the CLI (host, insert-ethers) and by scripts. Reads are open; anything that
// changes state needs `Authorization: Bearer <token>` (compared in constant time). Bodies are JSON,
// at most 64 KiB, validated; errors come back as { code, message }. Every host change goes through
// the host service (src/discovery/host-service.ts; the engine is one), so the plugins always run:
//   POST   /api/v1/hosts                  {name, appliance, mac, ...} = `host add`; without name = insert-ethers naming
//   PATCH  /api/v1/hosts/:name            {bootAction, ip, mac, attributes: {k: v|null}, ...} = `host set`
//   DELETE /api/v1/hosts/:name[?keepVolume=1]   → {name, volume: {name, kept} | null}
//   POST   /api/v1/hosts/:name/interfaces {mac, device, ip?, subnet?};  DELETE …/interfaces/:macOrDevice
import { Router, json, type Request } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import type { Repos } from '../store/index.js';
import type { DiscoveryEngine, InsertOptions } from '../discovery/engine.js';
import type { DiscoveryHub } from '../discovery/hub.js';
import { UserError } from '../errors.js';
import { BOOT_ACTIONS, HOST_STATES } from '../store/index.js';

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
    bootAction: z.enum(BOOT_ACTIONS).optional(),
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
const newInterface = z.object({ mac: z.string().min(1), device: z.string().min(1), ip: z.string().nullable().optional(), subnet: z.string().nullable().optional() }).strict();
const startSession = z.object({ options: insertOptions, count: z.number().int().min(1).nullable().optional() }).strict();

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new UserError('E_BAD_REQUEST', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function apiRoutes(repos: Repos, engine: DiscoveryEngine, hub: DiscoveryHub, token: string): Router {
  const r = Router();
  const want = digest(token);
  const auth = (req: Request) => {
    const h = req.get('authorization') ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    if (!m || !timingSafeEqual(digest(m[1]!), want)) throw new UserError('E_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer …)');
  };
  const body = json({ limit: '64kb' });

  r.get('/api/v1/hosts', async (_req, res) => {
    res.json(await repos.hosts.list());
  });
  r.get('/api/v1/hosts/:name', async (req, res) => {
    const h = await repos.hosts.get(req.params.name);
    if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(req.params.name)}`);
    res.json(h);
  });
  r.post('/api/v1/hosts', body, async (req, res) => {
    auth(req);
    let h;
    if (typeof req.body === 'object' && req.body !== null && 'name' in req.body) {
      h = await engine.addHost(parseBody(namedHost, req.body), 'api');
    } else {
      const { mac, arch, ...o } = parseBody(addHost, req.body);
      h = await engine.add({ mac, arch: arch ?? null }, o as InsertOptions);
    }
    hub.changed();
    res.status(201).json(h);
  });
  r.patch('/api/v1/hosts/:name', body, async (req, res) => {
    auth(req);
    const h = await engine.set(req.params.name, parseBody(hostChanges, req.body), 'api');
    hub.changed();
    res.json(h);
  });
  r.delete('/api/v1/hosts/:name', async (req, res) => {
    auth(req);
    const removed = await engine.remove(req.params.name, { keepVolume: req.query['keepVolume'] === '1' || req.query['keepVolume'] === 'true', by: 'api' });
    hub.changed();
    res.json(removed);
  });
  r.post('/api/v1/hosts/:name/interfaces', body, async (req, res) => {
    auth(req);
    const h = await engine.addInterface(req.params.name, parseBody(newInterface, req.body), 'api');
    hub.changed();
    res.status(201).json(h);
  });
  r.delete('/api/v1/hosts/:name/interfaces/:which', async (req, res) => {
    auth(req);
    const h = await engine.removeInterface(req.params.name, req.params.which, 'api');
    hub.changed();
    res.json(h);
  });
  r.post('/api/v1/hosts/:name/replace', body, async (req, res) => {
    auth(req);
    const { mac } = parseBody(z.object({ mac: z.string() }).strict(), req.body);
    const h = await engine.replace(req.params.name, mac);
    hub.changed();
    res.json(h);
  });
  r.post('/api/v1/update', async (req, res) => {
    auth(req);
    await engine.update();
    res.status(204).end();
  });

  r.get('/api/v1/discoveries', async (req, res) => {
    const since = Number(req.query['since'] ?? 0);
    const list = await repos.events.list({ kind: 'dhcp.discover', sinceId: Number.isFinite(since) ? since : 0, limit: 1000 });
    res.json(list);
  });
  r.post('/api/v1/discoveries/sessions', body, async (req, res) => {
    auth(req);
    const b = parseBody(startSession, req.body);
    res.status(201).json(hub.startSession(b.options as InsertOptions, b.count ?? null));
  });
  r.get('/api/v1/discoveries/sessions/:id', async (req, res) => {
    const after = Number(req.query['after'] ?? -1);
    const wait = Number(req.query['wait'] ?? 0);
    res.json(await hub.getSession(req.params.id, Number.isFinite(after) ? after : -1, Number.isFinite(wait) ? wait : 0));
  });
  r.delete('/api/v1/discoveries/sessions/:id', async (req, res) => {
    auth(req);
    res.json(await hub.endSession(req.params.id));
  });
  return r;
}
