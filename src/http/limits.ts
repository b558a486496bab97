// The HTTP server's availability limits, as the `http:` section of the config carries them (the
// schema, src/config/schema.ts, owns the defaults and their meaning; DEFAULT_HTTP_LIMITS repeats
// them for callers that build an app without a config, and a test keeps the two equal).
// Durations are in seconds and may be fractional (tests use small real deadlines).

export interface HttpLimits {
  /** Requests served at once; beyond it 503 + Retry-After. */
  maxInFlight: number;
  retryAfterSeconds: number;
  /** Requests one client address may have in flight; beyond it 429 + Retry-After. */
  maxInFlightPerSource: number;
  /** Boot-file and overlay responses in flight at once (at most half of maxInFlight). */
  maxFileStreams: number;
  maxFileStreamsPerSource: number;
  /** Requests whose body is still arriving (at most a quarter of maxInFlight); the oldest is cut for a new one. */
  maxReceivingBodies: number;
  /** From a connection's first byte (or the end of the previous request) to the end of the headers. */
  headersTimeoutSeconds: number;
  /** From the start of a request to the last byte of its body. */
  requestTimeoutSeconds: number;
  /** A response whose bytes wait for the client and make no progress this long is cut. */
  sendStallSeconds: number;
  /** Largest /RPC2 body. */
  rpcMaxBodyBytes: number;
  /** Most `<` plus `&` in one /RPC2 body (the parser's work grows with them, not with bytes). */
  rpcMaxMarkup: number;
  /** /RPC2 parses waiting or running at once, in all and per source. */
  rpcMaxPendingParses: number;
  rpcMaxPendingParsesPerSource: number;
  /** Largest page of a /api/v1 list. */
  apiMaxPageSize: number;
  /** Open event streams (SSE), in all and per client address; beyond it 429. */
  apiMaxEventStreams: number;
  apiMaxEventStreamsPerSource: number;
  /** An event stream's store poll interval and heartbeat, in seconds. */
  apiEventPollSeconds: number;
  apiEventHeartbeatSeconds: number;
  /** A dashboard session (its cookie's Max-Age) lasts this long from its login. */
  sessionMaxAgeSeconds: number;
  /** Dashboard sessions kept at once; beyond it the expired, then the oldest, end. */
  maxSessions: number;
  /** Dashboard login attempts one client address may make in a minute; beyond it 429. */
  loginAttemptsPerMinute: number;
  /** /sync/v1/payload requests one client address may make in a minute; beyond it 429. */
  syncRequestsPerMinute: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxInFlight: 256,
  retryAfterSeconds: 2,
  maxInFlightPerSource: 32,
  maxFileStreams: 128,
  maxFileStreamsPerSource: 4,
  maxReceivingBodies: 64,
  headersTimeoutSeconds: 10,
  requestTimeoutSeconds: 30,
  sendStallSeconds: 60,
  rpcMaxBodyBytes: 64 * 1024,
  rpcMaxMarkup: 1024,
  rpcMaxPendingParses: 16,
  rpcMaxPendingParsesPerSource: 2,
  apiMaxPageSize: 1000,
  apiMaxEventStreams: 32,
  apiMaxEventStreamsPerSource: 4,
  apiEventPollSeconds: 1,
  apiEventHeartbeatSeconds: 15,
  sessionMaxAgeSeconds: 8 * 3600,
  maxSessions: 256,
  loginAttemptsPerMinute: 10,
  syncRequestsPerMinute: 20,
});

/** Fills what `partial` leaves out from the defaults. */
export function httpLimits(partial: Partial<HttpLimits> = {}): HttpLimits {
  const out: HttpLimits = { ...DEFAULT_HTTP_LIMITS };
  for (const k of Object.keys(out) as (keyof HttpLimits)[]) {
    const v = partial[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}
