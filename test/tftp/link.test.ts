// The transfer links (src/tftp/link.ts): each test runs against node:dgram (the reference,
// data-phase.ts) and the native link (native/tftpio), with a plain dgram socket standing in for
// the client: what goes on the wire, the data phase (OACK, windows, go-back, duplicate and bad
// ACKs, timeouts, the end, bytes asked for and provided), what reaches the transfer, bad
// arguments (an exception, never a crash). Then what only the native link has (the spin, its
// argument checks) and the choice between them when the native helper is missing.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectLink, linkStats, type LinkKind, type PhaseParams, type TransferLink } from '../../src/tftp/link.js';
import { TftpServer, rootResolver, encodeTftp } from '../../src/tftp/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { tempStateDir } from '../helpers/tmp.js';
import { tftpClients } from './clients.js';
import { LINKS } from './links.js';
import { waitFor } from '../helpers/wait.js';

const sockets: Socket[] = [];
const links: TransferLink[] = [];
after(() => {
  for (const l of links) l.close();
  for (const s of sockets) s.close();
});

const ack = (n: number) => Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff]);
const sendTo = (s: Socket, port: number, b: Buffer) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));
// fixed delay: an absence window (nothing more may arrive within it), not a wait for an event.
const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));
const phase = (p: Partial<PhaseParams> & { size: number }): PhaseParams => ({ oack: null, blksize: 512, windowsize: 1, timeoutMs: 5000, maxRetries: 3, ...p });

interface Pair {
  client: Socket;
  link: TransferLink;
  /** The next datagram the client got (2 s at most). */
  next: () => Promise<Buffer>;
  /** Nothing more arrives within `ms`. */
  quiet: (ms?: number) => Promise<void>;
  seen: Buffer[];
  needs: number[];
  ends: boolean[];
}

/** A client socket on loopback and a link of `kind` connected to it; what the link reports is recorded. */
async function pair(kind: LinkKind): Promise<Pair> {
  const client = createSocket('udp4');
  sockets.push(client);
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const got: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  client.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else got.push(m);
  });
  const link = await selectLink(kind).open('127.0.0.1', { address: '127.0.0.1', port: client.address().port }, 0);
  links.push(link);
  const p: Pair = { client, link, seen: [], needs: [], ends: [], next: () => Promise.resolve(Buffer.alloc(0)), quiet: async () => {} };
  link.onMessage = (m) => p.seen.push(Buffer.from(m));
  link.onNeed = (b) => p.needs.push(b);
  link.onEnd = (c) => p.ends.push(c);
  p.next = () =>
    new Promise<Buffer>((resolve, reject) => {
      const b = got.shift();
      if (b) return resolve(b);
      const t = setTimeout(() => reject(new Error('no datagram within 2 s')), 2000);
      waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  p.quiet = async (ms = 150) => {
    await settle(ms);
    assert.deepEqual(
      got.map((b) => b.toString('hex')),
      [],
      'nothing more was sent',
    );
  };
  return p;
}

const blocks = async (p: Pair, n: number) => {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(await p.next());
  for (const b of out) assert.equal(b.readUInt16BE(0), 3, 'DATA');
  return out;
};
const numbers = (ps: Buffer[]) => ps.map((b) => b.readUInt16BE(2));

for (const kind of LINKS) {
  describe(`${kind} link`, () => {
    test('windows of DATA from memory, a short last block, the final ACK ends the phase', async () => {
      const p = await pair(kind);
      const file = randomBytes(6 * 512 + 100); // blocks 1..7, the last has 100 bytes
      p.link.provide(0, file);
      p.link.start(phase({ size: file.length, windowsize: 4 }));
      const w1 = await blocks(p, 4);
      assert.deepEqual(numbers(w1), [1, 2, 3, 4]);
      await sendTo(p.client, p.link.localPort, ack(4));
      const w2 = await blocks(p, 3);
      assert.deepEqual(numbers(w2), [5, 6, 7]);
      assert.deepEqual(Buffer.concat([...w1, ...w2].map((b) => b.subarray(4))), file);
      assert.equal(w2[2]!.length, 4 + 100);
      await sendTo(p.client, p.link.localPort, ack(7));
      await waitFor(() => p.ends.length > 0, { what: 'the transfer end (onEnd)' });
      assert.deepEqual(p.ends, [true]);
      assert.deepEqual(p.seen, [], 'ACKs are the data phase’s, not the transfer’s');
      assert.deepEqual(p.link.state(), { base: 7, sentTo: 7, windows: 1, duplicateAcks: 0, retransmits: 0, timeouts: 0, badAcks: 0 });
    });

    test('a file that is a multiple of blksize ends with an empty block', async () => {
      const p = await pair(kind);
      const file = randomBytes(2 * 512);
      p.link.provide(0, file);
      p.link.start(phase({ size: file.length, windowsize: 8 }));
      const w = await blocks(p, 3);
      assert.deepEqual(numbers(w), [1, 2, 3]);
      assert.deepEqual(
        w.map((b) => b.length),
        [516, 516, 4],
      );
      await p.quiet();
    });

    test('an empty file is one empty block', async () => {
      const p = await pair(kind);
      p.link.provide(0, Buffer.alloc(0));
      p.link.start(phase({ size: 0 }));
      assert.deepEqual(await p.next(), Buffer.from([0, 3, 0, 1]));
      await sendTo(p.client, p.link.localPort, ack(1));
      await waitFor(() => p.ends.length > 0, { what: 'the transfer end (onEnd)' });
      assert.deepEqual(p.ends, [true]);
    });

    test('OACK first, re-sent on timeout; an ACK other than 0 is a bad packet; ACK 0 starts the data (RFC 2347)', async () => {
      const p = await pair(kind);
      const oack = encodeTftp({ op: 'OACK', options: new Map([['blksize', '1000']]) });
      const file = randomBytes(1500);
      p.link.provide(0, file);
      p.link.start(phase({ size: file.length, blksize: 1000, windowsize: 2, oack, timeoutMs: 200 }));
      assert.deepEqual(await p.next(), oack);
      await sendTo(p.client, p.link.localPort, ack(1));
      assert.deepEqual(await p.next(), oack, 'the OACK again after 200 ms');
      await sendTo(p.client, p.link.localPort, ack(0));
      assert.deepEqual(numbers(await blocks(p, 2)), [1, 2]);
      const s = p.link.state();
      assert.equal(s.badAcks, 1);
      assert.equal(s.timeouts, 1);
      assert.equal(s.retransmits, 1);
    });

    test('go-back on a partial-window ACK (RFC 7440); duplicate ACKs are ignored; an ACK past what was sent is bad', async () => {
      const p = await pair(kind);
      const file = randomBytes(20 * 512);
      p.link.provide(0, file);
      p.link.start(phase({ size: file.length, windowsize: 4 }));
      assert.deepEqual(numbers(await blocks(p, 4)), [1, 2, 3, 4]);
      await sendTo(p.client, p.link.localPort, ack(2)); // blocks 3 and 4 lost: go back
      assert.deepEqual(numbers(await blocks(p, 4)), [3, 4, 5, 6]);
      await sendTo(p.client, p.link.localPort, ack(2)); // a duplicate: no Sorcerer's Apprentice re-send
      await sendTo(p.client, p.link.localPort, ack(9)); // never sent
      await p.quiet();
      await sendTo(p.client, p.link.localPort, Buffer.concat([ack(6), Buffer.from('xx')])); // extra bytes ignored, as packet.ts does
      assert.deepEqual(numbers(await blocks(p, 4)), [7, 8, 9, 10]);
      assert.deepEqual(p.link.state(), { base: 6, sentTo: 10, windows: 1, duplicateAcks: 1, retransmits: 1, timeouts: 0, badAcks: 1 });
    });

    test('block numbers roll over on the wire (65535 → 0) while the phase counts on', async () => {
      const p = await pair(kind);
      const file = randomBytes(65540 * 8); // blksize 8: blocks 1..65541 (the last is empty)
      p.client.removeAllListeners('message');
      const at = new Map<number, Buffer>(); // absolute block → bytes, counted as this client sees them
      let abs = 0;
      p.client.on('message', (m) => {
        abs += (m.readUInt16BE(2) - abs) & 0xffff || 0;
        at.set(abs, Buffer.from(m.subarray(4)));
        if (abs % 64 === 0 || abs === 65541) p.client.send(ack(abs & 0xffff), p.link.localPort, '127.0.0.1'); // each window's last block
      });
      p.link.provide(0, file);
      p.link.start(phase({ size: file.length, blksize: 8, windowsize: 64, timeoutMs: 60_000 }));
      await waitFor(() => p.ends.length > 0, { what: 'the transfer end (onEnd)' });
      assert.deepEqual(p.ends, [true]);
      assert.equal(at.size, 65541);
      assert.deepEqual(at.get(65536), file.subarray(65535 * 8, 65536 * 8), 'block 65536 went out as 0');
      assert.deepEqual(at.get(65541), Buffer.alloc(0));
      assert.deepEqual(Buffer.concat([...at.values()]), file);
      assert.equal(p.link.state().base, 65541);
    });

    test('no ACK: the window is re-sent each timeout, then the phase ends (maxRetries)', async () => {
      const p = await pair(kind);
      const file = randomBytes(3 * 512);
      p.link.provide(0, file);
      p.link.start(phase({ size: file.length, windowsize: 2, timeoutMs: 100, maxRetries: 2 }));
      const sent = numbers(await blocks(p, 6));
      assert.deepEqual(sent, [1, 2, 1, 2, 1, 2]);
      await waitFor(() => p.ends.length > 0, { what: 'the transfer end (onEnd)' });
      assert.deepEqual(p.ends, [false]);
      await p.quiet(250);
      const s = p.link.state();
      assert.equal(s.timeouts, 3);
      assert.equal(s.retransmits, 2);
    });

    test('bytes asked for: a window outside what was provided waits (onNeed) and goes out when provided', async () => {
      const p = await pair(kind);
      const file = randomBytes(10 * 512 + 7); // blocks 1..11
      p.link.start(phase({ size: file.length, windowsize: 4 }));
      assert.deepEqual(p.needs, [1], 'nothing provided yet');
      p.link.provide(0, file.subarray(0, 6 * 512)); // a chunk: blocks 1..6
      assert.deepEqual(numbers(await blocks(p, 4)), [1, 2, 3, 4]);
      await sendTo(p.client, p.link.localPort, ack(4));
      await waitFor(() => p.needs.length > 1, { what: 'a second onNeed' });
      assert.deepEqual(p.needs, [1, 5], 'blocks 5..8 are not all in the chunk');
      p.link.provide(4 * 512, file.subarray(4 * 512)); // the next chunk, from block 5
      const w = await blocks(p, 4);
      assert.deepEqual(numbers(w), [5, 6, 7, 8]);
      assert.deepEqual(Buffer.concat(w.map((b) => b.subarray(4))), file.subarray(4 * 512, 8 * 512));
    });

    test('what the phase does not take reaches onMessage (cut to 1500 bytes); another port is not heard', async () => {
      const p = await pair(kind);
      const stranger = createSocket('udp4');
      sockets.push(stranger);
      await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
      await sendTo(stranger, p.link.localPort, encodeTftp({ op: 'ERROR', code: 0, message: 'not yours' }));
      await sendTo(p.client, p.link.localPort, ack(2)); // before start(): the phase takes nothing
      await sendTo(p.client, p.link.localPort, Buffer.alloc(4000, 7));
      await waitFor(() => p.seen.length >= 2, { what: 'two datagrams at onMessage' });
      await settle();
      assert.equal(p.seen.length, 2);
      assert.deepEqual(p.seen[0], ack(2));
      assert.equal(p.seen[1]!.length, 1500);
    });

    test('bad parameters throw and leave the link usable; after close every call is a no-op', async () => {
      const p = await pair(kind);
      const bad: [string, Partial<PhaseParams>][] = [
        ['blksize 0', { blksize: 0 }],
        ['blksize over 65464', { blksize: 70000 }],
        ['windowsize 0', { windowsize: 0 }],
        ['windowsize over 65535', { windowsize: 65536 }],
        ['timeout 0', { timeoutMs: 0 }],
        ['fractional blksize', { blksize: 512.5 }],
        ['more than 2^32 blocks', { blksize: 8, size: 8 * 2 ** 32 }],
      ];
      for (const [what, o] of bad) assert.throws(() => p.link.start(phase({ size: 1000, ...o })), what);
      assert.throws(() => p.link.provide(-1, Buffer.alloc(1)), 'negative offset');
      assert.throws(() => p.link.send(Buffer.alloc(70000)), 'datagram over 65535 bytes');
      p.link.provide(0, Buffer.alloc(100, 1));
      p.link.start(phase({ size: 100 }));
      assert.equal((await p.next()).length, 104);
      assert.throws(() => p.link.start(phase({ size: 100 })), 'started twice');
      p.link.close();
      p.link.close();
      p.link.send(Buffer.from([0, 5, 0, 0, 0]));
      p.link.provide(0, Buffer.alloc(1));
      await p.quiet();
    });

    test('opening refuses an address that is not IPv4 with a NetrootError naming the client', async () => {
      const { open } = selectLink(kind);
      await assert.rejects(
        open('localhost', { address: '127.0.0.1', port: 9 }, 0),
        (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_LINK' && /127\.0\.0\.1:9/.test(e.message),
      );
      await assert.rejects(open('127.0.0.1', { address: '::1', port: 9 }, 0), (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_LINK');
      await assert.rejects(open('127.0.0.1', { address: '127.0.0.1', port: 0 }, 0), (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_LINK');
    });

    test('an ICMP error (port unreachable) does not deafen the link: the next datagram from the client still arrives', async () => {
      // A client port that is closed when DATA reaches it: the kernel answers ICMP port unreachable,
      // which marks the connected socket with an error. Then a client binds that port again.
      const gone = createSocket('udp4');
      await new Promise<void>((r) => gone.bind(0, '127.0.0.1', () => r()));
      const port = gone.address().port;
      await new Promise<void>((r) => gone.close(() => r()));
      const link = await selectLink(kind).open('127.0.0.1', { address: '127.0.0.1', port }, 0);
      links.push(link);
      const seen: Buffer[] = [];
      link.onMessage = (m) => seen.push(Buffer.from(m));
      const before = linkStats().socketErrors;
      link.send(Buffer.from([0, 5, 0, 0, 0]));
      await waitFor(() => linkStats().socketErrors > before, { what: 'the ICMP error counted in socketErrors' });
      assert.ok(linkStats().socketErrors > before, 'the ICMP error was seen and cleared');
      const back = createSocket('udp4');
      sockets.push(back);
      await new Promise<void>((r) => back.bind(port, '127.0.0.1', () => r()));
      await sendTo(back, link.localPort, ack(1));
      await sendTo(back, link.localPort, ack(2));
      await waitFor(() => seen.length >= 2, { what: 'two ACKs at onMessage' });
      assert.deepEqual(seen, [ack(1), ack(2)]);
    });
  });
}

// A fast client on its own thread (a worker with its own event loop), so that it can answer
// while the main thread's loop is inside the native link's poll callback: the lone transfer then
// reads ACKs by polling for them (the spin, counted in spunWindows), and a duplicate ACK during it
// is still counted, with every block delivered in order.
const fastClient = `
const { workerData, parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const parts = [];
const ack = (n) => Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff]);
s.bind(0, '127.0.0.1', () => parentPort.postMessage({ port: s.address().port }));
s.on('message', (m, r) => {
  const n = m.readUInt16BE(2);
  parts.push(m.subarray(4));
  if (n === workerData.oddAt) s.send(ack(n - 1), r.port, '127.0.0.1'); // a duplicate of the previous ACK
  const last = m.length - 4 < workerData.blksize;
  s.send(ack(n), r.port, '127.0.0.1', () => {
    if (!last) return;
    parentPort.postMessage({ body: Buffer.concat(parts) });
    s.close(); // after the final ACK is out
  });
});
`;

test('native spin: a lone transfer with a fast client reads ACKs while polling; a duplicate ACK during it is still counted', async () => {
  const { Worker } = await import('node:worker_threads');
  for (const l of links.splice(0)) l.close(); // earlier tests' links: the spin is for a lone transfer
  const blksize = 512;
  const file = randomBytes(4000 * blksize + 7); // blocks 1..4001
  const before = linkStats().spunWindows;
  // On a loaded CI machine the worker may miss the 50 µs spin window every time in one transfer
  // (each miss backs off 64 windows); every attempt must be correct, one must be answered by the spin.
  for (let attempt = 0; attempt < 20 && linkStats().spunWindows === before; attempt++) {
    const worker = new Worker(fastClient, { eval: true, workerData: { blksize, oddAt: 3000 } });
    try {
      const { port } = await new Promise<{ port: number }>((r) => worker.once('message', r));
      const link = await selectLink('native').open('127.0.0.1', { address: '127.0.0.1', port }, 0);
      links.push(link);
      const seen: Buffer[] = [];
      const ends: boolean[] = [];
      link.onMessage = (m) => seen.push(Buffer.from(m));
      link.onEnd = (c) => ends.push(c);
      const done = new Promise<{ body: Uint8Array }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the fast client did not finish within 10 s')), 10_000);
        worker.once('message', (m: { body: Uint8Array }) => {
          clearTimeout(t);
          resolve(m);
        });
      });
      link.provide(0, file);
      link.start(phase({ size: file.length, blksize }));
      const { body } = await done;
      assert.deepEqual(Buffer.from(body), file, 'every block, in order');
      await waitFor(() => ends.length > 0, { what: 'the transfer end (onEnd)' });
      assert.deepEqual(ends, [true]);
      assert.deepEqual(seen, []);
      const s = link.state();
      assert.equal(s.base, 4001);
      assert.equal(s.duplicateAcks, 1);
      link.close();
    } finally {
      await worker.terminate();
    }
  }
  assert.ok(linkStats().spunWindows > before, 'some ACKs were read by the spin');
});

test("native helper's own argument checks: E_TFTPIO range/type errors, never a crash", async () => {
  const p = await pair('native');
  assert.throws(
    () => p.link.provide(0, 'text' as unknown as Buffer),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTPIO',
  );
  assert.throws(
    () => p.link.start({ ...phase({ size: 10 }), oack: 'x' as unknown as Buffer }),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTPIO',
  );
  assert.throws(
    () => p.link.start(phase({ size: 1.5 })),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTPIO',
  );
});

test('link choice: auto falls back to dgram saying why when the native helper is missing; native refuses', () => {
  const missing = join(tempStateDir('nrt-tftp-nolink-'), 'tftpio.node');
  const auto = selectLink('auto', missing);
  assert.equal(auto.kind, 'dgram');
  assert.match(auto.fallback ?? '', /TFTP I\/O helper is not built .*tftpio\.node.*npm run build:native/);
  assert.throws(
    () => selectLink('native', missing),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_NATIVE',
  );
  assert.equal(selectLink('auto').kind, 'native', 'built: the fast path');
  assert.equal(selectLink('dgram').fallback, undefined, 'asked for: no fallback to report');
});

test('a server whose native helper is missing logs one warning naming why and serves through node:dgram', async () => {
  const dir = tempStateDir('nrt-tftp-nolink-');
  const root = join(dir, 'root');
  mkdirSync(root);
  mkdirSync(join(dir, 'out'));
  const file = randomBytes(100_000);
  writeFileSync(join(root, 'ipxe.efi'), file);
  const { logger, records } = captureLogs('info');
  const server = new TftpServer({ host: '127.0.0.1', port: 0, resolver: rootResolver(root), logger, nativeAddon: join(dir, 'no-such', 'tftpio.node') });
  await server.start();
  try {
    assert.equal(server.linkKind, 'dgram');
    const warnings = records.filter((r) => r['level'] === 'warn' || r['level'] === 40);
    assert.equal(warnings.length, 1, JSON.stringify(records));
    assert.match(String(warnings[0]!['msg']), /native transfer link is not available.*node:dgram/);
    assert.match(String(warnings[0]!['reason']), /no-such\/tftpio\.node/);
    assert.equal(records.find((r) => r['msg'] === 'tftp listening')?.['link'], 'dgram');
    const { curl } = tftpClients(join(dir, 'out'), () => server.port());
    assert.deepEqual(await curl('ipxe.efi', ['--tftp-blksize', '1432']), file);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
