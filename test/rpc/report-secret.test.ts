// netroot.reportStatus with the node's sync secret (`sync:<secret>`, src/sync nodeBySecret) once its
// install token is spent: accepted only for that host, from that host's address, state `booted`;
// the token path is unchanged (a spent token is still refused). Every refusal is one fault that
// names neither the secret nor whose it would be, stores nothing, and the log never carries it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SyncKeys } from '../../src/sync/index.js';
import type { XmlRpcValue } from '../../src/rpc/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { fixtureHost, iscsiAttrs, LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';
import { InstallTokens } from '../../src/boot/install-tokens.js';
import { call, fault, SECRET } from './installing-node.js';

async function installedNodes(prefix: string) {
  const logs = captureLogs('info');
  const lb = await loopbackFrontend({
    prefix,
    overrides: LOOPBACK_NETWORK,
    logger: logs.logger,
    hosts: [
      fixtureHost(0, { appliance: 'compute-diskless', bootAction: 'install', attrs: iscsiAttrs('compute-0-0', SECRET) }),
      fixtureHost(1, { appliance: 'compute-diskless', bootAction: 'install' }),
    ],
  });
  const keys = new SyncKeys(lb.dir);
  return { ...lb, logs, keys, tokens: new InstallTokens(lb.f.store) };
}

test("reportStatus with the node's sync secret: booted from its own address, with the failed scratch disk in the event; the token path unchanged", async () => {
  const n = await installedNodes('nrt-rpc-secret-');
  try {
    const secret = n.keys.nodeSecret('compute-0-0');
    // The install is over: the token is spent and reports nothing, as before.
    const token = await n.tokens.issue('compute-0-0', '127.0.0.2');
    await n.f.store.tokens.consume((await n.tokens.verify(token, '127.0.0.2')).hash);
    assert.match((await fault(call(n.port, 'netroot.reportStatus', [token, 'booted']))).message, /E_TOKEN_USED/);

    assert.equal(
      await call(n.port, 'netroot.reportStatus', [
        `sync:${secret}`,
        'booted',
        { scratch_failed_disk: '/dev/vdc', scratch_failed_reason: 'lvcreate -i 2 failed <&>' },
      ]),
      true,
    );
    assert.equal((await n.f.store.hosts.get('compute-0-0'))?.state, 'booted');
    const ev = (await n.f.store.events.list({ kind: 'host.status', host: 'compute-0-0' })).at(-1);
    assert.deepEqual(ev?.detail, {
      state: 'booted',
      from: '127.0.0.2',
      via: 'sync-secret',
      scratch_failed: { disk: '/dev/vdc', reason: 'lvcreate -i 2 failed <&>' },
    });
    // Facts work on this path too.
    assert.equal(await call(n.port, 'netroot.reportStatus', [`sync:${secret}`, 'booted', { cpus: 4 }]), true);
    const cpus = (await n.f.store.attributes.list({ scope: 'host', target: 'compute-0-0' })).find((a) => a.name === 'cpus');
    assert.equal(cpus?.value, '4');

    // A fresh token (a reinstall) still works the old way.
    const again = await n.tokens.issue('compute-0-0', '127.0.0.2');
    assert.equal(await call(n.port, 'netroot.reportStatus', [again, 'installing']), true);
    assert.equal((await n.f.store.hosts.get('compute-0-0'))?.state, 'installing');

    const text = n.logs.pretty.join('\n') + JSON.stringify(n.logs.records);
    assert.ok(!text.includes(secret), 'the secret is never logged');
    assert.match(text, /rpc call/);
  } finally {
    await n.close();
  }
});

test("reportStatus with a sync secret: a wrong one, another node's, one replayed from another address, one without its prefix, or for another state: refused, nothing stored, the secret never echoed", async () => {
  const n = await installedNodes('nrt-rpc-secret-bad-');
  try {
    const mine = n.keys.nodeSecret('compute-0-0');
    const other = n.keys.nodeSecret('compute-0-1');
    const eventsBefore = (await n.f.store.events.list({ kind: 'host.status' })).length;
    const stateBefore = (await n.f.store.hosts.get('compute-0-0'))?.state;
    const cases: Array<[string, XmlRpcValue[], string, RegExp]> = [
      ['wrong secret', [`sync:${randomBytes(32).toString('base64url')}`, 'booted'], '127.0.0.2', /E_NODE_SECRET: node secret is not valid from this address/],
      ["another node's secret", [`sync:${other}`, 'booted'], '127.0.0.2', /E_NODE_SECRET/],
      // A captured call replayed from another machine: the secret is bound to its host's address.
      ['replayed from the other node', [`sync:${mine}`, 'booted'], '127.0.0.3', /E_NODE_SECRET/],
      ['replayed from an unknown address', [`sync:${mine}`, 'booted'], '127.0.0.9', /E_NODE_SECRET/],
      ['empty secret', ['sync:', 'booted'], '127.0.0.2', /E_NODE_SECRET/],
      ['garbage secret', ['sync:a b<c>&d', 'booted'], '127.0.0.2', /E_NODE_SECRET/],
      ['the secret as a token', [mine, 'booted'], '127.0.0.2', /E_TOKEN_INVALID/],
      // What a replay could do with the node's own secret from its own address is limited to "booted".
      ['failed with a secret', [`sync:${mine}`, 'failed'], '127.0.0.2', /state must be booted/],
      ['installing with a secret', [`sync:${mine}`, 'installing'], '127.0.0.2', /state must be booted/],
      ['installed with a secret', [`sync:${mine}`, 'installed'], '127.0.0.2', /state must be booted/],
      ['disk not a /dev path', [`sync:${mine}`, 'booted', { scratch_failed_disk: 'vdb' }], '127.0.0.2', /facts\.scratch_failed_disk must be a \/dev path/],
      ['disk with shell', [`sync:${mine}`, 'booted', { scratch_failed_disk: '/dev/$(reboot)' }], '127.0.0.2', /scratch_failed_disk/],
      ['disk too long', [`sync:${mine}`, 'booted', { scratch_failed_disk: `/dev/${'a'.repeat(121)}` }], '127.0.0.2', /scratch_failed_disk/],
      ['disk an int', [`sync:${mine}`, 'booted', { scratch_failed_disk: 3 }], '127.0.0.2', /scratch_failed_disk/],
      [
        'reason too long',
        [`sync:${mine}`, 'booted', { scratch_failed_disk: '/dev/vdb', scratch_failed_reason: 'x'.repeat(201) }],
        '127.0.0.2',
        /scratch_failed_reason must be printable ASCII/,
      ],
      [
        'reason with a newline',
        [`sync:${mine}`, 'booted', { scratch_failed_disk: '/dev/vdb', scratch_failed_reason: 'a\nb' }],
        '127.0.0.2',
        /scratch_failed_reason/,
      ],
      ['reason empty', [`sync:${mine}`, 'booted', { scratch_failed_reason: '' }], '127.0.0.2', /scratch_failed_reason/],
    ];
    for (const [name, params, from, why] of cases) {
      const f = await fault(call(n.port, 'netroot.reportStatus', params, from));
      assert.match(f.message, why, name);
      for (const s of [mine, other]) assert.ok(!f.message.includes(s.slice(0, 16)), `${name}: the fault carries a secret`);
      assert.ok(!/compute-0-[01]/.test(f.message), `${name}: the fault names a host: ${f.message}`);
    }
    assert.equal((await n.f.store.events.list({ kind: 'host.status' })).length, eventsBefore, 'no refused call left an event');
    assert.equal((await n.f.store.hosts.get('compute-0-0'))?.state, stateBefore);
    const text = n.logs.pretty.join('\n') + JSON.stringify(n.logs.records);
    for (const s of [mine, other]) assert.ok(!text.includes(s), 'a secret is in the log');
    assert.match(text, /E_NODE_SECRET/, 'the refusal is logged by its code');
  } finally {
    await n.close();
  }
});
