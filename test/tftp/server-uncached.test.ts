// The TFTP server with nothing cached (FileCache maxFileBytes 0): every transfer reads the file
// from disk through the JS read-ahead path (1 MiB chunks, file.read), never the link's stream.
// Real clients (curl, atftp) over loopback, a lossy relay, block-number rollover, a file that
// changes under a running transfer, and no file descriptor left open afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync, rmSync, readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TftpServer, rootResolver, FileCache, decodeTftp, encodeTftp } from '../../src/tftp/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { tftpClients } from './clients.js';
import { rawPeer, lossyRelay } from './udp-peer.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const dir = tempStateDir('nrt-tftp-uncached-');
const root = join(dir, 'root');
const out = join(dir, 'out');
const big = randomBytes(3 * 1024 * 1024 + 17); // four read-ahead chunks, the last one short
const exact = randomBytes(1432 * 64); // a multiple of blksize: ends with an empty block
const chunkExact = randomBytes(1432 * 1465); // > 2 MiB, crosses read-ahead chunks mid-block, multiple of blksize
const small = randomBytes(300 * 1024);
const roll = randomBytes(1_100_000);
let server: TftpServer;
let port: number;

before(async () => {
  mkdirSync(root, { recursive: true });
  mkdirSync(out);
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, 'exact.bin'), exact);
  writeFileSync(join(root, 'chunk-exact.bin'), chunkExact);
  writeFileSync(join(root, 'small.bin'), small);
  writeFileSync(join(root, 'roll.bin'), roll);
  server = new TftpServer({
    host: '127.0.0.1',
    port: 0,
    resolver: rootResolver(root, new FileCache({ maxFileBytes: 0 })),
    timeoutMs: 100,
    maxRetries: 8,
    maxTimeoutS: 0,
  });
  await server.start();
  port = server.port();
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const { curl, atftp } = tftpClients(out, () => port);

/** File descriptors of this process open on something under the boot root. */
function openUnderRoot(): string[] {
  const fds: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(root)) fds.push(target);
    } catch {
      // closed between readdir and readlink (the readdir's own fd)
    }
  }
  return fds;
}

async function noneOpenUnderRoot(): Promise<void> {
  // Transfer.end closes the file without awaiting it; give the close a moment.
  for (let i = 0; i < 250 && openUnderRoot().length > 0; i++) await sleep(20);
  assert.deepEqual(openUnderRoot(), [], 'every file handle was closed');
}

/**
 * The client exits once it has sent its last ACK; the server counts the transfer when that ACK
 * arrives, a moment later. Waits for the counts, then asserts them exactly.
 */
async function ended(m0: { completed: number; aborted: number }, completed: number, aborted = 0): Promise<void> {
  const short = () => server.metrics.completed - m0.completed < completed || server.metrics.aborted - m0.aborted < aborted;
  for (let i = 0; i < 500 && short(); i++) await sleep(10);
  assert.equal(server.metrics.completed - m0.completed, completed, 'transfers completed');
  assert.equal(server.metrics.aborted - m0.aborted, aborted, 'transfers aborted');
}

const rrq = (filename: string, options: [string, string][] = []) => encodeTftp({ op: 'RRQ', filename, mode: 'octet', options: new Map(options) });

test('curl --tftp-blksize 1432 fetches a 3 MiB file from disk, checksum equal', async () => {
  const m0 = { ...server.metrics };
  const got = await curl('big.bin', ['--tftp-blksize', '1432']);
  assert.equal(got.length, big.length);
  assert.equal(sha(got), sha(big));
  await ended(m0, 1);
  await noneOpenUnderRoot();
});

test('atftp with windowsize 16 and blksize 1432, checksum equal', async () => {
  const m0 = { ...server.metrics };
  assert.equal(sha(await atftp('big.bin', ['windowsize 16', 'blksize 1432', 'tsize 0'])), sha(big));
  await ended(m0, 1);
});

test('files that are a multiple of blksize end with an empty block (also across read-ahead chunks)', async () => {
  const m0 = { ...server.metrics };
  assert.equal(sha(await atftp('exact.bin', ['windowsize 16', 'blksize 1432'])), sha(exact));
  assert.equal(sha(await curl('exact.bin', ['--tftp-blksize', '1432'])), sha(exact));
  const got = await atftp('chunk-exact.bin', ['windowsize 16', 'blksize 1432']);
  assert.equal(got.length, chunkExact.length);
  assert.equal(sha(got), sha(chunkExact));
  assert.equal(sha(await curl('chunk-exact.bin', ['--tftp-blksize', '1432'])), sha(chunkExact));
  await ended(m0, 4);
});

test('block numbers roll over past 65535 (blksize 16, 68,750 blocks) reading from disk', async () => {
  const m0 = { ...server.metrics };
  const got = await curl('roll.bin', ['--tftp-blksize', '16']);
  assert.ok(roll.length / 16 > 65536);
  assert.equal(got.length, roll.length);
  assert.equal(sha(got), sha(roll));
  await ended(m0, 1);
});

test('raw client: the last block of the exact file is empty and the final ACK completes the transfer', async () => {
  const peer = await rawPeer();
  const m0 = { ...server.metrics };
  try {
    await peer.send(rrq('exact.bin', [['blksize', '1432']]), port);
    const oack = await peer.next();
    assert.equal(oack && decodeTftp(oack.msg).op, 'OACK');
    const tid = oack!.rinfo.port;
    const chunks: Buffer[] = [];
    let ack = 0;
    for (;;) {
      await peer.send(encodeTftp({ op: 'ACK', block: ack }), tid);
      const r = await peer.next();
      assert.ok(r, `DATA ${ack + 1}`);
      const p = decodeTftp(r.msg);
      assert.equal(p.op, 'DATA');
      if (p.op !== 'DATA') break;
      if (p.block === ack) continue; // a retransmission of the block already held
      assert.equal(p.block, ack + 1);
      chunks.push(Buffer.from(p.data));
      ack = p.block;
      if (p.data.length < 1432) break;
    }
    assert.equal(ack, 65, '64 full blocks and an empty 65th');
    assert.equal(chunks.at(-1)?.length, 0);
    assert.ok(Buffer.concat(chunks).equals(exact));
    await peer.send(encodeTftp({ op: 'ACK', block: ack }), tid);
    await ended(m0, 1);
  } finally {
    peer.close();
  }
});

test('many transfers at once, each reading its own handle, all checksums equal', async () => {
  const m0 = { ...server.metrics };
  const jobs = Array.from({ length: 12 }, (_, i) =>
    i % 2 === 0 ? curl('big.bin', ['--tftp-blksize', '1432']) : atftp('big.bin', ['windowsize 8', 'blksize 1432']),
  );
  for (const got of await Promise.all(jobs)) assert.equal(sha(got), sha(big));
  await ended(m0, 12);
  await noneOpenUnderRoot();
});

test('lossy link (lockstep): drops recovered by retransmission, every ACK duplicated, checksum equal', async () => {
  const m0 = { ...server.metrics };
  const blocks = Math.floor(small.length / 1432) + 1;
  // Drop every 17th datagram either way, except the final ACK (a client that exits after it
  // cannot repeat it, RFC 1350 section 6); duplicate every ACK going up.
  const finalAck = (dir: 'up' | 'down', msg: Buffer) => dir === 'up' && msg.readUInt16BE(0) === 4 && msg.readUInt16BE(2) === blocks;
  const relay = await lossyRelay(port, (dir, n, msg) =>
    n % 17 === 16 && !finalAck(dir, msg) ? 'drop' : dir === 'up' && msg.readUInt16BE(0) === 4 ? 'dup' : 'pass',
  );
  try {
    const got = await curl('small.bin', ['--tftp-blksize', '1432'], relay.port);
    assert.equal(sha(got), sha(small));
    assert.ok(relay.stats.dropped > 0);
    assert.ok(server.metrics.retransmits - m0.retransmits > 0, 'retransmitted after drops');
    assert.ok(server.metrics.duplicateAcks - m0.duplicateAcks >= blocks / 2, 'duplicate ACKs seen and ignored');
    assert.ok(relay.stats.dataFromServer < blocks * 1.25, `${relay.stats.dataFromServer} DATA for ${blocks} blocks`);
    await ended(m0, 1);
  } finally {
    relay.close();
  }
});

test('lossy link with windowsize 16 over the read-ahead chunks: go-back, checksum equal', async () => {
  const m0 = { ...server.metrics };
  // Drops only going down (DATA), so the final ACK always arrives.
  const relay = await lossyRelay(port, (dir, n) => (dir === 'down' && n % 23 === 11 ? 'drop' : dir === 'up' && n % 5 === 0 ? 'dup' : 'pass'));
  try {
    const got = await atftp('big.bin', ['windowsize 16', 'blksize 1432'], relay.port);
    assert.equal(sha(got), sha(big));
    assert.ok(relay.stats.dropped > 10);
    assert.ok(server.metrics.retransmits - m0.retransmits > 0);
    await ended(m0, 1);
  } finally {
    relay.close();
  }
});

test('a file truncated under a running uncached transfer ends it with an error, not with wrong data', async () => {
  const data = randomBytes(3 * 1024 * 1024);
  writeFileSync(join(root, 'shrink.bin'), data);
  const peer = await rawPeer();
  const m0 = { ...server.metrics };
  try {
    // blksize 65464: the first 1 MiB read-ahead chunk holds blocks 1..16, block 17 needs a new read.
    await peer.send(rrq('shrink.bin', [['blksize', '65464']]), port);
    const oack = await peer.next();
    assert.equal(oack && decodeTftp(oack.msg).op, 'OACK');
    const tid = oack!.rinfo.port;
    await peer.send(encodeTftp({ op: 'ACK', block: 0 }), tid);
    let d = await peer.next();
    let p = d && decodeTftp(d.msg);
    assert.equal(p?.op, 'DATA');
    assert.deepEqual(openUnderRoot(), [join(root, 'shrink.bin')], 'the running transfer holds the file open (and the check sees it)');
    truncateSync(join(root, 'shrink.bin'), 1000);
    let ack = 0;
    const got: Buffer[] = [];
    while (p?.op === 'DATA') {
      if (p.block === ack + 1) {
        got.push(Buffer.from(p.data));
        ack = p.block;
      }
      await peer.send(encodeTftp({ op: 'ACK', block: ack }), tid);
      d = await peer.next();
      p = d && decodeTftp(d.msg);
    }
    assert.equal(p?.op, 'ERROR', 'the transfer ended with an error packet');
    if (p?.op === 'ERROR') assert.match(p.message, /changed/);
    assert.equal(ack, 16, 'the blocks of the chunk read before the truncation, then nothing');
    assert.ok(Buffer.concat(got).equals(data.subarray(0, 16 * 65464)), 'what was sent is the original file');
    await ended(m0, 0, 1);
  } finally {
    peer.close();
  }
  await noneOpenUnderRoot();
});

test('a client that gives up with ERROR: the file handle is closed', async () => {
  const peer = await rawPeer();
  const m0 = { ...server.metrics };
  try {
    await peer.send(rrq('big.bin'), port);
    const d1 = await peer.next();
    const p = d1 && decodeTftp(d1.msg);
    assert.equal(p?.op, 'DATA');
    if (p?.op === 'DATA') assert.ok(p.data.equals(big.subarray(0, 512)));
    await peer.send(encodeTftp({ op: 'ERROR', code: 0, message: 'bye' }), d1!.rinfo.port);
    await ended(m0, 0, 1);
    assert.equal(server.metrics.clientErrors - m0.clientErrors, 1);
  } finally {
    peer.close();
  }
  await noneOpenUnderRoot();
});

test('no window of the uncached server went through the link stream; completed/aborted add up', () => {
  assert.equal(server.metrics.streamedWindows, 0, 'the fast path was not used');
  // 1 + 1 + 4 + 1 + 1 + 12 + 1 + 1 completed; the truncated file and the client ERROR aborted.
  assert.equal(server.metrics.completed, 22);
  assert.equal(server.metrics.aborted, 2);
  assert.equal(server.metrics.errors, 0, 'no read threw');
  assert.equal(server.metrics.active, 0);
  assert.equal(server.transfers.size, 0);
});
