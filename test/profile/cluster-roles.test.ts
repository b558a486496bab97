// The cluster roll (roles/cluster, graphs/default/cluster.xml) in real kickstarts: each role is taken
// only by hosts whose attribute of the same name is true, and its attributes reach the files its
// %post writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { GOLDEN_ISCSI } from '../helpers/cli.js';
import { tempStateDir } from '../helpers/tmp.js';
import { roleFile } from '../roles/role-files.js';

async function withHosts(fn: (store: Store, ks: KickstartService) => Promise<void>): Promise<void> {
  const dir = tempStateDir('nrt-cluster-roles-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
  const store = openStore(dir);
  try {
    for (const [i, name] of ['compute-0-0', 'compute-0-1'].entries()) {
      await store.hosts.add({
        name,
        appliance: 'compute-diskless',
        rack: 0,
        rank: i,
        interfaces: [{ mac: `52:54:00:aa:00:0${i + 1}`, ip: `10.1.255.25${i}`, subnet: '10.1.0.0/16', device: 'eth0' }],
      });
      for (const [k, value] of Object.entries(GOLDEN_ISCSI)) await store.attributes.set({ scope: 'host', target: name, name: k, value });
    }
    await fn(store, new KickstartService(store, config));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('scratch: taken only where the attribute scratch is true; the script is the shipped one; scratch_wipe reaches scratch.conf', async () => {
  await withHosts(async (store, ks) => {
    const host = async (name: string) => (await store.hosts.get(name))!;
    const none = await ks.render(await host('compute-0-0'));
    assert.doesNotMatch(none, /netroot-scratch/, 'no scratch role without the attribute');

    await store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'scratch', value: 'true' });
    await store.attributes.set({ scope: 'host', target: 'compute-0-1', name: 'scratch_wipe', value: 'yes' });
    const a = await ks.render(await host('compute-0-0'));
    const b = await ks.render(await host('compute-0-1'));
    for (const k of [a, b]) {
      assert.match(k, /^systemctl enable netroot-scratch\.service$/m);
      assert.ok(k.includes(roleFile('cluster', 'scratch', '/usr/local/sbin/netroot-scratch')), 'the script reaches the node as shipped');
      assert.match(k, /^chmod 0755 '\/usr\/local\/sbin\/netroot-scratch'$/m);
      // the scratch %post comes before diskless's (installComplete), which stays last
      assert.ok(k.indexOf('netroot-scratch.service') < k.indexOf('netroot.installComplete'));
    }
    assert.match(a, /^SCRATCH_WIPE=no\nSCRATCH_FS=ext4$/m, 'the shipped defaults');
    assert.match(b, /^SCRATCH_WIPE=yes\nSCRATCH_FS=ext4$/m, 'the host attribute');
  });
});
