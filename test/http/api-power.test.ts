// REST BMC entries and power against a real frontend and a real ipmi_sim BMC on loopback:
// PUT/GET/DELETE /api/v1/hosts/{name}/bmc (secret masked like a CHAP secret), POST …/power (on,
// status, off with pxe, failures with their code's status), every action a 'power' event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { startFrontend, type TestFrontend } from '../helpers/frontend.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { freeUdpPort } from '../helpers/ports.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { bmcAnswer, powerAnswer } from '../../src/http/power-routes.js';
import { apiError } from '../../src/http/api-schemas.js';
import { waitFor } from '../helpers/wait.js';

const TOOLS: Array<[string, string]> = [
  ['ipmi_sim', 'openipmi'],
  ['ipmitool', 'ipmitool'],
];
const skip = skipUnless(TOOLS);
let fe: TestFrontend;
let sim: IpmiSim;

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  sim = await startIpmiSim();
  fe = await startFrontend();
  for (const [i, name] of ['compute-0-0', 'compute-0-1', 'compute-0-2'].entries())
    await fe.f.store.hosts.add({
      name,
      appliance: 'compute',
      rack: 0,
      rank: i,
      interfaces: [{ mac: `52:54:00:bb:00:0${i}`, ip: null, subnet: null, device: 'eth0' }],
    });
});
after(async () => {
  await fe?.f.stop();
  if (fe) rmSync(fe.dir, { recursive: true, force: true });
  await sim?.stop();
});

async function call(method: string, path: string, body?: unknown, auth = true): Promise<{ status: number; body: any }> {
  const res = await fetch(`${fe.api}${path}`, {
    method,
    headers: auth ? fe.auth : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

test('REST bmc: PUT, GET masked, showSecrets only with the token, DELETE; bad entries are E_BMC_BAD', { skip }, async () => {
  const entry = { driver: 'ipmi', address: '127.0.0.1', port: sim.port, user: sim.user, secret: sim.password };
  assert.equal((await call('PUT', '/hosts/compute-0-0/bmc', entry, false)).status, 401);
  const put = await call('PUT', '/hosts/compute-0-0/bmc', entry);
  assert.equal(put.status, 200);
  bmcAnswer.parse(put.body);
  assert.equal(put.body.secret, '********');
  const get = await call('GET', '/hosts/compute-0-0/bmc', undefined, false);
  assert.equal(get.status, 200);
  assert.deepEqual(get.body, { host: 'compute-0-0', ...entry, secret: '********', insecureTls: false, systemId: null });
  assert.ok(!JSON.stringify(get.body).includes(sim.password));
  assert.equal((await call('GET', '/hosts/compute-0-0/bmc?showSecrets=1', undefined, false)).status, 401);
  assert.equal((await call('GET', '/hosts/compute-0-0/bmc?showSecrets=1')).body.secret, sim.password);

  for (const [bad, where] of [
    [{ ...entry, address: 'bmc one!' }, 'address'],
    [{ ...entry, address: '300.1.2.3' }, 'address'],
    [{ ...entry, secret: 'tab\tin it' }, 'secret'],
    [{ ...entry, systemId: 'x' }, 'systemId'],
  ] as const) {
    const r = await call('PUT', '/hosts/compute-0-1/bmc', bad);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'E_BMC_BAD');
    assert.match(r.body.message, new RegExp(`^${where}:`));
    assert.ok(!r.body.message.includes('tab\tin it'));
  }
  assert.equal((await call('PUT', '/hosts/compute-0-1/bmc', { ...entry, port: 0 })).body.code, 'E_BAD_REQUEST');
  assert.equal((await call('PUT', '/hosts/compute-0-1/bmc', { ...entry, driver: 'telnet' })).status, 400);
  assert.equal((await call('PUT', '/hosts/nope-9-9/bmc', entry)).body.code, 'E_HOST_NOT_FOUND');
  assert.equal((await call('GET', '/hosts/compute-0-1/bmc')).body.code, 'E_BMC_NOT_SET');

  await call('PUT', '/hosts/compute-0-2/bmc', entry);
  assert.equal((await call('DELETE', '/hosts/compute-0-2/bmc', undefined, false)).status, 401);
  assert.equal((await call('DELETE', '/hosts/compute-0-2/bmc')).status, 204);
  const again = await call('DELETE', '/hosts/compute-0-2/bmc');
  assert.equal(again.status, 404);
  assert.equal(again.body.code, 'E_BMC_NOT_SET');
  // 405 and OpenAPI stay computed
  assert.equal((await call('PATCH', '/hosts/compute-0-0/bmc', {})).status, 405);
  const doc = (await (await fetch(`${fe.api}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(doc.paths['/api/v1/hosts/{name}/bmc']!).sort(), ['delete', 'get', 'put']);
  assert.deepEqual(Object.keys(doc.paths['/api/v1/hosts/{name}/power']!), ['post']);
});

test('REST power: on/status/off --pxe through ipmi_sim; each is a power event; failures carry their status', { skip }, async () => {
  const entry = { driver: 'ipmi', address: '127.0.0.1', port: sim.port, user: sim.user, secret: sim.password };
  await call('PUT', '/hosts/compute-0-0/bmc', entry);
  assert.equal((await call('POST', '/hosts/compute-0-0/power', { action: 'on' }, false)).status, 401);
  const on = await call('POST', '/hosts/compute-0-0/power', { action: 'on', pxe: true });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.deepEqual(powerAnswer.parse(on.body), { host: 'compute-0-0', action: 'on', ok: true, state: 'on' });
  assert.ok(sim.isOn());
  assert.equal(sim.bootDevice(), 'pxe');
  assert.equal((await call('POST', '/hosts/compute-0-0/power', { action: 'status' })).body.state, 'on');
  assert.equal((await call('POST', '/hosts/compute-0-0/power', { action: 'off' })).body.state, 'off');
  assert.equal(sim.isOn(), false);
  assert.equal((await call('POST', '/hosts/compute-0-0/power', { action: 'explode' })).status, 400);

  // wrong password: 400 E_BMC_AUTH naming host and BMC
  await call('PUT', '/hosts/compute-0-1/bmc', { ...entry, secret: 'WrongPass1' });
  const auth = await call('POST', '/hosts/compute-0-1/power', { action: 'on' });
  assert.equal(auth.status, 400);
  apiError.parse(auth.body);
  assert.equal(auth.body.code, 'E_BMC_AUTH');
  assert.match(auth.body.message, /compute-0-1: BMC 127\.0\.0\.1/);
  assert.ok(!auth.body.message.includes('WrongPass1'));
  // nothing listens: 502/504
  await call('PUT', '/hosts/compute-0-2/bmc', { ...entry, port: await freeUdpPort() });
  const down = await call('POST', '/hosts/compute-0-2/power', { action: 'status' });
  assert.ok([502, 504].includes(down.status), `${down.status} ${JSON.stringify(down.body)}`);
  assert.match(down.body.code, /^E_BMC_(UNREACHABLE|TIMEOUT)$/);
  await call('DELETE', '/hosts/compute-0-2/bmc');
  const none = await call('POST', '/hosts/compute-0-2/power', { action: 'on' });
  assert.equal(none.status, 404);
  assert.equal(none.body.code, 'E_BMC_NOT_SET');

  const events = (await call('GET', '/events?kind=power')).body.items as Array<{ host: string; detail: Record<string, unknown> }>;
  assert.deepEqual(
    events.map((e) => [e.host, e.detail['action'], e.detail['ok']]),
    [
      ['compute-0-0', 'on', true],
      ['compute-0-0', 'status', true],
      ['compute-0-0', 'off', true],
      ['compute-0-1', 'on', false],
      ['compute-0-2', 'status', false],
      ['compute-0-2', 'on', false],
    ],
  );
  assert.deepEqual(events[0]!.detail, { action: 'on', pxe: true, ok: true, state: 'on' });
  assert.equal(events[3]!.detail['code'], 'E_BMC_AUTH');
  assert.ok(!JSON.stringify(events).includes(sim.password) && !JSON.stringify(events).includes('WrongPass1'));
});

test('REST power: a client that goes away aborts the BMC call (recorded as E_BMC_TIMEOUT, long before the deadline)', { skip }, async () => {
  // A BMC that reads and never answers: ipmitool would wait out its retries, the route's deadline 20 s.
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  try {
    const entry = { driver: 'ipmi', address: '127.0.0.1', port: silent.address().port, user: sim.user, secret: sim.password };
    await call('PUT', '/hosts/compute-0-2/bmc', entry);
    const before = (await call('GET', '/events?kind=power&host=compute-0-2')).body.items.length as number;
    const ac = new AbortController();
    const t0 = Date.now();
    const pending = fetch(`${fe.api}/hosts/compute-0-2/power`, { method: 'POST', headers: fe.auth, body: JSON.stringify({ action: 'on' }), signal: ac.signal });
    // timed input, not a wait: the client goes away while the BMC call runs.
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(pending);
    const items = await waitFor(
      async () => {
        const got = (await call('GET', '/events?kind=power&host=compute-0-2')).body.items as Array<{ detail: Record<string, unknown> }>;
        return got.length > before && got;
      },
      { what: 'the power event of the aborted call', timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(items.length, before + 1);
    assert.equal(items.at(-1)!.detail['code'], 'E_BMC_TIMEOUT');
    assert.match(String(items.at(-1)!.detail['message']), /aborted/);
    assert.ok(Date.now() - t0 < 5000, `aborted after ${Date.now() - t0} ms`);
  } finally {
    silent.close();
  }
});
