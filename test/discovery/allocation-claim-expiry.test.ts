// A server killed mid-allocation (issue #21): its `iscsi_allocating` claim names it (server=<id>),
// and once its heartbeat is stale on the DATABASE's clock (servers.staleSeconds) the next allocation
// of the host takes the claim over under the write lock. A live server's claim, and a CLI process's
// (no server id), are still refused. A server whose claim was taken over never undoes the volume of
// the new holder. On both backends.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { abandonedClaim, allocateVolume, CLAIM_ATTRIBUTE, claimServer, claimValue } from '../../src/discovery/plugins/iscsi-allocation.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { IscsiTarget } from '../../src/iscsi/index.js';
import type { EmbeddedBackend } from '../../src/storage/embedded.js';
import type { NetrootError } from '../../src/errors.js';
import type { Host, Store } from '../../src/store/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { sharedStorage } from './shared-storage.js';
import { forEachBackend } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/wait.js';
import { test } from 'node:test';

const STALE = 2;

test('claim values: server id written and read back; malformed or CLI claims name no server', () => {
  assert.equal(claimServer(claimValue('c1', 'srv-1')), 'srv-1');
  assert.equal(claimValue('c1', undefined), 'c1');
  for (const v of ['c1', '', ' server=x', 'c1 server=', 'c1 server=a b', 'c1 server=x y=z', `c1 server=${'x'.repeat(201)}`, 'c1  server=x'])
    assert.equal(claimServer(v), null, JSON.stringify(v));
});

async function claimOf(store: Store, host: string): Promise<string | undefined> {
  return (await store.attributes.list({ scope: 'host', target: host })).find((a) => a.name === CLAIM_ATTRIBUTE)?.value;
}

forEachBackend('a claim left by a server whose heartbeat went stale is taken over; live-server and CLI claims are refused', async (b) => {
  const dir = tempStateDir('nrt-claim-');
  const { target, config, backend, counted, creates } = sharedStorage(dir, { 'servers.staleSeconds': String(STALE) });
  const store = await b.open();
  try {
    const nodes = [{ name: 'shared', backend: counted }];
    const ctx = { store, config, logger: silentLogger, serverId: 'survivor' };
    const addHost = (name: string, i: number): Promise<Host> =>
      store.hosts.add({
        name,
        appliance: 'compute-diskless',
        rack: 0,
        rank: i,
        bootAction: 'local',
        interfaces: [{ mac: `52:54:00:00:22:${i.toString(16).padStart(2, '0')}`, ip: `10.1.0.${10 + i}`, subnet: '10.1.0.0/16', device: 'eth0' }],
      });
    const claim = (host: string, value: string) => store.attributes.set({ scope: 'host', target: host, name: CLAIM_ATTRIBUTE, value });
    const refused = async (h: Host) => {
      await assert.rejects(allocateVolume(h, nodes, ctx), (e: NetrootError) => e.code === 'E_STORAGE_CLAIMED');
    };

    // The dead server beat once; while its beat is fresh its claim holds.
    const dead = { id: 'dead-server', hostName: 'fe-a', addresses: ['10.1.1.2'], pid: 1, version: 't' };
    await store.servers.beat(dead);
    const h1 = await addHost('compute-0-1', 1);
    await claim(h1.name, claimValue('c-dead', dead.id));
    await refused(h1);
    assert.equal(creates(), 0, 'a live claim: the storage node is never asked');
    assert.equal(await claimOf(store, h1.name), claimValue('c-dead', dead.id));

    // A CLI process's claim (no server id) is refused whatever the time.
    const h2 = await addHost('compute-0-2', 2);
    await claim(h2.name, 'c-cli');
    await refused(h2);

    // The heartbeat ages past servers.staleSeconds on the database's clock: abandoned.
    await waitFor(async () => !(await store.servers.list(STALE)).find((s) => s.id === dead.id)?.live, {
      what: 'the dead server to turn stale',
      timeoutMs: 20_000,
    });
    assert.deepEqual(await store.transaction((tx) => abandonedClaim(tx, claimValue('c-dead', dead.id), STALE)).then((a) => a?.server), dead.id);
    await allocateVolume(h1, nodes, ctx);
    assert.equal(creates(), 1);
    assert.equal(await claimOf(store, h1.name), undefined, 'claim dropped once recorded');
    const attrs = Object.fromEntries((await store.attributes.list({ scope: 'host', target: h1.name })).map((a) => [a.name, a.value]));
    assert.equal(attrs['iscsi_volume'], h1.name);
    assert.equal(attrs['iscsi_storage_node'], 'shared');
    const ev = await store.events.list({ kind: 'storage.claim-reclaimed', host: h1.name });
    assert.equal(ev.length, 1);
    assert.equal((ev[0]!.detail as { server: string }).server, dead.id);
    assert.equal((await store.events.list({ kind: 'storage.allocated', host: h1.name })).length, 1);
    await refused(h2); // still: a CLI claim never expires

    // A claim naming a server that has no row at all (a clean stop removed it, or never beat): abandoned.
    const h3 = await addHost('compute-0-3', 3);
    await claim(h3.name, claimValue('c-gone', 'never-registered'));
    await allocateVolume(h3, nodes, ctx);
    assert.equal(creates(), 2);

    // The "dead" server was only paused: it resumes after its claim was taken over and the new holder
    // recorded the volume. Its record is refused and it undoes nothing of the holder's.
    const h4 = await addHost('compute-0-4', 4);
    const zombie = { ...dead, id: 'zombie-server' };
    await store.servers.beat(zombie);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let reachedGate: () => void = () => {};
    const atGate = new Promise<void>((r) => (reachedGate = r));
    const paused = Object.assign(Object.create(backend) as EmbeddedBackend, {
      createVolume: async (v: Parameters<EmbeddedBackend['createVolume']>[0]) => {
        reachedGate();
        await gate;
        return backend.createVolume(v);
      },
    });
    const zombieRun = allocateVolume(h4, [{ name: 'shared', backend: paused }], { ...ctx, serverId: zombie.id });
    zombieRun.catch(() => {});
    await atGate;
    assert.equal(claimServer((await claimOf(store, h4.name))!), zombie.id);
    await waitFor(async () => !(await store.servers.list(STALE)).find((s) => s.id === zombie.id)?.live, {
      what: 'the paused server to turn stale',
      timeoutMs: 20_000,
    });
    await allocateVolume(h4, nodes, ctx);
    const recorded = Object.fromEntries((await store.attributes.list({ scope: 'host', target: h4.name })).map((a) => [a.name, a.value]));
    release();
    await assert.rejects(zombieRun, (e: NetrootError) => e.code === 'E_STORAGE_CLAIMED');
    assert.ok(existsSync(join(dir, 'volumes', `${h4.name}.img`)), 'the holder’s volume is still there');
    const after = Object.fromEntries((await store.attributes.list({ scope: 'host', target: h4.name })).map((a) => [a.name, a.value]));
    assert.equal(after['iscsi_secret'], recorded['iscsi_secret'], 'the record is the holder’s');
    assert.equal(after[CLAIM_ATTRIBUTE], undefined);
    // The target serves the recorded export (the zombie's own CHAP was replaced by the record's again).
    const exp = (await backend.listExports()).find((x) => x.targetIqn === after['iscsi_target']);
    assert.ok(exp, 'the holder’s target is exported');
    assert.equal(exp.chap.secret, after['iscsi_secret']);
    assert.equal((await store.events.list({ kind: 'storage.allocated', host: h4.name })).length, 1);
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
