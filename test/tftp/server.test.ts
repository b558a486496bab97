// The TFTP server over loopback with real clients (curl, atftp), raw packets for the edge cases,
// and a lossy relay proving retransmission and duplicate-ACK safety.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TftpServer, rootResolver, chainResolvers, bufferFile, decodeTftp, encodeTftp, type TftpResolver } from '../../src/tftp/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { tftpClients } from './clients.js';
import { rawPeer, lossyRelay } from './udp-peer.js';
import { until } from '../iscsi/helpers/wait.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const dir = tempStateDir('nrt-tftp-');
const root = join(dir, 'root');
const out = join(dir, 'out');
const big = randomBytes(3 * 1024 * 1024 + 17);
const exact = randomBytes(1432 * 64); // a multiple of blksize: ends with an empty block
const small = randomBytes(300 * 1024);
const roll = randomBytes(1_100_000);
let server: TftpServer;
let port: number;

const rendered: TftpResolver = async (path) => (path === 'pxelinux.cfg/01-52-54-00-12-34-56' ? bufferFile(Buffer.from('DEFAULT netroot\n')) : null);

before(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(out);
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, 'sub', 'exact.bin'), exact);
  writeFileSync(join(root, 'small.bin'), small);
  writeFileSync(join(root, 'roll.bin'), roll);
  writeFileSync(join(root, 'empty.bin'), '');
  writeFileSync(join(dir, 'secret.txt'), 'outside the root');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'link-out'));
  symlinkSync('/etc', join(root, 'etc-link'));
  symlinkSync('big.bin', join(root, 'link-in'));
  server = new TftpServer({
    host: '127.0.0.1',
    port: 0,
    resolver: chainResolvers(rendered, rootResolver(root)),
    timeoutMs: 100,
    maxRetries: 8,
    maxTimeoutS: 0,
    maxTransfersPerClient: 64,
  });
  await server.start();
  port = server.port();
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const { curl, atftp } = tftpClients(out, () => port);

test('curl --tftp-blksize 1432 fetches a 3 MiB file, checksum equal; tsize/blksize negotiated', async () => {
  const w0 = server.metrics.streamedWindows;
  const got = await curl('big.bin', ['--tftp-blksize', '1432']);
  assert.equal(sha(got), sha(big));
  // The file is cached (default FileCache): in-order ACKs were answered by the link's stream.
  const streamed = server.metrics.streamedWindows - w0;
  const blocks = Math.floor(big.length / 1432) + 1;
  assert.ok(server.metrics.streamedWindows > 0, 'the fast path was used');
  assert.ok(streamed >= blocks / 2, `${streamed} of ${blocks} windows streamed (all of them on a clean link)`);
});

test('atftp with windowsize 16 and blksize 1432; a file that is a multiple of blksize; a symlink inside the root', async () => {
  assert.equal(sha(await atftp('big.bin', ['windowsize 16', 'blksize 1432', 'tsize 0'])), sha(big));
  assert.equal(sha(await atftp('sub/exact.bin', ['windowsize 16', 'blksize 1432'])), sha(exact));
  assert.equal(sha(await curl('sub/exact.bin', ['--tftp-blksize', '1432'])), sha(exact));
  assert.equal(sha(await curl('link-in', ['--tftp-no-options'])), sha(big));
});

test('block numbers roll over past 65535 (blksize 16, 70,000 blocks)', async () => {
  const got = await curl('roll.bin', ['--tftp-blksize', '16'], port);
  assert.equal(got.length, roll.length);
  assert.equal(sha(got), sha(roll));
  assert.ok(roll.length / 16 > 65536);
});

test('a rendered file from the resolver callback', async () => {
  assert.equal((await curl('pxelinux.cfg/01-52-54-00-12-34-56')).toString(), 'DEFAULT netroot\n');
});

test('an empty file: curl and atftp get zero bytes (no tsize 0 in the OACK, which curl refuses)', async () => {
  assert.equal((await curl('empty.bin', ['--tftp-blksize', '1432'])).length, 0);
  assert.equal((await curl('empty.bin')).length, 0);
  assert.equal((await atftp('empty.bin', ['tsize 0', 'blksize 1432'])).length, 0);
});

test('many transfers at once, each on its own TID, all checksums equal', async () => {
  const before = server.metrics.completed;
  const jobs = Array.from({ length: 24 }, (_, i) =>
    i % 2 === 0 ? curl('big.bin', ['--tftp-blksize', '1432']) : atftp('big.bin', ['windowsize 8', 'blksize 1432']),
  );
  for (const got of await Promise.all(jobs)) assert.equal(sha(got), sha(big));
  assert.equal(server.metrics.completed - before, 24, 'each of the 24 transfers completed once');
});

async function request(buf: Buffer, waitMs = 2000) {
  const peer = await rawPeer();
  try {
    await peer.send(buf, port);
    const r = await peer.next(waitMs);
    return r ? { p: decodeTftp(r.msg), from: r.rinfo.port } : null;
  } finally {
    peer.close();
  }
}

const rrq = (filename: string, options: [string, string][] = []) => encodeTftp({ op: 'RRQ', filename, mode: 'octet', options: new Map(options) });

test('paths outside the root are refused with an error packet and never served', async () => {
  const secret = readFileSync(join(dir, 'secret.txt'));
  for (const [path, code] of [
    ['../secret.txt', 2],
    ['sub/../../secret.txt', 2],
    ['link-out', 2],
    ['etc-link/passwd', 2],
    ['/etc/passwd', 1],
    ['..', 2],
    ['sub\\..\\..\\secret.txt', 2],
    ['nope.bin', 1],
  ] as const) {
    const r = await request(rrq(path));
    assert.ok(r, path);
    assert.equal(r.p.op, 'ERROR', path);
    if (r.p.op === 'ERROR') assert.equal(r.p.code, code, path);
  }
  // A NUL inside the name ends the filename: what follows is read as the mode and refused (error 4).
  const nul = Buffer.concat([Buffer.from([0, 1]), Buffer.from('big.bin\0../x\0octet\0', 'latin1')]);
  const r = await request(nul);
  assert.equal(r?.p.op, 'ERROR');
  if (r?.p.op === 'ERROR') assert.equal(r.p.code, 4);
  await assert.rejects(curl('../secret.txt'));
  assert.ok(server.metrics.refused >= 5);
  assert.notEqual(secret.length, 0);
});

test('WRQ is refused with error 2; curl upload fails', async () => {
  const w0 = server.metrics.wrqRefused;
  const r = await request(encodeTftp({ op: 'WRQ', filename: 'x', mode: 'octet', options: new Map() }));
  assert.equal(r?.p.op, 'ERROR');
  if (r?.p.op === 'ERROR') assert.equal(r.p.code, 2);
  writeFileSync(join(out, 'up.txt'), 'x');
  await assert.rejects(run('curl', ['-sS', '--max-time', '10', '-T', join(out, 'up.txt'), `tftp://127.0.0.1:${port}/up.txt`]));
  assert.equal(server.metrics.wrqRefused - w0, 2, "the raw WRQ and curl's");
});

test('bad requests: no NULs → error 4, unknown mode → error 4, windowsize 0/70000 ignored, garbage dropped and counted', async () => {
  const m0 = { ...server.metrics };
  const noNul = await request(Buffer.from('\x00\x01big.binoctet', 'latin1'));
  assert.equal(noNul?.p.op, 'ERROR');
  if (noNul?.p.op === 'ERROR') assert.equal(noNul.p.code, 4);
  const mode = await request(Buffer.from('\x00\x01big.bin\x00binary\x00', 'latin1'));
  assert.equal(mode?.p.op, 'ERROR');
  if (mode?.p.op === 'ERROR') {
    assert.equal(mode.p.code, 4);
    assert.match(mode.p.message, /mode/);
  }
  for (const w of ['0', '70000']) {
    const r = await request(
      rrq('big.bin', [
        ['windowsize', w],
        ['tsize', '0'],
      ]),
    );
    assert.equal(r?.p.op, 'OACK', `windowsize ${w}`);
    if (r?.p.op === 'OACK') assert.deepEqual([...r.p.options], [['tsize', String(big.length)]]);
  }
  const onlyBad = await request(rrq('big.bin', [['windowsize', '0']]));
  assert.equal(onlyBad?.p.op, 'DATA', 'no acceptable option: no OACK, DATA 1 at once');
  assert.equal(await request(Buffer.from([0x00, 0x09, 1, 2]), 400), null);
  assert.equal(await request(Buffer.from([0x00]), 400), null);
  assert.equal(await request(encodeTftp({ op: 'ACK', block: 1 }), 400), null);
  assert.equal(server.metrics.malformed - m0.malformed, 2);
  assert.equal(server.metrics.ignored - m0.ignored, 3);
});

test('a packet from another port to a transfer TID is dropped and does not disturb the transfer', async () => {
  const peer = await rawPeer();
  const intruder = await rawPeer();
  try {
    await peer.send(rrq('small.bin', [['blksize', '1432']]), port);
    const oack = await peer.next();
    assert.equal(oack && decodeTftp(oack.msg).op, 'OACK');
    const tid = oack!.rinfo.port;
    assert.notEqual(tid, port);
    // The intruder's ACK 0 would start the data if it were taken; it must not be.
    await intruder.send(encodeTftp({ op: 'ACK', block: 0 }), tid);
    assert.equal(await intruder.next(300), null, 'nothing sent to the intruder');
    // Meanwhile the server may only have re-sent its OACK (timeout 100 ms), never DATA.
    for (let r = await peer.next(50); r; r = await peer.next(50)) assert.equal(decodeTftp(r.msg).op, 'OACK', 'the intruder did not advance the transfer');
    await peer.send(encodeTftp({ op: 'ACK', block: 0 }), tid);
    const d1 = await peer.next();
    const p = d1 && decodeTftp(d1.msg);
    assert.equal(p?.op, 'DATA');
    if (p?.op === 'DATA') {
      assert.equal(p.block, 1);
      assert.ok(p.data.equals(small.subarray(0, 1432)));
    }
    // The client gives up: ERROR ends the transfer on the server.
    await peer.send(encodeTftp({ op: 'ERROR', code: 0, message: 'bye' }), tid);
  } finally {
    peer.close();
    intruder.close();
  }
});

test('a client that vanishes: bounded retries, then the transfer ends with an error', async () => {
  // Transfers earlier tests left behind end first, so the counters below are this transfer's alone.
  await until(() => server.metrics.active === 0, 'earlier transfers to end', 10_000);
  const peer = await rawPeer();
  const m0 = { ...server.metrics };
  try {
    await peer.send(rrq('small.bin'), port);
    const seen: number[] = [];
    for (;;) {
      const r = await peer.next(3000);
      if (!r) break;
      const p = decodeTftp(r.msg);
      seen.push(p.op === 'DATA' ? p.block : -1);
      if (p.op === 'ERROR') break;
    }
    // DATA 1 once plus 8 retransmissions, then ERROR (−1)
    assert.deepEqual(seen, [1, 1, 1, 1, 1, 1, 1, 1, 1, -1]);
    // exactly this transfer: one abort after its eight retransmissions
    assert.equal(server.metrics.aborted - m0.aborted, 1);
    assert.equal(server.metrics.retransmits - m0.retransmits, 8);
  } finally {
    peer.close();
  }
});

test('lossy link (lockstep): drops recovered by retransmission; every ACK duplicated yet no duplicate DATA storm', async () => {
  const m0 = { ...server.metrics };
  // Drop every 17th datagram either way; duplicate every ACK going up.
  const relay = await lossyRelay(port, (dir, n, msg) => (n % 17 === 16 ? 'drop' : dir === 'up' && msg.readUInt16BE(0) === 4 ? 'dup' : 'pass'));
  try {
    const got = await curl('small.bin', ['--tftp-blksize', '1432'], relay.port);
    assert.equal(sha(got), sha(small));
    const blocks = Math.floor(small.length / 1432) + 1;
    assert.ok(server.metrics.retransmits - m0.retransmits > 0, 'retransmitted after drops');
    assert.ok(server.metrics.duplicateAcks - m0.duplicateAcks >= blocks / 2, 'duplicate ACKs seen and ignored');
    // Sorcerer's Apprentice would send every block twice; only drop-caused resends are allowed.
    assert.ok(relay.stats.dataFromServer < blocks * 1.25, `${relay.stats.dataFromServer} DATA for ${blocks} blocks`);
  } finally {
    relay.close();
  }
});

test('lossy link with windowsize 16: go-back to the last ACKed block, checksum equal', async () => {
  const m0 = { ...server.metrics };
  const relay = await lossyRelay(port, (dir, n) => (dir === 'down' && n % 23 === 11 ? 'drop' : dir === 'up' && n % 5 === 0 ? 'dup' : 'pass'));
  try {
    const got = await atftp('big.bin', ['windowsize 16', 'blksize 1432'], relay.port);
    assert.equal(sha(got), sha(big));
    assert.ok(relay.stats.dropped > 10);
    assert.ok(server.metrics.retransmits - m0.retransmits > 0);
  } finally {
    relay.close();
  }
});
