// netroot's Redfish driver (src/power/redfish.ts) over the whole protocol path against the lab's
// Redfish BMC (src/lab/redfish-bmc.ts, itself checked by redfishtool and python3-sushy in
// test/lab/redfish-bmc.test.ts): Basic auth first, a session when Basic is turned off, every action, the PXE boot override,
// system discovery, and every error — wrong credentials, an unreachable BMC, certificates (self-signed,
// another CA's, with and without insecureTls), BMCs answering garbage (tiny raw HTTPS/TCP servers
// here), a BMC that never answers, a cancelled call. Only loopback traffic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { MemorySystem, RedfishBmc, selfSignedCert } from '../../src/lab/redfish-bmc.js';
import { RedfishDriver } from '../../src/power/redfish.js';
import type { BmcEntry } from '../../src/power/types.js';
import { tempStateDir } from '../helpers/tmp.js';

const USER = 'root';
const SECRET = 'Bmc-s3cret-pw';

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile('openssl', args, { timeout: 30_000 }, (e, _o, stderr) => (e ? reject(new Error(stderr)) : resolve())));
}

/** A test CA and a leaf for 127.0.0.1 signed by it: a BMC certificate that verifies without insecureTls. */
async function caSigned(dir: string): Promise<{ ca: Buffer; key: Buffer; cert: Buffer }> {
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=netroot test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  await openssl(['req', ...ec, '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/CN=bmc']);
  writeFileSync(p('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    p('leaf.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('leaf.pem'),
    '-days',
    '2',
    '-extfile',
    p('leaf.ext'),
  ]);
  return { ca: readFileSync(p('ca.pem')), key: readFileSync(p('leaf.key')), cert: readFileSync(p('leaf.pem')) };
}

function entry(port: number, over: Partial<BmcEntry> = {}): BmcEntry {
  return { host: 'compute-0-0', driver: 'redfish', address: '127.0.0.1', port, user: USER, secret: SECRET, insecureTls: false, systemId: null, ...over };
}

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<Error & { code: string }> {
  const e = await p.then(
    () => assert.fail(`resolved; expected ${code}`),
    (err: unknown) => err as Error & { code: string },
  );
  assert.equal(e.code, code, e.message);
  assert.match(e.message, /^compute-0-0: Redfish BMC 127\.0\.0\.1:\d+: /, 'names the host and the BMC address');
  assert.ok(!e.message.includes(SECRET), `no secret in: ${e.message}`);
  assert.ok(!e.message.includes(Buffer.from(`${USER}:${SECRET}`).toString('base64')), 'no Basic credentials');
  if (re) assert.match(e.message, re);
  return e;
}

describe('Redfish driver against the lab BMC', () => {
  let dir: string;
  let ca: Buffer;
  let bmc: RedfishBmc; // CA-signed certificate, sessions on
  let basicBmc: RedfishBmc; // self-signed, no SessionService
  let sessionBmc: RedfishBmc; // self-signed, Basic turned off (AccountService.HTTPBasicAuth Disabled)
  const sys = new MemorySystem('Off');
  const s1 = new MemorySystem('Off');
  const s2 = new MemorySystem('Off');
  const noCycle = new MemorySystem('On');
  const limited = new MemorySystem('Off');
  const b0 = new MemorySystem('Off');
  const so = new MemorySystem('Off');
  const ports: Record<string, number> = {};
  let driver: RedfishDriver;

  before(async () => {
    dir = tempStateDir('nrt-redfish-');
    const signed = await caSigned(dir);
    ca = signed.ca;
    bmc = await RedfishBmc.create({
      systems: [
        { id: 'sys', backend: sys },
        { id: 's1', backend: s1 },
        { id: 's2', backend: s2 },
        { id: 'nocycle', backend: noCycle, resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart'] },
        { id: 'limited', backend: limited, resetTypes: ['ForceOn', 'ForceOff'], bootTargets: ['None', 'Hdd'] },
      ],
      users: [{ name: USER, password: SECRET }],
      tls: { key: signed.key, cert: signed.cert },
    });
    ports.sys = (await bmc.listen({ systems: ['sys'] })).port;
    ports.multi = (await bmc.listen({ systems: ['s1', 's2'] })).port;
    ports.nocycle = (await bmc.listen({ systems: ['nocycle'] })).port;
    ports.limited = (await bmc.listen({ systems: ['limited'] })).port;
    ports.empty = (await bmc.listen({ systems: [] })).port;
    basicBmc = await RedfishBmc.create({
      systems: [{ id: 'b0', backend: b0 }],
      users: [{ name: USER, password: SECRET }],
      workDir: join(dir, 'self'),
      sessions: false,
    });
    ports.basic = (await basicBmc.listen()).port;
    sessionBmc = await RedfishBmc.create({
      systems: [{ id: 'so', backend: so }],
      users: [{ name: USER, password: SECRET }],
      workDir: join(dir, 'session-only'),
      basicAuth: false,
    });
    ports.session = (await sessionBmc.listen()).port;
    driver = new RedfishDriver({ ca, requestTimeoutMs: 5000 });
  });
  after(async () => {
    await bmc.close();
    await basicBmc.close();
    await sessionBmc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Basic first (the BMC offers sessions too): every action with its ResetType; PXE once before on/reset/cycle; no session opened', async () => {
    const e = entry(ports.sys as number);
    assert.deepEqual(await driver.run(e, { action: 'status' }), { state: 'off' });
    assert.deepEqual(await driver.run(e, { action: 'on', pxe: true }), { state: 'on' });
    assert.deepEqual(sys.boots, ['Pxe']);
    assert.deepEqual(bmc.bootOverride('sys'), { target: 'None', enabled: 'Disabled', mode: 'UEFI' }, 'the Once override was consumed');
    assert.deepEqual(await driver.run(e, { action: 'soft' }), { state: 'off' });
    assert.deepEqual(await driver.run(e, { action: 'on' }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'reset', pxe: true }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'cycle' }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'cycle', pxe: true }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'off' }), { state: 'off' });
    assert.deepEqual(await driver.run(e, { action: 'status' }), { state: 'off' });
    assert.deepEqual(sys.history, ['on:Pxe', 'off:graceful', 'on:None', 'reset:force:Pxe', 'reset:cycle:None', 'reset:cycle:Pxe', 'off:force']);
    assert.equal(bmc.sessionCount, 0, 'no session was left open');
  });

  test('Basic turned off: one session login per call, the refused request repeated with the token, the session deleted (counted by the emulator)', async () => {
    const count = async (p: Promise<unknown>) => {
      const n0 = sessionBmc.requestCount;
      await p;
      return sessionBmc.requestCount - n0;
    };
    const e = entry(ports.session as number, { insecureTls: true, systemId: 'so' });
    // GET system (401 to Basic), POST login, GET system, DELETE session
    assert.equal(await count(driver.run(e, { action: 'status' })), 4);
    // POST Reset (401: nothing done), POST login, POST Reset, GET system, DELETE session
    assert.equal(await count(driver.run(e, { action: 'cycle' })), 5);
    assert.deepEqual(await driver.run(e, { action: 'off' }), { state: 'off' });
    // Without the id, with PXE: the root's Sessions link is where the session is opened.
    assert.deepEqual(await driver.run(entry(ports.session as number, { insecureTls: true }), { action: 'on', pxe: true }), { state: 'on' });
    assert.deepEqual(so.history, ['reset:cycle:None', 'off:force', 'on:Pxe']);
    assert.equal(sessionBmc.sessionCount, 0, 'every call deleted its session');
    await rejectsWith(
      driver.run({ ...e, secret: 'nope-nope' }, { action: 'cycle' }),
      'E_BMC_AUTH',
      /POST \/redfish\/v1\/Systems\/so\/Actions\/ComputerSystem.Reset: HTTP 401: the BMC refused user "root" \(Basic auth.*; session login: HTTP 401/,
    );
    assert.equal(so.history.length, 3, 'refused twice, nothing done');
  });

  test('cycle without PowerCycle in the allowable values: ForceOff + On (only On when already off)', async () => {
    const e = entry(ports.nocycle as number);
    assert.deepEqual(await driver.run(e, { action: 'cycle', pxe: true }), { state: 'on' });
    assert.deepEqual(noCycle.history, ['off:force', 'on:Pxe']);
    await driver.run(e, { action: 'off' });
    noCycle.history.length = 0;
    assert.deepEqual(await driver.run(e, { action: 'cycle' }), { state: 'on' });
    assert.deepEqual(noCycle.history, ['on:None']);
  });

  test('on with only ForceOn allowed uses ForceOn; soft and PXE outside the allowable values are E_BMC_UNSUPPORTED and reach nothing', async () => {
    const e = entry(ports.limited as number);
    assert.deepEqual(await driver.run(e, { action: 'on' }), { state: 'on' });
    assert.deepEqual(limited.history, ['on:None']);
    await rejectsWith(driver.run(e, { action: 'soft' }), 'E_BMC_UNSUPPORTED', /GracefulShutdown is not among .*ForceOn, ForceOff/);
    await rejectsWith(driver.run(e, { action: 'reset' }), 'E_BMC_UNSUPPORTED', /ForceRestart/);
    await rejectsWith(driver.run(e, { action: 'on', pxe: true }), 'E_BMC_UNSUPPORTED', /Pxe is not among .*None, Hdd/);
    assert.deepEqual(limited.history, ['on:None']);
    assert.deepEqual(bmc.bootOverride('limited').target, 'None');
    assert.equal(bmc.sessionCount, 0, 'deleted after errors too');
  });

  test('Basic auth when the service has no SessionService: every action', async () => {
    const e = entry(ports.basic as number, { insecureTls: true });
    assert.deepEqual(await driver.run(e, { action: 'status' }), { state: 'off' });
    assert.deepEqual(await driver.run(e, { action: 'on', pxe: true }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'reset' }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'cycle' }), { state: 'on' });
    assert.deepEqual(await driver.run(e, { action: 'soft' }), { state: 'off' });
    assert.deepEqual(await driver.run(e, { action: 'off' }), { state: 'off' });
    assert.deepEqual(b0.history, ['on:Pxe', 'reset:force:None', 'reset:cycle:None', 'off:graceful', 'off:force']);
    await rejectsWith(driver.run({ ...e, secret: 'wrong-one' }, { action: 'status' }), 'E_BMC_AUTH', /HTTP 401: the BMC refused user "root" \(Basic auth/);
  });

  test('system discovery: systemId picks one of several; none with several, or an unknown id, is E_BMC_BAD naming what is there', async () => {
    const e = entry(ports.multi as number);
    assert.deepEqual(await driver.run({ ...e, systemId: 's2' }, { action: 'on' }), { state: 'on' });
    assert.deepEqual(s2.history, ['on:None']);
    assert.deepEqual(s1.history, []);
    await rejectsWith(driver.run(e, { action: 'on' }), 'E_BMC_BAD', /has 2 systems \(s1, s2\): set the BMC entry's system id/);
    await rejectsWith(driver.run({ ...e, systemId: 'zz' }, { action: 'on' }), 'E_BMC_BAD', /no system "zz" at \/redfish\/v1\/Systems \(there: s1, s2\)/);
    await rejectsWith(driver.run(entry(ports.empty as number), { action: 'status' }), 'E_BMC_PROTOCOL', /has no system/);
    assert.deepEqual(s1.history, []);
  });

  test('a BMC entry with its systemId: the reset posted at its standard URI at once, then the state read — two requests (counted by the emulator)', async () => {
    const count = async (b: RedfishBmc, p: Promise<unknown>) => {
      const n0 = b.requestCount;
      await p;
      return b.requestCount - n0;
    };
    const e = entry(ports.sys as number, { systemId: 'sys' });
    // GET system
    assert.equal(await count(bmc, driver.run(e, { action: 'status' })), 1);
    // POST Reset, GET system
    assert.equal(await count(bmc, driver.run(e, { action: 'cycle' })), 2);
    // without the id: GET root, GET Systems, GET system, POST Reset, GET system
    assert.equal(await count(bmc, driver.run(entry(ports.sys as number), { action: 'cycle' })), 5);
    assert.deepEqual(sys.history.slice(-2), ['reset:cycle:None', 'reset:cycle:None']);
    const h = sys.history.length;
    await rejectsWith(driver.run({ ...e, secret: 'nope-nope' }, { action: 'cycle' }), 'E_BMC_AUTH', /the BMC refused user "root"/);
    assert.equal(sys.history.length, h, 'a refused login reaches nothing');
    assert.equal(bmc.sessionCount, 0);
    assert.deepEqual(await driver.run(e, { action: 'off' }), { state: 'off' }); // as the tests below expect it
    // A ResetType the system does not allow: the BMC refuses the fast POST (400, nothing done), the
    // reading path picks from the allowable values: POST On (400), GET system, POST ForceOn, GET system.
    const l = entry(ports.limited as number, { systemId: 'limited' });
    limited.state = 'Off';
    const hl = limited.history.length;
    assert.equal(await count(bmc, driver.run(l, { action: 'on' })), 4);
    await rejectsWith(driver.run(l, { action: 'soft' }), 'E_BMC_UNSUPPORTED', /GracefulShutdown is not among .*ForceOn, ForceOff/);
    assert.deepEqual(limited.history.slice(hl), ['on:None']);
    await driver.run(l, { action: 'off' });
    limited.history.splice(hl);
    limited.state = 'Off';
    // No SessionService: the same two requests.
    const b = entry(ports.basic as number, { insecureTls: true, systemId: 'b0' });
    const h0 = b0.history.length;
    assert.equal(await count(basicBmc, driver.run(b, { action: 'cycle' })), 2);
    assert.deepEqual(b0.history.slice(h0), ['reset:cycle:None']);
    // The certificate test below expects b0 as the Basic test left it (its history and Off).
    b0.history.splice(h0);
    b0.state = 'Off';
    await rejectsWith(driver.run({ ...b, secret: 'wrong-one' }, { action: 'status' }), 'E_BMC_AUTH', /HTTP 401: the BMC refused user "root" \(Basic auth/);
  });

  test('wrong user or password: E_BMC_AUTH naming the user, never the secret', async () => {
    const e = entry(ports.sys as number);
    await rejectsWith(
      driver.run({ ...e, secret: 'nope-nope' }, { action: 'on' }),
      'E_BMC_AUTH',
      /HTTP 401: the BMC refused user "root" \(Basic auth.*; session login: HTTP 401: .*ResourceAtUriUnauthorized/,
    );
    await rejectsWith(driver.run({ ...e, user: 'admin' }, { action: 'status' }), 'E_BMC_AUTH');
    assert.equal(bmc.sessionCount, 0);
  });

  test('certificates: self-signed refused unless insecureTls; a CA-signed one verifies only against its CA', async () => {
    const self = entry(ports.basic as number);
    await rejectsWith(driver.run(self, { action: 'status' }), 'E_BMC_TLS', /DEPTH_ZERO_SELF_SIGNED_CERT.*set insecure-tls on the BMC entry/);
    assert.deepEqual(await driver.run({ ...self, insecureTls: true }, { action: 'status' }), { state: 'off' });
    const plain = new RedfishDriver(); // Node's roots only: the test CA is unknown
    await rejectsWith(
      plain.run(entry(ports.sys as number), { action: 'status' }),
      'E_BMC_TLS',
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/,
    );
    assert.deepEqual(await plain.run(entry(ports.sys as number, { insecureTls: true }), { action: 'status' }), { state: 'off' });
    assert.equal(b0.history.length, 5, 'nothing was sent through a refused certificate');
  });

  test('an unreachable BMC: E_BMC_UNREACHABLE', async () => {
    const srv = createNetServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await rejectsWith(driver.run(entry(port), { action: 'on' }), 'E_BMC_UNREACHABLE', /GET \/redfish\/v1\/: ECONNREFUSED/);
  });

  test('an invalid BMC entry: E_BMC_BAD before any request', async () => {
    await assert.rejects(driver.run(entry(443, { address: 'a b/c' }), { action: 'status' }), { code: 'E_BMC_BAD' });
    await assert.rejects(driver.run(entry(70000), { action: 'status' }), { code: 'E_BMC_BAD' });
  });
});

describe('Redfish driver against BMCs that answer garbage', () => {
  let dir: string;
  let srv: HttpsServer;
  let port: number;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  const driver = new RedfishDriver({ requestTimeoutMs: 3000, maxResponseBytes: 64 * 1024 });
  const e = () => entry(port, { insecureTls: true });
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
  const root = {
    '@odata.id': '/redfish/v1',
    Systems: { '@odata.id': '/redfish/v1/Systems' },
    Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } },
  };

  before(async () => {
    dir = tempStateDir('nrt-redfish-g-');
    const tls = await selfSignedCert(dir);
    srv = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => handler(req, res));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    port = (srv.address() as { port: number }).port;
  });
  after(async () => {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, (req: IncomingMessage, res: ServerResponse) => void, RegExp][] = [
    ['HTML instead of JSON', (_q, s) => s.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>login</html>'), /HTTP 200 with a body that is not JSON/],
    ['a JSON array', (_q, s) => json(s, 200, [1, 2]), /JSON that is not an object/],
    ['an empty body', (_q, s) => s.writeHead(200).end(), /HTTP 200 with no body/],
    ['a root without Systems', (_q, s) => json(s, 200, { Name: 'x' }), /the service root has no Systems\/@odata.id/],
    [
      'HTTP 500 with a Redfish error',
      (_q, s) => json(s, 500, { error: { code: 'Base.1.0.InternalError', message: 'boom\n\u0000' } }),
      /unexpected HTTP 500: Base\.1\.0\.InternalError boom/,
    ],
    ['a redirect', (_q, s) => s.writeHead(302, { Location: 'https://127.0.0.2/redfish/v1/' }).end(), /unexpected HTTP 302/],
    ['a body over the bound', (_q, s) => json(s, 200, { pad: 'x'.repeat(100 * 1024) }), /larger than 65536 bytes/],
    [
      'Systems on another host',
      (_q, s) => json(s, 200, { ...root, Systems: { '@odata.id': 'https://evil.example/redfish/v1/Systems' } }),
      /points away from the BMC/,
    ],
    [
      'the connection closed mid-answer',
      (_q, s) => {
        s.writeHead(200, { 'Content-Length': '100' });
        s.write('{"a');
        // timed input, not a wait: the BMC drops the connection after part of the answer.
        setTimeout(() => s.socket?.destroy(), 20);
      },
      /GET \/redfish\/v1\//,
    ],
    [
      'a login that answers 201 with no token',
      // Basic refused below the root, so the driver logs in: 201 without X-Auth-Token.
      (q, s) => (q.method === 'POST' ? json(s, 201, {}) : q.url === '/redfish/v1/' ? json(s, 200, root) : json(s, 401, {})),
      /session login answered 201 without a usable X-Auth-Token/,
    ],
    [
      'a system with no Reset action',
      (q, s) => {
        if (q.method === 'POST') return json(s, 201, {}, { 'X-Auth-Token': 'tok', Location: '/redfish/v1/SessionService/Sessions/1' });
        if (q.method === 'DELETE') return s.writeHead(204).end();
        if (q.url === '/redfish/v1/Systems') return json(s, 200, { Members: [{ '@odata.id': '/redfish/v1/Systems/1' }] });
        if (q.url === '/redfish/v1/Systems/1') return json(s, 200, { PowerState: 'On', Actions: {} });
        return json(s, 200, root);
      },
      /\/redfish\/v1\/Systems\/1 has no Actions\/#ComputerSystem.Reset target/,
    ],
    [
      'Members that are not references',
      (q, s) => {
        if (q.url === '/redfish/v1/Systems') return json(s, 200, { Members: ['a'] });
        return json(s, 200, { ...root, Links: {} });
      },
      /Members\[0\] has no @odata.id/,
    ],
  ];
  for (const [name, h, re] of cases) {
    test(`E_BMC_PROTOCOL: ${name}`, async () => {
      handler = h;
      await rejectsWith(driver.run(e(), { action: 'on' }), 'E_BMC_PROTOCOL', re);
    });
  }

  test('a BMC that echoes the password in its error: the message has it scrubbed', async () => {
    handler = (q, s) => {
      if (q.method !== 'POST') return q.url === '/redfish/v1/' ? json(s, 200, root) : json(s, 401, {}); // Basic refused: a session login follows
      let body = '';
      q.on('data', (c: Buffer) => (body += c.toString()));
      q.on('end', () => json(s, 400, { error: { code: 'Base.1.0.GeneralError', message: `bad login ${body}` } }));
    };
    const err = await rejectsWith(driver.run(e(), { action: 'on' }), 'E_BMC_AUTH', /session login: HTTP 400: Base\.1\.0\.GeneralError bad login/);
    assert.match(err.message, /\*\*\*/);
  });

  test('reads back a transitional PowerState as the state it is heading to, and an unknown one as unknown', async () => {
    let state = 'PoweringOn';
    handler = (q, s) => {
      if (q.url === '/redfish/v1/Systems') return json(s, 200, { Members: [{ '@odata.id': '/redfish/v1/Systems/1' }] });
      if (q.url === '/redfish/v1/Systems/1')
        return json(s, 200, { PowerState: state, Actions: { '#ComputerSystem.Reset': { target: '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset' } } });
      return json(s, 200, { ...root, Links: {} });
    };
    assert.deepEqual(await driver.run(e(), { action: 'status' }), { state: 'on' });
    state = 'PoweringOff';
    assert.deepEqual(await driver.run(e(), { action: 'status' }), { state: 'off' });
    state = 'Exploded';
    assert.deepEqual(await driver.run(e(), { action: 'status' }), { state: 'unknown' });
  });

  test('PXE override: the PATCH carries If-Match with the ETag the GET gave (BMCs that require it answer 412 otherwise)', async () => {
    const seen: { method: string; url: string; ifMatch: string | undefined; body: string }[] = [];
    handler = (q, s) => {
      let body = '';
      q.on('data', (c: Buffer) => (body += c.toString()));
      q.on('end', () => {
        seen.push({ method: q.method ?? '', url: q.url ?? '', ifMatch: q.headers['if-match'], body });
        if (q.url === '/redfish/v1/Systems') return json(s, 200, { Members: [{ '@odata.id': '/redfish/v1/Systems/1' }] });
        if (q.url === '/redfish/v1/Systems/1' && q.method === 'GET') {
          return json(
            s,
            200,
            { PowerState: 'Off', Actions: { '#ComputerSystem.Reset': { target: '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset' } } },
            { ETag: '"v7"' },
          );
        }
        if (q.method === 'PATCH') return q.headers['if-match'] === '"v7"' ? s.writeHead(204).end() : json(s, 412, {});
        if (q.method === 'POST') return s.writeHead(204).end();
        return json(s, 200, { ...root, Links: {} });
      });
    };
    assert.deepEqual(await driver.run(e(), { action: 'on', pxe: true }), { state: 'off' });
    const patch = seen.find((x) => x.method === 'PATCH');
    assert.equal(patch?.ifMatch, '"v7"');
    assert.deepEqual(JSON.parse(patch?.body ?? ''), { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } });
    assert.deepEqual(
      seen.map((x) => `${x.method} ${x.url}`),
      [
        'GET /redfish/v1/',
        'GET /redfish/v1/Systems',
        'GET /redfish/v1/Systems/1',
        'PATCH /redfish/v1/Systems/1',
        'POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset',
        'GET /redfish/v1/Systems/1',
      ],
    );
    assert.deepEqual(JSON.parse(seen[4]?.body ?? ''), { ResetType: 'On' }, 'no allowable values listed: every DSP8010 value is allowed');
  });

  test('a BMC that never answers: E_BMC_TIMEOUT after the request timeout', async () => {
    handler = () => undefined;
    const quick = new RedfishDriver({ requestTimeoutMs: 300 });
    const t0 = performance.now();
    await rejectsWith(quick.run(e(), { action: 'status' }), 'E_BMC_TIMEOUT', /GET \/redfish\/v1\/: no answer within 300 ms/);
    assert.ok(performance.now() - t0 < 2500);
  });

  test('req.signal: a cancelled call stops at once; an already-aborted signal sends nothing', async () => {
    handler = () => undefined;
    const ctl = new AbortController();
    const t0 = performance.now();
    // timed input, not a wait: the cancel arrives while the BMC stays silent.
    setTimeout(() => ctl.abort(new Error('deadline of netroot power')), 150);
    await rejectsWith(driver.run(e(), { action: 'on', signal: ctl.signal }), 'E_BMC_TIMEOUT', /cancelled \(deadline of netroot power\)/);
    assert.ok(performance.now() - t0 < 1500);
    let hits = 0;
    handler = (_q, s) => {
      hits++;
      json(s, 200, root);
    };
    await rejectsWith(driver.run(e(), { action: 'on', signal: AbortSignal.abort() }), 'E_BMC_TIMEOUT', /cancelled before the first request/);
    assert.equal(hits, 0);
  });

  test('a port that speaks plain TCP, not TLS: E_BMC_PROTOCOL (TLS handshake)', async () => {
    const plain: NetServer = createNetServer((sock) => sock.resume().end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    try {
      const p = (plain.address() as { port: number }).port;
      await rejectsWith(
        driver.run(entry(p, { insecureTls: true }), { action: 'status' }),
        'E_BMC_PROTOCOL',
        /TLS handshake failed|ECONNRESET|other side closed/,
      );
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });
});
