// The native transfer link (src/tftp/link.ts over native/tftpio) against a plain dgram socket
// standing in for the client: what goes on the wire, what comes back, the stream fast path, and
// bad arguments (an exception with code E_TFTPIO, never a crash).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { openLink, linkStats, type TransferLink } from '../../src/tftp/link.js';

const sockets: Socket[] = [];
const links: TransferLink[] = [];
after(() => {
  for (const l of links) l.close();
  for (const s of sockets) s.close();
});

/** A client socket on loopback and a link connected to it; datagrams queue in `got`. */
async function pair(): Promise<{ client: Socket; link: TransferLink; got: Buffer[]; next: () => Promise<Buffer>; seen: Buffer[] }> {
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
  const link = openLink('127.0.0.1', { address: '127.0.0.1', port: client.address().port });
  links.push(link);
  const seen: Buffer[] = [];
  link.onMessage = (m) => seen.push(Buffer.from(m));
  const next = () =>
    new Promise<Buffer>((resolve, reject) => {
      const b = got.shift();
      if (b) return resolve(b);
      const t = setTimeout(() => reject(new Error('no datagram within 2 s')), 2000);
      waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  return { client, link, got, next, seen };
}

const sendTo = (s: Socket, port: number, b: Buffer) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));
const ack = (n: number) => Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff]);
const settle = () => new Promise((r) => setTimeout(r, 50));
/** Waits (up to 5 s, a loaded CI machine is slow) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await settle();
}

test('sendBlocks: DATA packets with 16-bit block numbers (65535 → 0) and a short last block', async () => {
  const { link, next } = await pair();
  const data = randomBytes(3 * 512 + 100);
  link.sendBlocks(65534, data, 0, data.length, 512, 4);
  const pkts = [await next(), await next(), await next(), await next()];
  assert.deepEqual(
    pkts.map((p) => p.readUInt16BE(0)),
    [3, 3, 3, 3],
  );
  assert.deepEqual(
    pkts.map((p) => p.readUInt16BE(2)),
    [65534, 65535, 0, 1],
  );
  assert.deepEqual(
    pkts.map((p) => p.length - 4),
    [512, 512, 512, 100],
  );
  assert.deepEqual(Buffer.concat(pkts.map((p) => p.subarray(4))), data);
});

test('sendBlocks: an empty last block when the length is a multiple of blksize; an offset into the buffer', async () => {
  const { link, next } = await pair();
  const data = randomBytes(2048);
  link.sendBlocks(7, data, 1024, 1024, 512, 3);
  const pkts = [await next(), await next(), await next()];
  assert.deepEqual(
    pkts.map((p) => p.readUInt16BE(2)),
    [7, 8, 9],
  );
  assert.deepEqual(
    pkts.map((p) => p.length),
    [516, 516, 4],
  );
  assert.deepEqual(Buffer.concat([pkts[0]!.subarray(4), pkts[1]!.subarray(4)]), data.subarray(1024));
});

test('the link is connected: datagrams from the client arrive, from another port they do not', async () => {
  const { client, link, seen } = await pair();
  const stranger = createSocket('udp4');
  sockets.push(stranger);
  await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
  await sendTo(stranger, link.localPort, ack(1));
  await sendTo(client, link.localPort, ack(2));
  await sendTo(client, link.localPort, Buffer.alloc(4000, 7)); // longer than a slot: cut to 1500
  await until(() => seen.length >= 2);
  await settle(); // the stranger's datagram, sent first, would have arrived by now
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[0], ack(2));
  assert.equal(seen[1]!.length, 1500);
});

test('stream: in-order ACKs are answered by the link and not delivered; others are; progress tells what was sent', async () => {
  const { client, link, next, seen } = await pair();
  const file = randomBytes(10 * 100 + 30); // blocks 1..11, the last has 30 bytes
  const last = Math.floor(file.length / 100) + 1;
  link.stream(0, last, 4, 100, file);
  await sendTo(client, link.localPort, ack(0));
  const w1 = [await next(), await next(), await next(), await next()];
  assert.deepEqual(
    w1.map((p) => p.readUInt16BE(2)),
    [1, 2, 3, 4],
  );
  await sendTo(client, link.localPort, ack(2)); // partial: not the stream's, delivered
  await sendTo(client, link.localPort, ack(4));
  const w2 = [await next(), await next(), await next(), await next()];
  assert.deepEqual(
    w2.map((p) => p.readUInt16BE(2)),
    [5, 6, 7, 8],
  );
  await sendTo(client, link.localPort, ack(8));
  const w3 = [await next(), await next(), await next()];
  assert.deepEqual(
    w3.map((p) => p.readUInt16BE(2)),
    [9, 10, 11],
  );
  assert.equal(w3[2]!.length, 4 + 30);
  assert.deepEqual(Buffer.concat([...w1, ...w2, ...w3].map((p) => p.subarray(4))), file);
  await sendTo(client, link.localPort, ack(11)); // the final ACK: the stream has stopped, delivered
  await until(() => seen.length >= 2);
  assert.deepEqual(seen, [ack(2), ack(11)]);
  const p = link.progress();
  assert.equal(p.acked, 8);
  assert.equal(p.sentTo, 11);
  assert.equal(p.answered, 3);
  assert.ok(p.msAgo >= 0 && p.msAgo < 2000, `msAgo ${p.msAgo}`);
});

test('stream: block numbers roll over on the wire while progress stays absolute', async () => {
  const { client, link, next } = await pair();
  const file = randomBytes(65540 * 8); // blksize 8: blocks 1..65541
  const last = Math.floor(file.length / 8) + 1;
  link.stream(65534, last, 2, 8, file);
  await sendTo(client, link.localPort, ack(65534));
  const w = [await next(), await next()];
  assert.deepEqual(
    w.map((p) => p.readUInt16BE(2)),
    [65535, 0],
  );
  assert.deepEqual(w[1]!.subarray(4), file.subarray(65535 * 8, 65536 * 8));
  await sendTo(client, link.localPort, ack(0)); // block 65536 on the wire
  const w2 = [await next(), await next()];
  assert.deepEqual(
    w2.map((p) => p.readUInt16BE(2)),
    [1, 2],
  );
  assert.equal(link.progress().sentTo, 65538);
});

test('stopStream: ACKs reach onMessage again; after close every call is a no-op', async () => {
  const { client, link, seen } = await pair();
  const file = randomBytes(1000);
  link.stream(0, Math.floor(1000 / 100) + 1, 1, 100, file);
  link.stopStream();
  await sendTo(client, link.localPort, ack(0));
  await until(() => seen.length >= 1);
  assert.deepEqual(seen, [ack(0)]);
  link.close();
  link.close();
  link.send(Buffer.from([0, 5, 0, 0, 0]));
  link.sendBlocks(1, file, 0, 100, 100, 1);
  assert.deepEqual(link.progress(), { acked: 0, sentTo: 0, answered: 0, msAgo: -1 });
});

test('bad arguments throw E_TFTPIO range/type errors and leave the link usable', async () => {
  const { link, next } = await pair();
  const buf = Buffer.alloc(1000);
  const bad: [string, () => void][] = [
    ['past the buffer', () => link.sendBlocks(1, buf, 900, 200, 100, 2)],
    ['count 0', () => link.sendBlocks(1, buf, 0, 100, 100, 0)],
    ['blksize 0', () => link.sendBlocks(1, buf, 0, 100, 0, 1)],
    ['blksize over 65464', () => link.sendBlocks(1, buf, 0, 100, 70000, 1)],
    ['blocks do not cover length', () => link.sendBlocks(1, buf, 0, 1000, 100, 3)],
    ['too many blocks for length', () => link.sendBlocks(1, buf, 0, 100, 100, 3)],
    ['negative offset', () => link.sendBlocks(1, buf, -1, 100, 100, 1)],
    ['fractional block', () => link.sendBlocks(1.5, buf, 0, 100, 100, 1)],
    ['not a buffer', () => link.sendBlocks(1, 'text' as unknown as Buffer, 0, 4, 100, 1)],
    ['stream with the wrong last block', () => link.stream(0, 5, 1, 100, buf)],
    ['stream starting at the last block', () => link.stream(11, 11, 1, 100, buf)],
    ['stream windowsize 0', () => link.stream(0, 11, 0, 100, buf)],
    ['datagram over 65535 bytes', () => link.send(Buffer.alloc(70000))],
  ];
  for (const [what, f] of bad) {
    assert.throws(f, (e: NodeJS.ErrnoException) => e.code === 'E_TFTPIO', what);
  }
  link.sendBlocks(1, buf, 0, 100, 100, 1);
  const p = await next();
  assert.equal(p.readUInt16BE(2), 1);
});

test('openLink refuses an address that is not IPv4 with a NetrootError naming the client', () => {
  assert.throws(
    () => openLink('localhost', { address: '127.0.0.1', port: 9 }),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_LINK' && /127\.0\.0\.1:9/.test(e.message),
  );
  assert.throws(
    () => openLink('127.0.0.1', { address: '::1', port: 9 }),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_LINK',
  );
  assert.throws(
    () => openLink('127.0.0.1', { address: '127.0.0.1', port: 0 }),
    (e: NodeJS.ErrnoException) => e.code === 'E_TFTP_LINK',
  );
});

test('an ICMP error (port unreachable) does not deafen the link: the next datagram from the client still arrives', async () => {
  // A client port that is closed when DATA reaches it: the kernel answers ICMP port unreachable,
  // which marks the connected socket with an error (EPOLLERR). Then a client binds that port again.
  const gone = createSocket('udp4');
  await new Promise<void>((r) => gone.bind(0, '127.0.0.1', () => r()));
  const port = gone.address().port;
  await new Promise<void>((r) => gone.close(() => r()));
  const link = openLink('127.0.0.1', { address: '127.0.0.1', port });
  links.push(link);
  const seen: Buffer[] = [];
  link.onMessage = (m) => seen.push(Buffer.from(m));
  const before = linkStats().socketErrors;
  link.sendBlocks(1, Buffer.alloc(512), 0, 512, 512, 2);
  await until(() => linkStats().socketErrors > before);
  assert.ok(linkStats().socketErrors > before, 'the ICMP error was seen and cleared');
  const back = createSocket('udp4');
  sockets.push(back);
  await new Promise<void>((r) => back.bind(port, '127.0.0.1', () => r()));
  await sendTo(back, link.localPort, ack(1));
  await sendTo(back, link.localPort, ack(2));
  await until(() => seen.length >= 2);
  assert.deepEqual(seen, [ack(1), ack(2)]);
});

// A fast client on its own thread (a worker with its own event loop), so that it can answer
// while the main thread's loop is inside the link's poll callback: the lone stream then answers
// ACKs by polling for them (the spin, counted in spunWindows), and a datagram that is not the
// expected ACK (here mostly read by the spin) still reaches JS, in order, with nothing lost.
const fastClient = `
const { workerData, parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const parts = [];
const ack = (n) => Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff]);
s.bind(0, '127.0.0.1', () => {
  parentPort.postMessage({ port: s.address().port });
  parentPort.once('message', (serverPort) => {
    s.connect(serverPort, '127.0.0.1', () => s.send(ack(0)));
  });
});
s.on('message', (m) => {
  const n = m.readUInt16BE(2);
  parts.push(m.subarray(4));
  if (n === workerData.oddAt) s.send(ack(n - 1)); // a duplicate of the previous ACK
  s.send(ack(n));
  if (m.length - 4 < workerData.blksize) {
    parentPort.postMessage({ body: Buffer.concat(parts) });
    s.close();
  }
});
`;

test('spin: a lone stream with a fast client answers while polling; a duplicate ACK during it still reaches JS', async () => {
  const { Worker } = await import('node:worker_threads');
  for (const l of links.splice(0)) l.close(); // earlier tests' streams: the spin is for a lone stream
  const blksize = 512;
  const file = randomBytes(4000 * blksize + 7); // blocks 1..4001
  const last = Math.floor(file.length / blksize) + 1;
  const before = linkStats().spunWindows;
  // On a loaded CI machine the worker may miss the 50 µs spin window every time in one transfer
  // (each miss backs off 64 windows); every attempt must be correct, one must be answered by the spin.
  for (let attempt = 0; attempt < 20 && linkStats().spunWindows === before; attempt++) {
    const worker = new Worker(fastClient, { eval: true, workerData: { blksize, oddAt: 3000 } });
    try {
      const { port } = await new Promise<{ port: number }>((r) => worker.once('message', r));
      const link = openLink('127.0.0.1', { address: '127.0.0.1', port });
      links.push(link);
      const seen: Buffer[] = [];
      link.onMessage = (m) => seen.push(Buffer.from(m));
      link.stream(0, last, 1, blksize, file);
      const done = new Promise<{ body: Uint8Array }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the fast client did not finish within 10 s')), 10_000);
        worker.once('message', (m: { body: Uint8Array }) => {
          clearTimeout(t);
          resolve(m);
        });
      });
      worker.postMessage(link.localPort);
      const { body } = await done;
      assert.deepEqual(Buffer.from(body), file, 'every block, in order');
      await until(() => seen.length >= 2);
      assert.deepEqual(seen, [ack(2999), ack(last)], 'the duplicate and the final ACK went to JS');
      assert.equal(link.progress().sentTo, last);
      link.close();
    } finally {
      await worker.terminate();
    }
  }
  assert.ok(linkStats().spunWindows > before, 'some windows were answered by the spin');
});
