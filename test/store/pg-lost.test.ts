// PostgreSQL lost while serving (issue #21), with the real server stopped and started again: known
// hosts keep booting from the read cache (the same DHCP OFFER and boot script, the same store
// answers), a read never made before and every write fail with the lost server's error and write
// nothing, and everything resumes once the server is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store/index.js';
import { lostServer } from '../../src/store/postgres.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { call } from '../http/clients.js';
import { LOOPBACK_NETWORK, loopbackFrontend, type Loopback } from '../helpers/loopback-frontend.js';
import { DhcpServer } from '../../src/dhcp/index.js';
import { dhcpDecider } from '../../src/app/dhcp-decider.js';
import { Booter } from '../../src/boot/booter.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { IPXE_DISCOVER } from '../fixtures/dhcp/packets.js';

const server = usePostgres();
const MAC = '52:54:00:aa:00:01';

test('PostgreSQL stopped while serving: known hosts boot from the read cache, writes fail whole, all resumes when it returns', { skip: pgSkip }, async () => {
  const pgs = await server();
  const url = await pgs.freshDatabase();
  const overrides = { ...LOOPBACK_NETWORK, 'store.url': url, 'store.connectTimeoutMs': '1000' };
  let fe: Loopback | undefined;
  const store = new PostgresStore(url, { connectTimeoutMs: 1000 });
  let halted = false;
  try {
    fe = await loopbackFrontend({ prefix: 'nrt-pg-lost-', overrides });
    await store.ready();
    await store.attributes.set({ scope: 'host', target: 'compute-0-0', name: 'site_note', value: 'rack A' });
    const script = await call(fe.port, `/boot/ipxe/${MAC}`, { from: '127.0.0.2' });
    assert.equal(script.status, 200, script.body);
    // A DHCP server on this store (as `netroot serve` builds it): the known node's OFFER.
    const booter = new Booter(store, fe.config, new KickstartService(store, fe.config));
    const dhcp = new DhcpServer({ interfaces: [], serverIp: '127.0.0.1', decider: dhcpDecider(booter), onDiscovery: () => undefined });
    const offer = await dhcp.handle(IPXE_DISCOVER, { address: '0.0.0.0', port: 68 }, 'lo');
    assert.ok(offer);
    const before = {
      host: await store.hosts.byMac(MAC),
      list: await store.hosts.list(),
      attrs: await store.attributes.list({ scope: 'host', target: 'compute-0-0' }),
    };
    assert.equal(before.host?.name, 'compute-0-0');
    // A list longer than 1,000 items is not kept (a copy of a whole large cluster per entry).
    await store.attributes.setMany(Array.from({ length: 1001 }, (_, i) => ({ scope: 'os' as const, target: 'many', name: `a${i}`, value: '1' })));
    assert.equal((await store.attributes.list({ scope: 'os', target: 'many' })).length, 1001);

    await pgs.halt();
    halted = true;
    // Known host: the same boot script, and the same store answers, from the last successful reads.
    const during = await call(fe.port, `/boot/ipxe/${MAC}`, { from: '127.0.0.2' });
    assert.equal(during.status, 200, during.body);
    assert.equal(during.body, script.body);
    const offerDuring = await dhcp.handle(IPXE_DISCOVER, { address: '0.0.0.0', port: 68 }, 'lo');
    assert.ok(offerDuring?.packet.equals(offer.packet), 'the same DHCP OFFER while PostgreSQL is down');
    assert.deepEqual(await store.hosts.byMac(MAC), before.host);
    assert.deepEqual(await store.hosts.list(), before.list);
    assert.deepEqual(await store.attributes.list({ scope: 'host', target: 'compute-0-0' }), before.attrs);
    assert.ok(store.staleReads >= 3);
    // A copy each time: a caller changing its answer does not change the cache.
    (await store.hosts.byMac(MAC))!.name = 'changed';
    assert.equal((await store.hosts.byMac(MAC))?.name, 'compute-0-0');
    // Not read before: no answer. Writes: refused with the lost server's error, whole.
    await assert.rejects(store.hosts.get('compute-0-1'), (e: unknown) => lostServer(e));
    const add = (name: string, mac: string, ip: string) =>
      store.transaction(async (tx) => {
        await tx.hosts.add({ name, appliance: 'compute', rack: 0, rank: 5, interfaces: [{ mac, ip, subnet: '127.0.0.0/8', device: 'eth0' }] });
        await tx.attributes.set({ scope: 'host', target: name, name: 'x', value: '1' });
      });
    await assert.rejects(add('compute-0-5', '52:54:00:aa:00:55', '127.0.0.55'), (e: unknown) => lostServer(e), 'a write while the server is gone');
    await assert.rejects(store.attributes.set({ scope: 'global', target: '', name: 'during', value: '1' }), (e: unknown) => lostServer(e));
    await assert.rejects(store.attributes.list({ scope: 'os', target: 'many' }), (e: unknown) => lostServer(e), 'a list that long was not kept');
    // An unknown machine's DHCP-time lookup is a read never made: it fails, it is not invented.
    await assert.rejects(store.hosts.byMac('52:54:00:aa:00:99'), (e: unknown) => lostServer(e));

    await pgs.resume();
    halted = false;
    // Back: writes go through again (the pool reconnects), and nothing of the refused ones was written.
    await waitFor(
      async () =>
        store.attributes.set({ scope: 'global', target: '', name: 'after', value: '1' }).then(
          () => true,
          () => false,
        ),
      { what: 'a write after PostgreSQL restarted', timeoutMs: 20_000, intervalMs: 100 },
    );
    assert.equal(await store.hosts.get('compute-0-5'), null, 'the refused transaction wrote nothing');
    assert.equal(store.staleReads, 0, 'reads answer from the server again');
    const globals = (await store.attributes.list({ scope: 'global' })).map((a) => a.name);
    assert.ok(globals.includes('after') && !globals.includes('during'), globals.join(','));
    await add('compute-0-5', '52:54:00:aa:00:55', '127.0.0.55');
    assert.equal((await store.hosts.get('compute-0-5'))?.name, 'compute-0-5');
    const afterScript = await call(fe.port, `/boot/ipxe/${MAC}`, { from: '127.0.0.2' });
    assert.equal(afterScript.body, script.body);
  } finally {
    if (halted) await pgs.resume();
    await store.close();
    await fe?.close();
  }
});
