// Issue #14: one install token is spent exactly once. Parallel installComplete calls with one token
// used to collide on the overlay's temporary file (`.tmp-<pid>`): the losers got -32603 (internal
// error) instead of the "token used" fault. And reportStatus accepted a token that was already used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XmlRpcFault } from '../../src/rpc/index.js';
import { call, installingNodes, UUID } from './installing-node.js';

const setup = () => installingNodes('nrt-token-once-');

test('parallel installComplete with one token: exactly one succeeds, every other call gets E_TOKEN_USED, never -32603', async () => {
  const { f, dir, port, tokens } = await setup();
  try {
    for (let round = 0; round < 3; round++) {
      await f.store.hosts.update('compute-0-0', { bootAction: 'install' });
      const token = await tokens.issue('compute-0-0', '127.0.0.2');
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => call(port, 'netroot.installComplete', [token, { root_uuid: UUID }])));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: one winner`);
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        assert.ok(r.reason instanceof XmlRpcFault, String(r.reason));
        assert.notEqual(r.reason.faultCode, -32603, `round ${round}: ${r.reason.faultString}`);
        assert.match(r.reason.faultString, /^E_TOKEN_USED: /);
      }
      assert.equal((await f.store.hosts.get('compute-0-0'))?.bootAction, 'os');
      const files = readdirSync(join(dir, 'nodes', 'compute-0-0'));
      assert.deepEqual(
        files.filter((n) => !/^overlay-[0-9a-f]{16}\.img$/.test(n)),
        [],
        'no temporary file is left behind',
      );
      assert.equal(files.length, 1, 'one overlay, the one the boot record names');
      assert.equal(`nodes/compute-0-0/${files[0]}`, (await f.store.boot.get('compute-0-0'))?.overlay);
    }
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('reportStatus refuses a token that installComplete already spent, and changes nothing', async () => {
  const { f, dir, port, tokens } = await setup();
  try {
    const token = await tokens.issue('compute-0-0', '127.0.0.2');
    assert.equal(await call(port, 'netroot.reportStatus', [token, 'installing']), true, 'a live token reports');
    await call(port, 'netroot.installComplete', [token, { root_uuid: UUID }]);
    const events = (await f.store.events.list({ kind: 'host.status' })).length;
    await assert.rejects(
      call(port, 'netroot.reportStatus', [token, 'failed']),
      (e: unknown) => e instanceof XmlRpcFault && /^E_TOKEN_USED: /.test(e.faultString),
    );
    const h = await f.store.hosts.get('compute-0-0');
    assert.equal(h?.state, 'installed', 'a spent token cannot mark an installed node failed');
    assert.equal((await f.store.events.list({ kind: 'host.status' })).length, events, 'no event');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
