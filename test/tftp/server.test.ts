// The TFTP server over loopback with real clients (curl, atftp), raw packets for the edge cases,
// and a lossy relay proving retransmission and duplicate-ACK safety. All of it runs once per
// transfer link (links.ts: node:dgram, the reference, then native/tftpio). Per link, two servers
// share one boot root and run the same data-path tests: `cached` (the default FileCache: the link
// holds the whole file) and `uncached` (FileCache maxFileBytes 0: every transfer reads the file
// from disk, the link asking for each 1 MiB read-ahead chunk, and closes its handle).
// The cached server also takes the protocol edge cases; the uncached one a file that changes under
// a running transfer, a client that gives up, and the tally of what it served.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync, mkdirSync, symlinkSync, rmSync, readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { TftpServer, rootResolver, chainResolvers, bufferFile, FileCache, decodeTftp, encodeTftp, type TftpResolver } from '../../src/tftp/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { tftpClients } from './clients.js';
import { rawPeer, lossyRelay } from './udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { LINKS } from './links.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const dir = tempStateDir('nrt-tftp-');
const root = join(dir, 'root');
const out = join(dir, 'out');
const big = randomBytes(3 * 1024 * 1024 + 17); // four read-ahead chunks, the last one short
const exact = randomBytes(1432 * 64); // a multiple of blksize: ends with an empty block
const chunkExact = randomBytes(1432 * 1465); // > 2 MiB, crosses read-ahead chunks mid-block, multiple of blksize
const small = randomBytes(300 * 1024);
const roll = randomBytes(1_100_000);
const rendered: TftpResolver = async (path) => (path === 'pxelinux.cfg/01-52-54-00-12-34-56' ? bufferFile(Buffer.from('DEFAULT netroot\n')) : null);

before(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(out);
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, 'sub', 'exact.bin'), exact);
  writeFileSync(join(root, 'chunk-exact.bin'), chunkExact);
  writeFileSync(join(root, 'small.bin'), small);
  writeFileSync(join(root, 'roll.bin'), roll);
  writeFileSync(join(root, 'empty.bin'), '');
  writeFileSync(join(dir, 'secret.txt'), 'outside the root');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'link-out'));
  symlinkSync('/etc', join(root, 'etc-link'));
  symlinkSync('big.bin', join(root, 'link-in'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

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
  // Transfer.end closes the file without awaiting it; wait for the close.
  await waitFor(() => openUnderRoot().length === 0, {
    what: () => `every file handle to be closed: ${openUnderRoot().join(', ')}`,
    timeoutMs: 5000,
    intervalMs: 20,
  });
}

/**
 * The client exits once it has sent its last ACK; the server counts the transfer when that ACK
 * arrives, a moment later. Waits for the counts, then asserts them exactly.
 */
async function ended(s: TftpServer, m0: { completed: number; aborted: number }, completed: number, aborted = 0): Promise<void> {
  const short = () => s.metrics.completed - m0.completed < completed || s.metrics.aborted - m0.aborted < aborted;
  await waitFor(() => !short(), {
    what: () => `${completed} completed and ${aborted} aborted transfers (${s.metrics.completed - m0.completed}, ${s.metrics.aborted - m0.aborted})`,
    timeoutMs: 5000,
  });
  assert.equal(s.metrics.completed - m0.completed, completed, 'transfers completed');
  assert.equal(s.metrics.aborted - m0.aborted, aborted, 'transfers aborted');
}

const rrq = (filename: string, options: [string, string][] = []) => encodeTftp({ op: 'RRQ', filename, mode: 'octet', options: new Map(options) });

interface Kind {
  name: string;
  server: () => TftpServer;
  port: () => number;
  /** What this kind checks after a clean transfer of big.bin (the cached one's stream, the uncached one's handles). */
  afterBig: (w0: number) => Promise<void>;
}

for (const link of LINKS) {
  describe(`${link} link`, () => {
    /** The cached server (default FileCache), with a rendered file in front of the root. */
    let server: TftpServer;
    let port: number;
    /** The uncached server: every read from disk. */
    let uncached: TftpServer;
    let uncachedPort: number;

    before(async () => {
      const timers = { timeoutMs: 100, maxRetries: 8, maxTimeoutS: 0 };
      server = new TftpServer({
        host: '127.0.0.1',
        port: 0,
        resolver: chainResolvers(rendered, rootResolver(root)),
        ...timers,
        link,
        maxTransfersPerClient: 64,
      });
      uncached = new TftpServer({ host: '127.0.0.1', port: 0, resolver: rootResolver(root, new FileCache({ maxFileBytes: 0 })), ...timers, link });
      await server.start();
      await uncached.start();
      port = server.port();
      uncachedPort = uncached.port();
    });

    after(async () => {
      await server.stop();
      await uncached.stop();
    });

    const { curl, atftp } = tftpClients(out, () => port);

    const KINDS: Kind[] = [
      {
        name: 'cached',
        server: () => server,
        port: () => port,
        afterBig: async (w0) => {
          // Full-window ACKs were answered by the link's data phase.
          const streamed = server.metrics.streamedWindows - w0;
          const blocks = Math.floor(big.length / 1432) + 1;
          assert.ok(streamed >= blocks / 2, `${streamed} of ${blocks} windows streamed (all of them on a clean link)`);
        },
      },
      {
        name: 'uncached (every read from disk)',
        server: () => uncached,
        port: () => uncachedPort,
        afterBig: async () => noneOpenUnderRoot(),
      },
    ];

    for (const k of KINDS) {
      describe(k.name, () => {
        const c = tftpClients(out, k.port);

        test('curl --tftp-blksize 1432 fetches a 3 MiB file, checksum equal', async () => {
          const m0 = { ...k.server().metrics };
          const got = await c.curl('big.bin', ['--tftp-blksize', '1432']);
          assert.equal(got.length, big.length);
          assert.equal(sha(got), sha(big));
          await ended(k.server(), m0, 1);
          await k.afterBig(m0.streamedWindows);
        });

        test('atftp with windowsize 16, blksize 1432 and tsize, checksum equal', async () => {
          const m0 = { ...k.server().metrics };
          assert.equal(sha(await c.atftp('big.bin', ['windowsize 16', 'blksize 1432', 'tsize 0'])), sha(big));
          await ended(k.server(), m0, 1);
        });

        test('files that are a multiple of blksize end with an empty block (also across read-ahead chunks)', async () => {
          const m0 = { ...k.server().metrics };
          assert.equal(sha(await c.atftp('sub/exact.bin', ['windowsize 16', 'blksize 1432'])), sha(exact));
          assert.equal(sha(await c.curl('sub/exact.bin', ['--tftp-blksize', '1432'])), sha(exact));
          const got = await c.atftp('chunk-exact.bin', ['windowsize 16', 'blksize 1432']);
          assert.equal(got.length, chunkExact.length);
          assert.equal(sha(got), sha(chunkExact));
          assert.equal(sha(await c.curl('chunk-exact.bin', ['--tftp-blksize', '1432'])), sha(chunkExact));
          await ended(k.server(), m0, 4);
        });

        test('block numbers roll over past 65535 (blksize 16, 68,750 blocks)', async () => {
          const m0 = { ...k.server().metrics };
          const got = await c.curl('roll.bin', ['--tftp-blksize', '16']);
          assert.ok(roll.length / 16 > 65536);
          assert.equal(got.length, roll.length);
          assert.equal(sha(got), sha(roll));
          await ended(k.server(), m0, 1);
        });

        test('raw client: the last block of the exact file is empty and the final ACK completes the transfer', async () => {
          const peer = await rawPeer();
          const m0 = { ...k.server().metrics };
          try {
            await peer.send(rrq('sub/exact.bin', [['blksize', '1432']]), k.port());
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
            await ended(k.server(), m0, 1);
          } finally {
            peer.close();
          }
        });

        test('many transfers at once, each on its own TID (and handle), all checksums equal', async () => {
          const m0 = { ...k.server().metrics };
          const jobs = Array.from({ length: 12 }, (_, i) =>
            i % 2 === 0 ? c.curl('big.bin', ['--tftp-blksize', '1432']) : c.atftp('big.bin', ['windowsize 8', 'blksize 1432']),
          );
          for (const got of await Promise.all(jobs)) assert.equal(sha(got), sha(big));
          await ended(k.server(), m0, 12);
          await noneOpenUnderRoot();
        });

        test('lossy link (lockstep): drops recovered by retransmission; every ACK duplicated yet no duplicate DATA storm', async () => {
          const m0 = { ...k.server().metrics };
          const blocks = Math.floor(small.length / 1432) + 1;
          // Drop every 17th datagram either way, except the final ACK (a client that exits after it
          // cannot repeat it, RFC 1350 section 6); duplicate every ACK going up.
          const finalAck = (d: 'up' | 'down', msg: Buffer) => d === 'up' && msg.readUInt16BE(0) === 4 && msg.readUInt16BE(2) === blocks;
          const relay = await lossyRelay(k.port(), (d, n, msg) =>
            n % 17 === 16 && !finalAck(d, msg) ? 'drop' : d === 'up' && msg.readUInt16BE(0) === 4 ? 'dup' : 'pass',
          );
          try {
            const got = await c.curl('small.bin', ['--tftp-blksize', '1432'], relay.port);
            assert.equal(sha(got), sha(small));
            assert.ok(relay.stats.dropped > 0);
            const s = k.server();
            await ended(s, m0, 1); // the link's counters reach the metrics when the transfer ends
            assert.ok(s.metrics.retransmits - m0.retransmits > 0, 'retransmitted after drops');
            assert.ok(s.metrics.duplicateAcks - m0.duplicateAcks >= blocks / 2, 'duplicate ACKs seen and ignored');
            // Sorcerer's Apprentice would send every block twice; only drop-caused resends are allowed.
            assert.ok(relay.stats.dataFromServer < blocks * 1.25, `${relay.stats.dataFromServer} DATA for ${blocks} blocks`);
          } finally {
            relay.close();
          }
        });

        test('lossy link with windowsize 16 (over the read-ahead chunks): go-back to the last ACKed block, checksum equal', async () => {
          const m0 = { ...k.server().metrics };
          // Drops only going down (DATA), so the final ACK always arrives.
          const relay = await lossyRelay(k.port(), (d, n) => (d === 'down' && n % 23 === 11 ? 'drop' : d === 'up' && n % 5 === 0 ? 'dup' : 'pass'));
          try {
            const got = await c.atftp('big.bin', ['windowsize 16', 'blksize 1432'], relay.port);
            assert.equal(sha(got), sha(big));
            assert.ok(relay.stats.dropped > 10);
            await ended(k.server(), m0, 1);
            assert.ok(k.server().metrics.retransmits - m0.retransmits > 0);
          } finally {
            relay.close();
          }
        });
      });
    }

    describe('cached: rendered files and protocol edge cases', () => {
      test('a rendered file from the resolver callback', async () => {
        assert.equal((await curl('pxelinux.cfg/01-52-54-00-12-34-56')).toString(), 'DEFAULT netroot\n');
      });

      test('an empty file: curl and atftp get zero bytes (no tsize 0 in the OACK, which curl refuses)', async () => {
        assert.equal((await curl('empty.bin', ['--tftp-blksize', '1432'])).length, 0);
        assert.equal((await curl('empty.bin')).length, 0);
        assert.equal((await atftp('empty.bin', ['tsize 0', 'blksize 1432'])).length, 0);
      });

      test('a symlink inside the root is served; curl with no options', async () => {
        assert.equal(sha(await curl('link-in', ['--tftp-no-options'])), sha(big));
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
        await waitFor(() => server.metrics.active === 0, { what: 'earlier transfers to end', timeoutMs: 10_000 });
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
    });

    describe('uncached: changes under a transfer, a client that gives up, the tally', () => {
      test('a file truncated under a running uncached transfer ends it with an error, not with wrong data', async () => {
        const data = randomBytes(3 * 1024 * 1024);
        writeFileSync(join(root, 'shrink.bin'), data);
        const peer = await rawPeer();
        const m0 = { ...uncached.metrics };
        try {
          // blksize 65464: the first 1 MiB read-ahead chunk holds blocks 1..16, block 17 needs a new read.
          await peer.send(rrq('shrink.bin', [['blksize', '65464']]), uncachedPort);
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
          await ended(uncached, m0, 0, 1);
        } finally {
          peer.close();
        }
        await noneOpenUnderRoot();
      });

      test('a client that gives up with ERROR: the file handle is closed', async () => {
        const peer = await rawPeer();
        const m0 = { ...uncached.metrics };
        try {
          await peer.send(rrq('big.bin'), uncachedPort);
          const d1 = await peer.next();
          const p = d1 && decodeTftp(d1.msg);
          assert.equal(p?.op, 'DATA');
          if (p?.op === 'DATA') assert.ok(p.data.equals(big.subarray(0, 512)));
          await peer.send(encodeTftp({ op: 'ERROR', code: 0, message: 'bye' }), d1!.rinfo.port);
          await ended(uncached, m0, 0, 1);
          assert.equal(uncached.metrics.clientErrors - m0.clientErrors, 1);
        } finally {
          peer.close();
        }
        await noneOpenUnderRoot();
      });

      test("the link answered the uncached server's ACKs from its read-ahead chunks; completed/aborted add up", () => {
        assert.ok(uncached.metrics.streamedWindows > 0, 'windows sent by the link from chunks read from disk');
        // From the shared tests: 1 + 1 + 4 + 1 + 1 + 12 + 1 + 1 completed; the truncated file and the client ERROR aborted.
        assert.equal(uncached.metrics.completed, 22);
        assert.equal(uncached.metrics.aborted, 2);
        assert.equal(uncached.metrics.errors, 0, 'no read threw');
        assert.equal(uncached.metrics.active, 0);
        assert.equal(uncached.transfers.size, 0);
      });
    });
  });
}
