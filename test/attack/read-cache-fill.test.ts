// The read-cache-fill attack (read-cache-fill.ts) against a frontend on PostgreSQL with a small
// read cache (store.readCacheEntries 64): thousands of boot-script and kickstart requests for MACs
// and names nobody knows, plus DHCP DISCOVERs from as many unknown MACs. While it runs the cache
// never holds more than its bound (64 answers + a quarter of that for answers that found nothing)
// and the known node keeps getting its boot script; then ten times the cache's size of lookups go by
// with no read of the known node, PostgreSQL stops, and the known node still gets the same DHCP
// OFFER and boot script from the cache: the flood did not push it out (with one shared LRU, as
// before, it did: the boot script read then fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store/index.js';
import { DhcpServer } from '../../src/dhcp/index.js';
import { dhcpDecider } from '../../src/app/dhcp-decider.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { call } from '../http/clients.js';
import { LOOPBACK_NETWORK, NODE, loopbackFrontend, type Loopback } from '../helpers/loopback-frontend.js';
import { IPXE_DISCOVER } from '../fixtures/dhcp/packets.js';
import { attack, intruderMac } from './read-cache-fill.js';

const server = usePostgres();
const ENTRIES = 64;
const BOUND = ENTRIES + Math.ceil(ENTRIES / 4);
const REQUESTS = 1000;

/** IPXE_DISCOVER with another client MAC (chaddr, bytes 28..33). */
function discoverFrom(mac: string): Buffer {
  const p = Buffer.from(IPXE_DISCOVER);
  Buffer.from(mac.replaceAll(':', ''), 'hex').copy(p, 28);
  return p;
}

test(`read-cache-fill: ${REQUESTS} lookups of unknown MACs and names keep the read cache within its bound, and the known node boots from it when PostgreSQL is lost`, {
  skip: pgSkip,
  timeout: 180_000,
}, async () => {
  const pgs = await server();
  const url = await pgs.freshDatabase();
  let fe: Loopback | undefined;
  let halted = false;
  try {
    fe = await loopbackFrontend({
      prefix: 'nrt-attack-cache-',
      overrides: { ...LOOPBACK_NETWORK, 'store.url': url, 'store.connectTimeoutMs': '1000', 'store.readCacheEntries': String(ENTRIES) },
    });
    const store = fe.f.store as PostgresStore;
    assert.ok(store instanceof PostgresStore);
    const dhcp = new DhcpServer({ interfaces: [], serverIp: '127.0.0.1', decider: dhcpDecider(fe.f.booter), onDiscovery: () => undefined });
    // The known node boots once: its answers are now remembered.
    const script = await call(fe.port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip });
    assert.equal(script.status, 200, script.body);
    const offer = await dhcp.handle(IPXE_DISCOVER, { address: '0.0.0.0', port: 68 }, 'lo');
    assert.ok(offer);

    let peak = store.readCacheSize;
    const running = await attack.start({ host: '127.0.0.1', httpPort: fe.port, tftpPort: 0, iscsiPort: 0, sourceAddresses: ['127.0.0.50', '127.0.0.51'] });
    try {
      let dhcpFloods = 0;
      let knownServed = 0;
      await waitFor(
        async () => {
          // Between the attack's requests: DISCOVERs of unknown MACs, and the known node booting.
          for (let i = 0; i < 20; i++) await dhcp.handle(discoverFrom(intruderMac(1_000_000 + dhcpFloods++)), { address: '0.0.0.0', port: 68 }, 'lo');
          const again = await call(fe!.port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip });
          assert.equal(again.body, script.body, 'the known node is served while the attack runs');
          knownServed++;
          peak = Math.max(peak, store.readCacheSize);
          assert.ok(store.readCacheSize <= BOUND, `read cache ${store.readCacheSize} entries > ${BOUND}`);
          return running.stats()['answers']! >= REQUESTS;
        },
        { what: `${REQUESTS} attack requests answered`, timeoutMs: 150_000, intervalMs: 10 },
      );
      // The known node boots rarely, the attack never stops: many more lookups than the cache holds
      // go by with no read of the known node in between, right up to the outage.
      const mark = running.stats()['answers']!;
      await waitFor(
        async () => {
          for (let i = 0; i < 20; i++) await dhcp.handle(discoverFrom(intruderMac(1_000_000 + dhcpFloods++)), { address: '0.0.0.0', port: 68 }, 'lo');
          peak = Math.max(peak, store.readCacheSize);
          return running.stats()['answers']! >= mark + 10 * ENTRIES;
        },
        { what: `${10 * ENTRIES} more attack requests`, timeoutMs: 60_000, intervalMs: 10 },
      );
      const s = running.stats();
      // Unknown MACs get the "not registered yet" script (200), unknown names 404: every one a new read.
      assert.ok(s['ok']! > 0 && s['notFound']! > 0 && s['errors'] === 0, JSON.stringify(s));
      assert.ok(knownServed > 0 && dhcpFloods >= 20);
      console.log(
        `read-cache-fill: ${s['requests']} HTTP lookups + ${dhcpFloods} DISCOVERs of unknown machines; read cache peak ${peak} entries (bound ${BOUND}); known node served ${knownServed} times`,
      );
    } finally {
      await running.stop();
    }
    assert.ok(peak <= BOUND);

    // PostgreSQL lost right after the flood: the known node's answers are still in the cache.
    await pgs.halt();
    halted = true;
    const during = await call(fe.port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip });
    assert.equal(during.status, 200, during.body);
    assert.equal(during.body, script.body);
    const offerDuring = await dhcp.handle(IPXE_DISCOVER, { address: '0.0.0.0', port: 68 }, 'lo');
    assert.ok(offerDuring?.packet.equals(offer.packet), 'the same DHCP OFFER while PostgreSQL is down, after the flood');
    assert.ok(store.staleReads > 0);
    // An unknown machine while it is lost: no answer is invented (nothing to boot it with).
    assert.equal((await call(fe.port, `/boot/ipxe/${intruderMac(9_999_999)}`, { from: '127.0.0.50' })).status >= 400, true);
    await pgs.resume();
    halted = false;
  } finally {
    if (halted) await pgs.resume();
    await fe?.close();
  }
});
