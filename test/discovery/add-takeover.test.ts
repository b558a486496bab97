// A server killed between a new host's row and the end of its plugins (issue #21): the host is left
// half-provisioned (boot action `local`, its add claim `netroot_adding` naming the dead server).
// Once that server's heartbeat is stale (database clock), another server's resumeAbandoned() takes
// the claim over and runs the plugins again: the host gets its one volume and boot action install.
// A live server's add is left alone; the "dead" server, only paused, then undoes nothing. Both backends.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { ADDING_ATTRIBUTE } from '../../src/discovery/host-service.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import { iscsiAllocationPlugin } from '../../src/discovery/plugins/iscsi-allocation.js';
import { claimServer } from '../../src/discovery/claims.js';
import type { Plugin } from '../../src/discovery/plugin.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { IscsiTarget } from '../../src/iscsi/index.js';
import { EmbeddedBackend } from '../../src/storage/embedded.js';
import type { NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { sharedStorage } from './shared-storage.js';
import { forEachBackend } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/wait.js';

const STALE = 2;

forEachBackend('a host add left half-done by a dead server is finished by another; a live one is left alone; the paused one undoes nothing', async (b) => {
  const dir = tempStateDir('nrt-add-takeover-');
  const { target, config, backend } = sharedStorage(dir, { 'servers.staleSeconds': String(STALE) });
  const store = await b.open();
  try {
    const nodes = [{ name: 'shared', backend }];
    // Server A stops dead after the volume is allocated, before the boot action is set.
    let resume: (e?: Error) => void = () => {};
    let stuck: () => void = () => {};
    const atStop = new Promise<void>((r) => (stuck = r));
    const freeze: Plugin = {
      name: '50-freeze',
      added: () =>
        new Promise<void>((res, rej) => {
          stuck();
          resume = (e) => (e ? rej(e) : res());
        }),
    };
    await store.servers.beat({ id: 'A', hostName: 'fe-a', addresses: ['10.1.1.2'], pid: 1, version: 't' });
    await store.servers.beat({ id: 'B', hostName: 'fe-b', addresses: ['10.1.1.3'], pid: 2, version: 't' });
    const a = new DiscoveryEngine(store, config, [iscsiAllocationPlugin(nodes), freeze, bootActionPlugin], silentLogger, 600_000, 'A');
    const bEngine = new DiscoveryEngine(store, config, [iscsiAllocationPlugin(nodes), bootActionPlugin], silentLogger, 60_000, 'B');
    const addA = a.add({ mac: '52:54:00:00:23:01' }, { appliance: 'compute-diskless' });
    addA.catch(() => {});
    await atStop;
    const [h] = await store.hosts.list();
    assert.ok(h);
    assert.equal(h.bootAction, 'local', 'half-provisioned');
    const mark = (await store.attributes.list({ scope: 'host', target: h.name })).find((x) => x.name === ADDING_ATTRIBUTE)?.value;
    assert.equal(claimServer(mark ?? ''), 'A');

    // A is live: B leaves its add alone.
    assert.deepEqual(await bEngine.resumeAbandoned(), { resumed: [], failed: [] });
    // A's heartbeat goes stale (B keeps beating): B finishes the add.
    await waitFor(
      async () => {
        await store.servers.beat({ id: 'B', hostName: 'fe-b', addresses: ['10.1.1.3'], pid: 2, version: 't' });
        return !(await store.servers.list(STALE)).find((s) => s.id === 'A')?.live;
      },
      { what: 'server A to turn stale', timeoutMs: 20_000 },
    );
    assert.deepEqual(await bEngine.resumeAbandoned(), { resumed: [h.name], failed: [] });
    const done = await store.hosts.get(h.name);
    assert.equal(done?.bootAction, 'install');
    const attrs = Object.fromEntries((await store.attributes.list({ scope: 'host', target: h.name })).map((x) => [x.name, x.value]));
    assert.equal(attrs[ADDING_ATTRIBUTE], undefined, 'claim dropped');
    assert.equal(attrs['iscsi_volume'], h.name);
    assert.equal((await store.events.list({ kind: 'storage.allocated', host: h.name })).length, 1, 'A’s volume kept, not allocated again');
    assert.equal((await store.events.list({ kind: 'host.add-resumed', host: h.name })).length, 1);
    assert.deepEqual(await bEngine.resumeAbandoned(), { resumed: [], failed: [] }, 'nothing left to resume');

    // A was only paused: its plugin now fails. It must not roll back (remove) the host B finished.
    resume(new Error('A wakes up to a failure'));
    await assert.rejects(addA, (e: NetrootError) => e.code === 'E_ADD_TAKEN_OVER');
    assert.equal((await store.hosts.get(h.name))?.bootAction, 'install', 'the host B finished is still there');
    assert.deepEqual(
      (await backend.listVolumes()).map((v) => v.name),
      [h.name],
    );
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
