// Crash safety: a storage node process (IscsiTarget + EmbeddedBackend) is kill -9ed while two
// sessions write — one with FUA writes (small and 256 KiB, the R2T path), one with plain writes
// followed by SYNCHRONIZE CACHE. The node is restarted on the same volumes directory, the
// backend reconciles the export back, and every write that was acknowledged as durable (a FUA
// write's GOOD status, or a GOOD SYNCHRONIZE CACHE after the write completed) reads back
// intact; blocks never written read as zeros; the volume file keeps its size and nothing else
// appears in the directory. Each LBA is written at most once, so "intact" has one meaning.
//
// What this can and cannot prove: kill -9 keeps the kernel's page cache, so it proves that an
// acknowledged write had left the target process (no user-space buffering across the ack);
// surviving a power cut additionally relies on the fdatasync that lun-file.ts does for FUA and
// SYNCHRONIZE CACHE (see src/iscsi/README.md).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportSpec } from '../../src/storage/spec.js';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { startStorageNodeProcess, type TargetProcess } from './helpers/target-process.js';
import { waitFor } from '../helpers/wait.js';

const SIZE = 64 << 20;
const BS = 512;
const spec: ExportSpec = {
  volume: 'compute-0-0',
  targetIqn: 'iqn.2026-12.local.netroot:compute-0-0',
  initiatorIqn: 'iqn.2026-12.local.netroot:initiator.compute-0-0',
  chap: { user: 'compute-0-0', secret: 'CrashTestSecret0' },
  lun: 0,
};
const dir = mkdtempSync(join(tmpdir(), 'netroot-crash-'));
const cfg = { volumesDir: join(dir, 'volumes'), volume: spec.volume, sizeBytes: SIZE, spec };
let node: TargetProcess | undefined;
after(async () => {
  await node?.kill9();
  rmSync(dir, { recursive: true, force: true });
});

/** Block content that names its write: "w<id> lba<n>" repeated. */
function blocks(id: number, lba: number, n: number): Buffer {
  const b = Buffer.alloc(n * BS);
  for (let i = 0; i < n; i++) b.write(`w${id} lba${lba + i} `.repeat(40).slice(0, BS), i * BS, 'latin1');
  return b;
}

async function login(port: number): Promise<TestInitiator> {
  const i = await TestInitiator.connect(port);
  const r = await i.login({ initiator: spec.initiatorIqn, target: spec.targetIqn, chap: { user: spec.chap.user, secret: spec.chap.secret } });
  assert.equal(r.statusClass, 0, `login ${r.statusClass}/${r.statusDetail}`);
  return i;
}

interface Range {
  lba: number;
  n: number;
  id: number;
}

test('kill -9 during FUA and synced writes: every acknowledged write survives the restart and reconcile', { timeout: 120_000 }, async () => {
  node = await startStorageNodeProcess(cfg);
  assert.match(node.output(), /RECONCILED \{"added":\["iqn\.2026-12\.local\.netroot:compute-0-0"\]/);
  const port = node.port;
  const durable: Range[] = [];
  const attempted: Range[] = [];
  let acks = 0;
  /** Set just before kill -9: from then on, and only then, a closed connection is the expected end. */
  let killed = false;
  /** How a writer ended: `lost` = its writes attempted but not acknowledged as durable. */
  interface End {
    writer: string;
    how: 'target went away' | 'volume half full';
    during?: 'write' | 'sync';
    lost: number;
  }
  // Only a connection the target closed after the kill ends a writer quietly; a bad status, a
  // silent target, a wrong PDU or a close before the kill fails the test.
  const wentAway = (i: TestInitiator, e: unknown): boolean => killed && i.closed && e instanceof Error && /\(connection closed\)/.test(e.message);

  // Each writer runs until the kill cuts its connection.
  // Writer A: FUA writes in the first half of the volume, alternately 8 blocks and 512 blocks.
  const fuaWriter = async (): Promise<End> => {
    const i = await login(port);
    let lba = 0;
    for (let id = 1; lba < SIZE / BS / 2; id++) {
      const n = id % 2 ? 8 : 512;
      const r: Range = { lba, n, id };
      attempted.push(r);
      lba += n;
      let res;
      try {
        res = await i.scsi(cdb.rw16(0x8a, BigInt(r.lba), n, true), { write: blocks(id, r.lba, n), timeoutMs: 5000 });
      } catch (e) {
        if (wentAway(i, e)) return { writer: 'FUA', how: 'target went away', during: 'write', lost: 1 };
        throw e;
      }
      assert.equal(res.status, 0, `FUA write w${id} at LBA ${r.lba}: status`);
      durable.push(r);
      acks++;
    }
    return { writer: 'FUA', how: 'volume half full', lost: 0 };
  };
  // Writer B: plain writes in the second half; SYNCHRONIZE CACHE after every 3.
  const syncWriter = async (): Promise<End> => {
    const i = await login(port);
    let lba = SIZE / BS / 2;
    let pending: Range[] = [];
    for (let id = 100_001; lba < SIZE / BS; id++) {
      const r: Range = { lba, n: 16, id };
      attempted.push(r);
      lba += 16;
      let w;
      try {
        w = await i.scsi(cdb.rw10(0x2a, r.lba, 16), { write: blocks(id, r.lba, 16), timeoutMs: 5000 });
      } catch (e) {
        if (wentAway(i, e)) return { writer: 'sync', how: 'target went away', during: 'write', lost: pending.length + 1 };
        throw e;
      }
      assert.equal(w.status, 0, `write w${id} at LBA ${r.lba}: status`);
      pending.push(r);
      if (pending.length === 3) {
        let s;
        try {
          s = await i.scsi(cdb.syncCache10(), { timeoutMs: 5000 });
        } catch (e) {
          if (wentAway(i, e)) return { writer: 'sync', how: 'target went away', during: 'sync', lost: pending.length };
          throw e;
        }
        assert.equal(s.status, 0, `SYNCHRONIZE CACHE after w${id}: status`);
        durable.push(...pending);
        pending = [];
        acks++;
      }
    }
    return { writer: 'sync', how: 'volume half full', lost: pending.length };
  };
  let finished = 0;
  const writers = Promise.allSettled([fuaWriter(), syncWriter()].map((p) => p.finally(() => finished++)));
  // Kill mid-stream: once a good number of writes were acknowledged (or a writer already ended,
  // which the checks below report), with a deadline.
  await waitFor(() => acks >= 60 || finished > 0, { what: () => `60 acknowledged writes (${acks} so far)`, timeoutMs: 30_000 });
  // fixed delay: random jitter, so the kill lands at another point of the write stream each run (the input).
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));
  killed = true;
  await node.kill9();
  const ends: End[] = [];
  for (const r of await writers) {
    if (r.status === 'rejected') throw r.reason;
    ends.push(r.value);
  }
  for (const e of ends)
    console.log(`crash: ${e.writer} writer ended: ${e.how}${e.during ? ` during a ${e.during}` : ''}, ${e.lost} write(s) not acknowledged as durable`);
  assert.ok(acks >= 60, `only ${acks} acknowledged writes before the kill`);
  assert.deepEqual(
    ends.map((e) => e.how),
    ['target went away', 'target went away'],
    'both writers were cut off by the kill, not by anything else',
  );
  // Every attempted write is either durable or counted as lost by the writer that tried it.
  const lost = ends.reduce((n, e) => n + e.lost, 0);
  assert.equal(attempted.length - durable.length, lost, 'attempted = durable + lost');
  assert.equal(ends[0]!.lost, 1, 'FUA: only the write in flight');
  assert.equal(
    ends[1]!.lost,
    ends[1]!.during === 'sync' ? 3 : ((attempted.filter((r) => r.id >= 100_001).length - 1) % 3) + 1,
    'sync: the writes since the last good SYNCHRONIZE CACHE',
  );
  console.log(`crash: ${durable.length} durable writes (${acks} acks), ${lost} not acknowledged as durable at kill -9`);

  // Restart on the same directory; the backend reconciles the export back.
  node = await startStorageNodeProcess({ ...cfg, port });
  assert.match(node.output(), /RECONCILED \{"added":\["iqn\.2026-12\.local\.netroot:compute-0-0"\]/);
  assert.deepEqual(readdirSync(cfg.volumesDir).sort(), ['compute-0-0.img']);
  assert.equal(statSync(join(cfg.volumesDir, 'compute-0-0.img')).size, SIZE, 'volume file size unchanged');

  const i = await login(node.port);
  for (const r of durable) {
    const got = await i.scsi(cdb.rw16(0x88, BigInt(r.lba), r.n), { readLength: r.n * BS });
    assert.equal(got.status, 0);
    assert.ok(got.data.equals(blocks(r.id, r.lba, r.n)), `acknowledged write w${r.id} at LBA ${r.lba} (+${r.n}) is intact`);
  }
  // Blocks beyond everything attempted were never written: zeros (nothing strayed).
  const endA = Math.max(...attempted.filter((r) => r.id < 100_001).map((r) => r.lba + r.n));
  const endB = Math.max(...attempted.filter((r) => r.id >= 100_001).map((r) => r.lba + r.n));
  for (const [lba, n] of [
    [endA, 256],
    [endB, 256],
    [SIZE / BS / 2 - 256, 256],
  ] as const) {
    if (lba + n > SIZE / BS || (lba < endA && lba >= 0 && lba + n <= endA)) continue;
    const z = await i.scsi(cdb.rw16(0x88, BigInt(lba), n), { readLength: n * BS });
    assert.ok(z.data.equals(Buffer.alloc(n * BS)), `never-written LBA ${lba} reads zeros`);
  }
  await i.logout();
});
