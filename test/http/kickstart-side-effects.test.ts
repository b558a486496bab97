// Issue #14: a kickstart preview from the frontend itself (an operator's curl on 127.0.0.1) has no
// side effects, and a node whose boot action is already `os` gets no new install token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './clients.js';
import { rmSync } from 'node:fs';
import { InstallTokens } from '../../src/boot/install-tokens.js';
import { loopbackFrontend } from '../helpers/loopback-frontend.js';

const get = (port: number, path: string, from: string) => call(port, path, { from });

const TOKEN_IN_KICKSTART = /netroot\.reportStatus<\/methodName><params><param><value><string>([A-Za-z0-9_-]{16,})<\/string>/;

function frontend() {
  return loopbackFrontend({ prefix: 'nrt-ks-side-' });
}

test('a preview from the frontend itself changes no state, adds no event and spends or mints no token', async () => {
  const { f, dir, port } = await frontend();
  try {
    // The node's own fetch: a live token, state kickstarted, one event.
    const own = await get(port, '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.equal(own.status, 200, own.body);
    const token = TOKEN_IN_KICKSTART.exec(own.body)?.[1];
    assert.ok(token);
    await f.store.hosts.update('compute-0-0', { state: 'discovered' });
    const before = await f.store.events.list();
    const preview = await get(port, '/install/kickstart/compute-0-0', '127.0.0.1');
    assert.equal(preview.status, 200, preview.body);
    assert.match(preview.body, /%packages/);
    assert.equal((await f.store.hosts.get('compute-0-0'))?.state, 'discovered', 'the preview leaves the state alone');
    assert.deepEqual(await f.store.events.list(), before, 'the preview adds no event');
    assert.equal((await new InstallTokens(f.store).verify(token, '127.0.0.2')).host, 'compute-0-0', "the node's token still works");
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test("boot action os: the node's kickstart fetch is refused (409 E_HOST_INSTALLED) and mints no token; the preview still works", async () => {
  const { f, dir, port } = await frontend();
  try {
    const first = await get(port, '/install/kickstart/compute-0-0', '127.0.0.2');
    const token = TOKEN_IN_KICKSTART.exec(first.body)?.[1];
    assert.ok(token);
    await f.store.hosts.update('compute-0-0', { bootAction: 'os', state: 'installed' });
    const events = await f.store.events.list();
    for (const path of ['/install/kickstart/compute-0-0', '/install/kickstart']) {
      const r = await get(port, path, '127.0.0.2');
      assert.equal(r.status, 409, `${path}: ${r.body}`);
      const body = JSON.parse(r.body) as { code: string; message: string };
      assert.equal(body.code, 'E_HOST_INSTALLED');
      assert.match(body.message, /netroot host set compute-0-0 boot=install/);
      assert.doesNotMatch(r.body, /%packages/);
    }
    // Minting a token would have revoked the unused one the node held before.
    assert.equal((await new InstallTokens(f.store).verify(token, '127.0.0.2')).host, 'compute-0-0', 'no new token was minted');
    assert.equal((await f.store.hosts.get('compute-0-0'))?.state, 'installed');
    assert.deepEqual(await f.store.events.list(), events);
    const preview = await get(port, '/install/kickstart/compute-0-0', '127.0.0.1');
    assert.equal(preview.status, 200, "an operator can still read an installed node's kickstart");
    const shown = TOKEN_IN_KICKSTART.exec(preview.body)?.[1];
    if (shown) await assert.rejects(new InstallTokens(f.store).verify(shown, '127.0.0.2'), { code: 'E_TOKEN_INVALID' }, 'the preview carries no live token');
    // Reinstalling: boot=install arms the kickstart again.
    await f.store.hosts.update('compute-0-0', { bootAction: 'install' });
    const again = await get(port, '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.equal(again.status, 200, again.body);
    assert.match(again.body, TOKEN_IN_KICKSTART);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
