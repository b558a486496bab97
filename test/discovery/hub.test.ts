// The discovery hub on its own: DISCOVER events deduplicated on the injected clock, and an add that
// fails in an unexpected way (a store error) does not stop the machines queued after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { DiscoveryHub } from '../../src/discovery/hub.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';

const mac = (i: number) => `52:54:00:00:0a:${i.toString(16).padStart(2, '0')}`;

function setup() {
  const dir = tempStateDir('nrt-hub-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir, 'network.privateNetwork': '10.1.0.0/16', 'network.frontendAddress': '10.1.1.1' } });
  const store = openStore(dir);
  const engine = new DiscoveryEngine(store, config, [bootActionPlugin], silentLogger);
  return {
    store,
    engine,
    done: () => {
      store.close();
      rmSync(dir, { recursive: true });
    },
  };
}

test('a DISCOVER event is logged once per MAC and window, measured on the injected clock', async () => {
  const s = setup();
  try {
    let clock = 5_000_000;
    const hub = new DiscoveryHub(s.store, s.engine, silentLogger, 1000, () => clock);
    const discovers = async () => (await s.store.events.list({ kind: 'dhcp.discover' })).length;
    hub.report({ mac: mac(1) });
    hub.report({ mac: mac(1) });
    await hub.drain();
    assert.equal(await discovers(), 1);
    clock += 1000;
    hub.report({ mac: mac(1) });
    assert.equal(await discovers(), 1, 'not after exactly the window');
    clock += 1;
    hub.report({ mac: mac(1) });
    hub.report({ mac: mac(2) });
    assert.equal(await discovers(), 3);
    assert.equal(hub.metrics.discovered, 5);
  } finally {
    s.done();
  }
});

test('a store error while adding one machine is logged, and the next machine is still added', async () => {
  const s = setup();
  try {
    let failNext = true;
    // The real store, except that the batch's lookup fails, and then one machine's, as a broken
    // database would.
    const flaky: Store = Object.create(s.store) as Store;
    Object.defineProperty(flaky, 'hosts', {
      value: {
        ...s.store.hosts,
        knownMacs: () => Promise.reject(new Error('disk I/O error')),
        byMac: (m: string) => (failNext ? ((failNext = false), Promise.reject(new Error('disk I/O error'))) : s.store.hosts.byMac(m)),
      },
    });
    const lines: string[] = [];
    const hub = new DiscoveryHub(flaky, s.engine, createLogger({ write: (l) => lines.push(l) }));
    const session = hub.startSession({ appliance: 'compute' }, null);
    hub.report({ mac: mac(1) });
    hub.report({ mac: mac(2) });
    await hub.drain();
    assert.ok(
      lines.some((l) => l.includes('insert-ethers: adding a machine failed') && l.includes(mac(1)) && l.includes('disk I/O error')),
      lines.join('\n'),
    );
    assert.equal((await s.store.hosts.byMac(mac(2)))?.name, 'compute-0-0', 'the machine after the failure was added');
    assert.deepEqual(
      (await hub.getSession(session.id)).machines.map((m) => m.mac),
      [mac(2)],
    );
  } finally {
    s.done();
  }
});
