// The frontend's HTTP application (express), built separately from listen() so handlers are
// tested without a port. Services are passed in; this file only wires routes.
import type { Server } from 'node:http';
import express, { type Express, type Router } from 'express';
import { Registry } from 'prom-client';
import { loadShedder, newShedStats, type ShedStats } from './shed.js';
import { SendWatchdog, type WatchdogClock } from './send-watchdog.js';
import { applyServerLimits } from './server.js';
import { httpLimits, type HttpLimits } from './limits.js';
import { isBootFileRequest } from './boot-routes.js';
import { kickstartRoutes } from './kickstart-routes.js';
import { hostGuard } from './host-guard.js';
import { errorHandler } from './errors.js';
import { httpMetrics } from './metrics.js';
import type { Repos } from '../store/index.js';
import type { KickstartService } from '../boot/kickstart.js';
import type { InstallTokens } from '../boot/install-tokens.js';
import type { Logger } from '../log/logger.js';

export interface HttpDeps {
  repos: Repos;
  kickstarts: KickstartService;
  tokens: InstallTokens;
  logger: Logger;
  maxInFlight: number;
  retryAfterSeconds: number;
  /** The other availability limits (config `http:`); what is left out takes its default. */
  limits?: Partial<HttpLimits>;
  /** The send watchdog's clock (tests); the real one by default. */
  clock?: WatchdogClock;
  /** Extra routers mounted before the error handler (boot files, XML-RPC, REST API). */
  routers?: Router[];
  /** The frontend's registry (the other services' families are in it too); a new one by default. */
  registry?: Registry;
  /** What /readyz answers; without it, ready whenever the app answers. */
  readiness?: () => Promise<Readiness>;
}

/** /readyz: 200 when `ready`, else 503; `checks` names each thing checked ("ok" or why not). */
export interface Readiness {
  ready: boolean;
  /** The names of the checks that failed. */
  notReady: string[];
  checks: Record<string, string>;
}

export interface HttpApp {
  app: Express;
  stats: ShedStats & { requests: number; sendStalled: number };
  /** The limits in force (defaults filled in). */
  limits: HttpLimits;
  /** The registry /metrics exposes. */
  registry: Registry;
  /** Sets the deadlines the http.Server serving `app` enforces itself (server.ts); before listen(). */
  applyServerLimits(server: Server): void;
}

export function createHttpApp(d: HttpDeps): HttpApp {
  const limits = httpLimits({ ...d.limits, maxInFlight: d.maxInFlight, retryAfterSeconds: d.retryAfterSeconds });
  const stats = { ...newShedStats(), requests: 0, sendStalled: 0 };
  const watchdog = new SendWatchdog(limits.sendStallSeconds * 1000, d.clock, (res) => {
    stats.sendStalled++;
    d.logger.debug('send stalled: connection cut', { path: res.req.url?.slice(0, 200), remote: res.req.socket.remoteAddress });
  });
  const registry = d.registry ?? new Registry();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(httpMetrics(registry, stats));
  app.use((_req, _res, next) => {
    stats.requests++;
    next();
  });
  // A download stalled for a quarter of the send deadline (at most 5 s) may make room for a node's.
  const evictStalledAfterMs = Math.min(5000, (limits.sendStallSeconds * 1000) / 4);
  app.use(loadShedder(limits, stats, { isFileStream: isBootFileRequest, stalledFor: (res) => watchdog.stalledFor(res), evictStalledAfterMs }));
  app.use((_req, res, next) => {
    watchdog.watch(res);
    next();
  });
  // Liveness: cheap, no store access (a stuck database must not get the process killed by a
  // liveness probe). Readiness (/readyz) asks every service and takes a write on the store.
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', async (_req, res, next) => {
    try {
      const r = d.readiness ? await d.readiness() : { ready: true, notReady: [], checks: {} };
      res.status(r.ready ? 200 : 503).json(r);
    } catch (e) {
      next(e);
    }
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      const text = await registry.metrics();
      res.type(registry.contentType).send(text);
    } catch (e) {
      next(e);
    }
  });
  app.use(hostGuard());
  app.use(kickstartRoutes(d.repos, d.kickstarts, d.tokens, d.logger));
  for (const r of d.routers ?? []) app.use(r);
  app.use((_req, res) => {
    res.status(404).json({ code: 'E_NOT_FOUND', message: 'not found' });
  });
  app.use(errorHandler(d.logger));
  return { app, stats, limits, registry, applyServerLimits: (server) => applyServerLimits(server, limits) };
}
