// The whole /api/v1 REST API as one router: every resource router registers its routes in one
// ApiTable (api-table.ts), which gives the OpenAPI document (GET /api/v1/openapi.json) and the
// 404/405 answers for the rest of /api (api-fallback.ts). Limits are `http.api*` settings.
import { Router } from 'express';
import type { Store } from '../store/index.js';
import type { DiscoveryEngine } from '../discovery/engine.js';
import type { DiscoveryHub } from '../discovery/hub.js';
import type { StorageView } from '../discovery/storage-report.js';
import type { KickstartService } from '../boot/kickstart.js';
import type { FrontendFacts } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { apiAuth } from './api-auth.js';
import { ApiTable } from './api-table.js';
import { apiFallback } from './api-fallback.js';
import { apiRoutes } from './api-routes.js';
import { storageRoutes } from './storage-routes.js';
import { applianceRoutes } from './appliance-routes.js';
import { attributeRoutes } from './attribute-routes.js';
import { kickstartPreviewRoutes } from './kickstart-preview-routes.js';
import { eventRoutes } from './event-routes.js';
import { powerRoutes } from './power-routes.js';
import type { PowerDrivers } from '../power/runner.js';
import { openApiDocument } from './openapi.js';
import { anyObject } from './api-schemas.js';
import { httpLimits, type HttpLimits } from './limits.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { LoginLimiter, SessionTable } from './sessions.js';
import type { Host } from '../store/index.js';
import type { BootSpec } from '../boot/spec.js';

export interface ApiDeps {
  store: Store;
  engine: DiscoveryEngine;
  hub: DiscoveryHub;
  storage: StorageView;
  kickstarts: KickstartService;
  token: string;
  logger: Logger;
  /** The `http:` limits (what is left out takes its default). */
  limits?: Partial<HttpLimits>;
  facts: FrontendFacts;
  defaultAttributes: Readonly<Record<string, string>>;
  defaultGraph: string;
  checkGraph(graph: string, rootNode: string): void;
  /** The power drivers (app/power.ts); none: every power call is E_BMC_UNSUPPORTED per host. */
  powerDrivers?: PowerDrivers;
  /** What a host boots next (the Booter), for the dashboard's host page. */
  bootSpec?: (h: Host) => Promise<BootSpec>;
  /** `graph draw` as SVG with the appliances highlighted (GET /api/v1/graph). */
  drawGraph?: (appliance: string | undefined) => Promise<string>;
}

export interface Api {
  router: Router;
  table: ApiTable;
}

export function restApi(d: ApiDeps): Api {
  const l = httpLimits(d.limits);
  const table = new ApiTable();
  // The dashboard's sessions (sessions.ts): the API accepts their cookie only with its CSRF token.
  const sessions = new SessionTable(l.maxSessions, l.sessionMaxAgeSeconds * 1000);
  const auth = apiAuth(d.token, sessions);
  const common = { auth, table, maxPageSize: l.apiMaxPageSize };
  const router = Router();
  router.use(apiRoutes({ ...common, repos: d.store, engine: d.engine, hub: d.hub }));
  router.use(applianceRoutes({ ...common, repos: d.store, defaultGraph: d.defaultGraph, checkGraph: d.checkGraph }));
  router.use(attributeRoutes({ ...common, repos: d.store, facts: d.facts, defaults: d.defaultAttributes }));
  router.use(kickstartPreviewRoutes({ repos: d.store, kickstarts: d.kickstarts, auth, table }));
  router.use(
    eventRoutes({
      repos: d.store,
      table,
      maxPageSize: l.apiMaxPageSize,
      maxStreams: l.apiMaxEventStreams,
      maxStreamsPerSource: l.apiMaxEventStreamsPerSource,
      pollSeconds: l.apiEventPollSeconds,
      heartbeatSeconds: l.apiEventHeartbeatSeconds,
      retryAfterSeconds: l.retryAfterSeconds,
      wake: (listener) => d.hub.onChange(listener),
    }),
  );
  router.use(
    dashboardRoutes({
      ...common,
      repos: d.store,
      sessions,
      logins: new LoginLimiter(l.loginAttemptsPerMinute),
      token: d.token,
      retryAfterSeconds: l.retryAfterSeconds,
      kickstarts: d.kickstarts,
      ...(d.bootSpec ? { bootSpec: d.bootSpec } : {}),
      ...(d.drawGraph ? { drawGraph: d.drawGraph } : {}),
    }),
  );
  router.use(powerRoutes({ repos: d.store, auth, table, drivers: d.powerDrivers ?? {} }));
  router.use(storageRoutes({ ...common, store: d.store, storage: d.storage, logger: d.logger }));
  let doc: Record<string, unknown> | undefined;
  const docs = Router();
  table.add(docs, { method: 'get', path: '/api/v1/openapi.json', summary: 'This document', auth: false, response: anyObject }, (_req, res) => {
    doc ??= openApiDocument(table, { version: '1.0.0' });
    res.json(doc);
  });
  router.use(docs);
  router.use(apiFallback(table));
  return { router, table };
}
