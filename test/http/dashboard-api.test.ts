// The dashboard's REST side over real HTTP on loopback (issue #18 point 3): login sessions (cookie
// attributes, Secure over TLS, the bounded table, expiry, logout), the per-source login limit under
// a guessing attack, malformed logins, the host-table rows (server-side paging and filters at a
// few hundred hosts, bad filters), the boot information and the OpenAPI answers of the new routes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { readApiToken } from '../../src/app/api-token.js';
import { SessionTable, LoginLimiter, cookieValue } from '../../src/http/sessions.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { call, within } from './clients.js';

let f: Frontend;
let dir: string;
let port: number;
let token: string;
const HOSTS = 250;

before(async () => {
  dir = tempStateDir('nrt-dash-api-');
  f = createFrontend(loadConfig({ env: {}, overrides: { ...frontendOverrides(dir), 'http.maxSessions': '3', 'http.loginAttemptsPerMinute': '5' } }), {
    logger: silentLogger,
  });
  for (let i = 0; i < HOSTS; i++)
    await f.store.hosts.add({
      name: `compute-${Math.floor(i / 100)}-${i % 100}`,
      appliance: i % 10 === 0 ? 'compute-diskless' : 'compute',
      rack: Math.floor(i / 100),
      rank: i % 100,
      state: i % 7 === 0 ? 'failed' : 'discovered',
      interfaces: [
        { mac: `52:54:00:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ip: null, subnet: null, device: 'eth0' },
      ],
    });
  await f.start();
  port = f.httpPort();
  token = readApiToken(f.config)!;
});
after(async () => {
  await f.stop();
  rmSync(dir, { recursive: true, force: true });
});

const login = (from: string, body: string) => call(port, '/api/v1/session', { from, method: 'POST', body, headers: { 'content-type': 'application/json' } });
const cookieOf = (setCookie: string | string[] | undefined) => {
  const line = Array.isArray(setCookie) ? setCookie[0]! : setCookie!;
  return { line, value: cookieValue(line.split(';')[0], 'netroot_session')! };
};

test('a login sets an HttpOnly, SameSite=Strict, Path=/ cookie with Max-Age = http.sessionMaxAgeSeconds, and answers its CSRF token', async () => {
  const r = await login('127.0.0.10', JSON.stringify({ token }));
  assert.equal(r.status, 201, r.body);
  const { line, value } = cookieOf(r.headers['set-cookie']);
  assert.match(line, /^netroot_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
  assert.equal(r.headers['cache-control'], 'no-store');
  const body = JSON.parse(r.body) as { csrf: string; expiresAt: string };
  assert.match(body.csrf, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(body.csrf, value, 'the CSRF token is not the cookie');
  assert.ok(Math.abs(Date.parse(body.expiresAt) - (Date.now() + 28800_000)) < 5000);
  assert.ok(!r.body.includes(token), 'the API token is not echoed');
});

test('over TLS the cookie is also Secure', async () => {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {
    stdio: 'ignore',
  });
  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, f.http.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const { request } = await import('node:https');
    const setCookie = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          path: '/api/v1/session',
          method: 'POST',
          rejectUnauthorized: false,
          localAddress: '127.0.0.11',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.headers['set-cookie'])));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ token }));
    });
    assert.match(setCookie, /; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('attack: guessing the token from one address is stopped after http.loginAttemptsPerMinute; other addresses still log in', async () => {
  const attacker = '127.0.0.20';
  const answers: number[] = [];
  for (let i = 0; i < 20; i++) answers.push((await login(attacker, JSON.stringify({ token: `guess-${i}` }))).status);
  assert.deepEqual(answers.slice(0, 5), [401, 401, 401, 401, 401], 'wrong tokens are 401');
  assert.ok(
    answers.slice(5).every((s) => s === 429),
    `then 429: ${answers}`,
  );
  // Even the right token is refused from that address for the rest of the minute (no oracle).
  const right = await login(attacker, JSON.stringify({ token }));
  assert.equal(right.status, 429);
  assert.equal(JSON.parse(right.body).code, 'E_TOO_MANY_LOGINS');
  const wait = Number(right.headers['retry-after']);
  assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
  assert.equal(right.headers['set-cookie'], undefined);
  // Someone else is not locked out.
  assert.equal((await login('127.0.0.21', JSON.stringify({ token }))).status, 201);
});

test('malformed logins are 400 and log nobody in; a wrong token is 401', async () => {
  const from = '127.0.0.30';
  for (const [body, status] of [
    ['not json', 400],
    ['{"token": 5}', 400],
    [JSON.stringify({ token: 'x'.repeat(600) }), 400],
    [JSON.stringify({ token, extra: 1 }), 400],
  ] as const) {
    const r = await login(from, body);
    assert.equal(r.status, status, `${body.slice(0, 40)}: ${r.body}`);
    assert.equal(r.headers['set-cookie'], undefined);
  }
  const huge = await call(port, '/api/v1/session', { from, headers: { cookie: `netroot_session=${'a'.repeat(5000)}` } });
  assert.equal(huge.status, 401);
});

test('the session table is bounded by http.maxSessions: a fourth login ends the oldest of three', async () => {
  const cookies: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await login(`127.0.0.${40 + i}`, JSON.stringify({ token }));
    assert.equal(r.status, 201);
    cookies.push(cookieOf(r.headers['set-cookie']).value);
  }
  const alive = [];
  for (const c of cookies) alive.push((await call(port, '/api/v1/session', { headers: { cookie: `netroot_session=${c}` } })).status);
  assert.deepEqual(alive, [401, 200, 200, 200]);
});

test('SessionTable: a session expires after its max age; LoginLimiter: the window slides', () => {
  let now = 1_000_000;
  const t = new SessionTable(10, 60_000, () => now);
  const { id, session } = t.create();
  assert.equal(t.get(id), session);
  assert.equal(SessionTable.csrfMatches(session, session.csrf), true);
  assert.equal(SessionTable.csrfMatches(session, session.csrf.slice(1)), false);
  assert.equal(SessionTable.csrfMatches(session, undefined), false);
  now += 59_999;
  assert.ok(t.get(id));
  now += 1;
  assert.equal(t.get(id), null, 'expired');
  assert.equal(t.size, 0, 'and dropped');
  const l = new LoginLimiter(2, 2, () => now);
  assert.equal(l.attempt('a'), 0);
  assert.equal(l.attempt('a'), 0);
  assert.equal(l.attempt('a'), 60);
  now += 30_000;
  assert.equal(l.attempt('a'), 30);
  now += 30_000;
  assert.equal(l.attempt('a'), 0, 'a minute after the first attempts');
  l.attempt('b');
  l.attempt('c');
  assert.equal(l.attempt('a'), 0, 'at most maxSources tracked: the oldest address is forgotten');
});

test('logout needs the CSRF token and ends the session', async () => {
  const r = await login('127.0.0.50', JSON.stringify({ token }));
  const cookie = `netroot_session=${cookieOf(r.headers['set-cookie']).value}`;
  const { csrf } = JSON.parse(r.body) as { csrf: string };
  assert.equal((await call(port, '/api/v1/session', { method: 'DELETE', headers: { cookie } })).status, 401, 'a forged logout');
  const out = await call(port, '/api/v1/session', { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(out.status, 204);
  assert.match(String(out.headers['set-cookie']), /^netroot_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
  assert.equal((await call(port, '/api/v1/session', { headers: { cookie } })).status, 401);
});

test('host rows: pages by name through every host, filtered on the server, with totals', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/dashboard/hosts?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    const page = (await r.json()) as { items: { name: string; mac: string; state: string }[]; next: string | null; total: number };
    assert.equal(page.total, HOSTS);
    seen.push(...page.items.map((h) => h.name));
    cursor = page.next;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, HOSTS);
  assert.deepEqual(seen, [...seen].sort(), 'by name');
  assert.equal(new Set(seen).size, HOSTS);

  const q = async (qs: string) => (await (await fetch(`http://127.0.0.1:${port}/api/v1/dashboard/hosts?${qs}`)).json()) as any;
  const failed = await q('state=failed&limit=1000');
  assert.equal(failed.total, Math.ceil(HOSTS / 7));
  assert.ok(failed.items.every((h: any) => h.state === 'failed'));
  const logins = await q('appliance=compute-diskless&limit=1000');
  assert.equal(logins.total, HOSTS / 10);
  const byName = await q('q=COMPUTE-2-4');
  assert.deepEqual(
    byName.items.map((h: any) => h.name),
    [
      'compute-2-4',
      'compute-2-40',
      'compute-2-41',
      'compute-2-42',
      'compute-2-43',
      'compute-2-44',
      'compute-2-45',
      'compute-2-46',
      'compute-2-47',
      'compute-2-48',
      'compute-2-49',
    ],
  );
  const two = await q('names=compute-0-1,compute-1-2,nobody');
  assert.deepEqual(
    two.items.map((h: any) => [h.name, h.mac, h.ip, h.volume, h.power, h.lastEvent === null || typeof h.lastEvent.kind === 'string']),
    [
      ['compute-0-1', '52:54:00:ee:00:01', null, null, null, true],
      ['compute-1-2', '52:54:00:ee:00:66', null, null, null, true],
    ],
  );
  for (const [qs, where] of [
    ['state=sleeping', 'state'],
    [`q=${'x'.repeat(300)}`, 'q'],
    ['q=a&q=b', 'q'],
    ['limit=0', 'limit'],
    ['cursor=!!', 'cursor'],
    [`names=${Array.from({ length: 1001 }, (_, i) => `h${i}`).join(',')}`, 'names'],
  ] as const) {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/dashboard/hosts?${qs}`);
    assert.equal(r.status, 400, qs.slice(0, 30));
    const e = (await r.json()) as { code: string; message: string };
    assert.equal(e.code, 'E_BAD_REQUEST');
    assert.ok(e.message.startsWith(where), e.message);
  }
});

test('a power event and a status report show in the row; a removed host forgets its activity', async () => {
  await f.store.events.append({ kind: 'power', host: 'compute-0-3', detail: { action: 'on', pxe: false, ok: true, state: 'on' } });
  await f.store.events.append({
    kind: 'power',
    host: 'compute-0-3',
    detail: { action: 'off', pxe: false, ok: false, code: 'E_BMC_UNREACHABLE', message: 'x' },
  });
  await f.store.events.append({ kind: 'host.status', host: 'compute-0-4', detail: { state: 'installing', from: '127.0.0.9' } });
  const rows = (await (await fetch(`http://127.0.0.1:${port}/api/v1/dashboard/hosts?names=compute-0-3,compute-0-4`)).json()) as any;
  assert.deepEqual(
    rows.items.map((h: any) => [
      h.name,
      h.power && { state: h.power.state, action: h.power.action, ok: h.power.ok },
      h.status?.state ?? null,
      h.lastEvent.kind,
    ]),
    [
      ['compute-0-3', { state: 'on', action: 'off', ok: false }, null, 'power'],
      ['compute-0-4', null, 'installing', 'host.status'],
    ],
  );
});

test('boot information: the kernel arguments of an install; an unknown host is 404', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/hosts/compute-0-1/boot`);
  assert.equal(r.status, 200);
  const b = (await r.json()) as { action: string; args?: string; kernel?: string };
  assert.equal(b.action, 'install');
  assert.match(b.args!, /inst\.ks=http:\/\/[^ ]+\/install\/kickstart\/compute-0-1/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/hosts/nobody/boot`)).status, 404);
});

test('the new routes are in the OpenAPI document and their answers validate against it', async () => {
  const doc = (await (await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`)).json()) as any;
  for (const [path, method] of [
    ['/api/v1/session', 'post'],
    ['/api/v1/session', 'get'],
    ['/api/v1/session', 'delete'],
    ['/api/v1/dashboard/hosts', 'get'],
    ['/api/v1/hosts/{name}/boot', 'get'],
    ['/api/v1/graph', 'get'],
  ] as const)
    assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
  assert.ok(doc.paths['/api/v1/graph'].get.responses['200'].content['image/svg+xml']);
  const ajv = new Ajv2020({ strict: false });
  const schema = doc.paths['/api/v1/dashboard/hosts'].get.responses['200'].content['application/json'].schema;
  const validate = ajv.compile({ ...schema, components: doc.components });
  const body = await (await fetch(`http://127.0.0.1:${port}/api/v1/dashboard/hosts?limit=5`)).json();
  assert.ok(validate(body), JSON.stringify(validate.errors));
  assert.equal(validate({ items: [{ name: 1 }], next: null, total: 1 }), false);
});

test('event stream ?named=0: frames without `event:` (every kind reaches EventSource.onmessage); a bad value is 400', async () => {
  const ac = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/events/stream?named=0&after=0`, { signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const firstFrame = async (): Promise<string> => {
    let text = '';
    while (!/\ndata: /.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before a data frame: ${JSON.stringify(text)}`);
      text += new TextDecoder().decode(value);
    }
    return text;
  };
  const text = await within(firstFrame(), 10_000, 'a data frame on the event stream').finally(() => ac.abort());
  assert.match(text, /id: \d+\ndata: \{/);
  assert.doesNotMatch(text, /^event:/m);
  const bad = await fetch(`http://127.0.0.1:${port}/api/v1/events/stream?named=2`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { message: string }).message.startsWith('named'), true);
});
