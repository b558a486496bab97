// The deadlines a node http.Server enforces itself, set from the http limits. Node (≥ 18) checks
// them every `connectionsCheckingInterval` ms over the connections that are still receiving a
// request; a connection past its deadline gets `408 Request Timeout` (when nothing of a response
// was written yet) and is destroyed, which frees the request's slot (shed.ts, on 'close').
//   headersTimeout  from a connection's first byte, or the end of its previous request, to the end
//                   of the headers: slowloris and idle connections that never ask anything;
//   requestTimeout  from the start of a request to the last byte of its body: slow POSTs.
// Node requires headersTimeout ≤ requestTimeout. The interval is a quarter of the shorter deadline
// (at most 1 s, Node's default is 30 s) so a deadline is kept to within 25 %. Node reads the
// interval when the server starts listening: set these before listen().
import type { Server } from 'node:http';
import type { HttpLimits } from './limits.js';

/** Idle keep-alive connections close after this (Node's default is 5 s too; stated, not implied). */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

export function applyServerLimits(server: Server, limits: Pick<HttpLimits, 'headersTimeoutSeconds' | 'requestTimeoutSeconds'>): void {
  const request = Math.max(1, Math.round(limits.requestTimeoutSeconds * 1000));
  const headers = Math.min(request, Math.max(1, Math.round(limits.headersTimeoutSeconds * 1000)));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.requestTimeout = request;
  server.headersTimeout = headers;
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(10, Math.min(1000, Math.floor(headers / 4)));
}
