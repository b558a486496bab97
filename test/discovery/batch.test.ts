// insert-ethers in batches (issue #21 part 5: a rack powered on at once): the engine's addMany
// names a batch in one transaction and runs the plugins over it; each machine answers alone. The
// hub forms the batches from the DISCOVERs that queued meanwhile. On both store backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { DiscoveryHub } from '../../src/discovery/hub.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import { hostsFilePlugin } from '../../src/discovery/plugins/hosts-file.js';
import type { Plugin } from '../../src/discovery/plugin.js';
import type { Host } from '../../src/store/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';
import { forEachBackend } from '../helpers/store-backends.js';

function setup(plugins: Plugin[], opened?: Store) {
  const dir = tempStateDir('nrt-batch-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir, 'network.privateNetwork': '10.1.0.0/16', 'network.frontendAddress': '10.1.1.1' } });
  const store = opened ?? openStore(dir);
  const engine = new DiscoveryEngine(store, config, plugins, silentLogger);
  return {
    dir,
    store,
    engine,
    hostsFile: () => readFileSync(join(dir, 'hosts'), 'utf8'),
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true });
    },
  };
}

const mac = (i: number) => `52:54:00:00:0b:${i.toString(16).padStart(2, '0')}`;
const listed = (text: string) => [...text.matchAll(/\t(\S+)\.local /g)].map((m) => m[1]!).filter((n) => n !== 'frontend');

/** Counts the hosts-file plugin's whole-list rewrites (each reads every host). */
function countingHostsFile(calls: string[]): Plugin {
  return {
    ...hostsFilePlugin,
    added: async (h, ctx) => (calls.push(`added ${h.name}`), hostsFilePlugin.added!(h, ctx)),
    addedBatch: async (hs, ctx) => (calls.push(`addedBatch ${hs.length}`), hostsFilePlugin.addedBatch!(hs, ctx)),
    removed: async (h, ctx) => (calls.push(`removed ${h.name}`), hostsFilePlugin.removed!(h, ctx)),
    removedBatch: async (hs, ctx) => (calls.push(`removedBatch ${hs.map((h) => h.name).join(',')}`), hostsFilePlugin.removedBatch!(hs, ctx)),
  };
}

forEachBackend('a batch is named in order, unique, with one hosts-file rewrite; known and malformed MACs fail alone', async (b) => {
  const calls: string[] = [];
  const s = setup([countingHostsFile(calls), bootActionPlugin], await b.open());
  try {
    await s.engine.add({ mac: mac(1) }, { appliance: 'compute' });
    calls.length = 0;
    const out = await s.engine.addMany([{ mac: mac(2) }, { mac: mac(1) }, { mac: 'nonsense' }, { mac: mac(3) }, { mac: mac(4) }, { mac: mac(2) }], {
      appliance: 'compute',
    });
    assert.deepEqual(
      out.map((r) => r.host?.name ?? (r.error as Error & { code?: string }).code),
      // The same MAC twice in a batch is one host.
      ['compute-0-1', 'E_MAC_KNOWN', 'E_BAD_MAC', 'compute-0-2', 'compute-0-3', 'E_MAC_KNOWN'],
    );
    assert.deepEqual(calls, ['addedBatch 3'], 'one rewrite for the batch');
    const hosts = await s.store.hosts.list();
    assert.equal(hosts.length, 4);
    assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.ip)).size, 4, 'no address twice');
    assert.ok(
      hosts.every((h) => h.bootAction === 'install'),
      'the batch form of 90-boot-action ran for every host',
    );
    assert.deepEqual(listed(s.hostsFile()), ['compute-0-0', 'compute-0-1', 'compute-0-2', 'compute-0-3']);
    // An explicit rank is the first machine's; the next take the following ranks.
    const ranked = await s.engine.addMany([{ mac: mac(5) }, { mac: mac(6) }], { appliance: 'compute', rack: 3, rank: 7 });
    assert.deepEqual(
      ranked.map((r) => r.host?.name),
      ['compute-3-7', 'compute-3-8'],
    );
  } finally {
    await s.done();
  }
});

forEachBackend('a plugin failing for one host of a batch rolls back that host alone; the others are added', async (b) => {
  const log: string[] = [];
  const calls: string[] = [];
  const recorder: Plugin = {
    name: '10-recorder',
    added: async (h) => void log.push(`added ${h.name}`),
    removed: async (h, ctx) => void log.push(`removed ${h.name}${ctx.rollback ? ' (rollback)' : ''}`),
  };
  const flaky: Plugin = {
    name: '60-flaky',
    added: async (h) => {
      if (h.name === 'compute-0-1') throw new Error('no room for this one');
    },
  };
  const s = setup([recorder, countingHostsFile(calls), flaky, bootActionPlugin], await b.open());
  try {
    const out = await s.engine.addMany([{ mac: mac(1) }, { mac: mac(2) }, { mac: mac(3) }], { appliance: 'compute' });
    assert.equal(out[0]!.host?.name, 'compute-0-0');
    assert.equal(out[2]!.host?.name, 'compute-0-2');
    const e = out[1]!.error as Error & { code?: string };
    assert.equal(e.code, 'E_PLUGIN_FAILED');
    assert.match(e.message, /compute-0-1 was not added: plugin 60-flaky failed: no room for this one/);
    assert.deepEqual(log, ['added compute-0-0', 'added compute-0-1', 'added compute-0-2', 'removed compute-0-1 (rollback)']);
    // One rewrite for the batch, one for the rollback: the list without the failed host.
    assert.deepEqual(calls, ['addedBatch 3', 'removed compute-0-1']);
    assert.deepEqual(listed(s.hostsFile()), ['compute-0-0', 'compute-0-2']);
    assert.deepEqual((await s.store.hosts.list()).map((h) => h.name).sort(), ['compute-0-0', 'compute-0-2']);
    assert.equal((await s.store.hosts.get('compute-0-2'))!.bootAction, 'install');
    const failed = await s.store.events.list({ kind: 'host.add_failed' });
    assert.deepEqual(
      failed.map((x) => x.host),
      ['compute-0-1'],
    );
    // The name of the host rolled back is free again: the next machine takes the next rank after
    // the highest, as Rocks does (no hole is refilled).
    assert.equal((await s.engine.add({ mac: mac(4) }, { appliance: 'compute' })).name, 'compute-0-3');
  } finally {
    await s.done();
  }
});

forEachBackend('a batch hook: the hosts it refuses are rolled back alone; a throw rolls back the whole batch, undone once per step', async (b) => {
  const calls: string[] = [];
  let refuse: (hs: readonly Host[]) => Map<string, Error> | 'throw' = () => new Map();
  const picky: Plugin = {
    name: '70-picky',
    addedBatch: async (hs) => {
      const r = refuse(hs);
      if (r === 'throw') throw new Error('the whole rack is refused');
      return r;
    },
  };
  const s = setup([countingHostsFile(calls), picky, bootActionPlugin], await b.open());
  try {
    refuse = (hs) => new Map(hs.filter((h) => h.name.endsWith('-1')).map((h) => [h.name, new Error('odd one out')]));
    const out = await s.engine.addMany([{ mac: mac(1) }, { mac: mac(2) }, { mac: mac(3) }], { appliance: 'compute' });
    assert.deepEqual(
      out.map((r) => r.host?.name ?? r.error!.message),
      ['compute-0-0', 'compute-0-1 was not added: plugin 70-picky failed: odd one out', 'compute-0-2'],
    );
    assert.deepEqual(calls, ['addedBatch 3', 'removed compute-0-1']);
    calls.length = 0;
    refuse = () => 'throw';
    const all = await s.engine.addMany([{ mac: mac(4) }, { mac: mac(5) }], { appliance: 'compute' });
    assert.ok(all.every((r) => r.error && /plugin 70-picky failed: the whole rack is refused/.test(r.error.message)));
    assert.deepEqual(calls, ['addedBatch 2', 'removedBatch compute-0-3,compute-0-4']);
    assert.deepEqual(listed(s.hostsFile()), ['compute-0-0', 'compute-0-2']);
    assert.deepEqual((await s.store.hosts.list()).map((h) => h.name).sort(), ['compute-0-0', 'compute-0-2']);
    // A batch hook alone (no `added`) also runs for a batch of one.
    refuse = () => new Map();
    calls.length = 0;
    assert.equal((await s.engine.add({ mac: mac(6) }, { appliance: 'compute' })).name, 'compute-0-3');
    assert.deepEqual(calls, ['added compute-0-3']);
  } finally {
    await s.done();
  }
});

test('the hub names the DISCOVERs that queued as batches of at most maxBatch, in order of first DISCOVER, up to the session count', async () => {
  const sizes: number[] = [];
  const sizer: Plugin = {
    name: '55-sizer',
    added: async () => void sizes.push(1),
    addedBatch: async (hs) => (sizes.push(hs.length), undefined),
  };
  const s = setup([hostsFilePlugin, sizer, bootActionPlugin]);
  try {
    const hub = new DiscoveryHub(s.store, s.engine, silentLogger, 5000, Date.now, 7);
    const session = hub.startSession({ appliance: 'compute' }, 20);
    // 30 machines DISCOVER while the first batch is being named (every report before the hub runs).
    for (let i = 1; i <= 30; i++) hub.report({ mac: mac(i) });
    hub.report({ mac: mac(3) }); // a repeat while queued is not queued twice
    await hub.drain();
    assert.ok(
      sizes.every((n) => n <= 7),
      `batches of at most 7: ${sizes.join(',')}`,
    );
    assert.equal(
      sizes.reduce((a, n) => a + n, 0),
      20,
      'exactly the session count',
    );
    assert.ok(sizes.length >= 3 && sizes[0] === 7, `full batches first: ${sizes.join(',')}`);
    const view = await hub.getSession(session.id);
    assert.equal(view.open, false, 'the session closed at its count');
    assert.deepEqual(
      view.machines.map((m) => `${m.mac} ${m.host}`),
      Array.from({ length: 20 }, (_, k) => `${mac(k + 1)} compute-0-${k}`),
    );
    assert.equal((await s.store.hosts.list()).length, 20);
    assert.equal(listed(s.hostsFile()).length, 20);
    assert.equal(hub.metrics.added, 20);
  } finally {
    await s.done();
  }
});

test('the hub: one machine of a batch failing is marked failed alone; a session with --hostname names one machine', async () => {
  const flaky: Plugin = {
    name: '60-flaky',
    added: async (h) => {
      if (h.interfaces[0]!.mac === mac(2)) throw new Error('bad machine');
    },
  };
  const s = setup([hostsFilePlugin, flaky, bootActionPlugin]);
  try {
    const hub = new DiscoveryHub(s.store, s.engine, silentLogger);
    const one = hub.startSession({ appliance: 'compute' }, null);
    for (let i = 1; i <= 3; i++) hub.report({ mac: mac(i) });
    await hub.drain();
    const v = await hub.endSession(one.id);
    assert.deepEqual(
      v.machines.map((m) => [m.mac, m.host, m.error]),
      [
        [mac(1), 'compute-0-0', null],
        [mac(2), null, 'compute-0-1 was not added: plugin 60-flaky failed: bad machine'],
        [mac(3), 'compute-0-2', null],
      ],
    );
    assert.equal(hub.metrics.addFailed, 1);
    // --hostname: the next machine only, whatever queued with it.
    const named = hub.startSession({ appliance: 'compute', hostname: 'login-1' }, null);
    for (let i = 10; i <= 12; i++) hub.report({ mac: mac(i) });
    await hub.drain();
    const w = await hub.getSession(named.id);
    assert.deepEqual(
      w.machines.map((m) => [m.mac, m.host]),
      [[mac(10), 'login-1']],
    );
    assert.equal(w.open, false);
    assert.equal(await s.store.hosts.byMac(mac(11)), null);
  } finally {
    await s.done();
  }
});
