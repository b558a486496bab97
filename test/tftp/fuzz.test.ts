// Fuzz: ≥100,000 mutated real packets (EDK2, iPXE, pxelinux-era RRQs, ACKs, ERRORs, OACKs) through
// the codec, the request classifier, the server's request handler and live transfers (as datagrams
// to their TID, once per link). Nothing may throw; every decode failure must be a DecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTftp, classifyRequest, negotiate, TftpServer, bufferFile, encodeTftp } from '../../src/tftp/index.js';
import { DecodeError } from '../../src/errors.js';
import { rawPeer } from './udp-peer.js';
import { LINKS } from './links.js';
import { EDK2_RRQ } from '../fixtures/tftp/edk2-rrq.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const SEEDS = [
  EDK2_RRQ,
  hex('0001 756e64696f6e6c792e6b70786500 6f6374657400 7473697a6500 3000 626c6b73697a6500 3134333200'),
  hex(
    '0001' +
      ascii('pxelinux.cfg/01-52-54-00-12-34-56') +
      '00' +
      ascii('octet') +
      '00' +
      ascii('tsize') +
      '00' +
      '3000' +
      ascii('blksize') +
      '00' +
      ascii('1408') +
      '00',
  ),
  hex('0001' + ascii('/pxelinux.0') + '00' + ascii('netascii') + '00'),
  hex('0002' + ascii('upload') + '00' + ascii('octet') + '00'),
  hex('0004 0000'),
  hex('0004 ffff'),
  hex('0003 0001 0102030405'),
  hex('0005 0008' + ascii('option refused') + '00'),
  hex('0006' + ascii('blksize') + '00' + ascii('1432') + '00'),
];

function rng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function mutate(r: () => number, seed: Buffer): Buffer {
  let b = Buffer.from(seed);
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const k = r();
    const at = Math.floor(r() * Math.max(1, b.length));
    if (k < 0.35 && b.length > 0) b[at] = Math.floor(r() * 256);
    else if (k < 0.5 && b.length > 0) b[at] = r() < 0.5 ? 0 : 0x30 + Math.floor(r() * 10);
    else if (k < 0.65) b = b.subarray(0, at);
    else if (k < 0.8) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), b.subarray(at)]);
    else if (k < 0.9) b = Buffer.concat([b, Buffer.from(ascii('windowsize') + '00' + ascii(String(Math.floor(r() * 100000))) + '00', 'hex')]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
  return b;
}

test('100,000 mutated packets through the codec, the classifier and negotiation: never a throw other than DecodeError', () => {
  const r = rng(0xc0ffee);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 100_000; i++) {
    const m = mutate(r, SEEDS[i % SEEDS.length]!);
    try {
      const p = decodeTftp(m);
      decoded++;
      if (p.op === 'RRQ') {
        const n = negotiate(p.options, 12345, { maxBlksize: 65464, maxWindowsize: 64, defaultTimeoutMs: 1000 });
        assert.ok(n.blksize >= 8 && n.blksize <= 65464 && n.windowsize >= 1 && n.windowsize <= 64);
      }
    } catch (e) {
      assert.ok(e instanceof DecodeError, `non-DecodeError for ${m.toString('hex')}: ${String(e)}`);
      rejected++;
    }
    const a = classifyRequest(m);
    assert.ok(a.kind === 'read' || a.kind === 'error' || a.kind === 'drop');
  }
  assert.ok(decoded > 10_000 && rejected > 10_000, `decoded ${decoded}, rejected ${rejected}`);
});

/** Each link's counters after the live part, to hold the native link to the reference's. */
const judged = new Map<string, Record<string, number>>();

for (const link of LINKS) {
  test(`100,000 mutated packets into the live server, ${link} link: the request handler and a transfer's link never throw`, async () => {
    const data = Buffer.alloc(64 * 1024, 0xab);
    const server = new TftpServer({ host: '127.0.0.1', port: 0, resolver: async () => null, maxTransfers: 4, link });
    const srv2 = new TftpServer({ host: '127.0.0.1', port: 0, resolver: async () => bufferFile(data), timeoutMs: 60_000, link });
    await server.start();
    await srv2.start();
    const peer = await rawPeer();
    try {
      const r = rng(42);
      // Requests to a resolver that finds nothing: every RRQ variant is answered with an error; the
      // replies go to a loopback port nobody reads (a discard target on 127.0.0.1).
      const client = { address: '127.0.0.1', port: 9 };
      for (let i = 0; i < 50_000; i++) {
        server.handleRequest(mutate(r, SEEDS[i % SEEDS.length]!), { ...client, port: 10_000 + (i % 4) });
        if (i % 2000 === 0) await new Promise((res) => setImmediate(res));
      }
      // Live transfers: mutated ACKs, DATA, OACKs and ERRORs sent as datagrams to the transfer's
      // TID, so the link's data phase takes the ACKs and the transfer the rest. A mutated packet
      // that decodes as ERROR (or completes the file) ends a transfer: then the next one starts.
      const key = `127.0.0.1:${peer.port}`;
      const live = async () => {
        const rrq = encodeTftp({
          op: 'RRQ',
          filename: 'f',
          mode: 'octet',
          options: new Map([
            ['blksize', '512'],
            ['windowsize', '4'],
          ]),
        });
        await peer.send(rrq, srv2.port());
        for (let m = await peer.next(); m; m = await peer.next()) if (m.rinfo.port !== srv2.port() && decodeTftp(m.msg).op === 'OACK') return m.rinfo.port;
        throw new Error('no OACK');
      };
      let tid = await live();
      let started = 1;
      for (let i = 0; i < 50_000; i++) {
        if (srv2.transfers.get(key)?.finished !== false) {
          while (await peer.next(0)); // what the ended transfer sent
          tid = await live();
          started++;
        }
        await peer.send(mutate(r, SEEDS[[5, 6, 7, 9, 2][i % 5]!]!), tid);
        // One datagram per loop iteration: a transfer socket is read one datagram per iteration
        // (one ACK per window is what it carries), so a faster sender only fills its buffer.
        await new Promise((res) => setImmediate(res));
      }
      assert.ok(server.metrics.received === 50_000);
      assert.ok(server.metrics.malformed + server.metrics.ignored + server.metrics.rrq + server.metrics.wrqRefused === 50_000);
      await srv2.stop(); // the links' counters reach the metrics as the transfers end
      const m = srv2.metrics;
      assert.equal(m.transfers, started);
      // Most datagrams were judged by the link or the transfer (ACKs that move the window count nowhere).
      assert.ok(m.badTransferPackets + m.duplicateAcks + m.clientErrors > 25_000, JSON.stringify(m));
      assert.ok(m.clientErrors > 0 && m.transfers > 1, 'a mutated ERROR ended a transfer, and a new one started');
      // The same datagrams, one per loop iteration: the native link must judge them exactly as the
      // reference (dgram, run first) did.
      judged.set(link, { ...m });
      const ref = judged.get('dgram');
      if (link !== 'dgram' && ref) assert.deepEqual(m, ref, 'the same counters as the dgram link');
    } finally {
      peer.close();
      await server.stop();
      await srv2.stop();
    }
  });
}
