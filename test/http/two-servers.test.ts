// Two frontends sharing one PostgreSQL (issue #21), each with its own state directory: for a known
// host both serve the same iPXE script and the same kickstart (the install token aside: each fetch
// mints a new one), a token minted by one is spent on the other, and the overlay the other wrote
// at installComplete is rebuilt from the database, byte for byte, on first request — unless the
// host's boot settings changed since (E_OVERLAY_MISSING logged, 500, nothing written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, rpc } from './clients.js';
import { fixtureHost, iscsiAttrs, LOOPBACK_NETWORK, loopbackFrontend, type Loopback } from '../helpers/loopback-frontend.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { createLogger } from '../../src/log/logger.js';
import { parseMethodResponse, serializeMethodCall } from '../../src/rpc/index.js';

const server = usePostgres();
const SECRET = 'Zx81SecretChap';
const UUID = '0f1e2d3c-aaaa-4bbb-8ccc-000000000001';
const MAC = '52:54:00:aa:00:01';
const TOKEN = /(netroot\.\w+<\/methodName><params><param><value><string>)([A-Za-z0-9_-]{16,})(<\/string>)/g;

test('two servers on one PostgreSQL: same boot script and kickstart; token of one spent on the other; overlay rebuilt from the database', {
  skip: pgSkip,
}, async () => {
  const url = await (await server()).freshDatabase();
  const overrides = { ...LOOPBACK_NETWORK, 'store.url': url };
  let a: Loopback | undefined;
  let b: Loopback | undefined;
  try {
    a = await loopbackFrontend({
      prefix: 'nrt-two-a-',
      overrides,
      hosts: [fixtureHost(0, { appliance: 'compute-diskless', bootAction: 'install', attrs: iscsiAttrs('compute-0-0', SECRET) })],
    });
    b = await loopbackFrontend({ prefix: 'nrt-two-b-', overrides, hosts: [] });
    const both = async (path: string) => {
      const [x, y] = await Promise.all([a!, b!].map((f) => call(f.port, path, { from: '127.0.0.2' })));
      return [x!, y!] as const;
    };
    const [ipxeA, ipxeB] = await both(`/boot/ipxe/${MAC}`);
    assert.equal(ipxeA.status, 200, ipxeA.body);
    assert.equal(ipxeA.body, ipxeB.body, 'the same install script from either server');
    // B first, then A: a new kickstart revokes the host's earlier unused token, so A's is the live one.
    const ksB = await call(b.port, '/install/kickstart/compute-0-0', { from: '127.0.0.2' });
    const ksA = await call(a.port, '/install/kickstart/compute-0-0', { from: '127.0.0.2' });
    assert.equal(ksA.status, 200, ksA.body);
    const token = [...ksA.body.matchAll(TOKEN)][0]?.[2];
    assert.ok(token, 'the kickstart carries a token');
    const masked = (t: string) => t.replace(TOKEN, '$1TOKEN$3');
    assert.equal(masked(ksA.body), masked(ksB.body), 'the same kickstart from either server, the token aside');
    // The token A minted is spent on B (B writes the overlay into its own state directory).
    const r = await rpc(b.port, serializeMethodCall('netroot.installComplete', [token, { root_uuid: UUID }]), '127.0.0.2');
    assert.equal(r.status, 200, r.body);
    assert.equal((parseMethodResponse(r.body) as Record<string, string>)['action'], 'os');
    const rec = (await a.f.store.boot.get('compute-0-0'))!;
    assert.ok(rec.overlay);
    assert.ok(existsSync(join(b.dir, rec.overlay)));
    assert.equal(existsSync(join(a.dir, rec.overlay)), false, 'A has not seen this overlay yet');
    const [osA, osB] = await both(`/boot/ipxe/${MAC}`);
    assert.equal(osA.body, osB.body, 'the same diskless boot script from either server');
    assert.match(osA.body, /overlay\.img/);
    // A rebuilds it from the database on the node's request: byte for byte B's file.
    const got = await call(a.port, '/boot/node/compute-0-0/overlay.img', { from: '127.0.0.2' });
    assert.equal(got.status, 200, got.body);
    assert.deepEqual(readFileSync(join(a.dir, rec.overlay)), readFileSync(join(b.dir, rec.overlay)));
    // Another server joining later, after the node's CHAP secret changed: the recorded overlay
    // cannot be reproduced, so it is refused and nothing is written.
    await a.f.store.attributes.set({ scope: 'host', target: 'compute-0-0', name: 'iscsi_secret', value: 'AnotherSecret99' });
    const logs: string[] = [];
    const c = await loopbackFrontend({ prefix: 'nrt-two-c-', overrides, hosts: [], logger: createLogger({ write: (l) => logs.push(l) }) });
    try {
      const refused = await call(c.port, '/boot/node/compute-0-0/overlay.img', { from: '127.0.0.2' });
      assert.equal(refused.status, 500, refused.body);
      assert.match(logs.join(''), /boot settings changed since it was recorded.*E_OVERLAY_MISSING/);
      assert.doesNotMatch(refused.body + logs.join(''), /AnotherSecret99|Zx81SecretChap/);
      assert.equal(existsSync(join(c.dir, rec.overlay)), false);
      // The overlay is still only for the node itself.
      assert.equal((await call(a.port, '/boot/node/compute-0-0/overlay.img', { from: '127.0.0.9' })).status, 403);
    } finally {
      await c.close();
    }
  } finally {
    await b?.close();
    await a?.close();
  }
});
