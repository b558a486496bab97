// /api/v1/events and its Server-Sent Events stream over real HTTP on loopback: filters and cursor
// pages, an event appended after connect arrives with its id, Last-Event-ID resumes, and the
// stream caps (per source, in all) refuse with 429 without starving other clients.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { rmSync } from 'node:fs';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

let f: Frontend;
let dir: string;
let port: number;
before(async () => {
  dir = tempStateDir('nrt-events-');
  const overrides = {
    ...frontendOverrides(dir),
    'http.apiMaxEventStreams': '3',
    'http.apiMaxEventStreamsPerSource': '2',
    'http.apiEventPollSeconds': '0.05',
    'http.apiEventHeartbeatSeconds': '0.2',
  };
  f = createFrontend(loadConfig({ env: {}, overrides }), { logger: silentLogger });
  await f.start();
  port = f.httpPort();
});
after(async () => {
  await f.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Stream {
  res: IncomingMessage;
  req: ClientRequest;
  /** Everything received so far. */
  text(): string;
  /** Resolves when the received text satisfies `ok` (or rejects after `ms`). */
  until(ok: (t: string) => boolean, ms?: number): Promise<string>;
  close(): void;
}

function openStream(path: string, opts: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}), headers: opts.headers ?? {} },
      (res) => {
        let buf = '';
        const waiters: Array<() => void> = [];
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          for (const w of waiters.splice(0)) w();
        });
        res.on('error', () => {});
        const until = (ok: (t: string) => boolean, ms = 5000) =>
          new Promise<string>((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`stream: timed out; got ${JSON.stringify(buf.slice(-500))}`)), ms);
            const check = () => {
              if (ok(buf)) {
                clearTimeout(timer);
                done(buf);
              } else waiters.push(check);
            };
            check();
          });
        resolve({ res, req, text: () => buf, until, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The SSE frames (id, event, data) in `text`. */
function frames(text: string): Array<{ id: number; event: string; data: any }> {
  const out = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    const id = lines.find((l) => l.startsWith('id: '));
    const data = lines.find((l) => l.startsWith('data: '));
    if (!id || !data) continue;
    out.push({ id: Number(id.slice(4)), event: lines.find((l) => l.startsWith('event: '))!.slice(7), data: JSON.parse(data.slice(6)) });
  }
  return out;
}

async function get(path: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

test('GET /api/v1/events: filters by host and kind, after an id, and pages with the cursor', async () => {
  const base = (await f.store.events.list({ last: true, limit: 1 }))[0]?.id ?? 0;
  for (let i = 0; i < 5; i++) await f.store.events.append({ kind: 'test.tick', host: i % 2 ? 'odd-0-0' : 'even-0-0', detail: { i } });
  const ticks = await get(`/events?kind=test.tick&after=${base}&limit=2`);
  assert.equal(ticks.status, 200);
  assert.deepEqual(
    ticks.body.items.map((e: { detail: { i: number } }) => e.detail.i),
    [0, 1],
  );
  const walked = [...ticks.body.items];
  let next: string | null = ticks.body.next;
  while (next) {
    const p = await get(`/events?kind=test.tick&after=${base}&limit=2&cursor=${encodeURIComponent(next)}`);
    walked.push(...p.body.items);
    next = p.body.next;
  }
  assert.deepEqual(
    walked.map((e) => e.detail.i),
    [0, 1, 2, 3, 4],
  );
  const odd = await get(`/events?host=odd-0-0&after=${base}`);
  assert.deepEqual(
    odd.body.items.map((e: { detail: { i: number } }) => e.detail.i),
    [1, 3],
  );
  assert.equal(odd.body.next, null);
  for (const q of ['after=-1', 'after=x', 'host=', `kind=${'k'.repeat(300)}`]) {
    const r = await get(`/events?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.code, 'E_BAD_REQUEST');
  }
});

test('the event stream sends an event appended after connect (id = event id) and resumes after Last-Event-ID', async () => {
  const s = await openStream('/api/v1/events/stream?kind=test.live');
  assert.equal(s.res.statusCode, 200);
  assert.match(String(s.res.headers['content-type']), /^text\/event-stream/);
  await s.until((t) => t.includes(': connected'));
  await f.store.events.append({ kind: 'test.other', detail: {} });
  const e = await f.store.events.append({ kind: 'test.live', host: 'compute-0-0', detail: { n: 1 } });
  const got = frames(await s.until((t) => frames(t).length >= 1));
  assert.equal(got.length, 1, 'the other kind is filtered out');
  assert.deepEqual(got[0], { id: e.id, event: 'test.live', data: e });
  await s.until((t) => t.includes(': heartbeat'), 3000);
  s.close();

  const e2 = await f.store.events.append({ kind: 'test.live', detail: { n: 2 } });
  const again = await openStream('/api/v1/events/stream?kind=test.live', { headers: { 'last-event-id': String(e.id) } });
  const resumed = frames(await again.until((t) => frames(t).length >= 1));
  assert.equal(resumed[0]!.id, e2.id, 'missed while disconnected, delivered on reconnect');
  again.close();
  const bad = await openStream('/api/v1/events/stream', { headers: { 'last-event-id': 'abc' } });
  assert.equal(bad.res.statusCode, 400);
  bad.close();
});

test('attack: streams beyond the per-source cap and the total cap are refused with 429, the open ones and other clients go on', async () => {
  const mine = [await openStream('/api/v1/events/stream'), await openStream('/api/v1/events/stream')];
  for (const s of mine) assert.equal(s.res.statusCode, 200);
  const refused = await openStream('/api/v1/events/stream');
  assert.equal(refused.res.statusCode, 429);
  assert.ok(Number(refused.res.headers['retry-after']) >= 1);
  assert.equal(JSON.parse(await refused.until((t) => t.endsWith('}'))).code, 'E_TOO_MANY_STREAMS');
  refused.close();

  // Another source still gets one (the per-source cap kept the first from taking all three).
  const other = await openStream('/api/v1/events/stream', { localAddress: '127.0.0.2' });
  assert.equal(other.res.statusCode, 200);
  const third = await openStream('/api/v1/events/stream', { localAddress: '127.0.0.3' });
  assert.equal(third.res.statusCode, 429, 'the total cap (3) holds');
  third.close();

  // Ordinary requests are still answered while the streams are open, and every open stream gets events.
  assert.equal((await get('/hosts')).status, 200);
  const e = await f.store.events.append({ kind: 'test.fanout', detail: {} });
  for (const s of [...mine, other]) assert.ok(frames(await s.until((t) => frames(t).some((x) => x.id === e.id))).some((x) => x.id === e.id));

  // A closed stream frees its slot.
  mine[0]!.close();
  const reopened = await waitFor(
    async () => {
      const s = await openStream('/api/v1/events/stream');
      if (s.res.statusCode === 200) return s;
      s.close();
      return null;
    },
    { what: 'the slot of the closed stream to be free again', timeoutMs: 5000, intervalMs: 20 },
  );
  assert.equal(reopened.res.statusCode, 200);
  for (const s of [mine[1]!, other, reopened]) s.close();
});
