// The shipped roles and graph: golden kickstarts for a compute and a compute-diskless host,
// rendered through the same path `netroot kickstart` uses (store attributes + profile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { ProfileCompiler } from '../../src/profile/index.js';
import { assertGolden } from '../helpers/golden.js';
import { GOLDEN_ISCSI } from '../helpers/cli.js';
import { tempStateDir } from '../helpers/tmp.js';

const ISCSI = GOLDEN_ISCSI;

test('the shipped roles and graph pass graph check', () => {
  const c = new ProfileCompiler({ rolesDir: 'roles', graphsDir: 'graphs', graph: 'default' });
  assert.deepEqual(
    c.check().map((p) => p.message),
    [],
  );
});

test('golden kickstarts: compute and compute-diskless hosts', async () => {
  const dir = tempStateDir('nrt-golden-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
  const store = openStore(dir);
  try {
    const compute = await store.hosts.add({
      name: 'compute-0-0',
      appliance: 'compute',
      rack: 0,
      rank: 0,
      interfaces: [{ mac: '52:54:00:aa:00:01', ip: '10.1.255.254', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    const diskless = await store.hosts.add({
      name: 'compute-0-1',
      appliance: 'compute-diskless',
      rack: 0,
      rank: 1,
      interfaces: [{ mac: '52:54:00:aa:00:02', ip: '10.1.255.253', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    await store.attributes.set({ scope: 'appliance', target: 'compute', name: 'Kickstart_Timezone', value: 'Asia/Tokyo' });
    for (const [name, value] of Object.entries(ISCSI)) await store.attributes.set({ scope: 'host', target: 'compute-0-1', name, value });
    const ks = new KickstartService(store, config);
    const a = await ks.render(compute, 'GOLDEN-TOKEN-compute');
    const b = await ks.render(diskless, 'GOLDEN-TOKEN-diskless');
    assertGolden('kickstart/compute.ks', a);
    assertGolden('kickstart/compute-diskless.ks', b);
    assert.match(a, /^timezone Asia\/Tokyo --utc$/m);
    assert.match(a, /^autopart --type=plain$/m);
    assert.doesNotMatch(a, /iscsi/);
    assert.match(b, /^iscsi --ipaddr=10\.1\.1\.1 --port=3260 --target=iqn\.2026-11\.local\.netroot:compute-0-1 /m);
    assert.doesNotMatch(b, /autopart/);
    assert.match(b, /# node: diskless\n%post --erroronfail\n[\s\S]*netroot\.installComplete[\s\S]*%end\n$/, "diskless's %post runs last");
    // a diskless host without its iSCSI attributes cannot get a kickstart
    const bare = await store.hosts.add({ name: 'compute-0-2', appliance: 'compute-diskless', rack: 0, rank: 2, interfaces: [] });
    await assert.rejects(ks.render(bare), /undefined entity &iscsi_initiator;/);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true });
  }
});
