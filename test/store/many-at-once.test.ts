// Reads of many keys in one call (hosts.states, hosts.knownMacs), writes made at once (PostgreSQL
// commits the writes that queued meanwhile together, each under its own savepoint: each still
// commits or fails alone), tokens.issue for an unknown host inside a transaction, and the guard on
// PostgreSQL reads run as one statement without a transaction. Both backends unless marked.
import assert from 'node:assert/strict';
import pg from 'pg';
import { Q } from '../../src/store/postgres-repos.js';
import { forEachBackend } from '../helpers/store-backends.js';

const iface = (i: number) => [{ mac: `52:54:00:00:0c:${i.toString(16).padStart(2, '0')}`, ip: `10.1.0.${i}`, subnet: '10.1.0.0/16', device: 'eth0' }];

forEachBackend('hosts.states and hosts.knownMacs: one read for many keys; unknown keys left out; none asked, none answered', async (b) => {
  const store = await b.open();
  for (let i = 1; i <= 3; i++) await store.hosts.add({ name: `compute-0-${i}`, appliance: 'compute', rack: 0, rank: i, interfaces: iface(i) });
  await store.hosts.update('compute-0-2', { state: 'installed' });
  const states = await store.hosts.states(['compute-0-1', 'compute-0-2', 'nobody', 'compute-0-1']);
  assert.deepEqual([...new Map(states.map((s) => [s.name, s.state]))].sort(), [
    ['compute-0-1', 'discovered'],
    ['compute-0-2', 'installed'],
  ]);
  assert.deepEqual(await store.hosts.states([]), []);
  // A name with SQL or JSON in it is a key like any other.
  assert.deepEqual(await store.hosts.states(["x'); DROP TABLE hosts; --", '["compute-0-3"]']), []);
  const macs = await store.hosts.knownMacs([iface(3)[0]!.mac, '52:54:00:00:0c:ff', iface(1)[0]!.mac]);
  assert.deepEqual(macs.sort(), [iface(1)[0]!.mac, iface(3)[0]!.mac]);
  assert.deepEqual(await store.hosts.knownMacs([]), []);
  // Inside a transaction too, seeing its own writes.
  await store.transaction(async (tx) => {
    await tx.hosts.add({ name: 'compute-0-4', appliance: 'compute', rack: 0, rank: 4, interfaces: iface(4) });
    assert.deepEqual(await tx.hosts.knownMacs([iface(4)[0]!.mac]), [iface(4)[0]!.mac]);
    assert.deepEqual(await tx.hosts.states(['compute-0-4']), [{ name: 'compute-0-4', state: 'discovered' }]);
  });
  assert.equal((await store.hosts.list()).length, 4);
});

forEachBackend('writes made at once each commit or fail alone: a refused one, a transaction that throws, the others all kept', async (b) => {
  const store = await b.open();
  await store.hosts.add({ name: 'compute-0-1', appliance: 'compute', rack: 0, rank: 1, interfaces: iface(1) });
  const attr = (name: string) => ({ scope: 'host' as const, target: 'compute-0-1', name, value: name });
  const results = await Promise.allSettled([
    ...Array.from({ length: 20 }, (_, i) => store.attributes.set(attr(`a${i}`))),
    // A duplicate MAC: refused, and nothing of it written.
    store.hosts.add({ name: 'compute-0-9', appliance: 'compute', rack: 0, rank: 9, interfaces: iface(1) }),
    store.transaction(async (tx) => {
      await tx.attributes.set(attr('rolled-back'));
      await tx.events.append({ kind: 'rolled-back' });
      throw new Error('this transaction fails');
    }),
    store.transaction(async (tx) => {
      await tx.attributes.set(attr('kept'));
      // A refused call inside a transaction undoes only itself; the transaction goes on.
      await assert.rejects(tx.hosts.add({ name: 'compute-0-8', appliance: 'compute', rack: 0, rank: 8, interfaces: iface(1) }), { code: 'E_DUPLICATE' });
      await tx.events.append({ kind: 'kept' });
      return 'done';
    }),
    store.events.append({ kind: 'alone' }),
    ...Array.from({ length: 20 }, (_, i) => store.attributes.set(attr(`b${i}`))),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    [...Array(20).fill('fulfilled'), 'rejected', 'rejected', 'fulfilled', 'fulfilled', ...Array(20).fill('fulfilled')],
  );
  assert.equal((results[20] as PromiseRejectedResult).reason.code, 'E_DUPLICATE');
  assert.match((results[21] as PromiseRejectedResult).reason.message, /this transaction fails/);
  assert.equal((results[22] as PromiseFulfilledResult<string>).value, 'done');
  const names = (await store.attributes.list({ scope: 'host', target: 'compute-0-1' })).map((a) => a.name).sort();
  assert.deepEqual(names, [...Array.from({ length: 20 }, (_, i) => `a${i}`), ...Array.from({ length: 20 }, (_, i) => `b${i}`), 'kept'].sort());
  assert.deepEqual(
    (await store.events.list()).map((e) => e.kind).filter((k) => k !== 'host.added'),
    ['kept', 'alone'],
  );
  assert.equal(await store.hosts.get('compute-0-9'), null);
  assert.equal(await store.hosts.get('compute-0-8'), null);
  assert.equal((await store.hosts.byMac(iface(1)[0]!.mac))?.name, 'compute-0-1');
});

forEachBackend('tokens.issue for an unknown host is E_HOST_NOT_FOUND, and a transaction around it goes on', async (b) => {
  const store = await b.open();
  await store.hosts.add({ name: 'compute-0-1', appliance: 'compute', rack: 0, rank: 1, interfaces: iface(1) });
  await assert.rejects(store.tokens.issue('nobody', 'a'.repeat(64), '10.1.0.1', 60), { code: 'E_HOST_NOT_FOUND' });
  const t = await store.transaction(async (tx) => {
    await assert.rejects(tx.tokens.issue('nobody', 'b'.repeat(64), '10.1.0.1', 60), { code: 'E_HOST_NOT_FOUND' });
    await tx.events.append({ kind: 'after' });
    return tx.tokens.issue('compute-0-1', 'c'.repeat(64), '10.1.0.1', 60);
  });
  assert.equal(t.host, 'compute-0-1');
  assert.equal((await store.tokens.find('c'.repeat(64)))?.host, 'compute-0-1');
  assert.equal(await store.tokens.find('b'.repeat(64)), null);
  assert.deepEqual((await store.events.list({ kind: 'after' })).length, 1);
});

forEachBackend(
  'a PostgreSQL read run as one statement refuses a second one (E_STORE_STATEMENTS)',
  async (b) => {
    const c = new pg.Client({ connectionString: b.target });
    await c.connect();
    try {
      const one = new Q(c as unknown as pg.PoolClient, true);
      assert.deepEqual(await one.get('SELECT 1 AS x'), { x: 1 });
      await assert.rejects(one.get('SELECT 2 AS x'), { code: 'E_STORE_STATEMENTS' });
      // A transaction's Q runs any number.
      const many = new Q(c as unknown as pg.PoolClient);
      await many.get('SELECT 1');
      assert.deepEqual(await many.get('SELECT 2 AS x'), { x: 2 });
    } finally {
      await c.end();
    }
  },
  ['postgres'],
);
