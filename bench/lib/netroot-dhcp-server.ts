// The netroot side of bench:dhcp, run as its own process inside the server namespace:
//   node --import tsx bench/lib/netroot-dhcp-server.ts <iface> <serverIp> <poolStart> <poolEnd> <mask> <leaseFile>
// Production settings: SO_BINDTODEVICE on <iface>, no known hosts (every perfdhcp client is an
// unknown MAC), the pool enabled, durable lease journal ON (an ACK leaves after its fdatasync).
// Prints "ready" once listening; SIGTERM stops it cleanly and prints its metrics.
// BENCH_DHCP_SYNC_TIMES=1: also times every fdatasync(2) of the journal (fs.fdatasync wrapped
// before src/dhcp is loaded; module.syncBuiltinESMExports makes its `import { fdatasync }` see the
// wrapper) and the event loop's delay (perf_hooks), printed at exit as `sync-times {...}` — where an
// ACK's delay goes: the disk's sync, or waiting for the CPU.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const [iface, serverIp, start, end, subnetMask, leaseFile] = process.argv.slice(2);
if (!iface || !serverIp || !start || !end || !subnetMask || !leaseFile) {
  console.error('usage: netroot-dhcp-server.ts <iface> <serverIp> <poolStart> <poolEnd> <mask> <leaseFile>');
  process.exit(2);
}

const syncMs: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 1 });
if (process.env.BENCH_DHCP_SYNC_TIMES) {
  const real = fs.fdatasync;
  const timed = (fd: number, cb: (e: NodeJS.ErrnoException | null) => void): void => {
    const t0 = process.hrtime.bigint();
    real(fd, (e) => {
      syncMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      cb(e);
    });
  };
  fs.fdatasync = timed as typeof fs.fdatasync;
  syncBuiltinESMExports();
}

const { DhcpServer } = await import('../../src/dhcp/index.js');
const server = new DhcpServer({
  interfaces: [iface],
  serverIp,
  decider: { answer: async () => null },
  pool: { start, end, leaseSeconds: 3600, subnetMask },
  leaseFile,
});
await server.start();
const gcMs: number[] = [];
const cpuAtReady = process.cpuUsage(); // CPU of the trial only, not of module loading
if (process.env.BENCH_DHCP_SYNC_TIMES) {
  // From here on (after module loading and the journal's open): the loop's delay and GC pauses.
  loop.enable();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs.push(e.duration);
  }).observe({ entryTypes: ['gc'] });
}
console.log('ready');

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Number(s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2)) : NaN;
}

const shutdown = (): void => {
  void server.stop().then(() => {
    console.log(`metrics ${JSON.stringify({ ...server.metrics, journal: server.journal })}`);
    if (process.env.BENCH_DHCP_SYNC_TIMES)
      console.log(
        `sync-times ${JSON.stringify({
          fdatasyncs: syncMs.length,
          syncP50Ms: q(syncMs, 50),
          syncP99Ms: q(syncMs, 99),
          syncMaxMs: q(syncMs, 100),
          loopDelayP50Ms: loop.percentile(50) / 1e6,
          loopDelayP99Ms: loop.percentile(99) / 1e6,
          loopDelayMaxMs: loop.max / 1e6,
          gcPauses: gcMs.length,
          gcTotalMs: Number(gcMs.reduce((a, b) => a + b, 0).toFixed(1)),
          gcMaxMs: q(gcMs, 100),
          cpuMsSinceReady: Math.round(((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpuAtReady))),
        })}`,
      );
    process.exit(0);
  });
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
