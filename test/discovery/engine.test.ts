import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryEngine, lostRace } from '../../src/discovery/engine.js';
import { UserError } from '../../src/errors.js';
import { nextFreeAddress, defaultBaseIp } from '../../src/discovery/addresses.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import { hostsFilePlugin } from '../../src/discovery/plugins/hosts-file.js';
import { PluginTimeoutError, withTimeout, type Plugin } from '../../src/discovery/plugin.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';
import { forEachBackend, type Backend } from '../helpers/store-backends.js';

function setup(plugins: Plugin[] = [hostsFilePlugin, bootActionPlugin], overrides: Record<string, string> = {}, timeoutMs = 60_000, opened?: Store) {
  const dir = tempStateDir('nrt-disc-');
  const config = loadConfig({
    env: {},
    overrides: { stateDir: dir, 'network.privateNetwork': '10.1.0.0/16', 'network.frontendAddress': '10.1.1.1', ...overrides },
  });
  const store = opened ?? openStore(dir);
  const engine = new DiscoveryEngine(store, config, plugins, silentLogger, timeoutMs);
  return {
    dir,
    config,
    store,
    engine,
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true });
    },
  };
}

const mac = (i: number) => `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`;

test('address rules: Rocks counts down from the top of the private network, skipping used ones', () => {
  assert.equal(defaultBaseIp('10.1.0.0/16'), '10.1.255.254');
  assert.equal(nextFreeAddress({ network: '10.1.0.0/16' }, new Set()), '10.1.255.254');
  assert.equal(nextFreeAddress({ network: '10.1.0.0/16' }, new Set(['10.1.255.254', '10.1.255.253'])), '10.1.255.252');
  assert.equal(nextFreeAddress({ network: '10.1.0.0/16', baseip: '10.1.0.10', inc: 2 }, new Set(['10.1.0.10'])), '10.1.0.12');
  assert.throws(() => nextFreeAddress({ network: '10.9.9.0/30' }, new Set(['10.9.9.2', '10.9.9.1'])), { code: 'E_ADDRESS_EXHAUSTED' });
  assert.throws(() => nextFreeAddress({ network: '10.1.0.0/16', baseip: '192.168.0.1' }, new Set()), /outside the private network/);
  assert.throws(() => nextFreeAddress({ network: '10.1.0.0/16', inc: 0 }, new Set()), { code: 'E_BAD_INC' });
});

forEachBackend('naming: <basename>-<rack>-<rank>, rank = max in that rack + 1; addresses skip the frontend', async (b) => {
  const s = setup([], { 'network.frontendAddress': '10.1.255.254' }, 60_000, await b.open());
  try {
    const a = await s.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    assert.equal(a.name, 'compute-0-0');
    assert.equal(a.interfaces[0]!.ip, '10.1.255.253');
    const b = await s.engine.add({ mac: mac(2) }, { appliance: 'compute' });
    assert.equal(b.name, 'compute-0-1', 'both appliances share the basename compute');
    const c = await s.engine.add({ mac: mac(3) }, { appliance: 'compute', rack: 2 });
    assert.equal(c.name, 'compute-2-0');
    const d = await s.engine.add({ mac: mac(4) }, { appliance: 'compute', rack: 2, rank: 7, basename: 'gpu' });
    assert.equal(d.name, 'gpu-2-7');
    const e = await s.engine.add({ mac: mac(5) }, { appliance: 'compute', hostname: 'special', ipaddr: '10.1.0.5' });
    assert.equal(e.name, 'special');
    assert.equal(e.interfaces[0]!.ip, '10.1.0.5');
    await assert.rejects(s.engine.add({ mac: mac(1) }, { appliance: 'compute' }), { code: 'E_MAC_KNOWN' });
    await assert.rejects(s.engine.add({ mac: mac(6) }, { appliance: 'compute', ipaddr: '10.1.0.5' }), /IP 10.1.0.5 is already assigned/);
    await assert.rejects(s.engine.add({ mac: mac(6) }, { appliance: 'compute', rack: 2, rank: 7, basename: 'gpu' }), /already taken/);
    await assert.rejects(s.engine.add({ mac: 'nonsense' }, { appliance: 'compute' }), { code: 'E_BAD_MAC' });
    await assert.rejects(s.engine.add({ mac: mac(6) }, { appliance: 'nope' }), { code: 'E_APPLIANCE_NOT_FOUND' });
    // after all those refusals the next machine is still added
    assert.equal((await s.engine.add({ mac: mac(6) }, { appliance: 'compute' })).name, 'compute-0-3', '"special" took rank 2');
  } finally {
    await s.done();
  }
});

forEachBackend('machines powered on at once never share a name or an address', async (b) => {
  const s = setup(undefined, {}, 60_000, await b.open());
  try {
    const hosts = await Promise.all(Array.from({ length: 12 }, (_, i) => s.engine.add({ mac: mac(i) }, { appliance: 'compute-diskless' })));
    assert.equal(new Set(hosts.map((h) => h.name)).size, 12);
    assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.ip)).size, 12);
    // assignment follows arrival order
    assert.deepEqual(
      hosts.map((h) => h.name),
      Array.from({ length: 12 }, (_, i) => `compute-0-${i}`),
    );
    const all = await s.store.hosts.list();
    assert.ok(all.every((h) => h.bootAction === 'install'));
    const hostsFile = readFileSync(join(s.config.stateDir, 'hosts'), 'utf8');
    assert.match(hostsFile, /^10\.1\.255\.254\tcompute-0-0\.local compute-0-0$/m);
  } finally {
    await s.done();
  }
});

forEachBackend('a failing plugin rolls back: earlier plugins undone, host gone, reason recorded; next machine still works', async (b) => {
  const log: string[] = [];
  const recorder: Plugin = {
    name: '10-recorder',
    added: async (h) => void log.push(`added ${h.name}`),
    removed: async (h) => void log.push(`removed ${h.name}`),
  };
  let fail = true;
  const flaky: Plugin = {
    name: '20-flaky',
    added: async () => {
      if (fail) throw new Error('storage node is full');
    },
  };
  const s = setup([recorder, flaky, bootActionPlugin], {}, 60_000, await b.open());
  try {
    await assert.rejects(
      s.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' }),
      (e: Error & { code?: string }) =>
        e.code === 'E_PLUGIN_FAILED' && /compute-0-0 was not added: plugin 20-flaky failed: storage node is full/.test(e.message),
    );
    assert.deepEqual(log, ['added compute-0-0', 'removed compute-0-0']);
    assert.equal(await s.store.hosts.byMac(mac(1)), null);
    const ev = await s.store.events.list({ kind: 'host.add_failed' });
    assert.equal(ev.length, 1);
    assert.match(String(ev[0]!.detail['reason']), /storage node is full/);
    fail = false;
    const h = await s.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    assert.equal(h.name, 'compute-0-0');
    assert.equal(h.bootAction, 'install');
  } finally {
    await s.done();
  }
});

test('a hanging plugin hits its time limit and rolls back', async () => {
  const hang: Plugin = { name: '20-hang', added: () => new Promise(() => {}) };
  const s = setup([hang], {}, 100);
  try {
    await assert.rejects(s.engine.add({ mac: mac(1) }, { appliance: 'compute' }), /did not finish within 100 ms/);
    assert.deepEqual(await s.store.hosts.list(), []);
  } finally {
    await s.done();
  }
});

test('--replace keeps name, rack, rank and address; --remove runs plugins then deletes', async () => {
  const removed: Array<[string, boolean | undefined]> = [];
  const p: Plugin = { name: '10-p', removed: async (h, ctx) => void removed.push([h.name, ctx.keepVolume]) };
  const s = setup([p, hostsFilePlugin, bootActionPlugin]);
  try {
    const h = await s.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    const r = await s.engine.replace('compute-0-0', mac(9));
    assert.equal(r.name, h.name);
    assert.equal(r.interfaces[0]!.ip, h.interfaces[0]!.ip);
    assert.equal(r.interfaces[0]!.mac, mac(9));
    assert.equal(await s.store.hosts.byMac(mac(1)), null);
    await assert.rejects(s.engine.replace('nope', mac(3)), { code: 'E_HOST_NOT_FOUND' });
    await s.engine.remove('compute-0-0', { keepVolume: true });
    assert.deepEqual(removed, [['compute-0-0', true]]);
    assert.equal(await s.store.hosts.get('compute-0-0'), null);
    assert.doesNotMatch(readFileSync(join(s.config.stateDir, 'hosts'), 'utf8'), /compute-0-0/);
  } finally {
    await s.done();
  }
});

test('a plugin past its time limit is cancelled: it undoes its own work before the others roll back', async () => {
  const made: string[] = [];
  const order: string[] = [];
  const first: Plugin = {
    name: '10-first',
    added: async () => void made.push('first'),
    removed: async () => void order.push(`first undone (slow left ${made.filter((m) => m === 'slow').length})`),
  };
  const slow: Plugin = {
    name: '20-slow',
    added: (_h, ctx) =>
      new Promise<void>((_, reject) => {
        made.push('slow');
        ctx.signal!.addEventListener('abort', () => {
          // Undoing takes a while: the rollback of 10-first must wait for it.
          setTimeout(() => {
            made.splice(made.indexOf('slow'), 1);
            order.push('slow undone');
            reject(ctx.signal!.reason);
          }, 30);
        });
      }),
  };
  const s = setup([first, slow], {}, 100);
  try {
    await assert.rejects(s.engine.add({ mac: mac(1) }, { appliance: 'compute' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_PLUGIN_FAILED');
      assert.match(e.message, /plugin 20-slow failed: plugin 20-slow: added\(compute-0-0\) did not finish within 100 ms$/);
      return true;
    });
    assert.deepEqual(order, ['slow undone', 'first undone (slow left 0)']);
    assert.deepEqual(await s.store.hosts.list(), []);
  } finally {
    await s.done();
  }
});

test('withTimeout: the signal fires at the limit with the timeout as reason; settled says whether fn stopped', async () => {
  let seen: unknown;
  const stops = withTimeout('stops', 20, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject((seen = signal.reason)))), 200);
  await assert.rejects(stops, (e: unknown) => e instanceof PluginTimeoutError && e.settled && e.code === 'E_PLUGIN_TIMEOUT');
  assert.ok(seen instanceof PluginTimeoutError, 'the abort reason is the timeout');
  const t = Date.now();
  await assert.rejects(
    withTimeout('ignores', 20, () => new Promise(() => {}), 50),
    (e: unknown) => e instanceof PluginTimeoutError && !e.settled && /had not stopped 50 ms after it was cancelled/.test(e.message),
  );
  assert.ok(Date.now() - t >= 60, 'waited the grace period');
  assert.equal(await withTimeout('quick', 1000, async (signal) => (signal.aborted ? 'aborted' : 'ok')), 'ok');
});

forEachBackend('a lost race (E_DUPLICATE on the chosen name, rank or address) is retried by its `where`, never by message text; a MAC never', async (b) => {
  // Messages deliberately say "MAC" where the field is not the MAC and the reverse: only `where` counts.
  assert.equal(lostRace(new UserError('E_DUPLICATE', 'host name compute-0-0 (MAC ...) is already taken', { where: 'name' }), {}), true);
  assert.equal(lostRace(new UserError('E_DUPLICATE', 'IP 10.1.255.254 is already assigned', { where: 'ip' }), {}), true);
  assert.equal(lostRace(new UserError('E_DUPLICATE', 'address 52:54:00:00:01:01 is already assigned', { where: 'mac' }), {}), false);
  assert.equal(lostRace(new UserError('E_MAC_KNOWN', '52:54:00:00:01:01 is already compute-0-0', { where: 'mac' }), {}), false);
  assert.equal(lostRace(new UserError('E_DUPLICATE', 'taken', { where: 'name' }), { hostname: 'special' }), false, 'the operator chose the name');
  assert.equal(lostRace(new UserError('E_DUPLICATE', 'taken', { where: 'ip' }), { ipaddr: '10.1.0.5' }), false);
  assert.equal(lostRace(new UserError('E_DUPLICATE', 'taken', { where: 'basename' }), { rank: 3 }), false);
  assert.equal(lostRace(new Error('E_DUPLICATE'), {}), false);

  // Through the engine and a real store: a chosen name held by a host of another basename is chosen
  // again (each attempt its own transaction) up to the limit, then reported naming the field.
  const s = setup([], {}, 60_000, await b.open());
  try {
    await s.store.appliances.add({ name: 'gpu', basename: 'gpu', graph: 'default', rootNode: 'compute', discoverable: true });
    await s.store.hosts.add({
      name: 'compute-0-0',
      appliance: 'gpu',
      rack: 9,
      rank: 9,
      interfaces: [{ mac: mac(40), ip: '10.1.0.40', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    let transactions = 0;
    const counted = new Proxy(s.store, {
      get: (t, k) => (k === 'transaction' ? (fn: Parameters<typeof t.transaction>[0]) => (transactions++, t.transaction(fn)) : Reflect.get(t, k)),
    });
    const engine = new DiscoveryEngine(counted, s.config, [], silentLogger, 60_000);
    await assert.rejects(
      engine.add({ mac: mac(41) }, { appliance: 'compute' }),
      (e: unknown) => e instanceof UserError && e.code === 'E_DUPLICATE' && e.where === 'name',
    );
    assert.equal(transactions, 6, 'the first try and five more');
    transactions = 0;
    await assert.rejects(engine.add({ mac: mac(40) }, { appliance: 'compute' }), { code: 'E_MAC_KNOWN' });
    assert.equal(transactions, 1, 'a known MAC is not retried');
    transactions = 0;
    assert.equal((await engine.add({ mac: mac(41) }, { appliance: 'compute', rank: 1 })).name, 'compute-0-1');
    assert.equal(transactions, 2, 'the add, and the release of its claim (ADDING_ATTRIBUTE) once the plugins ended');
  } finally {
    await s.done();
  }
});

forEachBackend(
  'two servers sharing one PostgreSQL discover the same new machines at once: one host per MAC, no name or address twice',
  async (b: Backend) => {
    const [one, two] = [setup([], {}, 60_000, await b.open()), setup([], {}, 60_000, await b.open())];
    try {
      // Every machine's DISCOVER reaches both servers (one network, or two relays): each tries to add it.
      const tries = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => [
          one.engine.add({ mac: mac(60 + i) }, { appliance: 'compute' }),
          two.engine.add({ mac: mac(60 + i) }, { appliance: 'compute' }),
        ]).flat(),
      );
      const added = tries.filter((t) => t.status === 'fulfilled').map((t) => (t as PromiseFulfilledResult<{ name: string }>).value.name);
      const refused = tries.filter((t) => t.status === 'rejected').map((t) => (t as PromiseRejectedResult).reason as UserError);
      assert.equal(added.length, 8);
      assert.deepEqual(
        refused.map((e) => e.code),
        Array(8).fill('E_MAC_KNOWN'),
      );
      const hosts = await one.store.hosts.list();
      assert.deepEqual(hosts.map((h) => h.name).sort(), Array.from({ length: 8 }, (_, i) => `compute-0-${i}`).sort());
      assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.mac)).size, 8);
      assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.ip)).size, 8);
    } finally {
      await one.done();
      await two.done();
    }
  },
  ['postgres'],
);
