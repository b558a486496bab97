// The TFTP availability limits of issue #14 items 2 and 3, over loopback with each link (links.ts):
// the window one transfer may buffer (maxWindowBytes), the byte budget over all transfers
// (maxBufferedBytes, read from the server's own accounting), the cap on the client's `timeout`
// option (maxTimeoutS, RFC 2349), and the per-address transfer limit (maxTransfersPerClient) with
// a second source address (127.0.0.2) still served completely by a real client (curl).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCache, TftpServer, negotiate, rootResolver, type TftpServerOptions } from '../../src/tftp/index.js';
import { plan, windowCap, READ_CHUNK } from '../../src/tftp/budget.js';
import { configSchema, loadConfig } from '../../src/config/index.js';
import { createFrontend } from '../../src/app/frontend.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';
import { hold, type Hold } from './hold.js';
import { LINKS } from './links.js';
import type { LinkKind } from '../../src/tftp/link.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dir = tempStateDir('nrt-tftp-limits-');
const root = join(dir, 'root');
const big = randomBytes(8 * 1024 * 1024 + 5);
const HUGE: [string, string][] = [
  ['blksize', '65464'],
  ['windowsize', '64'],
  ['tsize', '0'],
];

before(() => {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'big.bin'), big);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function withServer(link: LinkKind, o: Partial<TftpServerOptions>, body: (s: TftpServer) => Promise<void>): Promise<void> {
  const s = new TftpServer({ host: '127.0.0.1', port: 0, resolver: rootResolver(root), link, ...o });
  await s.start();
  try {
    await body(s);
  } finally {
    await s.stop();
  }
}

/** curl from `source` (a second loopback address), lockstep blksize 1432 as a PXE ROM does. */
async function curlFrom(port: number, file: string, source: string): Promise<Buffer> {
  const out = join(dir, `${Math.random().toString(36).slice(2)}.bin`);
  await run('curl', ['-sS', '--max-time', '30', '--interface', source, '--tftp-blksize', '1432', '-o', out, `tftp://127.0.0.1:${port}/${file}`]);
  return readFileSync(out);
}

test('negotiation under a window cap: windowsize first, then blksize (never below 512 unless asked); options not asked are not added', () => {
  const lim = { maxBlksize: 65464, maxWindowsize: 64, defaultTimeoutMs: 1000, maxWindowBytes: 256 * 1024 };
  const ask = (o: [string, string][], cap = lim.maxWindowBytes) => {
    const n = negotiate(new Map(o), 1 << 30, { ...lim, maxWindowBytes: cap });
    return { b: n.blksize, w: n.windowsize, oack: Object.fromEntries(n.oack), narrowed: n.narrowed };
  };
  assert.deepEqual(
    ask([
      ['blksize', '65464'],
      ['windowsize', '64'],
    ]),
    { b: 65464, w: 4, oack: { blksize: '65464', windowsize: '4' }, narrowed: true },
  );
  assert.deepEqual(
    ask([
      ['blksize', '1468'],
      ['windowsize', '64'],
    ]),
    { b: 1468, w: 64, oack: { blksize: '1468', windowsize: '64' }, narrowed: false },
  );
  assert.deepEqual(ask([['blksize', '65464']], 4096), { b: 4096, w: 1, oack: { blksize: '4096' }, narrowed: true });
  assert.deepEqual(
    ask(
      [
        ['blksize', '1468'],
        ['windowsize', '8'],
      ],
      100,
    ),
    { b: 512, w: 1, oack: { blksize: '512', windowsize: '1' }, narrowed: true },
  );
  assert.deepEqual(
    ask(
      [
        ['blksize', '16'],
        ['windowsize', '8'],
      ],
      100,
    ),
    { b: 16, w: 6, oack: { blksize: '16', windowsize: '6' }, narrowed: true },
  );
  assert.deepEqual(ask([], 100), { b: 512, w: 1, oack: {}, narrowed: false }, 'RFC 1350 defaults: the caller compares with its cap');
});

test('budget: a transfer is charged its window (+ read-ahead when read from disk); the window cap follows what is free', () => {
  const M = 1024 * 1024;
  assert.equal(windowCap(8 * M, true, 64 * M, 256 * 1024), 256 * 1024);
  assert.equal(windowCap(8 * M, true, 1000, 256 * 1024), 1000);
  assert.equal(windowCap(300, true, 1000, 256 * 1024), 256 * 1024, 'a small file fits whatever its window');
  assert.equal(windowCap(8 * M, false, 100_000, 256 * 1024), 50_000, 'window and read-ahead share what is free');
  assert.deepEqual(plan(8 * M, true, 261_856, 64 * M), { bytes: 261_856, readChunk: 0 });
  assert.deepEqual(plan(300, true, 261_856, 64 * M), { bytes: 300, readChunk: 0 });
  assert.deepEqual(plan(8 * M, false, 261_856, 64 * M), { bytes: 261_856 + READ_CHUNK, readChunk: READ_CHUNK });
  assert.deepEqual(plan(8 * M, false, 261_856, M), { bytes: 2 * 261_856, readChunk: 261_856 }, 'short budget: read one window at a time');
  assert.equal(plan(8 * M, false, 261_856, 500_000), null);
  assert.equal(plan(8 * M, true, 512, 511), null);
});

for (const link of LINKS) {
  test(`(a) blksize 65464 × windowsize 64 is answered a window within maxWindowBytes; PXE/iPXE requests negotiate as asked (${link} link)`, async () => {
    await withServer(link, {}, async (s) => {
      const h = await hold(s.port(), 'big.bin', HUGE);
      try {
        assert.equal(h.first?.op, 'OACK');
        assert.ok(h.windowBytes <= 256 * 1024, `window ${h.oack.get('blksize')} × ${h.oack.get('windowsize')} = ${h.windowBytes} within the 256 KiB default`);
        assert.equal(h.oack.get('blksize'), 65464, 'the window shrinks first (RFC 7440), the blksize stays');
        assert.equal(h.oack.get('windowsize'), 4);
        assert.equal(h.oack.get('tsize'), big.length);
        assert.equal(s.metrics.narrowed, 1);
        assert.ok(s.metrics.bufferedBytes <= 256 * 1024 && s.metrics.bufferedBytes > 0, `charged ${s.metrics.bufferedBytes}`);
      } finally {
        h.abort();
      }
      // What PXE ROMs, iPXE and the benchmark ask for is answered exactly as asked.
      for (const opts of [
        [
          ['blksize', '1468'],
          ['windowsize', '8'],
        ],
        [
          ['blksize', '1432'],
          ['windowsize', '16'],
          ['tsize', '0'],
        ],
        [
          ['blksize', '1432'],
          ['windowsize', '64'],
        ],
        [['blksize', '1468']],
        [
          ['blksize', '8192'],
          ['windowsize', '32'],
        ],
      ] as [string, string][][]) {
        const p = await hold(s.port(), 'big.bin', opts);
        try {
          assert.equal(p.first?.op, 'OACK');
          for (const [k, v] of opts) assert.equal(p.oack.get(k), k === 'tsize' ? big.length : Number(v), `${k} as asked in ${JSON.stringify(opts)}`);
        } finally {
          p.abort();
        }
      }
      assert.equal(s.metrics.narrowed, 1);
    });
  });

  test(`(a) many held transfers keep the byte budget: windows shrink as it fills, then "busy"; every byte is given back (${link} link)`, async () => {
    const budget = 1024 * 1024;
    await withServer(link, { maxBufferedBytes: budget, maxTransfersPerClient: 64 }, async (s) => {
      const holds: Hold[] = [];
      try {
        for (let i = 0; i < 20; i++) holds.push(await hold(s.port(), 'big.bin', HUGE));
        const held = holds.filter((h) => h.first?.op === 'OACK');
        const busy = holds.filter((h) => h.first?.op === 'ERROR');
        const granted = held.reduce((a, h) => a + h.windowBytes, 0);
        assert.ok(granted <= budget, `the OACKs grant ${granted} bytes of windows in all, within ${budget}`);
        assert.ok(s.metrics.bufferedBytesPeak <= budget && s.metrics.bufferedBytesPeak > 0, `server's peak ${s.metrics.bufferedBytesPeak}`);
        assert.ok(held.length >= 4, `${held.length} served`);
        assert.ok(
          held.some((h) => h.windowBytes < 4 * 65464),
          'a later transfer was answered a smaller window',
        );
        assert.ok(busy.length > 0 && s.metrics.busyMemory === busy.length, `${busy.length} refused`);
        for (const b of busy) assert.deepEqual(b.first, { op: 'ERROR', code: 0, message: 'server busy, try again' });
      } finally {
        for (const h of holds) h.abort();
      }
      await waitFor(() => s.metrics.active === 0, { what: () => `the aborted transfers to end (${s.metrics.active} active)` });
      assert.equal(s.metrics.bufferedBytes, 0, 'ended transfers gave their bytes back');
      assert.equal(s.budget.held, 0);
    });
  });

  test(`(a) a file read from disk: window + read-ahead are charged and bounded; the process really holds no more (${link} link)`, async () => {
    const budget = 4 * 1024 * 1024;
    await withServer(
      link,
      { maxBufferedBytes: budget, maxTransfersPerClient: 64, resolver: rootResolver(root, new FileCache({ maxFileBytes: 0 })) },
      async (s) => {
        const holds: Hold[] = [];
        const ab0 = process.memoryUsage().arrayBuffers;
        try {
          for (let i = 0; i < 20; i++) holds.push(await hold(s.port(), 'big.bin', HUGE));
          // fixed delay: a measurement window (the first windows' reads run; no counter says when they are done, the bound is what is measured).
          await new Promise((r) => setTimeout(r, 200));
          const grown = process.memoryUsage().arrayBuffers - ab0;
          // 20 transfers with a 4 MiB window each read 4 MiB ahead (80 MiB before the limits).
          assert.ok(grown < budget + 4 * 1024 * 1024, `array buffers grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
          assert.ok(s.metrics.bufferedBytesPeak <= budget, `server's peak ${s.metrics.bufferedBytesPeak}`);
          assert.ok(holds.filter((h) => h.first?.op === 'OACK').length >= 2);
          assert.ok(s.metrics.busyMemory > 0);
        } finally {
          for (const h of holds) h.abort();
        }
      },
    );
  });

  test(`(b) timeout 255 is not echoed (RFC 2349: the server ignores it) and a held transfer ends within the capped lifetime (${link} link)`, async () => {
    await withServer(link, { timeoutMs: 200, maxRetries: 2 }, async (s) => {
      const t0 = performance.now();
      const h = await hold(s.port(), 'big.bin', [
        ['blksize', '1432'],
        ['timeout', '255'],
        ['tsize', '0'],
      ]);
      try {
        assert.equal(h.first?.op, 'OACK');
        assert.equal(h.oack.has('timeout'), false, `OACK ${JSON.stringify([...h.oack])}`);
        let timer: NodeJS.Timeout | undefined;
        const end = await Promise.race([h.ended, new Promise<null>((r) => (timer = setTimeout(() => r(null), 4000)))]);
        clearTimeout(timer);
        assert.ok(end, 'the server gave up on the silent client');
        assert.equal(end.message, 'timed out');
        const ms = performance.now() - t0;
        assert.ok(ms < 200 * 3 + 1000, `ended after ${Math.round(ms)} ms (3 × 200 ms)`);
      } finally {
        h.close();
      }
      // Within the cap (default 5 s) the client's timeout is honoured and echoed.
      for (const [asked, echoed] of [
        ['3', 3],
        ['5', 5],
        ['6', undefined],
      ] as const) {
        const p = await hold(s.port(), 'big.bin', [['timeout', asked]]);
        assert.equal(p.oack.get('timeout'), echoed, `timeout ${asked}`);
        p.abort();
      }
    });
  });

  test(`(c) one address holding maxTransfersPerClient is refused more ("busy"); a second address (127.0.0.2) is served completely (${link} link)`, async () => {
    await withServer(link, { maxTransfers: 24 }, async (s) => {
      const holds: Hold[] = [];
      try {
        for (let i = 0; i < 30; i++) holds.push(await hold(s.port(), 'big.bin', [...HUGE, ['timeout', '255']]));
        const held = holds.filter((h) => h.first?.op === 'OACK');
        const refused = holds.filter((h) => h.first?.op === 'ERROR');
        assert.equal(held.length, 16, 'the default per-address limit');
        assert.equal(refused.length, 14);
        for (const r of refused) {
          assert.deepEqual(r.first, { op: 'ERROR', code: 0, message: 'server busy, try again' });
          assert.equal(r.from, s.port(), 'refused from the listening port: no transfer socket opened');
        }
        assert.equal(s.transfersFrom('127.0.0.1'), 16);
        assert.equal(s.metrics.busyPerClient, 14);
        const got = await curlFrom(s.port(), 'big.bin', '127.0.0.2');
        assert.equal(sha(got), sha(big));
        assert.equal(s.transfersFrom('127.0.0.2'), 0);
      } finally {
        for (const h of holds) h.abort();
      }
    });
  });
}

test("config: the tftp limits have safe defaults and reach the frontend's TFTP server", async () => {
  const d = configSchema.parse({}).tftp;
  assert.deepEqual(
    {
      maxTransfers: d.maxTransfers,
      maxTransfersPerClient: d.maxTransfersPerClient,
      maxWindowBytes: d.maxWindowBytes,
      maxBufferedBytes: d.maxBufferedBytes,
      maxTimeoutSeconds: d.maxTimeoutSeconds,
    },
    { maxTransfers: 1024, maxTransfersPerClient: 16, maxWindowBytes: 256 * 1024, maxBufferedBytes: 64 * 1024 * 1024, maxTimeoutSeconds: 5 },
  );
  const state = tempStateDir('nrt-tftp-limits-fe-');
  const config = loadConfig({
    env: {},
    overrides: {
      stateDir: state,
      'http.host': '127.0.0.1',
      'http.port': '0',
      'tftp.host': '127.0.0.1',
      'tftp.port': '0',
      'iscsi.host': '127.0.0.1',
      'iscsi.port': '0',
      'network.frontendAddress': '127.0.0.1',
      'network.privateNetwork': '127.0.0.0/8',
      'tftp.maxTransfersPerClient': '1',
      'tftp.maxWindowBytes': '65536',
      'tftp.maxTimeoutSeconds': '2',
    },
  });
  mkdirSync(config.tftp.root, { recursive: true });
  writeFileSync(join(config.tftp.root, 'ipxe.efi'), big);
  const f = createFrontend(config, { logger: silentLogger });
  await f.start();
  const holds: Hold[] = [];
  try {
    const port = f.tftp()!.port();
    holds.push(await hold(port, 'ipxe.efi', [...HUGE, ['timeout', '3']]));
    assert.equal(holds[0]!.first?.op, 'OACK');
    assert.equal(holds[0]!.windowBytes, 65464, 'tftp.maxWindowBytes 65536: one block of 65464');
    assert.equal(holds[0]!.oack.has('timeout'), false, 'tftp.maxTimeoutSeconds 2');
    holds.push(await hold(port, 'ipxe.efi', HUGE));
    assert.equal(holds[1]!.first?.op, 'ERROR', 'tftp.maxTransfersPerClient 1');
  } finally {
    for (const h of holds) h.abort();
    await f.stop();
    rmSync(state, { recursive: true, force: true });
  }
});
