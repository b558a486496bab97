// The REST API's resources over real HTTP on loopback (a started frontend, temp state dir):
// appliances, attributes (masking), a host's resolved attributes, the kickstart preview (masked),
// volume delete, pagination with cursors, and the one error shape (404, 405 + Allow, 400s, 401).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startFrontend, type TestFrontend } from '../helpers/frontend.js';
import { KickstartService } from '../../src/boot/kickstart.js';

let fe: TestFrontend;
before(async () => {
  fe = await startFrontend();
});
after(async () => {
  await fe.f.stop();
  rmSync(fe.dir, { recursive: true, force: true });
});

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; auth?: boolean; raw?: string } = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = opts.auth === false ? { 'content-type': 'application/json' } : fe.auth;
  const res = await fetch(`${fe.api}${path}`, {
    method,
    headers,
    ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body, text, headers: res.headers };
}

function assertError(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code);
  assert.equal(typeof r.body.message, 'string');
  assert.deepEqual(Object.keys(r.body).sort(), ['code', 'message']);
}

test('appliances: list, one, add (root node checked), patch, delete (refused while used); changes need the token', async () => {
  const list = await call('GET', '/appliances', { auth: false });
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((a: { name: string }) => a.name === 'compute'));
  assert.equal(list.body.next, null);
  const spec = { name: 'gpu', rootNode: 'compute', basename: 'gpu', discoverable: false };
  assertError(await call('POST', '/appliances', { body: spec, auth: false }), 401, 'E_UNAUTHORIZED');
  assert.equal(await fe.f.store.appliances.get('gpu'), null, 'a refused add wrote nothing');
  assertError(await call('POST', '/appliances', { body: { ...spec, rootNode: 'no-such-node' } }), 400, 'E_NODE_MISSING');
  assertError(await call('POST', '/appliances', { body: { ...spec, name: 'Bad Name' } }), 400, 'E_BAD_HOSTNAME');
  assertError(await call('POST', '/appliances', { body: { ...spec, extra: 1 } }), 400, 'E_BAD_REQUEST');
  const added = await call('POST', '/appliances', { body: spec });
  assert.equal(added.status, 201, added.text);
  assert.deepEqual(added.body, { name: 'gpu', basename: 'gpu', graph: fe.f.config.profile.graph, rootNode: 'compute', discoverable: false });
  assertError(await call('POST', '/appliances', { body: spec }), 409, 'E_DUPLICATE');
  assert.deepEqual((await call('GET', '/appliances/gpu', { auth: false })).body, added.body);
  assertError(await call('GET', '/appliances/nope', { auth: false }), 404, 'E_APPLIANCE_NOT_FOUND');

  assertError(await call('PATCH', '/appliances/gpu', { body: { discoverable: true }, auth: false }), 401, 'E_UNAUTHORIZED');
  assertError(await call('PATCH', '/appliances/gpu', { body: { rootNode: 'no-such-node' } }), 400, 'E_NODE_MISSING');
  assertError(await call('PATCH', '/appliances/gpu', { body: { name: 'other' } }), 400, 'E_BAD_REQUEST');
  const patched = await call('PATCH', '/appliances/gpu', { body: { discoverable: true, basename: 'g' } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body.discoverable, true);
  assert.equal((await fe.f.store.appliances.get('gpu'))!.basename, 'g');

  await fe.f.store.hosts.add({
    name: 'g-0-0',
    appliance: 'gpu',
    rack: 0,
    rank: 0,
    interfaces: [{ mac: '52:54:00:cc:00:01', ip: null, subnet: null, device: 'eth0' }],
  });
  assertError(await call('DELETE', '/appliances/gpu'), 409, 'E_APPLIANCE_IN_USE');
  await fe.f.store.hosts.remove('g-0-0');
  assertError(await call('DELETE', '/appliances/gpu', { auth: false }), 401, 'E_UNAUTHORIZED');
  assert.equal((await call('DELETE', '/appliances/gpu')).status, 204);
  assert.equal(await fe.f.store.appliances.get('gpu'), null);
  assertError(await call('DELETE', '/appliances/gpu'), 404, 'E_APPLIANCE_NOT_FOUND');
});

test('attributes: put/delete with ?target=, secrets masked in every read, shown only with the token and ?showSecrets=1', async () => {
  assertError(await call('PUT', '/attributes/global/Kickstart_Timezone', { body: { value: 'UTC' }, auth: false }), 401, 'E_UNAUTHORIZED');
  const put = await call('PUT', '/attributes/global/Kickstart_Timezone', { body: { value: 'UTC' } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body, { scope: 'global', target: '', name: 'Kickstart_Timezone', value: 'UTC' });
  assert.equal((await call('PUT', '/attributes/global/bmc_password', { body: { value: 'hunter2-very-secret' } })).body.value, '********');
  assert.equal((await call('PUT', '/attributes/appliance/rack_label?target=compute', { body: { value: 'r1' } })).status, 200);
  assert.equal((await call('PUT', '/attributes/global/rootpw_crypted', { body: { value: '$6$salt$hash' } })).status, 200);

  assertError(await call('PUT', '/attributes/planet/x', { body: { value: 'v' } }), 400, 'E_BAD_REQUEST');
  assertError(await call('PUT', '/attributes/global/x?target=compute', { body: { value: 'v' } }), 400, 'E_BAD_REQUEST');
  assertError(await call('PUT', '/attributes/appliance/x', { body: { value: 'v' } }), 400, 'E_BAD_REQUEST');
  assertError(await call('PUT', '/attributes/appliance/x?target=nope', { body: { value: 'v' } }), 404, 'E_APPLIANCE_NOT_FOUND');
  assertError(await call('PUT', '/attributes/host/x?target=nope', { body: { value: 'v' } }), 404, 'E_HOST_NOT_FOUND');
  assertError(await call('PUT', '/attributes/global/1bad', { body: { value: 'v' } }), 400, 'E_BAD_ATTRIBUTE');
  assertError(await call('PUT', '/attributes/global/x', { body: { value: 7 } }), 400, 'E_BAD_REQUEST');
  assertError(await call('PUT', '/attributes/global/x', { raw: '{"value": ' }), 400, 'E_BAD_REQUEST');
  assertError(await call('PUT', '/attributes/global/x', { raw: JSON.stringify({ value: 'x'.repeat(70 * 1024) }) }), 413, 'E_BODY_TOO_LARGE');

  const open = await call('GET', '/attributes?scope=global', { auth: false });
  assert.equal(open.status, 200);
  const byName = (b: any) => Object.fromEntries(b.items.map((a: { name: string; value: string }) => [a.name, a.value]));
  assert.equal(byName(open.body)['bmc_password'], '********');
  assert.equal(byName(open.body)['Kickstart_Timezone'], 'UTC');
  assert.equal(byName(open.body)['rootpw_crypted'], '********', 'crypt hashes are masked as `attr list` masks them');
  assert.ok(!open.text.includes('hunter2'), 'no secret in an open read');
  assertError(await call('GET', '/attributes?scope=global&showSecrets=1', { auth: false }), 401, 'E_UNAUTHORIZED');
  assertError(await call('GET', '/attributes?scope=global&showSecrets=yes'), 400, 'E_BAD_REQUEST');
  assert.equal(byName((await call('GET', '/attributes?scope=global&showSecrets=1')).body)['bmc_password'], 'hunter2-very-secret');
  assert.equal(byName((await call('GET', '/attributes?scope=global')).body)['bmc_password'], '********', 'the token alone does not reveal');
  const app = await call('GET', '/attributes?scope=appliance&target=compute', { auth: false });
  assert.deepEqual(
    app.body.items.map((a: { name: string }) => a.name),
    ['rack_label'],
  );
  assertError(await call('GET', '/attributes?target=compute', { auth: false }), 400, 'E_BAD_REQUEST');

  assertError(await call('DELETE', '/attributes/appliance/rack_label?target=compute', { auth: false }), 401, 'E_UNAUTHORIZED');
  assert.equal((await call('DELETE', '/attributes/appliance/rack_label?target=compute')).status, 204);
  assertError(await call('DELETE', '/attributes/appliance/rack_label?target=compute'), 404, 'E_ATTRIBUTE_NOT_FOUND');
});

test('a diskless host: resolved attributes with source (CHAP masked), kickstart preview masked and token-only, volume delete 409 unless force', async () => {
  const added = await call('POST', '/hosts', { body: { name: 'compute-3-0', mac: '52:54:00:dd:00:01', ip: '127.0.0.9', appliance: 'compute-diskless' } });
  assert.equal(added.status, 201, added.text);
  const stored = await fe.attrs('compute-3-0');
  const chap = stored['iscsi_secret'];
  assert.ok(chap && chap.length >= 12, 'the iSCSI plugin gave the host a CHAP secret');
  await fe.f.store.attributes.set({ scope: 'host', target: 'compute-3-0', name: 'root_password', value: 'S3cr3t-root-pw' });

  const resolved = await call('GET', '/hosts/compute-3-0/attributes', { auth: false });
  assert.equal(resolved.status, 200, resolved.text);
  const row = (n: string) => resolved.body.items.find((a: { name: string }) => a.name === n);
  assert.deepEqual(row('iscsi_secret'), { name: 'iscsi_secret', value: '********', source: 'H' });
  assert.equal(row('root_password').value, '********');
  assert.ok(!resolved.text.includes(chap) && !resolved.text.includes('S3cr3t-root-pw'));
  const shown = await call('GET', '/hosts/compute-3-0/attributes?showSecrets=1&limit=1000');
  assert.equal(shown.body.items.find((a: { name: string }) => a.name === 'iscsi_secret').value, chap);
  assertError(await call('GET', '/hosts/nobody/attributes', { auth: false }), 404, 'E_HOST_NOT_FOUND');

  assertError(await call('GET', '/hosts/compute-3-0/kickstart', { auth: false }), 401, 'E_UNAUTHORIZED');
  const ks = await fetch(`${fe.api}/hosts/compute-3-0/kickstart`, { headers: fe.auth });
  assert.equal(ks.status, 200);
  assert.match(ks.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await ks.text();
  const unmasked = await new KickstartService(fe.f.store, fe.f.config).render((await fe.f.store.hosts.get('compute-3-0'))!);
  assert.ok(unmasked.includes(chap), 'the real kickstart carries the CHAP secret');
  assert.ok(!text.includes(chap), 'the preview does not');
  assert.ok(text.includes('********'));
  // Every secret value any scope gives the host (its CHAP secret and root password, the global
  // BMC password and crypt hash of the previous test), wherever it appears, and nothing else.
  let expected = unmasked;
  for (const secret of [chap, 'hunter2-very-secret', 'S3cr3t-root-pw', '$6$salt$hash']) expected = expected.split(secret).join('********');
  assert.equal(text, expected);
  assertError(await call('GET', '/hosts/nobody/kickstart'), 404, 'E_HOST_NOT_FOUND');

  assertError(await call('DELETE', '/storage/volumes/compute-3-0', { auth: false }), 401, 'E_UNAUTHORIZED');
  assertError(await call('DELETE', '/storage/volumes/compute-3-0'), 409, 'E_VOLUME_IN_USE');
  assert.ok((await fe.attrs('compute-3-0'))['iscsi_secret'], 'a refused delete changed nothing');
  const forced = await call('DELETE', '/storage/volumes/compute-3-0?force=1');
  assert.equal(forced.status, 200, forced.text);
  assert.deepEqual(forced.body, { node: forced.body.node, volume: 'compute-3-0', host: 'compute-3-0' });
  assert.equal((await fe.attrs('compute-3-0'))['iscsi_secret'], undefined, 'the host no longer records the volume');
  const vols = await call('GET', '/storage/volumes', { auth: false });
  assert.ok(!vols.body.items.some((v: { volume: string }) => v.volume === 'compute-3-0'));
  assertError(await call('DELETE', '/storage/volumes/compute-3-0'), 404, 'E_STORAGE_NOT_FOUND');

  // A volume kept by `host remove --keep-volume` belongs to no host: deleted without force.
  const h2 = await call('POST', '/hosts', { body: { name: 'compute-3-1', mac: '52:54:00:dd:00:02', ip: '127.0.0.10', appliance: 'compute-diskless' } });
  assert.equal(h2.status, 201, h2.text);
  assert.deepEqual((await call('DELETE', '/hosts/compute-3-1?keepVolume=1')).body.volume, { name: 'compute-3-1', kept: true });
  const kept = await call('DELETE', '/storage/volumes/compute-3-1');
  assert.equal(kept.status, 200, kept.text);
  assert.equal(kept.body.host, null);
  await call('DELETE', '/hosts/compute-3-0');
});

test('pagination: a walk with ?limit= and the cursor returns every host once, in order; bad limit/cursor are 400 naming the parameter', async () => {
  for (let i = 0; i < 7; i++)
    await fe.f.store.hosts.add({
      name: `page-0-${i}`,
      appliance: 'compute',
      rack: 0,
      rank: i,
      interfaces: [{ mac: `52:54:00:ee:00:0${i}`, ip: null, subnet: null, device: 'eth0' }],
    });
  const all = (await fe.f.store.hosts.list()).map((h) => h.name).sort();
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r = await call('GET', `/hosts?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: false });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.items.length <= 3);
    seen.push(...r.body.items.map((h: { name: string }) => h.name));
    cursor = r.body.next;
    pages++;
  } while (cursor !== null && pages < 20);
  assert.deepEqual(seen, all);
  assert.equal(pages, Math.ceil(all.length / 3));
  const filtered = await call('GET', '/hosts?appliance=compute&limit=1000', { auth: false });
  assert.ok(filtered.body.items.every((h: { appliance: string }) => h.appliance === 'compute'));

  for (const [q, param] of [
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['limit=1e3', 'limit'],
    ['cursor=', 'cursor'],
    ['cursor=%25%25', 'cursor'],
    ['cursor=bm90IGpzb24', 'cursor'],
    [`cursor=${Buffer.from('{"k":{"x":1}}').toString('base64url')}`, 'cursor'],
    [`cursor=${'A'.repeat(600)}`, 'cursor'],
  ] as const) {
    for (const list of ['/hosts', '/appliances', '/attributes', '/events', '/storage/volumes']) {
      const r = await call('GET', `${list}?${q}`, { auth: false });
      assertError(r, 400, 'E_BAD_REQUEST');
      assert.ok(r.body.message.startsWith(`${param}:`), `${list}?${q}: ${r.body.message}`);
    }
  }
});

test('one error shape under /api: unknown path 404, wrong method 405 with Allow, malformed JSON 400', async () => {
  assertError(await call('GET', '/no-such-thing', { auth: false }), 404, 'E_NOT_FOUND');
  assertError(await call('GET', '/hosts/compute-0-0/nothing/here', { auth: false }), 404, 'E_NOT_FOUND');
  const r = await call('PUT', '/hosts', { body: {} });
  assertError(r, 405, 'E_METHOD_NOT_ALLOWED');
  assert.deepEqual(r.headers.get('allow')!.split(', ').sort(), ['GET', 'HEAD', 'POST']);
  const one = await call('POST', '/appliances/compute', { body: {} });
  assertError(one, 405, 'E_METHOD_NOT_ALLOWED');
  assert.deepEqual(one.headers.get('allow')!.split(', ').sort(), ['DELETE', 'GET', 'HEAD', 'PATCH']);
  assertError(await call('POST', '/hosts', { raw: '{"name":' }), 400, 'E_BAD_REQUEST');
  // Outside /api the frontend's own 404 is unchanged.
  assert.equal((await fetch(`${fe.api.replace('/api/v1', '')}/nothing`)).status, 404);
});
