// A machine insert-ethers has just added, whose plugins are still running (host attribute
// netroot_adding, issue #21), has boot action `local` only until they set its real one: its boot
// script says "ask again" (action wait), not "boot from the next device", which would leave it in
// the firmware's "no bootable device" for a minute. Once the add is done it gets its real action.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../http/clients.js';
import { NODE, loopbackFrontend } from '../helpers/loopback-frontend.js';
import { ADDING_ATTRIBUTE } from '../../src/discovery/claims.js';

test('a host whose add is still running is told to ask again, not to boot locally', async () => {
  const fe = await loopbackFrontend({ prefix: 'nrt-adding-wait-', hosts: [] });
  try {
    const s = fe.f.store;
    await s.hosts.add({
      name: NODE.name,
      appliance: 'compute',
      rack: 0,
      rank: 0,
      bootAction: 'local',
      state: 'discovered',
      interfaces: [{ mac: NODE.mac, ip: NODE.ip, subnet: '127.0.0.0/8', device: 'eth0' }],
    });
    await s.attributes.set({ scope: 'host', target: NODE.name, name: ADDING_ATTRIBUTE, value: 'c1 server=s1' });
    const during = await call(fe.port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip });
    assert.equal(during.status, 200, during.body);
    assert.match(during.body, /action wait/);
    assert.doesNotMatch(during.body, /next boot device/);
    await s.attributes.unset('host', NODE.name, ADDING_ATTRIBUTE);
    assert.match((await call(fe.port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip })).body, /action local/);
    // A host an operator set to local (not being added: no claim) boots locally even while discovered.
    await s.attributes.set({ scope: 'host', target: NODE.name, name: 'other', value: 'x' });
    assert.match((await call(fe.port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip })).body, /next boot device/);
  } finally {
    await fe.close();
  }
});
