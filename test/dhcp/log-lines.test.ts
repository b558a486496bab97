// The DHCP server's log lines (issue #15): one info line per OFFER and per ACK naming the host (when
// the database knows the MAC), the MAC, the address and the boot file; NAK and DECLINE at info too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DhcpServer, type DhcpDecider } from '../../src/dhcp/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { IPXE_DISCOVER, IPXE_REQUEST, BIOS_DISCOVER } from '../fixtures/dhcp/packets.js';

const known: DhcpDecider = {
  async answer(info) {
    if (info.mac !== '52:54:00:aa:00:01') return null;
    return {
      ip: '10.1.255.254',
      subnetMask: '255.255.0.0',
      hostname: 'compute-0-0',
      leaseSeconds: 3600,
      nextServer: '10.1.1.1',
      bootFile: 'http://10.1.1.1:8080/boot/ipxe/52:54:00:aa:00:01',
    };
  },
};
const from = { address: '0.0.0.0', port: 68 };

test('OFFER and ACK: one info line each with host, MAC, address and boot file', async () => {
  const { logger, records: json, pretty } = captureLogs();
  const s = new DhcpServer({ interfaces: [], serverIp: '10.1.1.1', decider: known, logger });
  assert.ok(await s.handle(IPXE_DISCOVER, from, 'br0'));
  assert.ok(await s.handle(IPXE_REQUEST, from, 'br0'));
  const info = json.filter((r) => r['level'] === 'info');
  assert.deepEqual(
    info.map((r) => [r['msg'], r['host'], r['mac'], r['ip'], r['iface'], r['bootfile']]),
    [
      ['dhcp offer', 'compute-0-0', '52:54:00:aa:00:01', '10.1.255.254', 'br0', 'http://10.1.1.1:8080/boot/ipxe/52:54:00:aa:00:01'],
      ['dhcp ack', 'compute-0-0', '52:54:00:aa:00:01', '10.1.255.254', 'br0', 'http://10.1.1.1:8080/boot/ipxe/52:54:00:aa:00:01'],
    ],
  );
  assert.match(
    pretty[0]!,
    /^\S+ INFO dhcp offer host="compute-0-0" mac="52:54:00:aa:00:01" ip="10\.1\.255\.254" iface="br0" bootfile="http:\/\/10\.1\.1\.1:8080\/boot\/ipxe\/52:54:00:aa:00:01"$/,
  );
  assert.match(pretty[1]!, /^\S+ INFO dhcp ack host="compute-0-0" mac="52:54:00:aa:00:01" /);
});

test('a pool lease for an unknown MAC is logged with host null and pooled; no answer logs no offer', async () => {
  const { logger, records: json } = captureLogs();
  const none = new DhcpServer({ interfaces: [], serverIp: '10.1.1.1', decider: { answer: async () => null }, logger });
  assert.equal(await none.handle(BIOS_DISCOVER, from, 'br0'), null);
  assert.equal(json.filter((r) => r['msg'] === 'dhcp offer').length, 0);
  const pooled = new DhcpServer({
    interfaces: [],
    serverIp: '10.9.0.1',
    decider: { answer: async () => null },
    pool: { start: '10.9.0.100', end: '10.9.0.110', leaseSeconds: 3600, subnetMask: '255.255.255.0' },
    logger,
  });
  assert.ok(await pooled.handle(BIOS_DISCOVER, from, 'br0'));
  const offer = json.find((r) => r['msg'] === 'dhcp offer');
  assert.ok(offer);
  assert.equal(offer['host'], null);
  assert.equal(offer['pooled'], true);
  assert.match(String(offer['mac']), /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  await pooled.stop();
});
