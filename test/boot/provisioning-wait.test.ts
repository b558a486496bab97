// A host insert-ethers has just added is `discovered` with boot action `local` until its plugins
// end (90-boot-action sets install, or os for a golden clone). A node that asks for its boot script
// in between must wait and ask again, not leave the network boot for a local disk it may not have
// (the cluster lab's golden clone did: "No bootable device"). The add's claim (ADDING_ATTRIBUTE),
// which a CLI insert-ethers sets as a server does, says so. A host with boot action local and no
// claim (an operator's `host add … boot=local`, or an installed host) boots locally as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Booter } from '../../src/boot/booter.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { ADDING_ATTRIBUTE, claimValue } from '../../src/discovery/claims.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import type { Plugin } from '../../src/discovery/plugin.js';
import { silentLogger } from '../../src/log/logger.js';

test('boot script: a host still being provisioned (discovered, local, its add claimed) waits; an unclaimed or installed host set to local boots locally', async () => {
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
    // No claim: an operator's host with boot action local.
    assert.match(await booter.ipxeScript(mac), /compute-0-0 boots from its next boot device\nexit 1/);
    // A CLI process's claim (no server named) while its plugins run.
    await store.attributes.set({ scope: 'host', target: 'compute-0-0', name: ADDING_ATTRIBUTE, value: claimValue('add-1', undefined) });
    const waiting = await booter.ipxeScript(mac);
    assert.match(waiting, /asking again in 5 s/);
    assert.doesNotMatch(waiting, /next boot device|exit 1/);

    await store.attributes.unset('host', 'compute-0-0', ADDING_ATTRIBUTE);
    await store.hosts.update('compute-0-0', { state: 'installed' });
    const local = await booter.ipxeScript(mac);
    assert.match(local, /compute-0-0 boots from its next boot device\nexit 1/);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("insert-ethers in a CLI process (no server id) claims the add while its plugins run: the node's boot script waits, then gets the real action", async () => {
  const dir = tempStateDir('nrt-provisioning-cli-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir, 'network.privateNetwork': '10.1.0.0/16', 'network.frontendAddress': '10.1.1.1' } });
  const store = openStore(dir);
  try {
    const booter = new Booter(store, config, new KickstartService(store, config));
    const mac = '52:54:00:aa:00:02';
    const during: string[] = [];
    const peek: Plugin = {
      name: '50-peek',
      async added(host) {
        during.push(await booter.ipxeScript(mac));
        during.push((await store.attributes.list({ scope: 'host', target: host.name })).find((a) => a.name === ADDING_ATTRIBUTE)?.value ?? '');
      },
    };
    const engine = new DiscoveryEngine(store, config, [peek, bootActionPlugin], silentLogger);
    const host = await engine.add({ mac }, { appliance: 'compute' });
    assert.match(during[0]!, /asking again in 5 s/, 'while the plugins run');
    assert.match(during[1]!, /^\S+$/, 'a claim naming no server');
    assert.equal(host.bootAction, 'install');
    assert.equal(
      (await store.attributes.list({ scope: 'host', target: host.name })).find((a) => a.name === ADDING_ATTRIBUTE),
      undefined,
      'released',
    );
    assert.doesNotMatch(await booter.ipxeScript(mac), /asking again/);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
