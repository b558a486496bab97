// The Prometheus side of the HTTP server (issue #15): its families in the frontend's registry, and
// the helpers every service's families use. Services keep their counters as plain numbers (the
// `metrics` objects of DhcpServer, TftpServer, IscsiTarget, ...); a family built by counterFrom /
// gaugeFrom copies them at scrape time (prom-client `collect()`), so nothing is counted twice.
// Only what no service counts is counted here: requests by route and status, and their latency.
//
// Labels never carry what a client chooses: `route` is the matched pattern (`/boot/ipxe/:mac`),
// never the URL, and every request that matched no route shares `route="unmatched"`; a method
// outside the usual few is `OTHER`. No label names a host or carries a secret.
import type { Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ShedStats } from './shed.js';

export type Sample<L extends string> = readonly [labels: Partial<Record<L, string>>, value: number];

export interface Family<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** The current values; called once per scrape. */
  read: () => Iterable<Sample<L>>;
}

/** A counter family whose values are a service's own counters, copied at scrape time. */
export function counterFrom<L extends string = never>(registry: Registry, f: Family<L>): void {
  const read = f.read;
  new Counter<L>({
    name: f.name,
    help: f.help,
    labelNames: f.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge family read from a service at scrape time. */
export function gaugeFrom<L extends string = never>(registry: Registry, f: Family<L>): void {
  const read = f.read;
  new Gauge<L>({
    name: f.name,
    help: f.help,
    labelNames: f.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** Latency buckets (seconds): scripts and kickstarts in milliseconds, boot files up to minutes. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export const UNMATCHED_ROUTE = 'unmatched';

/** The pattern of the route that answered (bounded: it is in the code), or `unmatched`. */
export function routeLabel(req: Request): string {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (path === undefined) return UNMATCHED_ROUTE;
  return typeof path === 'string' ? path : String(path);
}

export type HttpCounters = ShedStats & { requests: number; sendStalled: number };

/**
 * Registers the HTTP families and returns the middleware that times every request (mount it
 * first). A response the client never received in full (connection closed, send stall cut) has
 * `status="aborted"`.
 */
export function httpMetrics(registry: Registry, stats: HttpCounters): RequestHandler {
  const requests = new Counter({
    name: 'netroot_http_requests_total',
    help: 'HTTP requests answered, by method, matched route pattern (unmatched for any other path) and status code (aborted: the response did not finish).',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'netroot_http_request_duration_seconds',
    help: "Time from the end of a request's headers to the end of its response (or the connection's close), by method and matched route pattern.",
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });
  gaugeFrom(registry, {
    name: 'netroot_http_requests_in_flight',
    help: 'Requests admitted and not yet answered (limit http.maxInFlight).',
    read: () => [[{}, stats.inFlight]],
  });
  counterFrom(registry, {
    name: 'netroot_http_shed_requests_total',
    help: 'Requests refused by the load shedder: status 503 (http.maxInFlight or a file-stream limit) or 429 (a per-source limit).',
    labelNames: ['status'],
    read: () => [
      [{ status: '503' }, stats.shed - stats.shedPerSource],
      [{ status: '429' }, stats.shedPerSource],
    ],
  });
  gaugeFrom(registry, {
    name: 'netroot_http_file_streams',
    help: 'Boot file and overlay downloads being sent (limit http.maxFileStreams).',
    read: () => [[{}, stats.fileStreams]],
  });
  gaugeFrom(registry, {
    name: 'netroot_http_receiving_bodies',
    help: 'Requests still receiving their body (limit http.maxReceivingBodies).',
    read: () => [[{}, stats.receiving]],
  });
  counterFrom(registry, {
    name: 'netroot_http_slow_bodies_cut_total',
    help: 'Slow uploads cut to make room for a newcomer (http.maxReceivingBodies).',
    read: () => [[{}, stats.evicted]],
  });
  counterFrom(registry, {
    name: 'netroot_http_stalled_files_cut_total',
    help: "Stalled downloads cut to make room for a node's download.",
    read: () => [[{}, stats.filesEvicted]],
  });
  counterFrom(registry, {
    name: 'netroot_http_send_stalled_total',
    help: 'Responses cut because the client read nothing for http.sendStallSeconds.',
    read: () => [[{}, stats.sendStalled]],
  });
  return (req, res: Response, next) => {
    const start = process.hrtime.bigint();
    res.once('close', () => {
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      const route = routeLabel(req);
      requests.inc({ method, route, status: res.writableFinished ? String(res.statusCode) : 'aborted' });
      duration.observe({ method, route }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
