// The tftp-hold attack (issue #14 items 2 and 3) at the filed scale — 1,030 held requests for
// blksize 65464 × windowsize 64 with timeout 255, from one address — against the TFTP server in
// this process on loopback, with the frontend's default limits (config `tftp.*`) and the boot
// file read from disk (not cached: each transfer then also holds a read-ahead buffer). While it
// runs, a node at another address (127.0.0.2, curl bound to it) downloads the file completely,
// the server's accounted buffer bytes never exceed the budget, and the held transfers end within
// the capped lifetime (so the attack cannot keep them for minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCache, TftpServer, rootResolver } from '../../src/tftp/index.js';
import { configSchema } from '../../src/config/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { attack, REQUESTS } from './tftp-hold.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('tftp-hold at 1,030 requests from one address: another address is served completely, buffers stay within the budget, held transfers end', {
  timeout: 120_000,
}, async (t) => {
  const dir = tempStateDir('nrt-attack-tftp-');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'install'), { recursive: true });
  const initrd = randomBytes(8 * 1024 * 1024 + 123);
  writeFileSync(join(root, 'install', 'initrd.img'), initrd);
  const c = configSchema.parse({}).tftp; // the frontend's defaults
  const server = new TftpServer({
    host: '127.0.0.1',
    port: 0,
    resolver: rootResolver(root, new FileCache({ maxFileBytes: 1024 * 1024 })),
    maxTransfers: c.maxTransfers,
    maxTransfersPerClient: c.maxTransfersPerClient,
    maxWindowBytes: c.maxWindowBytes,
    maxBufferedBytes: c.maxBufferedBytes,
    maxTimeoutS: c.maxTimeoutSeconds,
  });
  await server.start();
  let peakSeen = 0;
  const sampler = setInterval(() => (peakSeen = Math.max(peakSeen, server.metrics.bufferedBytes)), 20);
  const running = await attack.start({ host: '127.0.0.1', httpPort: 0, tftpPort: server.port(), iscsiPort: 0, sourceAddresses: ['127.0.0.1'] }, { scale: 1 });
  try {
    const s = () => running.stats();
    await waitFor(() => s()['oacks']! + s()['refusals']! >= REQUESTS, { what: 'every request answered', timeoutMs: 20_000, intervalMs: 50 });
    assert.ok(s()['requests']! >= REQUESTS);
    assert.equal(s()['heldPeak'], c.maxTransfersPerClient, 'the attack holds no more than its address may');
    assert.ok(server.transfersFrom('127.0.0.1') <= c.maxTransfersPerClient);
    assert.ok(s()['busy']! >= REQUESTS - c.maxTransfersPerClient, `busy answers ${s()['busy']}`);
    assert.ok(s()['maxWindowBytes']! <= c.maxWindowBytes, `largest window granted ${s()['maxWindowBytes']}`);

    const out = join(dir, 'node.bin');
    const t0 = performance.now();
    await run('curl', [
      '-sS',
      '--max-time',
      '60',
      '--interface',
      '127.0.0.2',
      '--tftp-blksize',
      '1432',
      '-o',
      out,
      `tftp://127.0.0.1:${server.port()}/install/initrd.img`,
    ]);
    const ms = performance.now() - t0;
    assert.equal(sha(readFileSync(out)), sha(initrd), 'the node at 127.0.0.2 got the whole file');

    // timeout 255 was not honoured: the server gives up on each held transfer after 6 × 1 s.
    await waitFor(() => s()['ended']! >= c.maxTransfersPerClient, { what: 'the server to end the held transfers', timeoutMs: 30_000, intervalMs: 50 });
    assert.ok(peakSeen <= c.maxBufferedBytes && server.metrics.bufferedBytesPeak <= c.maxBufferedBytes, `buffered peak ${server.metrics.bufferedBytesPeak}`);
    assert.ok(server.metrics.bufferedBytesPeak > 0);
    t.diagnostic(`attack ${JSON.stringify(s())}`);
    t.diagnostic(
      `server busy ${server.metrics.busy} (per client ${server.metrics.busyPerClient}, memory ${server.metrics.busyMemory}), buffered peak ${server.metrics.bufferedBytesPeak} of ${c.maxBufferedBytes}, node download ${Math.round(ms)} ms`,
    );
  } finally {
    clearInterval(sampler);
    await running.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
