// GET /sync/v1/payload over real HTTP on loopback (each node is its own 127.0.0.x source): a node
// with its own secret from its own address gets the signed envelope; another node's secret, no
// credential, a malformed one or an unknown address get 401/403 with an empty body; an unchanged
// serial is 304; a body is 413; the per-source limit stops a guessing attack (429 + Retry-After,
// even for the right secret) while other nodes are still served; the munge key and the secrets
// never reach the log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loopbackFrontend, fixtureHost, type Loopback } from '../helpers/loopback-frontend.js';
import { captureLogs } from '../helpers/log-capture.js';
import { call } from '../http/clients.js';
import { SyncKeys, parseEnvelope, parsePayload, verifySignature, clientScriptPath } from '../../src/sync/index.js';
import { frontendFiles, publishFrom, type FrontendFiles } from './fixture.js';

let lb: Loopback;
let files: FrontendFiles;
const logs = captureLogs('debug');
const A = fixtureHost(0); // compute-0-0 at 127.0.0.2
const B = fixtureHost(1); // compute-0-1 at 127.0.0.3
const C = fixtureHost(2); // compute-0-2 at 127.0.0.4: the attacker's address in the limit test
const PER_MINUTE = 20;

before(async () => {
  lb = await loopbackFrontend({
    prefix: 'nrt-sync-routes-',
    hosts: [A, B, C],
    logger: logs.logger,
    overrides: { 'http.syncRequestsPerMinute': String(PER_MINUTE) },
  });
  files = frontendFiles(lb.dir, lb.dir);
});
after(() => lb.close());

const keys = () => new SyncKeys(lb.dir);
const get = (from: string, headers: Record<string, string> = {}) => call(lb.port, '/sync/v1/payload', { from, headers });
const bearer = (host: string) => ({ authorization: `Bearer ${keys().nodeSecret(host)}` });

test('nothing published yet: an authenticated node gets 404 E_SYNC_NONE', async () => {
  const r = await get(A.ip, bearer(A.name));
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.body).code, 'E_SYNC_NONE');
});

test('a node with its own secret from its own address gets the signed envelope; an unchanged serial is 304', async () => {
  const pub = await publishFrom(lb.dir, files);
  const r = await call(lb.port, '/sync/v1/payload', { from: A.ip, headers: bearer(A.name) });
  assert.equal(r.status, 200);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers.etag, `"${pub.serial}"`);
  const env = parseEnvelope(Buffer.from(r.body, 'latin1'), { maxBytes: 1 << 20 });
  assert.ok(verifySignature(env.payload, env.signature, keys().publicKeySpki()));
  const p = parsePayload(env.payload, { maxBytes: 1 << 20 });
  assert.equal(p.serial, pub.serial);
  assert.deepEqual(
    p.passwd.map((l) => l.split(':')[0]),
    ['alice', 'bob'],
  );
  assert.ok(p.mungeKey?.equals(files.mungeKey));
  const again = await get(A.ip, { ...bearer(A.name), 'if-none-match': `"${pub.serial}"` });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  const older = await get(B.ip, { ...bearer(B.name), 'if-none-match': `"${pub.serial - 1}"` });
  assert.equal(older.status, 200);
});

test("another node's secret, no credential, a malformed one, an unknown address: 401/403 with an empty body", async () => {
  const wrongNode = await get(B.ip, bearer(A.name));
  assert.equal(wrongNode.status, 403);
  assert.equal(wrongNode.body, '');
  const stolen = await get('127.0.0.50', bearer(A.name));
  assert.equal(stolen.status, 403, "A's secret from an address no host has");
  assert.equal(stolen.body, '');
  const none = await get(A.ip);
  assert.equal(none.status, 401);
  assert.equal(none.body, '');
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="netroot-sync"');
  for (const authorization of ['Bearer short', 'Basic YWxpY2U6eA==', `Bearer ${keys().nodeSecret(A.name)}x`, `Bearer ${'A'.repeat(43)}`]) {
    const r = await get(A.ip, { authorization });
    assert.equal(r.status, 403, authorization);
    assert.equal(r.body, '');
  }
  const refusals = logs.records.filter((l) => l['msg'] === 'sync refused');
  assert.ok(refusals.some((l) => /wrong secret for compute-0-1/.test(String(l['reason']))));
  assert.ok(refusals.some((l) => l['reason'] === 'no host has this address'));
});

test('a request with a body is 413 unread; a Host header that is not the frontend is 421 (DNS rebinding)', async () => {
  const r = await call(lb.port, '/sync/v1/payload', {
    from: A.ip,
    headers: { ...bearer(A.name), 'content-type': 'text/plain', 'content-length': '1000' },
    body: 'x'.repeat(1000),
  });
  assert.equal(r.status, 413);
  const rebound = await get(A.ip, { ...bearer(A.name), host: 'evil.example' });
  assert.equal(rebound.status, 421);
});

test('attack: guessing secrets from one address is stopped after http.syncRequestsPerMinute (even the right one then); other nodes are still served', async () => {
  let last = 0;
  for (let i = 0; i < PER_MINUTE; i++) last = (await get(C.ip, { authorization: `Bearer ${'G'.repeat(40)}${i}` })).status;
  assert.equal(last, 403);
  const blocked = await get(C.ip, bearer(C.name));
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers['retry-after']) >= 1);
  assert.equal(JSON.parse(blocked.body).code, 'E_TOO_MANY_SYNC_REQUESTS');
  const other = await get(B.ip, bearer(B.name));
  assert.equal(other.status, 200);
});

test('the node client is served as is; the munge key and the secrets never reach the log', async () => {
  const r = await call(lb.port, '/sync/v1/client.sh', { from: A.ip });
  assert.equal(r.status, 200);
  assert.equal(r.body, readFileSync(clientScriptPath(), 'utf8'));
  const all = JSON.stringify(logs.records) + logs.pretty.join('\n');
  assert.ok(logs.records.some((l) => l['msg'] === 'sync payload served' && l['host'] === A.name));
  assert.ok(!all.includes(files.mungeKey.toString('base64').slice(0, 40)), 'munge key (base64) in the log');
  assert.ok(!all.includes(files.mungeKey.toString('latin1').slice(0, 40)), 'munge key bytes in the log');
  for (const h of [A, B, C]) assert.ok(!all.includes(keys().nodeSecret(h.name)), `${h.name}'s secret in the log`);
  assert.ok(!all.includes(readFileSync(join(lb.dir, 'sync', 'signing-key.pem'), 'utf8').split('\n')[1]!), 'the signing key in the log');
});
