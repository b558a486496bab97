// The bmcs table (migration 4): set/get/list/remove, replace in place, the host's removal takes its
// BMC with it (ON DELETE CASCADE), an unknown host and out-of-range values are refused, and the
// transaction repos carry it too.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { BmcRecord } from '../../src/store/index.js';
import { isNetrootError } from '../../src/errors.js';
import { forEachBackend } from '../helpers/store-backends.js';

const entry = (host: string, over: Partial<BmcRecord> = {}): BmcRecord => ({
  host,
  driver: 'ipmi',
  address: '10.2.0.1',
  port: null,
  user: 'admin',
  secret: 's3cret',
  insecureTls: false,
  systemId: null,
  ...over,
});

forEachBackend('bmcs: set, get, replace, list, remove; cascade with the host; unknown host; CHECKs', async (b) => {
  const store = await b.open();
  try {
    for (const [i, name] of ['compute-0-1', 'compute-0-0'].entries())
      await store.hosts.add({
        name,
        appliance: 'compute',
        rack: 0,
        rank: 1 - i,
        interfaces: [{ mac: `52:54:00:00:00:0${i}`, ip: null, subnet: null, device: 'eth0' }],
      });
    assert.equal(await store.bmcs.get('compute-0-0'), null);
    assert.deepEqual(await store.bmcs.set(entry('compute-0-0')), entry('compute-0-0'));
    const rf = entry('compute-0-1', { driver: 'redfish', address: 'bmc1.example', port: 8443, insecureTls: true, systemId: 'System.Embedded.1' });
    await store.bmcs.set(rf);
    assert.deepEqual(await store.bmcs.get('compute-0-1'), rf);
    // replace in place
    await store.bmcs.set(entry('compute-0-0', { address: '10.2.0.9', port: 6230, secret: 'other' }));
    assert.deepEqual(await store.bmcs.get('compute-0-0'), entry('compute-0-0', { address: '10.2.0.9', port: 6230, secret: 'other' }));
    assert.deepEqual(
      (await store.bmcs.list()).map((b) => b.host),
      ['compute-0-0', 'compute-0-1'],
    );
    // unknown host
    await assert.rejects(store.bmcs.set(entry('compute-9-9')), (e) => isNetrootError(e) && e.code === 'E_HOST_NOT_FOUND');
    // CHECKs: never echo the secret
    await assert.rejects(
      store.bmcs.set(entry('compute-0-0', { port: 70000 })),
      (e) => isNetrootError(e) && e.code === 'E_BMC_BAD' && !e.message.includes('other'),
    );
    await assert.rejects(store.bmcs.set(entry('compute-0-0', { driver: 'telnet' as 'ipmi' })), (e) => isNetrootError(e) && e.code === 'E_BMC_BAD');
    // the transaction repos
    await store.transaction(async (tx) => {
      assert.equal((await tx.bmcs.get('compute-0-0'))?.port, 6230);
    });
    // remove
    assert.equal(await store.bmcs.remove('compute-0-1'), true);
    assert.equal(await store.bmcs.remove('compute-0-1'), false);
    assert.equal(await store.bmcs.remove('no-such-host'), false);
    // the host's removal removes its BMC (no row left behind for a later host of that name)
    await store.hosts.remove('compute-0-0');
    assert.deepEqual(await store.bmcs.list(), []);
    await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [] });
    assert.equal(await store.bmcs.get('compute-0-0'), null);
  } finally {
    await store.close();
  }
  if (b.name === 'sqlite') {
    const raw = new Database(b.target);
    assert.equal(raw.pragma('user_version', { simple: true }), 4);
    assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM bmcs').get() as { n: number }).n, 0);
    raw.close();
  } else {
    const raw = new pg.Client(b.target);
    await raw.connect();
    assert.equal((await raw.query('SELECT version FROM schema_version')).rows[0].version, 4);
    assert.equal((await raw.query('SELECT COUNT(*)::int AS n FROM bmcs')).rows[0].n, 0);
    await raw.end();
  }
});
