// Fuzz: ≥100,000 mutated real packets (EDK2, iPXE, pxelinux-era RRQs, ACKs, ERRORs, OACKs) through
// the codec, the request classifier, the server's request handler and a live transfer's handler.
// Nothing may throw; every decode failure must be a DecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTftp, classifyRequest, negotiate, TftpServer, bufferFile, encodeTftp } from '../../src/tftp/index.js';
import { DecodeError } from '../../src/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const SEEDS = [
  hex(
    '0001' +
      ascii('ipxe.efi') +
      '00' +
      ascii('octet') +
      '00' +
      ascii('blksize') +
      '00' +
      ascii('1468') +
      '00' +
      ascii('tsize') +
      '00' +
      '3000' +
      ascii('windowsize') +
      '00' +
      '3400',
  ),
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

test('100,000 mutated packets into the live server: request handler and a transfer handler never throw', async () => {
  const data = Buffer.alloc(64 * 1024, 0xab);
  const server = new TftpServer({ host: '127.0.0.1', port: 0, resolver: async () => null, maxTransfers: 4 });
  const srv2 = new TftpServer({ host: '127.0.0.1', port: 0, resolver: async () => bufferFile(data), timeoutMs: 60_000 });
  await server.start();
  await srv2.start();
  try {
    const r = rng(42);
    // Requests to a resolver that finds nothing: every RRQ variant is answered with an error; the
    // replies go to a loopback port nobody reads (a discard target on 127.0.0.1).
    const client = { address: '127.0.0.1', port: 9 };
    for (let i = 0; i < 50_000; i++) {
      server.handleRequest(mutate(r, SEEDS[i % SEEDS.length]!), { ...client, port: 10_000 + (i % 4) });
      if (i % 2000 === 0) await new Promise((res) => setImmediate(res));
    }
    // Live transfers; mutated packets from the right TID and from others. A mutated packet that
    // decodes as ERROR ends a transfer: then the next one starts.
    const live = async (port: number) => {
      const c = { address: '127.0.0.1', port };
      srv2.handleRequest(
        encodeTftp({
          op: 'RRQ',
          filename: 'f',
          mode: 'octet',
          options: new Map([
            ['blksize', '512'],
            ['windowsize', '4'],
          ]),
        }),
        c,
      );
      for (let i = 0; i < 200 && typeof srv2.transfers.get(`127.0.0.1:${port}`)?.onMessage !== 'function'; i++) await new Promise((res) => setTimeout(res, 5));
      const t = srv2.transfers.get(`127.0.0.1:${port}`);
      assert.ok(t && typeof t.onMessage === 'function', 'transfer running');
      return { t, c };
    };
    let port = 20_000;
    let cur = await live(port);
    for (let i = 0; i < 50_000; i++) {
      if (cur.t.finished) cur = await live(++port);
      const m = mutate(r, SEEDS[[5, 6, 7, 9, 2][i % 5]!]!);
      cur.t.onMessage(m, i % 10 === 0 ? { address: '127.0.0.1', port: 11 } : cur.c);
      if (i % 2000 === 0) await new Promise((res) => setImmediate(res));
    }
    assert.ok(server.metrics.received === 50_000);
    assert.ok(server.metrics.malformed + server.metrics.ignored + server.metrics.rrq + server.metrics.wrqRefused === 50_000);
    assert.ok(srv2.metrics.unknownTid >= 4_000);
  } finally {
    await server.stop();
    await srv2.stop();
  }
});
