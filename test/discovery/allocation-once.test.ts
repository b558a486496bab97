// Several servers on one database (issue #21): a diskless machine's iSCSI volume is allocated once.
// Two DiscoveryEngines on two stores of one database (two servers), one shared storage node: racing
// on the same new MAC they make one host and one volume; and two allocations of one host at once
// (update() on two servers) are decided by the claim taken under the store's write lock — one
// creates the volume, the other is refused (E_STORAGE_CLAIMED) before it touches the storage node.
// PostgreSQL only: several servers share a PostgreSQL (two SQLite stores in one process would block
// each other's synchronous busy wait).
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import { allocateVolume, CLAIM_ATTRIBUTE, iscsiAllocationPlugin } from '../../src/discovery/plugins/iscsi-allocation.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { IscsiTarget } from '../../src/iscsi/index.js';
import type { EmbeddedBackend } from '../../src/storage/embedded.js';
import type { NetrootError } from '../../src/errors.js';
import type { Store } from '../../src/store/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { sharedStorage } from './shared-storage.js';
import { forEachBackend } from '../helpers/store-backends.js';

const mac = (i: number) => `52:54:00:00:21:${i.toString(16).padStart(2, '0')}`;

async function volumeEvents(store: Store, host: string): Promise<number> {
  return (await store.events.list({ kind: 'storage.allocated', host })).length;
}

forEachBackend(
  'two servers racing: one host and one volume per new diskless MAC; two allocations of one host: one volume, the other refused by the claim',
  async (b) => {
    const dir = tempStateDir('nrt-alloc-once-');
    const { target, config, backend, counted, creates } = sharedStorage(dir);
    const [s1, s2] = [await b.open(), await b.open()];
    try {
      const nodes = [{ name: 'shared', backend: counted }];
      const engines = [s1, s2].map((s) => new DiscoveryEngine(s, config, [iscsiAllocationPlugin(nodes), bootActionPlugin], silentLogger, 60_000));
      const tries = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) => engines.map((e) => e.add({ mac: mac(i) }, { appliance: 'compute-diskless' }))).flat(),
      );
      assert.equal(tries.filter((t) => t.status === 'fulfilled').length, 4);
      for (const t of tries) if (t.status === 'rejected') assert.equal((t.reason as NetrootError).code, 'E_MAC_KNOWN');
      const hosts = await s1.hosts.list();
      assert.equal(hosts.length, 4);
      assert.equal(creates(), 4, 'one volume created per machine');
      assert.deepEqual((await backend.listVolumes()).map((v) => v.name).sort(), hosts.map((h) => h.name).sort());
      for (const h of hosts) {
        assert.equal(await volumeEvents(s2, h.name), 1, `${h.name}: one storage.allocated`);
        const a = Object.fromEntries((await s2.attributes.list({ scope: 'host', target: h.name })).map((x) => [x.name, x.value]));
        assert.equal(a['iscsi_volume'], h.name);
        assert.equal(a[CLAIM_ATTRIBUTE], undefined, 'no claim left behind');
      }

      // One host, no volume yet, allocated by both servers at once (update() on each). Whichever
      // claims first creates; its createVolume waits until the other attempt has settled, so the two
      // really overlap.
      const h = await s1.hosts.add({
        name: 'compute-0-9',
        appliance: 'compute-diskless',
        rack: 0,
        rank: 9,
        bootAction: 'install',
        interfaces: [{ mac: mac(9), ip: '10.1.0.9', subnet: '10.1.0.0/16', device: 'eth0' }],
      });
      const attempts: Promise<void>[] = [];
      let gatedCreates = 0;
      const gated = Object.assign(Object.create(backend) as EmbeddedBackend, {
        createVolume: async (v: Parameters<EmbeddedBackend['createVolume']>[0]) => {
          gatedCreates++;
          // Both attempts exist before either reaches storage; the first to settle is the other one.
          await Promise.race(
            attempts.map((p) =>
              p.then(
                () => undefined,
                () => undefined,
              ),
            ),
          );
          return backend.createVolume(v);
        },
      });
      const before = creates();
      const ctx = (store: Store) => ({ store, config, logger: silentLogger });
      attempts.push(allocateVolume(h, [{ name: 'shared', backend: gated }], ctx(s1)), allocateVolume(h, [{ name: 'shared', backend: gated }], ctx(s2)));
      const settled = await Promise.allSettled(attempts);
      const ok = settled.filter((t) => t.status === 'fulfilled').length;
      const refused = settled.filter((t) => t.status === 'rejected').map((t) => ((t as PromiseRejectedResult).reason as NetrootError).code);
      assert.equal(ok, 1, JSON.stringify(settled));
      assert.deepEqual(refused, ['E_STORAGE_CLAIMED']);
      assert.equal(creates() - before + gatedCreates, 1, 'the refused one never reached the storage node');
      assert.equal(await volumeEvents(s1, 'compute-0-9'), 1);
      assert.ok(existsSync(join(dir, 'volumes', 'compute-0-9.img')));
      const after = Object.fromEntries((await s1.attributes.list({ scope: 'host', target: 'compute-0-9' })).map((x) => [x.name, x.value]));
      assert.equal(after[CLAIM_ATTRIBUTE], undefined);
      // Allocated now: a later allocation (the other server's next update()) only re-exports.
      await allocateVolume(h, nodes, ctx(s2));
      assert.equal(creates() - before + gatedCreates, 1);
      assert.equal(await volumeEvents(s1, 'compute-0-9'), 1);
    } finally {
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  ['postgres'],
);
