// The frontend's HTTP application (express), built separately from listen() so handlers are
// tested without a port. Services are passed in; this file only wires routes.
import express, { type Express, type Router } from 'express';
import { loadShedder, type ShedStats } from './shed.js';
import { kickstartRoutes } from './kickstart-routes.js';
import { errorHandler } from './errors.js';
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
  /** Extra routers mounted before the error handler (boot files, XML-RPC, REST API). */
  routers?: Router[];
}

export interface HttpApp {
  app: Express;
  stats: ShedStats & { requests: number };
}

export function createHttpApp(d: HttpDeps): HttpApp {
  const stats = { inFlight: 0, shed: 0, requests: 0 };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, _res, next) => {
    stats.requests++;
    next();
  });
  app.use(loadShedder(d.maxInFlight, d.retryAfterSeconds, stats));
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/metrics', (_req, res) => {
    res.type('text/plain').send(`netroot_http_requests_total ${stats.requests}\nnetroot_http_in_flight ${stats.inFlight}\nnetroot_http_shed_total ${stats.shed}\n`);
  });
  app.use(kickstartRoutes(d.repos, d.kickstarts, d.tokens));
  for (const r of d.routers ?? []) app.use(r);
  app.use((_req, res) => {
    res.status(404).json({ code: 'E_NOT_FOUND', message: 'not found' });
  });
  app.use(errorHandler(d.logger));
  return { app, stats };
}
