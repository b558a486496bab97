import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DhcpServer, decodeDhcp, messageType, ipOption, textOption, Opt, MessageType, type DhcpDecider, type DiscoveryEvent } from '../../src/dhcp/index.js';
import { IPXE_DISCOVER, BIOS_DISCOVER, UEFI_RELAYED_DISCOVER, IPXE_REQUEST, packet } from '../fixtures/dhcp/packets.js';
import { tempStateDir } from '../helpers/tmp.js';

const known: DhcpDecider = {
  async answer(info) {
    if (info.mac !== '52:54:00:aa:00:01') return null;
    return {
      ip: '10.1.255.254',
      subnetMask: '255.255.0.0',
      router: '10.1.1.1',
      dns: ['10.1.1.1'],
      domain: 'local',
      hostname: 'compute-0-0',
      leaseSeconds: 3600,
      nextServer: '10.1.1.1',
      bootFile: info.isIpxe ? 'http://10.1.1.1:8080/boot/ipxe/52:54:00:aa:00:01' : 'undionly.kpxe',
    };
  },
};
const from = { address: '0.0.0.0', port: 68 };

function server(extra: Partial<ConstructorParameters<typeof DhcpServer>[0]> = {}) {
  const events: DiscoveryEvent[] = [];
  const s = new DhcpServer({ interfaces: [], serverIp: '10.1.1.1', decider: known, onDiscovery: (e) => events.push(e), ...extra });
  return { s, events };
}

test('known machine: OFFER then ACK with its fixed address and boot file, broadcast to port 68', async () => {
  const { s } = server();
  const offer = await s.handle(IPXE_DISCOVER, from, 'br0');
  assert.ok(offer);
  assert.equal(offer.address, '255.255.255.255');
  assert.equal(offer.port, 68);
  const o = decodeDhcp(offer.packet);
  assert.equal(messageType(o), MessageType.OFFER);
  assert.equal(o.yiaddr, '10.1.255.254');
  assert.equal(o.siaddr, '10.1.1.1');
  assert.equal(ipOption(o, Opt.SERVER_ID), '10.1.1.1');
  assert.equal(textOption(o, Opt.BOOTFILE), 'http://10.1.1.1:8080/boot/ipxe/52:54:00:aa:00:01');
  assert.equal(o.options.get(Opt.VENDOR_CLASS), undefined, 'no PXEClient echo: EDK2 would take it for a BINL offer');
  assert.deepEqual([...(o.options.get(Opt.IPXE) ?? [])], [176, 1, 1], 'iPXE is told not to wait for ProxyDHCP (175.176 no-pxedhcp = 1)');
  const ack = await s.handle(IPXE_REQUEST, from, 'br0');
  const a = decodeDhcp(ack!.packet);
  assert.deepEqual([...(a.options.get(Opt.IPXE) ?? [])], [176, 1, 1]);
  assert.equal(messageType(a), MessageType.ACK);
  assert.equal(a.yiaddr, '10.1.255.254');
  assert.equal(s.metrics.offers, 1);
  assert.equal(s.metrics.acks, 1);
});

test('dhcp.ipxeNoProxyDhcp off: iPXE gets no 175.176 (a site ProxyDHCP must reach it)', async () => {
  const { s } = server({ ipxeNoProxyDhcp: false });
  const o = decodeDhcp((await s.handle(IPXE_DISCOVER, from, 'br0'))!.packet);
  assert.equal(messageType(o), MessageType.OFFER);
  assert.equal(o.options.get(Opt.IPXE), undefined);
});

test('a PXE ROM (not iPXE) gets a plain "DHCP only" offer: siaddr + boot file, no option 60 (PXE 2.1 §2.2.1)', async () => {
  const { s } = server({
    decider: {
      answer: async (info) => ({
        ip: '10.1.255.250',
        subnetMask: '255.255.0.0',
        router: null,
        dns: [],
        domain: 'local',
        hostname: 'compute-0-5',
        leaseSeconds: 3600,
        nextServer: '10.1.1.1',
        bootFile: info.isIpxe ? null : 'undionly.kpxe',
      }),
    },
  });
  const offer = await s.handle(BIOS_DISCOVER, from, 'br0');
  const o = decodeDhcp(offer!.packet);
  assert.equal(textOption(o, Opt.BOOTFILE), 'undionly.kpxe');
  assert.equal(o.siaddr, '10.1.1.1');
  // Echoing "PXEClient" without option 43 makes EDK2 treat the offer as BINL (PXE-E16) and iPXE
  // wait 15 s for a ProxyDHCP answer on port 4011; the plain offer boots every ROM.
  assert.equal(textOption(o, Opt.VENDOR_CLASS), null);
  assert.equal(o.options.get(Opt.IPXE), undefined, 'iPXE settings only for iPXE');
});

test('unknown machine: no answer, one discovery event (MAC, arch, vendor, interface, relay)', async () => {
  const { s, events } = server();
  assert.equal(await s.handle(BIOS_DISCOVER, from, 'br0'), null);
  assert.equal(await s.handle(UEFI_RELAYED_DISCOVER, from, 'br0'), null);
  assert.deepEqual(
    events.map((e) => [e.mac, e.arch, e.vendorClass, e.interfaceName, e.giaddr]),
    [
      ['00:11:22:33:44:55', 0, 'PXEClient:Arch:00000:UNDI:002001', 'br0', null],
      ['52:54:00:aa:00:02', 7, 'PXEClient:Arch:00007:UNDI:003000', 'br0', '10.77.0.1'],
    ],
  );
  assert.equal(events[1]!.relayInfo, '0106657468302f31');
});

test('REQUEST rules: another server id is ignored; a wrong address is NAKed', async () => {
  const { s } = server();
  const other = Buffer.from(IPXE_REQUEST);
  other.writeUInt32BE(0x0a010102, other.indexOf(Buffer.from('3604', 'hex'), 240) + 2);
  assert.equal(await s.handle(other, from, 'br0'), null);
  const wrong = Buffer.from(IPXE_REQUEST);
  wrong.writeUInt32BE(0x0a010505, wrong.indexOf(Buffer.from('3204', 'hex'), 240) + 2);
  const nak = await s.handle(wrong, from, 'br0');
  assert.equal(messageType(decodeDhcp(nak!.packet)), MessageType.NAK);
  assert.equal(nak!.address, '255.255.255.255');
  // renewing client (ciaddr set, no server id): ACK unicast to ciaddr
  const renew = packet({ xid: '01020304', mac: '525400aa0001', ciaddr: '0a01fffe', flags: '0000' }, '350103ff');
  const ack = await s.handle(renew, from, 'br0');
  assert.equal(messageType(decodeDhcp(ack!.packet)), MessageType.ACK);
  assert.deepEqual([ack!.address, ack!.port], ['10.1.255.254', 68]);
});

test('relayed requests are answered to the relay on port 67 with option 82 echoed', async () => {
  const decider: DhcpDecider = {
    answer: async (i) =>
      i.mac === '52:54:00:aa:00:02' ? { ip: '10.77.0.50', subnetMask: '255.255.255.0', leaseSeconds: 600, nextServer: '10.1.1.1', bootFile: 'ipxe.efi' } : null,
  };
  const { s } = server({ decider });
  const r = await s.handle(UEFI_RELAYED_DISCOVER, from, 'br0');
  assert.deepEqual([r!.address, r!.port], ['10.77.0.1', 67]);
  const o = decodeDhcp(r!.packet);
  assert.equal(o.giaddr, '10.77.0.1');
  assert.equal(o.options.get(Opt.RELAY_AGENT)?.toString('hex'), '0106657468302f31');
  assert.equal(o.file, 'ipxe.efi');
});

test('INFORM gets configuration without an address; RELEASE/DECLINE are silent', async () => {
  const { s } = server();
  const inform = packet({ xid: '0a0b0c0d', mac: '525400aa0001', ciaddr: '0a01fffe', flags: '0000' }, '350108ff');
  const r = await s.handle(inform, from, 'br0');
  const m = decodeDhcp(r!.packet);
  assert.equal(messageType(m), MessageType.ACK);
  assert.equal(m.yiaddr, '0.0.0.0');
  assert.equal(m.options.has(Opt.LEASE_TIME), false);
  assert.equal(await s.handle(packet({ xid: '00000001', mac: '525400aa0001' }, '350107ff'), from, 'br0'), null);
  assert.equal(await s.handle(packet({ xid: '00000001', mac: '525400aa0001' }, '350104 3204 0a01fffe ff'.replace(/ /g, '')), from, 'br0'), null);
});

test('pool leases for unknown machines are durable: they survive kill -9', async () => {
  const dir = tempStateDir('nrt-dhcp-');
  const leaseFile = join(dir, 'leases');
  const script = `
    import { DhcpServer } from '${process.cwd()}/src/dhcp/index.ts';
    import { packet } from '${process.cwd()}/test/fixtures/dhcp/packets.ts';
    const s = new DhcpServer({ interfaces: [], serverIp: '10.9.0.1', decider: { answer: async () => null }, pool: { start: '10.9.0.100', end: '10.9.0.110', leaseSeconds: 3600, subnetMask: '255.255.255.0' }, leaseFile: ${JSON.stringify(leaseFile)} });
    await s.start();
    const disc = packet({ xid: '00000001', mac: '02aabbccdd01' }, '350101ff');
    const offer = await s.handle(disc, { address: '0.0.0.0', port: 68 }, 'x');
    const req = packet({ xid: '00000001', mac: '02aabbccdd01' }, '350103 3204 0a090064 3604 0a090001 ff'.replace(/ /g, ''));
    const ack = await s.handle(req, { address: '0.0.0.0', port: 68 }, 'x');
    process.stdout.write('acked\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('acked') && resolve());
    child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const { s } = server({
    decider: { answer: async () => null },
    pool: { start: '10.9.0.100', end: '10.9.0.110', leaseSeconds: 3600, subnetMask: '255.255.255.0' },
    leaseFile,
    serverIp: '10.9.0.1',
  });
  await s.start();
  // the same machine gets its address back; another one does not get it
  const again = await s.handle(packet({ xid: '00000002', mac: '02aabbccdd01' }, '350101ff'), from, 'x');
  assert.equal(decodeDhcp(again!.packet).yiaddr, '10.9.0.100');
  const other = await s.handle(packet({ xid: '00000003', mac: '02aabbccdd02' }, '350101 3204 0a090064 ff'.replace(/ /g, '')), from, 'x');
  assert.equal(decodeDhcp(other!.packet).yiaddr, '10.9.0.101');
  await s.stop();
  rmSync(dir, { recursive: true });
});

test('fuzz: 100,000 mutated real packets never throw out of the codec or the server', async () => {
  const { s } = server({ pool: { start: '10.9.0.100', end: '10.9.0.200', leaseSeconds: 60, subnetMask: '255.255.255.0' } });
  const seeds = [IPXE_DISCOVER, BIOS_DISCOVER, UEFI_RELAYED_DISCOVER, IPXE_REQUEST];
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let decoded = 0;
  for (let i = 0; i < 100_000; i++) {
    const base = seeds[i % seeds.length]!;
    let buf = Buffer.from(base);
    const kind = Math.floor(rnd() * 4);
    if (kind === 0) for (let k = 0; k < 1 + rnd() * 8; k++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
    else if (kind === 1) buf = buf.subarray(0, Math.floor(rnd() * buf.length));
    else if (kind === 2) {
      const at = 240 + Math.floor(rnd() * (buf.length - 240));
      buf[at] = Math.floor(rnd() * 256);
      if (at + 1 < buf.length) buf[at + 1] = Math.floor(rnd() * 256);
    } else buf = Buffer.concat([buf, Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)))]);
    try {
      decodeDhcp(buf);
      decoded++;
    } catch (e) {
      assert.equal((e as { name?: string }).name, 'DecodeError', String(e));
    }
    await s.handle(buf, from, 'br0');
  }
  assert.equal(s.metrics.received, 100_000);
  assert.equal(s.metrics.errors, 0);
  assert.ok(s.metrics.malformed > 1000 && decoded > 1000, `malformed ${s.metrics.malformed}, decoded ${decoded}`);
});

test('a burst of 2,000 relayed DORAs from unknown machines: every ACK a distinct pool address, its lease in the journal and synced (fdatasync) when the ACK is returned, all back after a restart', async () => {
  const dir = tempStateDir('nrt-dhcp-');
  const leaseFile = join(dir, 'leases');
  const pool = { start: '10.32.0.10', end: '10.39.255.250', leaseSeconds: 3600, subnetMask: '255.248.0.0' };
  const opts = { decider: { answer: async () => null }, pool, leaseFile, serverIp: '10.32.0.1' };
  const { s } = server(opts);
  await s.start();
  const relay = { address: '10.32.0.2', port: 67 };
  const macHex = (i: number) => `02000000${i.toString(16).padStart(4, '0')}`;
  const N = 2000;
  const offers = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      s.handle(packet({ xid: i.toString(16).padStart(8, '0'), mac: macHex(i), giaddr: '0a200002', flags: '0000' }, '350101ff'), relay, 'veth0'),
    ),
  );
  const offered = offers.map((o) => decodeDhcp(o!.packet).yiaddr);
  const journalAtAck: boolean[] = [];
  const acks = await Promise.all(
    offered.map((ip, i) => {
      const req = packet(
        { xid: i.toString(16).padStart(8, '0'), mac: macHex(i), giaddr: '0a200002', flags: '0000' },
        `350103 3204 ${Buffer.from(ip.split('.').map(Number)).toString('hex')} 3604 0a200001 ff`.replace(/ /g, ''),
      );
      return s.handle(req, relay, 'veth0').then((r) => {
        // The ACK exists only now: its lease record must be in the journal and covered by a
        // completed fdatasync (the journal length that sync began at reaches past the record).
        const text = readFileSync(leaseFile, 'utf8');
        const at = text.indexOf(` ${ip} `);
        journalAtAck[i] = at >= 0 && s.journal!.syncedBytes >= Buffer.byteLength(text.slice(0, text.indexOf('\n', at) + 1));
        return r;
      });
    }),
  );
  const acked = acks.map((a) => {
    const m = decodeDhcp(a!.packet);
    assert.equal(messageType(m), MessageType.ACK);
    assert.deepEqual([a!.address, a!.port], ['10.32.0.2', 67]);
    return m.yiaddr;
  });
  assert.deepEqual(acked, offered);
  assert.equal(new Set(acked).size, N);
  assert.equal(journalAtAck.filter(Boolean).length, N);
  await s.stop();
  const again = server(opts).s;
  await again.start();
  for (const i of [0, 777, N - 1]) {
    const o = await again.handle(packet({ xid: '00000001', mac: macHex(i), giaddr: '0a200002', flags: '0000' }, '350101ff'), relay, 'veth0');
    assert.equal(decodeDhcp(o!.packet).yiaddr, acked[i]);
  }
  await again.stop();
  rmSync(dir, { recursive: true });
});

// RFC 2131 §2: netroot serves Ethernet (htype 1, hlen 6) BOOTREQUESTs; anything else — a reply
// (op 2), token ring, a 16-byte hardware address — is counted as ignored and never answered,
// even when its first six chaddr bytes are a known machine's MAC.
test('only op 1 / htype 1 / hlen 6 is answered: each other value is ignored and counted', async () => {
  const { s, events } = server();
  const variants: Array<[string, number, number]> = [
    ['op 2', 0, 2],
    ['htype 6 (IEEE 802)', 1, 6],
    ['htype 0', 1, 0],
    ['hlen 16', 2, 16],
    ['hlen 5', 2, 5],
    ['hlen 0', 2, 0],
  ];
  for (const [name, at, value] of variants) {
    const p = Buffer.from(IPXE_DISCOVER);
    p[at] = value;
    assert.equal(await s.handle(p, from, 'br0'), null, name);
  }
  assert.equal(s.metrics.ignored, variants.length);
  assert.equal(s.metrics.received, variants.length);
  assert.deepEqual([s.metrics.malformed, s.metrics.discovers, s.metrics.offers, s.metrics.errors], [0, 0, 0, 0]);
  assert.equal(events.length, 0);
  // the unchanged packet is answered: the variants failed on the field, not on something else
  assert.ok(await s.handle(IPXE_DISCOVER, from, 'br0'));
  assert.deepEqual([s.metrics.ignored, s.metrics.discovers, s.metrics.offers], [variants.length, 1, 1]);
});
