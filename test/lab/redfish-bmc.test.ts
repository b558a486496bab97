// The lab's Redfish BMC (src/lab/redfish-bmc.ts), checked first by two independent Redfish clients
// from Debian — DMTF's `redfishtool` and OpenStack Ironic's `python3-sushy` — then request by request
// for the protocol details neither client exercises (errors in @Message.ExtendedInfo form, bounds,
// malformed bodies, sessions), and at the benchmark's scale (200 BMCs on 200 ports, one process).
// Only loopback traffic. The passwords here are the emulator's own throwaway lab accounts; redfishtool
// takes its password only as `-p` (it has no other way), sushy gets it through its environment.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { request } from 'node:https';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySystem, ProcessSystem, RedfishBmc, selfSignedCert, startMemoryBmcs } from '../../src/lab/redfish-bmc.js';
import { tempStateDir } from '../helpers/tmp.js';

const USER = 'admin';
const PASSWORD = 'lab-pw-7d1e';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** One HTTPS request to the emulator, trusting its certificate; `body` is sent as is. */
function call(
  port: number,
  method: string,
  path: string,
  o: { body?: string | Buffer; headers?: Record<string, string>; basic?: [string, string]; token?: string; ca: Buffer },
): Promise<Answer> {
  const headers: Record<string, string> = { ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers };
  if (o.basic) headers.Authorization = `Basic ${Buffer.from(`${o.basic[0]}:${o.basic[1]}`).toString('base64')}`;
  if (o.token) headers['X-Auth-Token'] = o.token;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, ca: o.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (o.body !== undefined) req.end(o.body);
    else req.end();
  });
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, ...(env ? { env } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** redfishtool against one BMC: `-S Always` (HTTPS for every request), `-A Session|Basic`. */
function redfishtool(port: number, auth: 'Session' | 'Basic', args: string[], password = PASSWORD) {
  return run('redfishtool', ['-r', `127.0.0.1:${port}`, '-u', USER, '-p', password, '-A', auth, '-S', 'Always', ...args]);
}

// python3-sushy (OpenStack Ironic's Redfish library). `requests` lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
// override a session's `verify`, so the script runs with a clean environment.
const SUSHY = `
import json, os, sys, warnings
warnings.filterwarnings('ignore')
import urllib3
urllib3.disable_warnings()
import sushy
from sushy import auth
port, mode, sid, verify = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
pw = os.environ['BMC_PASSWORD']
a = auth.SessionAuth(username='${USER}', password=pw) if mode == 'session' else auth.BasicAuth(username='${USER}', password=pw)
s = sushy.Sushy('https://127.0.0.1:%s' % port, auth=a, verify=(False if verify == 'no' else verify))
out = {'members': sorted(s.get_system_collection().members_identities)}
sy = s.get_system('/redfish/v1/Systems/' + sid)
out['before'] = sy.power_state.value
out['allowed'] = sorted(v.value for v in sy.get_allowed_reset_system_values())
sy.set_system_boot_source(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE)
sy.refresh()
out['boot'] = [sy.boot.target.value, sy.boot.enabled.value]
sy.reset_system(sushy.ResetType.ON)
sy.refresh()
out['after'] = sy.power_state.value
sy.reset_system(sushy.ResetType.FORCE_OFF)
sy.refresh()
out['off'] = sy.power_state.value
try:
    sy.reset_system('Explode')
    out['bad'] = 'accepted'
except sushy.exceptions.InvalidParameterValueError:
    out['bad'] = 'refused'
a.close()
print(json.dumps(out))
`;

function sushy(port: number, mode: 'session' | 'basic', system: string, verify: string, password = PASSWORD) {
  return run('/usr/bin/python3', ['-c', SUSHY, String(port), mode, system, verify], { PATH: '/usr/bin:/bin', BMC_PASSWORD: password });
}

describe('Redfish BMC emulator', () => {
  let dir: string;
  let bmc: RedfishBmc;
  let cert: Buffer;
  const n0 = new MemorySystem('Off');
  const n1 = new MemorySystem('On');
  const n2 = new MemorySystem('Off');
  let port: number; // exposes n0 only (one system, like a real BMC)
  let multi: number; // exposes n0 and n1
  let sushyPort: number; // exposes n2

  before(async () => {
    dir = tempStateDir('nrt-rfbmc-');
    const tls = await selfSignedCert(join(dir, 'tls'));
    cert = tls.cert;
    bmc = await RedfishBmc.create({
      systems: [
        { id: 'n0', backend: n0 },
        { id: 'n1', name: 'compute-0-1', backend: n1 },
        { id: 'n2', backend: n2 },
      ],
      users: [{ name: USER, password: PASSWORD }],
      tls,
      maxBodyBytes: 1024,
      maxSessions: 3,
    });
    port = (await bmc.listen({ systems: ['n0'] })).port;
    multi = (await bmc.listen({ systems: ['n0', 'n1'] })).port;
    sushyPort = (await bmc.listen({ systems: ['n2'] })).port;
  });
  after(async () => {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('redfishtool (session auth): Systems get, reset On, setBootOverride Once Pxe; its session is deleted after', async () => {
    const got = await redfishtool(port, 'Session', ['Systems', 'get']);
    assert.equal(got.code, 0, got.stderr);
    const sys = JSON.parse(got.stdout) as Record<string, unknown>;
    assert.equal(sys.Id, 'n0');
    assert.equal(sys.PowerState, 'Off');
    assert.equal(sys['@odata.type'], '#ComputerSystem.v1_20_0.ComputerSystem');

    const boot = await redfishtool(port, 'Session', ['Systems', '-I', 'n0', 'setBootOverride', 'Once', 'Pxe']);
    assert.equal(boot.code, 0, boot.stderr);
    assert.deepEqual((JSON.parse(boot.stdout) as { Boot: Record<string, unknown> }).Boot.BootSourceOverrideTarget, 'Pxe');
    assert.deepEqual(bmc.bootOverride('n0'), { target: 'Pxe', enabled: 'Once', mode: 'UEFI' });

    const on = await redfishtool(port, 'Session', ['Systems', '-I', 'n0', 'reset', 'On']);
    assert.equal(on.code, 0, on.stderr);
    assert.equal(n0.state, 'On');
    // The Once override was consumed by that power-on: it booted from PXE, and the override is off.
    assert.deepEqual(n0.boots, ['Pxe']);
    assert.deepEqual(bmc.bootOverride('n0'), { target: 'None', enabled: 'Disabled', mode: 'UEFI' });
    assert.equal(bmc.sessionCount, 0, 'redfishtool deletes its session at exit');
  });

  test('redfishtool (basic auth): reset ForceOff, get PowerState; a type outside the allowable values; a wrong password', async () => {
    const off = await redfishtool(port, 'Basic', ['Systems', '-I', 'n0', 'reset', 'ForceOff']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(n0.state, 'Off');
    const st = await redfishtool(port, 'Basic', ['Systems', '-I', 'n0', 'get', 'PowerState']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal((JSON.parse(st.stdout) as { PowerState: string }).PowerState, 'Off');
    const bad = await redfishtool(port, 'Basic', ['Systems', '-I', 'n0', 'reset', 'Explode']);
    assert.notEqual(bad.code, 0);
    const denied = await redfishtool(port, 'Basic', ['Systems', 'get'], 'wrong');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /401/);
    const deniedSession = await redfishtool(port, 'Session', ['Systems', 'get'], 'wrong');
    assert.notEqual(deniedSession.code, 0);
    assert.equal(bmc.sessionCount, 0);
  });

  test('redfishtool: a BMC with two systems lists both and addresses each by Id', async () => {
    const list = await redfishtool(multi, 'Basic', ['Systems', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\/redfish\/v1\/Systems\/n0/);
    assert.match(list.stdout, /\/redfish\/v1\/Systems\/n1/);
    const n1get = await redfishtool(multi, 'Basic', ['Systems', '-I', 'n1', 'get']);
    assert.equal((JSON.parse(n1get.stdout) as { Name: string }).Name, 'compute-0-1');
  });

  test("python3-sushy, session auth, the certificate verified against the emulator's own: boot source, On, ForceOff", async () => {
    const r = await sushy(sushyPort, 'session', 'n2', join(dir, 'tls', 'bmc-cert.pem'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(out.members, ['/redfish/v1/Systems/n2']);
    assert.equal(out.before, 'Off');
    assert.deepEqual(out.boot, ['Pxe', 'Once']);
    assert.equal(out.after, 'On');
    assert.equal(out.off, 'Off');
    assert.equal(out.bad, 'refused');
    assert.deepEqual(out.allowed, ['ForceOff', 'ForceOn', 'ForceRestart', 'GracefulRestart', 'GracefulShutdown', 'Nmi', 'On', 'PowerCycle', 'PushPowerButton']);
    assert.deepEqual(n2.history, ['on:Pxe', 'off:force']);
    assert.equal(bmc.sessionCount, 0, 'sushy deletes its session on close()');
  });

  test('python3-sushy, basic auth, verify=False; and a wrong password is refused', async () => {
    const r = await sushy(sushyPort, 'basic', 'n2', 'no');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { after: string }).after, 'On');
    assert.deepEqual(n2.boots, ['Pxe', 'Pxe']);
    const denied = await sushy(sushyPort, 'basic', 'n2', 'no', 'wrong');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /AccessError|401/);
    assert.doesNotMatch(denied.stderr, /wrong/, 'the password is not echoed back');
  });

  test('unauthenticated: /redfish and the service root answer; everything else is 401 with WWW-Authenticate', async () => {
    const v = await call(port, 'GET', '/redfish', { ca: cert });
    assert.deepEqual(v.json, { v1: '/redfish/v1/' });
    const root = await call(port, 'GET', '/redfish/v1/', { ca: cert });
    assert.equal(root.status, 200);
    assert.equal(root.headers['odata-version'], '4.0');
    const r = root.json as Record<string, { '@odata.id': string } | string | object>;
    assert.equal(r['@odata.id'], '/redfish/v1');
    assert.equal(r['@odata.type'], '#ServiceRoot.v1_11_0.ServiceRoot');
    assert.deepEqual(r.Systems, { '@odata.id': '/redfish/v1/Systems' });
    assert.deepEqual(r.SessionService, { '@odata.id': '/redfish/v1/SessionService' });
    assert.deepEqual(r.Links, { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } });
    for (const p of ['/redfish/v1/Systems', '/redfish/v1/Systems/n0', '/redfish/v1/SessionService', '/redfish/v1/SessionService/Sessions']) {
      const a = await call(port, 'GET', p, { ca: cert });
      assert.equal(a.status, 401, p);
      assert.equal(a.headers['www-authenticate'], 'Basic realm="netroot-lab-bmc"');
      const err = (a.json as { error: { code: string; '@Message.ExtendedInfo': { MessageId: string }[] } }).error;
      assert.equal(err['@Message.ExtendedInfo'][0]?.MessageId, 'Base.1.15.0.NoValidSession');
    }
    const wrong = await call(port, 'GET', '/redfish/v1/Systems', { ca: cert, basic: [USER, 'nope'] });
    assert.equal(wrong.status, 401);
    const unknownUser = await call(port, 'GET', '/redfish/v1/Systems', { ca: cert, basic: ['root', PASSWORD] });
    assert.equal(unknownUser.status, 401);
    const badToken = await call(port, 'GET', '/redfish/v1/Systems', { ca: cert, token: 'deadbeef' });
    assert.equal(badToken.status, 401);
  });

  test('every resource has @odata.id and @odata.type; a listener shows only its systems', async () => {
    const basic: [string, string] = [USER, PASSWORD];
    const coll = (await call(port, 'GET', '/redfish/v1/Systems', { ca: cert, basic })).json as Record<string, unknown>;
    assert.equal(coll['@odata.type'], '#ComputerSystemCollection.ComputerSystemCollection');
    assert.equal(coll['Members@odata.count'], 1);
    assert.deepEqual(coll.Members, [{ '@odata.id': '/redfish/v1/Systems/n0' }]);
    assert.equal((await call(port, 'GET', '/redfish/v1/Systems/n1', { ca: cert, basic })).status, 404, 'n1 is not on this BMC');
    for (const p of ['/redfish/v1/SessionService', '/redfish/v1/SessionService/Sessions', '/redfish/v1/Systems/n0']) {
      const j = (await call(port, 'GET', p, { ca: cert, basic })).json as Record<string, unknown>;
      assert.equal(j['@odata.id'], p);
      assert.match(String(j['@odata.type']), /^#\w+(\.v\d+_\d+_\d+)?\.\w+$/);
    }
    const sys = (await call(port, 'GET', '/redfish/v1/Systems/n0', { ca: cert, basic })).json as {
      Actions: Record<string, { target: string; 'ResetType@Redfish.AllowableValues': string[] }>;
      Boot: Record<string, unknown>;
    };
    assert.equal(sys.Actions['#ComputerSystem.Reset']?.target, '/redfish/v1/Systems/n0/Actions/ComputerSystem.Reset');
    assert.ok(sys.Actions['#ComputerSystem.Reset']?.['ResetType@Redfish.AllowableValues'].includes('PowerCycle'));
    assert.ok((sys.Boot['BootSourceOverrideTarget@Redfish.AllowableValues'] as string[]).includes('Pxe'));
    const missing = await call(port, 'GET', '/redfish/v1/Managers', { ca: cert, basic });
    assert.equal(missing.status, 404);
    assert.equal((missing.json as { error: { code: string } }).error.code, 'Base.1.15.0.ResourceMissingAtURI');
    const put = await call(port, 'PUT', '/redfish/v1/Systems/n0', { ca: cert, basic, body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'GET, PATCH');
  });

  test('sessions: login → 201 + X-Auth-Token + Location; the token works; DELETE ends it; a wrong password, missing fields, the limit', async () => {
    const login = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca: cert, body: JSON.stringify({ UserName: USER, Password: PASSWORD }) });
    assert.equal(login.status, 201);
    const token = String(login.headers['x-auth-token']);
    const location = String(login.headers.location);
    assert.match(token, /^[0-9a-f]{48}$/);
    assert.match(location, /^\/redfish\/v1\/SessionService\/Sessions\/[0-9a-f]{16}$/);
    assert.equal((login.json as Record<string, unknown>)['@odata.id'], location);
    assert.equal((login.json as Record<string, unknown>).UserName, USER);
    assert.equal((await call(port, 'GET', '/redfish/v1/Systems', { ca: cert, token })).status, 200);
    assert.equal((await call(multi, 'GET', '/redfish/v1/Systems', { ca: cert, token })).status, 401, "a session is its BMC's only");
    assert.equal((await call(port, 'DELETE', location, { ca: cert, token })).status, 204);
    assert.equal((await call(port, 'GET', '/redfish/v1/Systems', { ca: cert, token })).status, 401, 'the token dies with its session');

    const wrong = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca: cert, body: JSON.stringify({ UserName: USER, Password: 'x' }) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['x-auth-token'], undefined);
    const missing = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca: cert, body: JSON.stringify({ UserName: 7 }) });
    assert.equal(missing.status, 400);
    const ids = (missing.json as { error: { '@Message.ExtendedInfo': { MessageId: string }[] } }).error['@Message.ExtendedInfo'].map((m) => m.MessageId);
    assert.deepEqual(ids, ['Base.1.15.0.PropertyValueTypeError', 'Base.1.15.0.PropertyMissing']);

    const tokens = [];
    for (let i = 0; i < 3; i++) {
      const s = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca: cert, body: JSON.stringify({ UserName: USER, Password: PASSWORD }) });
      assert.equal(s.status, 201);
      tokens.push([String(s.headers['x-auth-token']), String(s.headers.location)] as const);
    }
    const over = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca: cert, body: JSON.stringify({ UserName: USER, Password: PASSWORD }) });
    assert.equal(over.status, 503);
    assert.equal((over.json as { error: { code: string } }).error.code, 'Base.1.15.0.SessionLimitExceeded');
    for (const [t, l] of tokens) assert.equal((await call(port, 'DELETE', l, { ca: cert, token: t })).status, 204);
    assert.equal(bmc.sessionCount, 0);
  });

  test('Reset: each ResetType drives the backend; 400s in @Message.ExtendedInfo form', async () => {
    const basic: [string, string] = [USER, PASSWORD];
    const target = '/redfish/v1/Systems/n0/Actions/ComputerSystem.Reset';
    const post = (body: string) => call(port, 'POST', target, { ca: cert, basic, body });
    n0.history.length = 0;
    for (const t of [
      'On',
      'GracefulShutdown',
      'ForceOn',
      'GracefulRestart',
      'ForceRestart',
      'PowerCycle',
      'Nmi',
      'ForceOff',
      'PushPowerButton',
      'PushPowerButton',
    ]) {
      const r = await post(JSON.stringify({ ResetType: t }));
      assert.equal(r.status, 204, `${t}: ${r.text}`);
    }
    assert.deepEqual(n0.history, [
      'on:None',
      'off:graceful',
      'on:None',
      'reset:graceful:None',
      'reset:force:None',
      'reset:cycle:None',
      'reset:nmi:None',
      'off:force',
      'on:None',
      'off:graceful',
    ]);

    const cases: [string, number, string[]][] = [
      ['{"ResetType":"Explode"}', 400, ['ActionParameterValueNotInList']],
      ['{"ResetType":5}', 400, ['ActionParameterValueTypeError']],
      ['{}', 400, ['ActionParameterMissing']],
      ['{"ResetType":"On","Force":true}', 400, ['ActionParameterNotSupported']],
      ['{"ResetType":', 400, ['MalformedJSON']],
      ['', 400, ['MalformedJSON']],
      ['[1,2]', 400, ['UnrecognizedRequestBody']],
      ['"On"', 400, ['UnrecognizedRequestBody']],
      ['null', 400, ['UnrecognizedRequestBody']],
      ['{"ResetType":"\\u0000\\ud800"}', 400, ['ActionParameterValueNotInList']],
    ];
    for (const [body, status, ids] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, body);
      const err = (
        r.json as { error: { code: string; message: string; '@Message.ExtendedInfo': { MessageId: string; Message: string; '@odata.type': string }[] } }
      ).error;
      assert.deepEqual(
        err['@Message.ExtendedInfo'].map((m) => m.MessageId),
        ids.map((i) => `Base.1.15.0.${i}`),
        body,
      );
      assert.equal(err['@Message.ExtendedInfo'][0]?.['@odata.type'], '#Message.v1_1_1.Message');
      assert.ok(err.message.length > 0);
    }
    const xml = await call(port, 'POST', target, { ca: cert, basic, body: '<ResetType/>', headers: { 'Content-Type': 'application/xml' } });
    assert.equal(xml.status, 415);
    assert.equal(n0.history.length, 10, 'no refused request reached the backend');
  });

  test('request bodies are bounded: an oversized body is 413 (declared or streamed) and the connection closes', async () => {
    const basic: [string, string] = [USER, PASSWORD];
    const big = JSON.stringify({ ResetType: 'On', pad: 'x'.repeat(2000) });
    const declared = await call(port, 'POST', '/redfish/v1/Systems/n0/Actions/ComputerSystem.Reset', { ca: cert, basic, body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.connection, 'close');
    // Chunked, so no Content-Length announces it: the limit is counted while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'PATCH',
          path: '/redfish/v1/Systems/n0',
          ca: cert,
          agent: false,
          headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"Boot":{"BootSourceOverrideTarget":"');
      for (let i = 0; i < 8; i++) req.write('x'.repeat(512));
      req.end('"}}');
    });
    assert.equal(streamed, 413);
    const login = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', {
      ca: cert,
      body: JSON.stringify({ UserName: USER, Password: 'p'.repeat(4000) }),
    });
    assert.equal(login.status, 413, 'the login body too');
  });

  test('PATCH Boot: writable values; bad values, types, unknown and read-only properties are 400 with every problem listed; nothing half-applied', async () => {
    const basic: [string, string] = [USER, PASSWORD];
    const patch = (body: unknown) => call(port, 'PATCH', '/redfish/v1/Systems/n0', { ca: cert, basic, body: JSON.stringify(body) });
    const ok = await patch({ Boot: { BootSourceOverrideTarget: 'Hdd', BootSourceOverrideEnabled: 'Continuous', BootSourceOverrideMode: 'Legacy' } });
    assert.equal(ok.status, 200);
    assert.equal((ok.json as { Boot: { BootSourceOverrideTarget: string } }).Boot.BootSourceOverrideTarget, 'Hdd');
    assert.deepEqual(bmc.bootOverride('n0'), { target: 'Hdd', enabled: 'Continuous', mode: 'Legacy' });

    const bad = await patch({
      Boot: { BootSourceOverrideTarget: 'Floppy', BootSourceOverrideEnabled: 1, 'BootSourceOverrideTarget@Redfish.AllowableValues': [], Colour: 'red' },
      PowerState: 'On',
      Foo: 1,
    });
    assert.equal(bad.status, 400);
    const err = (bad.json as { error: { code: string; '@Message.ExtendedInfo': { MessageId: string; MessageArgs: string[]; Resolution?: string }[] } }).error;
    assert.equal(err.code, 'Base.1.15.0.GeneralError');
    assert.deepEqual(
      err['@Message.ExtendedInfo'].map((m) => m.MessageId.replace('Base.1.15.0.', '')),
      ['PropertyValueNotInList', 'PropertyValueTypeError', 'PropertyNotWritable', 'PropertyUnknown', 'PropertyNotWritable', 'PropertyUnknown'],
    );
    assert.deepEqual(err['@Message.ExtendedInfo'][0]?.MessageArgs, ['Floppy', 'BootSourceOverrideTarget']);
    assert.match(String(err['@Message.ExtendedInfo'][0]?.Resolution), /Pxe/);
    assert.deepEqual(bmc.bootOverride('n0'), { target: 'Hdd', enabled: 'Continuous', mode: 'Legacy' }, 'all or nothing');

    assert.equal((await patch({ Boot: 'Pxe' })).status, 400);
    assert.equal((await patch([])).status, 400);
    const long = await patch({ Boot: { BootSourceOverrideTarget: 'y'.repeat(500) } });
    assert.equal(long.status, 400);
    assert.ok(long.text.length < 1200, 'a long value is shortened in the message');
    // A Continuous override stays after a start; Disabled turns it off.
    await call(port, 'POST', '/redfish/v1/Systems/n0/Actions/ComputerSystem.Reset', { ca: cert, basic, body: '{"ResetType":"ForceRestart"}' });
    assert.equal(n0.boots.at(-1), 'Hdd');
    assert.deepEqual(bmc.bootOverride('n0'), { target: 'Hdd', enabled: 'Continuous', mode: 'Legacy' });
    assert.equal((await patch({ Boot: { BootSourceOverrideEnabled: 'Disabled' } })).status, 200);
  });

  test('ETag: GET gives one; a PATCH with a stale If-Match is 412 and changes nothing, the current one or * applies', async () => {
    const basic: [string, string] = [USER, PASSWORD];
    const get = await call(port, 'GET', '/redfish/v1/Systems/n0', { ca: cert, basic });
    const etag = String(get.headers.etag);
    assert.match(etag, /^W\/"[0-9a-f]{16}"$/);
    const body = JSON.stringify({ Boot: { BootSourceOverrideTarget: 'Cd', BootSourceOverrideEnabled: 'Once' } });
    const ok = await call(port, 'PATCH', '/redfish/v1/Systems/n0', { ca: cert, basic, body, headers: { 'If-Match': etag } });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.headers.etag, etag, 'the representation changed');
    const stale = await call(port, 'PATCH', '/redfish/v1/Systems/n0', {
      ca: cert,
      basic,
      body: '{"Boot":{"BootSourceOverrideTarget":"Usb"}}',
      headers: { 'If-Match': etag },
    });
    assert.equal(stale.status, 412);
    assert.equal((stale.json as { error: { code: string } }).error.code, 'Base.1.15.0.PreconditionFailed');
    assert.equal(bmc.bootOverride('n0').target, 'Cd');
    const any = await call(port, 'PATCH', '/redfish/v1/Systems/n0', {
      ca: cert,
      basic,
      body: '{"Boot":{"BootSourceOverrideEnabled":"Disabled","BootSourceOverrideTarget":"None"}}',
      headers: { 'If-Match': '*' },
    });
    assert.equal(any.status, 200);
  });
});

test('a service without a SessionService (Basic only): the root has no SessionService link and login is 404', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const bmc = await RedfishBmc.create({
    systems: [{ id: 'a', backend: new MemorySystem() }],
    users: [{ name: USER, password: PASSWORD }],
    workDir: dir,
    sessions: false,
  });
  try {
    const { port } = await bmc.listen();
    const ca = (await selfSignedCert(dir)).cert;
    const root = (await call(port, 'GET', '/redfish/v1', { ca })).json as Record<string, unknown>;
    assert.equal(root.SessionService, undefined);
    assert.deepEqual(root.Links, {});
    const login = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca, body: JSON.stringify({ UserName: USER, Password: PASSWORD }) });
    assert.equal(login.status, 401, 'not logged in, so 401 before 404');
    assert.equal((await call(port, 'GET', '/redfish/v1/SessionService', { ca, basic: [USER, PASSWORD] })).status, 404);
    const rt = await redfishtool(port, 'Basic', ['Systems', '-I', 'a', 'reset', 'On']);
    assert.equal(rt.code, 0, rt.stderr);
  } finally {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('option errors: a bad system id, a duplicate, a listener for an unknown system, a port in use', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const tls = await selfSignedCert(dir);
  try {
    await assert.rejects(RedfishBmc.create({ systems: [{ id: 'a/b', backend: new MemorySystem() }], users: [], tls }), { code: 'E_LAB_BMC' });
    await assert.rejects(RedfishBmc.create({ systems: [], users: [] }), { code: 'E_LAB_BMC' });
    const bmc = await RedfishBmc.create({ systems: [{ id: 'a', backend: new MemorySystem() }], users: [], tls });
    assert.throws(() => bmc.addSystem({ id: 'a', backend: new MemorySystem() }), { code: 'E_LAB_BMC' });
    await assert.rejects(bmc.listen({ systems: ['zz'] }), { code: 'E_LAB_BMC' });
    const l = await bmc.listen();
    await assert.rejects(bmc.listen({ port: l.port }), { code: 'E_LAB_BMC' });
    await bmc.close();
    await bmc.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('responseDelayMs: every answer waits that long, requests wait side by side (not one after another); requestCount counts them', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const tls = await selfSignedCert(dir);
  await assert.rejects(RedfishBmc.create({ systems: [], users: [], tls, responseDelayMs: -1 }), { code: 'E_LAB_BMC' });
  await assert.rejects(RedfishBmc.create({ systems: [], users: [], tls, responseDelayMs: Number.NaN }), { code: 'E_LAB_BMC' });
  const DELAY = 800;
  const { bmc, nodes } = await startMemoryBmcs({ count: 2, user: USER, password: PASSWORD, tls, responseDelayMs: DELAY });
  try {
    assert.equal(bmc.requestCount, 0);
    const t0 = performance.now();
    const took = await Promise.all(
      [0, 1, 0, 1].map(async (i) => {
        const n = nodes[i]!;
        const t = performance.now();
        const r = await call(n.port, 'POST', `/redfish/v1/Systems/${n.id}/Actions/ComputerSystem.Reset`, {
          ca: tls.cert,
          basic: [USER, PASSWORD],
          body: '{"ResetType":"ForceOff"}',
        });
        assert.equal(r.status, 204);
        return performance.now() - t;
      }),
    );
    const wall = performance.now() - t0;
    // Timers may fire up to a millisecond early against performance.now().
    for (const ms of took) assert.ok(ms >= DELAY - 2, `an answer after ${ms.toFixed(0)} ms, before the ${DELAY} ms delay`);
    assert.ok(wall < 4 * DELAY, `4 requests took ${wall.toFixed(0)} ms: the delay blocked other requests`);
    assert.equal(bmc.requestCount, 4);
    // Unauthenticated and refused requests wait and count too: the delay is the BMC's, before any answer.
    const t = performance.now();
    assert.equal((await call(nodes[0]!.port, 'GET', '/redfish/v1/Systems', { ca: tls.cert })).status, 401);
    assert.ok(performance.now() - t >= DELAY - 2);
    assert.equal(bmc.requestCount, 5);
  } finally {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('200 BMCs in one process: 200 ports, one system each, every one answering; memory per BMC', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const { bmc, nodes } = await startMemoryBmcs({ count: 200, user: USER, password: PASSWORD, workDir: dir });
  const startMs = performance.now() - t0;
  try {
    const ca = (await selfSignedCert(dir)).cert;
    assert.equal(nodes.length, 200);
    assert.equal(new Set(nodes.map((n) => n.port)).size, 200);
    // Every BMC shows exactly its own system and powers it.
    for (let i = 0; i < nodes.length; i += 25) {
      await Promise.all(
        nodes.slice(i, i + 25).map(async (n) => {
          const c = (await call(n.port, 'GET', '/redfish/v1/Systems', { ca, basic: [USER, PASSWORD] })).json as { Members: { '@odata.id': string }[] };
          assert.deepEqual(c.Members, [{ '@odata.id': `/redfish/v1/Systems/${n.id}` }]);
          const r = await call(n.port, 'POST', `/redfish/v1/Systems/${n.id}/Actions/ComputerSystem.Reset`, {
            ca,
            basic: [USER, PASSWORD],
            body: '{"ResetType":"PowerCycle"}',
          });
          assert.equal(r.status, 204);
        }),
      );
    }
    assert.ok(nodes.every((n) => n.system.state === 'On' && n.system.history.length === 1));
    const rssMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    console.log(`200 BMCs: listening in ${startMs.toFixed(0)} ms, RSS +${rssMiB.toFixed(1)} MiB after one PowerCycle each`);
    assert.ok(rssMiB < 150, `RSS grew ${rssMiB} MiB`);
  } finally {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ProcessSystem: a system that is a process (as a lab QEMU node is): On while it runs, Off when killed or when it ends itself', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const children: ChildProcess[] = [];
  const sys = new ProcessSystem(() => {
    // The "guest" powers itself off after 2 s unless killed before.
    const child = spawn('sleep', [children.length === 0 ? '600' : '2'], { stdio: 'ignore' });
    children.push(child);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return {
      exited,
      powerOff: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
  });
  const bmc = await RedfishBmc.create({ systems: [{ id: 'qemu-0', backend: sys }], users: [{ name: USER, password: PASSWORD }], workDir: dir });
  try {
    const { port } = await bmc.listen();
    const ca = (await selfSignedCert(dir)).cert;
    const basic: [string, string] = [USER, PASSWORD];
    const reset = (t: string) =>
      call(port, 'POST', '/redfish/v1/Systems/qemu-0/Actions/ComputerSystem.Reset', { ca, basic, body: JSON.stringify({ ResetType: t }) });
    const state = async () => ((await call(port, 'GET', '/redfish/v1/Systems/qemu-0', { ca, basic })).json as { PowerState: string }).PowerState;
    assert.equal(await state(), 'Off');
    await call(port, 'PATCH', '/redfish/v1/Systems/qemu-0', {
      ca,
      basic,
      body: '{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}',
    });
    assert.equal((await reset('On')).status, 204);
    assert.equal(await state(), 'On');
    assert.equal(children.length, 1);
    assert.equal((await reset('On')).status, 204, 'On when on: nothing started');
    assert.equal(children.length, 1);
    assert.equal((await reset('ForceRestart')).status, 204);
    assert.equal(children[0]?.signalCode, 'SIGKILL');
    assert.equal(children.length, 2);
    assert.deepEqual(sys.boots, ['Pxe', 'None']);
    await new Promise<void>((r) => children[1]?.once('exit', () => r()));
    assert.equal(await state(), 'Off', 'the guest powered itself off');
    assert.equal((await reset('ForceOff')).status, 204, 'ForceOff when off');
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BMCs on 127.0.0.x addresses: the same port on two loopback addresses is two BMCs with their own systems', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const tls = await selfSignedCert(dir, ['IP:127.0.0.2', 'IP:127.0.0.3']);
  const a = new MemorySystem();
  const b = new MemorySystem();
  const bmc = await RedfishBmc.create({
    systems: [
      { id: 'a', backend: a },
      { id: 'b', backend: b },
    ],
    users: [{ name: USER, password: PASSWORD }],
    tls,
  });
  try {
    const first = await bmc.listen({ host: '127.0.0.2', systems: ['a'] });
    const second = await bmc.listen({ host: '127.0.0.3', port: first.port, systems: ['b'] });
    assert.equal(second.port, first.port);
    assert.deepEqual(
      bmc.listeners.map((l) => l.host),
      ['127.0.0.2', '127.0.0.3'],
    );
    for (const [host, id] of [
      ['127.0.0.2', 'a'],
      ['127.0.0.3', 'b'],
    ] as const) {
      const got = await new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host,
            port: first.port,
            path: '/redfish/v1/Systems',
            ca: tls.cert,
            agent: false,
            headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
          },
          (res) => {
            let t = '';
            res.on('data', (c: Buffer) => (t += c.toString()));
            res.on('end', () => resolve(t));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual((JSON.parse(got) as { Members: unknown[] }).Members, [{ '@odata.id': `/redfish/v1/Systems/${id}` }]);
    }
  } finally {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sessions expire after SessionTimeout seconds idle', async () => {
  const dir = tempStateDir('nrt-rfbmc-');
  const bmc = await RedfishBmc.create({
    systems: [{ id: 'a', backend: new MemorySystem() }],
    users: [{ name: USER, password: PASSWORD }],
    workDir: dir,
    sessionTimeoutSec: 1,
  });
  try {
    const { port } = await bmc.listen();
    const ca = (await selfSignedCert(dir)).cert;
    const login = await call(port, 'POST', '/redfish/v1/SessionService/Sessions', { ca, body: JSON.stringify({ UserName: USER, Password: PASSWORD }) });
    const token = String(login.headers['x-auth-token']);
    assert.equal(((await call(port, 'GET', '/redfish/v1/SessionService', { ca, token })).json as { SessionTimeout: number }).SessionTimeout, 1);
    assert.equal((await call(port, 'GET', '/redfish/v1/Systems', { ca, token })).status, 200);
    // fixed delay: the session must sit idle past its 1 s timeout (the BMC reads the wall clock; polling would use the session).
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await call(port, 'GET', '/redfish/v1/Systems', { ca, token })).status, 401);
    assert.equal(bmc.sessionCount, 0, 'the expired session is gone');
  } finally {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
