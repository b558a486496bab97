// Issue #14: secret-bearing pages are not served under a Host name that is not the frontend's (DNS
// rebinding from a browser on the frontend: the request comes from 127.0.0.1 but names the
// attacker's host). Nodes (the frontend's IP literal), the CLI (127.0.0.1) and localhost still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './clients.js';
import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { hostOf, isOwnHost } from '../../src/http/host-guard.js';
import { fixtureHost, LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';

/** GET with an explicit Host header (undefined: the default `127.0.0.1:<port>`). */
const get = (port: number, path: string, host: string | undefined, from = '127.0.0.1') => call(port, path, { from, headers: host ? { host } : {} });

test('hostOf / isOwnHost: IP literals, localhost and this host name pass; other names do not', () => {
  const names = new Set(['frontend', 'frontend.cluster.example']);
  assert.equal(hostOf('10.1.1.1:8080'), '10.1.1.1');
  assert.equal(hostOf('[::1]:8080'), '[::1]');
  assert.equal(hostOf('Evil.Example.:80'), 'evil.example');
  assert.equal(hostOf('a:b:c'), null);
  for (const ok of [
    undefined,
    '10.1.1.1',
    '10.1.1.1:8080',
    '127.0.0.1:1',
    '[::1]:8080',
    '[fe80::1]',
    'localhost',
    'LOCALHOST:8080',
    'localhost.',
    'frontend',
    'Frontend.Cluster.Example:8080',
  ])
    assert.ok(isOwnHost(ok, names), String(ok));
  for (const bad of [
    'evil.example',
    'evil.example:8080',
    '127.0.0.1.evil.example',
    'localhost.evil.example',
    '127.1',
    '[not-v6]',
    '::1',
    '',
    ' ',
    'frontend.evil.example',
    '10.1.1.1:8080:1',
  ])
    assert.ok(!isOwnHost(bad, names), bad);
});

test('kickstart, iPXE script and overlay refuse a rebinding Host (421 E_MISDIRECTED); nodes, the CLI and localhost are served', async () => {
  const { f, dir, port } = await loopbackFrontend({
    prefix: 'nrt-host-guard-',
    overrides: LOOPBACK_NETWORK,
    hosts: [fixtureHost(0, { bootAction: 'install' })],
  });
  try {
    const secret = [
      '/install/kickstart/compute-0-0',
      '/INSTALL/Kickstart/compute-0-0',
      '/boot/ipxe/52:54:00:aa:00:01',
      '/boot/ipxe?mac=52:54:00:aa:00:01',
      '/boot/node/compute-0-0/overlay.img',
    ];
    for (const path of secret) {
      for (const evil of ['rebind.attacker.example', `rebind.attacker.example:${port}`, `127.0.0.1.nip.example:${port}`]) {
        const r = await get(port, path, evil);
        assert.equal(r.status, 421, `${path} Host ${evil}: ${r.body}`);
        assert.equal(JSON.parse(r.body).code, 'E_MISDIRECTED');
        assert.doesNotMatch(r.body, /%packages|#!ipxe/);
      }
    }
    const events = (await f.store.events.list()).length;
    assert.equal(events, 0, 'a refused request changes nothing');
    // The frontend itself under its own names: the preview.
    for (const own of [undefined, `localhost:${port}`, `[::1]:${port}`, `${hostname()}:${port}`]) {
      const r = await get(port, '/install/kickstart/compute-0-0', own);
      assert.equal(r.status, 200, `Host ${own}: ${r.body}`);
      assert.match(r.body, /%packages/);
    }
    // A node uses the frontend's IP literal (the inst.ks= URL netroot renders).
    const node = await get(port, '/install/kickstart/compute-0-0', `127.0.0.1:${port}`, '127.0.0.2');
    assert.equal(node.status, 200, node.body);
    const script = await get(port, '/boot/ipxe/52:54:00:aa:00:01', `127.0.0.1:${port}`, '127.0.0.2');
    assert.equal(script.status, 200, script.body);
    // Pages with no secret are not affected.
    assert.equal((await get(port, '/healthz', 'rebind.attacker.example')).status, 200);
    assert.equal((await get(port, '/boot/files/no-such-file', 'frontend.local')).status, 404, 'boot files answer under any name');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
