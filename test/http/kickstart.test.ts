import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { Router } from 'express';
import { loadConfig } from '../../src/config/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { fixtureHost, iscsiAttrs, loopbackFrontend } from '../helpers/loopback-frontend.js';
import { waitFor } from '../helpers/wait.js';

function get(
  port: number,
  path: string,
  localAddress = '127.0.0.1',
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The loopback frontend (compute-0-0 at 127.0.0.2), started. */
function frontendWith(overrides: Record<string, string> = {}) {
  return loopbackFrontend({ prefix: 'nrt-http-', overrides });
}

test('kickstart by name: served to the node itself and to loopback admin, refused to others', async () => {
  const { f, dir } = await frontendWith();
  try {
    const own = await get(f.httpPort(), '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.equal(own.status, 200, own.body);
    assert.match(own.body, /%packages/);
    assert.match(String(own.headers['content-type']), /text\/plain/);
    const admin = await get(f.httpPort(), '/install/kickstart/compute-0-0', '127.0.0.1');
    assert.equal(admin.status, 200);
    const other = await get(f.httpPort(), '/install/kickstart/compute-0-0', '127.0.0.3');
    assert.equal(other.status, 403);
    assert.equal(JSON.parse(other.body).code, 'E_FORBIDDEN');
    assert.doesNotMatch(other.body, /%packages/);
    const missing = await get(f.httpPort(), '/install/kickstart/compute-9-9');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).code, 'E_HOST_NOT_FOUND');
    const h = await f.store.hosts.get('compute-0-0');
    assert.equal(h?.state, 'kickstarted');
    const events = await f.store.events.list({ kind: 'host.kickstarted' });
    assert.equal(events.length, 1, "the node's fetch is an event; the loopback preview is not");
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('kickstart by source address, like Rocks', async () => {
  const { f, dir } = await frontendWith();
  try {
    const r = await get(f.httpPort(), '/install/kickstart', '127.0.0.2');
    assert.equal(r.status, 200);
    assert.match(r.body, /compute-0-0/);
    const unknown = await get(f.httpPort(), '/install/kickstart', '127.0.0.9');
    assert.equal(unknown.status, 404);
    assert.match(JSON.parse(unknown.body).message, /no host has address 127.0.0.9/);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('under load the server sheds with 503 + Retry-After instead of queuing', async () => {
  const dir = tempStateDir('nrt-http-');
  const config = loadConfig({
    env: {},
    overrides: {
      stateDir: dir,
      'http.host': '127.0.0.1',
      'http.port': '0',
      'http.maxInFlight': '2',
      'http.retryAfterSeconds': '3',
      'tftp.enabled': 'false',
      'iscsi.host': '127.0.0.1',
      'iscsi.port': '0',
    },
  });
  const { createHttpApp } = await import('../../src/http/app.js');
  const { KickstartService } = await import('../../src/boot/kickstart.js');
  const { openStore } = await import('../../src/store/index.js');
  const { silentLogger } = await import('../../src/log/logger.js');
  const store = openStore(dir);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = Router();
  slow.get('/slow', async (_req, res) => {
    await gate;
    res.send('done');
  });
  const { InstallTokens } = await import('../../src/boot/install-tokens.js');
  const { app, stats } = createHttpApp({
    repos: store,
    kickstarts: new KickstartService(store, config),
    tokens: new InstallTokens(store),
    logger: silentLogger,
    maxInFlight: 2,
    retryAfterSeconds: 3,
    routers: [slow],
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  try {
    const held = [get(port, '/slow'), get(port, '/slow')];
    await waitFor(() => stats.inFlight === 2, { what: 'both /slow requests in flight', timeoutMs: 10_000 });
    const shed = await get(port, '/healthz');
    assert.equal(shed.status, 503);
    assert.equal(shed.headers['retry-after'], '3');
    release();
    const done = await Promise.all(held);
    assert.deepEqual(
      done.map((d) => d.status),
      [200, 200],
    );
    const after = await get(port, '/healthz');
    assert.equal(after.status, 200);
    assert.equal(stats.shed, 1);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true });
  }
});

test('a broken profile: the node gets an error, and its state, its earlier token and the events log are untouched', async () => {
  const { cpSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { InstallTokens } = await import('../../src/boot/install-tokens.js');
  const rolesCopy = join(tempStateDir('nrt-roles-'), 'roles');
  cpSync('roles', rolesCopy, { recursive: true });
  const { f, dir } = await frontendWith({ 'profile.rolesDir': rolesCopy });
  try {
    const first = await get(f.httpPort(), '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.equal(first.status, 200, first.body);
    const token = /netroot\.reportStatus<\/methodName><params><param><value><string>([A-Za-z0-9_-]{16,})<\/string>/.exec(first.body)?.[1];
    assert.ok(token, 'the kickstart carries the install token');
    await f.store.hosts.update('compute-0-0', { state: 'discovered' });
    const eventsBefore = (await f.store.events.list({ kind: 'host.kickstarted' })).length;
    writeFileSync(join(rolesCopy, 'base', 'ntp.xml'), '<?xml version="1.0"?>\n<kickstart>\n<post>\n</kickstart>\n');
    const broken = await get(f.httpPort(), '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.notEqual(broken.status, 200);
    assert.equal(JSON.parse(broken.body).code, 'E_PROFILE_INVALID');
    assert.match(JSON.parse(broken.body).message, /ntp\.xml:4: malformed XML/);
    assert.doesNotMatch(broken.body, /%packages/);
    assert.equal((await f.store.hosts.get('compute-0-0'))?.state, 'discovered');
    assert.equal((await f.store.events.list({ kind: 'host.kickstarted' })).length, eventsBefore);
    const still = await new InstallTokens(f.store).verify(token, '127.0.0.2');
    assert.equal(still.host, 'compute-0-0', 'the token the node already holds still works');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
    rmSync(join(rolesCopy, '..'), { recursive: true });
  }
});

test('a bad attribute value: the node gets an error naming the attribute, never a broken kickstart or a secret; it is logged', async () => {
  const { BAD_VALUES, secretPieces } = await import('../profile/kickstart-bad-values.js');
  const { createLogger } = await import('../../src/log/logger.js');
  const logs: string[] = [];
  const iscsi = iscsiAttrs('compute-0-1', 'GoldenSecret123');
  const { f, dir } = await loopbackFrontend({
    prefix: 'nrt-http-',
    logger: createLogger({ write: (l) => logs.push(l) }),
    hosts: [fixtureHost(0), fixtureHost(1, { appliance: 'compute-diskless', attrs: iscsi })],
  });
  try {
    const from = { 'compute-0-0': '127.0.0.2', 'compute-0-1': '127.0.0.3' } as const;
    for (const h of ['compute-0-0', 'compute-0-1'] as const) assert.equal((await get(f.httpPort(), `/install/kickstart/${h}`, from[h])).status, 200, h);
    for (const bad of BAD_VALUES) {
      await f.store.attributes.set({ scope: 'host', target: bad.host, name: bad.name, value: bad.value });
      await f.store.hosts.update(bad.host, { state: 'discovered' });
      const events = (await f.store.events.list({ kind: 'host.kickstarted' })).length;
      const logged = logs.length;
      for (const source of [from[bad.host], '127.0.0.1']) {
        const r = await get(f.httpPort(), `/install/kickstart/${bad.host}`, source);
        assert.equal(r.status, 400, `${bad.name} from ${source}: ${r.body}`);
        const body = JSON.parse(r.body) as { code: string; message: string };
        assert.equal(body.code, 'E_KICKSTART_ATTRIBUTE');
        assert.ok(body.message.startsWith(`${bad.name}: the value `), body.message);
        assert.doesNotMatch(r.body, /%packages|^lang /m, 'no kickstart');
        if (bad.secret) for (const p of secretPieces(bad.value)) assert.ok(!r.body.includes(p), `${r.body} shows ${p}`);
      }
      const lines = logs.slice(logged).filter((l) => l.includes('E_KICKSTART_ATTRIBUTE'));
      assert.equal(lines.length, 2, `logged: ${logs.slice(logged).join('\n')}`);
      assert.match(lines[0]!, /request refused .*path="\/install\/kickstart\/compute-0-\d".*status=400/);
      if (bad.secret) for (const p of secretPieces(bad.value)) assert.ok(!logs.join('\n').includes(p), 'no secret in the log');
      assert.equal((await f.store.hosts.get(bad.host))?.state, 'discovered', 'the host state is untouched');
      assert.equal((await f.store.events.list({ kind: 'host.kickstarted' })).length, events, 'no kickstarted event');
      if (iscsi[bad.name] !== undefined) await f.store.attributes.set({ scope: 'host', target: bad.host, name: bad.name, value: iscsi[bad.name]! });
      else await f.store.attributes.unset('host', bad.host, bad.name);
    }
    await f.store.hosts.add({ name: 'compute_0_9', appliance: 'compute', rack: 0, rank: 9, interfaces: [] });
    const r = await get(f.httpPort(), '/install/kickstart/compute_0_9');
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /^hostname: the value "compute_0_9" is not a host name/);
    for (const h of ['compute-0-0', 'compute-0-1'] as const)
      assert.equal((await get(f.httpPort(), `/install/kickstart/${h}`, from[h])).status, 200, `${h} is served again`);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
