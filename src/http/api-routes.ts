// REST API v1, used by the CLI (insert-ethers) and by scripts. Reads are open; anything that
// changes state needs `Authorization: Bearer <token>` (compared in constant time). Bodies are JSON,
// at most 64 KiB, validated; errors come back as { code, message }.
import { Router, json, type Request } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import type { Repos } from '../store/index.js';
import type { DiscoveryEngine, InsertOptions } from '../discovery/engine.js';
import type { DiscoveryHub } from '../discovery/hub.js';
import { UserError } from '../errors.js';

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
    const { mac, arch, ...o } = parseBody(addHost, req.body);
    const h = await engine.add({ mac, arch: arch ?? null }, o as InsertOptions);
    hub.changed();
    res.status(201).json(h);
  });
  r.delete('/api/v1/hosts/:name', async (req, res) => {
    auth(req);
    await engine.remove(req.params.name, { keepVolume: req.query['keepVolume'] === '1' || req.query['keepVolume'] === 'true' });
    hub.changed();
    res.status(204).end();
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
