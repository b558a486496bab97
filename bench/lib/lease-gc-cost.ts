// What the pool's leases cost the garbage collector (issue #23: the ACK-delay tail):
//   node --expose-gc --single-threaded-gc --import tsx bench/lib/lease-gc-cost.ts [leases, 40000]
// Commits that many pool leases (journal on, in a temporary directory) and prints the CPU time of a
// full GC (min of 5; single-threaded GC so the process's CPU time is the GC's work) and the JS heap
// after it, before and after. A full GC marks every live object: if each lease were objects on the
// heap, its cost would grow with the leases — and so would the pauses of V8's major GCs, which
// delay every ACK queued behind them. Load-independent enough to compare trees on a busy machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeasePool } from '../../src/dhcp/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc --single-threaded-gc --import tsx bench/lib/lease-gc-cost.ts [leases]');
  process.exit(2);
}
const LEASES = Number(process.argv[2] ?? 40_000);
const dir = mkdtempSync(join(tmpdir(), 'nrt-lease-gc-'));
const pool = new LeasePool({ start: '10.32.0.10', end: '10.39.255.250', leaseSeconds: 3600 }, join(dir, 'leases'));
pool.open();

/** [CPU ms of one full GC (min of 5), JS heap used after it]. */
function fullGc(): [number, number] {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const c = process.cpuUsage();
    gc!();
    const u = process.cpuUsage(c);
    best = Math.min(best, (u.user + u.system) / 1000);
  }
  return [best, process.memoryUsage().heapUsed];
}

const [gc0, heap0] = fullGc();
const hex = (n: number): string => n.toString(16).padStart(2, '0');
let batch: Promise<void>[] = [];
for (let i = 0; i < LEASES; i++) {
  const mac = `02:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`;
  batch.push(pool.commit(mac, pool.candidate(mac, null)!));
  if (batch.length === 500) {
    await Promise.all(batch);
    batch = [];
  }
}
await Promise.all(batch);
const [gc1, heap1] = fullGc();
console.log(
  `${LEASES} pool leases: full GC ${gc0.toFixed(1)} → ${gc1.toFixed(1)} ms CPU (min of 5, single-threaded), ` +
    `JS heap after GC ${(heap0 / 1e6).toFixed(1)} → ${(heap1 / 1e6).toFixed(1)} MB (${((heap1 - heap0) / LEASES).toFixed(0)} B per lease), ` +
    `array buffers ${(process.memoryUsage().arrayBuffers / 1e6).toFixed(1)} MB`,
);
await pool.close();
rmSync(dir, { recursive: true });
