// REST routes the dashboard (web/, served by static-routes.ts) needs beyond the resource routes:
//   POST   /api/v1/session {token}   log in: 201 {csrf, expiresAt} + Set-Cookie netroot_session (sessions.ts);
//                                    a wrong token is 401; beyond http.loginAttemptsPerMinute per address 429 + Retry-After
//   GET    /api/v1/session           the cookie's session: {csrf, expiresAt} (a reloaded page gets its CSRF token back;
//                                    another origin cannot read the answer: no CORS), else 401
//   DELETE /api/v1/session           log out (cookie + CSRF token): the session ends, the cookie is cleared
//   GET    /api/v1/dashboard/hosts   the host table: one row per host with IP, MAC, volume, power state, last event;
//                                    ?q= (name contains), ?state=, ?appliance=, ?names=a,b (exact), ?limit=&cursor= (by name)
//   GET    /api/v1/hosts/:name/boot  what the host boots next (boot/spec.ts): kernel, initrds, kernel arguments (secret
//                                    values masked); never a CHAP secret
//   GET    /api/v1/graph             the profile graph as SVG (`graph draw`), appliances' root nodes highlighted; ?appliance=A
import { Router, json, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Host, Repos } from '../store/index.js';
import { HOST_STATES } from '../store/index.js';
import type { BootSpec } from '../boot/spec.js';
import type { KickstartService } from '../boot/kickstart.js';
import { UserError } from '../errors.js';
import { maskSecretValues } from '../log/secret-values.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { pageRequest, encodeCursor } from './pagination.js';
import { pageQuery } from './api-schemas.js';
import { HostActivity } from './host-activity.js';
import { type LoginLimiter, SESSION_COOKIE, type SessionTable, cookieValue } from './sessions.js';
import { remoteIPv4 } from './remote.js';
import { bearerMatcher } from '../validate/bearer.js';

export interface DashboardRoutesDeps {
  repos: Repos;
  auth: ApiAuth;
  sessions: SessionTable;
  logins: LoginLimiter;
  token: string;
  table: ApiTable;
  maxPageSize: number;
  retryAfterSeconds: number;
  kickstarts: KickstartService;
  /** What a host boots next (the Booter); without it /boot is 404. */
  bootSpec?: (h: Host) => Promise<BootSpec>;
  /** `graph draw` as SVG with these appliances' root nodes highlighted (only `appliance`'s reach when given). */
  drawGraph?: (appliance: string | undefined) => Promise<string>;
}

const MAX_FILTER_CHARS = 255;
const MAX_NAMES = 1000;

const loginBody = z.object({ token: z.string().max(512) }).strict();
const sessionAnswer = z.object({ csrf: z.string(), expiresAt: z.string() });
const hostRow = z
  .object({
    name: z.string(),
    appliance: z.string(),
    ip: z.string().nullable(),
    mac: z.string().nullable(),
    volume: z.string().nullable(),
    bootAction: z.string(),
    state: z.enum(HOST_STATES),
    stateDetail: z.string().nullable(),
    status: z.object({ state: z.string(), at: z.string() }).nullable(),
    power: z.object({ state: z.string().nullable(), action: z.string().nullable(), ok: z.boolean(), at: z.string() }).nullable(),
    lastEvent: z.object({ id: z.number().int(), at: z.string(), kind: z.string() }).nullable(),
  })
  .meta({ id: 'HostRow' });
export type HostRow = z.infer<typeof hostRow>;
const rowsQuery = z.object({
  ...pageQuery,
  q: z.string().max(MAX_FILTER_CHARS).optional(),
  state: z.enum(HOST_STATES).optional(),
  appliance: z.string().max(MAX_FILTER_CHARS).optional(),
  names: z.string().optional(),
});
const bootAnswer = z.object({
  action: z.string(),
  kernel: z.string().optional(),
  initrds: z.array(z.string()).optional(),
  args: z.string().optional(),
  rootPath: z.string().optional(),
  initiatorIqn: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

function text(req: Request, name: string, max = MAX_FILTER_CHARS): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max) throw new UserError('E_BAD_REQUEST', `one value of at most ${max} characters`, { where: name });
  return v === '' ? undefined : v;
}

/** The hosts a filter selects: `q` name substring (case-insensitive), `state`, `appliance`, `names` (exact). */
export function hostFilter(req: Request): (h: Host) => boolean {
  const q = text(req, 'q')?.toLowerCase();
  const state = text(req, 'state');
  if (state !== undefined && !(HOST_STATES as readonly string[]).includes(state))
    throw new UserError('E_BAD_REQUEST', `one of ${HOST_STATES.join(', ')}`, { where: 'state' });
  const appliance = text(req, 'appliance');
  const namesText = text(req, 'names', 64 * MAX_NAMES);
  const names = namesText === undefined ? undefined : new Set(namesText.split(','));
  if (names && names.size > MAX_NAMES) throw new UserError('E_BAD_REQUEST', `at most ${MAX_NAMES} names`, { where: 'names' });
  return (h) =>
    (q === undefined || h.name.toLowerCase().includes(q)) &&
    (state === undefined || h.state === state) &&
    (appliance === undefined || h.appliance === appliance) &&
    (names === undefined || names.has(h.name));
}

function setCookie(req: Request, res: Response, value: string, maxAgeSeconds: number): void {
  // Secure when this request came over TLS (the frontend itself or a TLS listener in front of it
  // that terminates on this socket); a plain-HTTP frontend on the cluster's private network cannot
  // set a Secure cookie at all (browsers drop it), so it is left off there.
  const secure = req.secure ? '; Secure' : '';
  res.append('Set-Cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

export function dashboardRoutes(d: DashboardRoutesDeps): Router {
  const { repos, auth, sessions, table: t } = d;
  const r = Router();
  const body = json({ limit: '4kb' });
  const tokenMatches = bearerMatcher(d.token);
  const activity = new HostActivity(repos);

  t.add(
    r,
    {
      method: 'post',
      path: '/api/v1/session',
      summary: 'Log in with the API token: a session cookie and its CSRF token',
      auth: false,
      body: loginBody,
      status: 201,
      response: sessionAnswer,
    },
    async (req, res) => {
      const wait = d.logins.attempt(remoteIPv4(req));
      if (wait > 0) {
        res.set('Retry-After', String(wait));
        throw new UserError('E_TOO_MANY_LOGINS', `too many login attempts from this address (at most ${d.logins.perMinute} a minute)`);
      }
      const r0 = loginBody.safeParse(req.body ?? {});
      if (!r0.success) throw new UserError('E_BAD_REQUEST', 'body: {token: string}');
      if (!tokenMatches(`Bearer ${r0.data.token}`)) throw new UserError('E_UNAUTHORIZED', 'wrong token');
      const { id, session } = sessions.create();
      setCookie(req, res, id, Math.floor(sessions.maxAgeMs / 1000));
      res.set('Cache-Control', 'no-store');
      res.status(201).json({ csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() });
    },
    body,
  );
  t.add(r, { method: 'get', path: '/api/v1/session', summary: "The session cookie's CSRF token", auth: false, response: sessionAnswer }, (req, res) => {
    const s = auth.session(req);
    if (!s) throw new UserError('E_UNAUTHORIZED', 'not logged in');
    res.set('Cache-Control', 'no-store');
    res.json({ csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() });
  });
  t.add(r, { method: 'delete', path: '/api/v1/session', summary: 'Log out', auth: true, status: 204, response: 'empty' }, (req, res) => {
    auth.require(req);
    sessions.end(cookieValue(req.get('cookie'), SESSION_COOKIE));
    setCookie(req, res, '', 0);
    res.status(204).end();
  });

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/dashboard/hosts',
      summary: 'The host table: a row per host with its live state, power state and last event',
      auth: false,
      query: rowsQuery,
      response: z.object({ items: z.array(hostRow), next: z.string().nullable(), total: z.number().int() }),
    },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      if (page.after !== null && typeof page.after !== 'string') throw new UserError('E_BAD_REQUEST', 'not one this server gave out', { where: 'cursor' });
      const keep = hostFilter(req);
      // ?names= (a live update of a few rows) reads just those hosts; otherwise every host is read
      // and filtered here (the store's list has no filters beyond the appliance).
      const names = text(req, 'names', 64 * MAX_NAMES);
      const read = names
        ? Promise.all([...new Set(names.split(','))].map((n) => repos.hosts.get(n))).then((hs) => hs.filter((h): h is Host => h !== null))
        : repos.hosts.list();
      const [all] = await Promise.all([read, activity.refresh()]);
      const selected = all.filter(keep).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const rest = page.after === null ? selected : selected.filter((h) => h.name > (page.after as string));
      const hosts = rest.slice(0, page.limit);
      const items: HostRow[] = [];
      for (const h of hosts) {
        const a = activity.of(h.name);
        const attrs = await repos.attributes.list({ scope: 'host', target: h.name });
        const first = h.interfaces[0];
        items.push({
          name: h.name,
          appliance: h.appliance,
          ip: first?.ip ?? null,
          mac: first?.mac ?? null,
          volume: attrs.find((x) => x.name === 'iscsi_volume')?.value ?? null,
          bootAction: h.bootAction,
          state: h.state,
          stateDetail: h.stateDetail,
          status: a.status,
          power: a.power,
          lastEvent: a.last,
        });
      }
      res.json({ items, next: rest.length > page.limit ? encodeCursor(hosts[hosts.length - 1]!.name) : null, total: selected.length });
    },
  );

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/hosts/:name/boot',
      summary: 'What the host boots next: kernel, initrds, kernel arguments (secrets masked)',
      auth: false,
      response: bootAnswer,
    },
    async (req, res) => {
      const h = await repos.hosts.get(String(req.params['name']));
      if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(req.params['name'])}`);
      if (!d.bootSpec) throw new UserError('E_NOT_FOUND', 'no boot information here');
      const attrs = await d.kickstarts.attributesOf(h);
      const mask = (s: string) => maskSecretValues(s, attrs);
      let spec: BootSpec;
      try {
        spec = await d.bootSpec(h);
      } catch (e) {
        const err = e as { code?: unknown; message?: unknown };
        // A boot the frontend would refuse (no boot record, image gone) is shown, not hidden.
        if (e instanceof UserError) {
          res.json({ action: h.bootAction, error: { code: String(err.code), message: mask(String(err.message)) } });
          return;
        }
        throw e;
      }
      switch (spec.action) {
        case 'install':
        case 'os':
          res.json({ action: spec.action, kernel: spec.kernel, initrds: spec.initrds.map((i) => i.path), args: mask(spec.args) });
          return;
        case 'sanboot':
          res.json({ action: spec.action, rootPath: spec.rootPath, initiatorIqn: spec.initiatorIqn });
          return;
        default:
          res.json({ action: spec.action });
      }
    },
  );

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/graph',
      summary: '`graph draw` as SVG, every appliance root node highlighted (?appliance=A: its reach only)',
      auth: false,
      query: z.object({ appliance: z.string().max(MAX_FILTER_CHARS).optional() }),
      response: 'svg',
    },
    async (req, res) => {
      if (!d.drawGraph) throw new UserError('E_NOT_FOUND', 'no graph here');
      const appliance = text(req, 'appliance');
      const svg = await d.drawGraph(appliance);
      // Shown by the dashboard through <img> (an image runs no script); opened directly it still
      // runs none: the CSP allows no script at all.
      res.set({ 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'", 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
      res.type('image/svg+xml').send(svg);
    },
  );
  return r;
}
