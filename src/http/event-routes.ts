// REST API v1 events (the store's events log):
//   GET /api/v1/events[?host=H][&kind=K][&after=ID][&limit=N][&cursor=C] → {items: Event[], next} (oldest first)
//       ?last=1: the newest N instead (still oldest first; next is null)
//   GET /api/v1/events/stream[?host=H][&kind=K][&after=ID][&named=0]  → text/event-stream
// The stream (Server-Sent Events) sends each new event as `id: <id>`, `event: <kind>`, `data: <Event
// JSON>`; it starts after `Last-Event-ID` (a reconnect), else after ?after=, else after the newest
// event at connect. It polls the store every `pollSeconds` (one query at a time, never while the
// client has not read the previous batch) and writes a `: heartbeat` comment every
// `heartbeatSeconds`. At most `maxStreams` are open, `maxStreamsPerSource` per client address:
// beyond either 429 E_TOO_MANY_STREAMS + Retry-After, and the streams already open go on.
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { EventFilter, Repos, StoredEvent } from '../store/index.js';
import { UserError } from '../errors.js';
import type { ApiTable } from './api-table.js';
import { pageRequest, encodeCursor } from './pagination.js';
import { event, pageOf, pageQuery } from './api-schemas.js';
import { StreamSlots } from './stream-slots.js';
import { remoteIPv4 } from './remote.js';

export interface EventRoutesDeps {
  repos: Repos;
  table: ApiTable;
  maxPageSize: number;
  maxStreams: number;
  maxStreamsPerSource: number;
  pollSeconds: number;
  heartbeatSeconds: number;
  retryAfterSeconds: number;
  /**
   * Subscribes to "something changed" (the discovery hub: a DISCOVER, a host added or changed):
   * each open stream polls at once instead of waiting for its next poll, so the dashboard sees a
   * discovered machine within milliseconds. Answers the unsubscribe.
   */
  wake?: (listener: () => void) => () => void;
}

/** Events one poll of a stream sends at most (the rest come with the next poll). */
const STREAM_BATCH = 100;
const MAX_FILTER_CHARS = 255;

const filterQuery = {
  host: z.string().max(MAX_FILTER_CHARS).optional(),
  kind: z.string().max(MAX_FILTER_CHARS).optional(),
  after: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional(),
};

function text(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FILTER_CHARS)
    throw new UserError('E_BAD_REQUEST', `one value of 1 to ${MAX_FILTER_CHARS} characters`, { where: name });
  return v;
}

function eventId(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw new UserError('E_BAD_REQUEST', `must be an event id (a non-negative integer)`, { where: name });
  return Number(v);
}

/** host/kind filter of a request. */
function filterOf(req: Request): Pick<EventFilter, 'host' | 'kind'> {
  const host = text(req, 'host');
  const kind = text(req, 'kind');
  return { ...(host !== undefined ? { host } : {}), ...(kind !== undefined ? { kind } : {}) };
}

/** One SSE frame; `named` false leaves out `event:`, so a browser's EventSource hands every kind to `onmessage`. */
export function sseFrame(e: StoredEvent, named = true): string {
  // JSON.stringify never emits a raw newline, so `data:` is one line; kind is a plain word.
  return `id: ${e.id}\n${named ? `event: ${e.kind.replace(/[\r\n]/g, ' ')}\n` : ''}data: ${JSON.stringify(e)}\n\n`;
}

export function eventRoutes(d: EventRoutesDeps): Router {
  const { repos, table: t } = d;
  const r = Router();
  const slots = new StreamSlots(d.maxStreams, d.maxStreamsPerSource);

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/events',
      summary: 'Events, oldest first, filtered by host and kind, after an id (?last=1: the newest `limit`, no next page)',
      auth: false,
      query: z.object({ ...pageQuery, ...filterQuery, last: z.enum(['1']).optional() }),
      response: pageOf(event),
    },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      if (page.after !== null && typeof page.after !== 'number') throw new UserError('E_BAD_REQUEST', 'not one this server gave out', { where: 'cursor' });
      const after = Math.max(page.after ?? 0, eventId(req.query['after'], 'after') ?? 0);
      const last = req.query['last'];
      if (last !== undefined && last !== '1') throw new UserError('E_BAD_REQUEST', 'only 1', { where: 'last' });
      if (last === '1') {
        // The newest `limit` (a timeline's latest entries), still oldest first.
        res.json({ items: await repos.events.list({ ...filterOf(req), sinceId: after, limit: page.limit, last: true }), next: null });
        return;
      }
      const rows = await repos.events.list({ ...filterOf(req), sinceId: after, limit: page.limit + 1 });
      const items = rows.slice(0, page.limit);
      res.json({ items, next: rows.length > page.limit ? encodeCursor(items[items.length - 1]!.id) : null });
    },
  );

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/events/stream',
      summary: 'New events as Server-Sent Events (id = event id; honours Last-Event-ID; ?named=0: no `event:` line)',
      auth: false,
      query: z.object({ ...filterQuery, named: z.enum(['0', '1']).optional() }),
      response: 'sse',
    },
    async (req, res) => {
      const filter = filterOf(req);
      const namedQ = req.query['named'];
      if (namedQ !== undefined && namedQ !== '0' && namedQ !== '1') throw new UserError('E_BAD_REQUEST', 'must be 0 or 1', { where: 'named' });
      const named = namedQ !== '0';
      const resume = eventId(req.get('last-event-id'), 'Last-Event-ID') ?? eventId(req.query['after'], 'after');
      const release = slots.take(remoteIPv4(req));
      if (!release) {
        res.set('Retry-After', String(d.retryAfterSeconds));
        throw new UserError('E_TOO_MANY_STREAMS', `too many open event streams (at most ${d.maxStreamsPerSource} per client, ${d.maxStreams} in all)`);
      }
      let last = resume ?? (await repos.events.list({ last: true, limit: 1 }))[0]?.id ?? 0;
      res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      res.write(': connected\n\n');
      let closed = false;
      let pollTimer: NodeJS.Timeout | undefined;
      let polling = false;
      let again = false;
      let unsubscribe = () => {};
      const heartbeat = setInterval(() => {
        if (!res.writableNeedDrain) res.write(': heartbeat\n\n');
      }, d.heartbeatSeconds * 1000);
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(pollTimer);
        unsubscribe();
        release();
      };
      res.on('close', close);
      const poll = async (): Promise<void> => {
        if (closed) return;
        if (polling) {
          again = true; // a wake during a poll: one more poll right after it
          return;
        }
        polling = true;
        clearTimeout(pollTimer);
        try {
          if (!res.writableNeedDrain) {
            const batch = await repos.events.list({ ...filter, sinceId: last, limit: STREAM_BATCH });
            if (closed) return;
            for (const e of batch) res.write(sseFrame(e, named));
            if (batch.length > 0) last = batch[batch.length - 1]!.id;
          }
        } catch {
          polling = false;
          res.destroy(); // the store failed: the client reconnects with Last-Event-ID
          return;
        }
        polling = false;
        if (closed) return;
        if (again) {
          again = false;
          pollTimer = setTimeout(() => void poll(), 0);
        } else pollTimer = setTimeout(() => void poll(), d.pollSeconds * 1000);
      };
      // The wake may fire before the change's event is written (hub.report appends it without
      // waiting): the regular poll picks that one up at the latest.
      if (d.wake) unsubscribe = d.wake(() => void poll());
      await poll();
    },
  );
  return r;
}
