// A host insert-ethers has just added is `discovered` with boot action `local` until its plugins
// end (90-boot-action sets install, or os for a golden clone). A node that asks for its boot script
// in between must wait and ask again, not leave the network boot for a local disk it may not have
// (the cluster lab's golden clone did: "No bootable device"). An installed host set to local boots
// locally as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Booter } from '../../src/boot/booter.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { tempStateDir } from '../helpers/tmp.js';

test('boot script: a host still being provisioned (discovered, local) waits; an installed host set to local boots locally', async () => {
  const dir = tempStateDir('nrt-provisioning-wait-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
  const store = openStore(dir);
  try {
    const booter = new Booter(store, config, new KickstartService(store, config));
    const mac = '52:54:00:aa:00:01';
    await store.hosts.add({
      name: 'compute-0-0',
      appliance: 'compute',
      rack: 0,
      rank: 0,
      bootAction: 'local',
      state: 'discovered',
      interfaces: [{ mac, ip: '10.1.255.254', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    const waiting = await booter.ipxeScript(mac);
    assert.match(waiting, /asking again in 5 s/);
    assert.doesNotMatch(waiting, /next boot device|exit 1/);

    await store.hosts.update('compute-0-0', { state: 'installed' });
    const local = await booter.ipxeScript(mac);
    assert.match(local, /compute-0-0 boots from its next boot device\nexit 1/);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
