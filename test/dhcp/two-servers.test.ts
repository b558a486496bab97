// Two servers on one PostgreSQL (issue #21) answer DHCP for a known host byte for byte alike: each
// has its own store connection, kickstart service, Booter and DhcpServer (as two `netroot serve`
// would), and the same DISCOVER / REQUEST packets get identical OFFER / ACK packets from both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DhcpServer, decodeDhcp, messageType, MessageType } from '../../src/dhcp/index.js';
import { dhcpDecider } from '../../src/app/dhcp-decider.js';
import { Booter } from '../../src/boot/booter.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { loadConfig } from '../../src/config/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { IPXE_DISCOVER, BIOS_DISCOVER, IPXE_REQUEST } from '../fixtures/dhcp/packets.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { tempStateDir } from '../helpers/tmp.js';
import { rmSync } from 'node:fs';

const server = usePostgres();
const from = { address: '0.0.0.0', port: 68 };

test('two servers on one PostgreSQL: identical DHCP OFFER and ACK bytes for a known host', { skip: pgSkip }, async () => {
  const url = await (await server()).freshDatabase();
  const dirs = [tempStateDir('nrt-dhcp2-a-'), tempStateDir('nrt-dhcp2-b-')];
  const stores: PostgresStore[] = [];
  try {
    const servers = await Promise.all(
      dirs.map(async (dir) => {
        const config = loadConfig({ env: {}, overrides: { stateDir: dir, 'store.url': url } });
        const store = new PostgresStore(url);
        stores.push(store);
        await store.ready();
        const booter = new Booter(store, config, new KickstartService(store, config));
        return new DhcpServer({ interfaces: [], serverIp: config.network.frontendAddress, decider: dhcpDecider(booter), onDiscovery: () => undefined });
      }),
    );
    await stores[0]!.hosts.add({
      name: 'compute-0-0',
      appliance: 'compute',
      rack: 0,
      rank: 0,
      bootAction: 'install',
      interfaces: [{ mac: '52:54:00:aa:00:01', ip: '10.1.255.254', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    for (const [name, pkt, type] of [
      ['iPXE DISCOVER', IPXE_DISCOVER, MessageType.OFFER],
      ['iPXE REQUEST', IPXE_REQUEST, MessageType.ACK],
    ] as const) {
      const [a, b] = await Promise.all(servers.map((s) => s.handle(pkt, from, 'br0')));
      assert.ok(a && b, name);
      assert.equal(messageType(decodeDhcp(a.packet)), type, name);
      assert.equal(decodeDhcp(a.packet).yiaddr, '10.1.255.254');
      assert.ok(a.packet.equals(b.packet), `${name}: the same bytes from both servers`);
      assert.deepEqual([a.address, a.port], [b.address, b.port]);
    }
    // An unknown machine (no pool configured): neither answers.
    const unknown = await Promise.all(servers.map((s) => s.handle(BIOS_DISCOVER, from, 'br0')));
    assert.deepEqual(unknown, [null, null]);
  } finally {
    for (const s of stores) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
