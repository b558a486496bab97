// The embedded target as its own process, for bench/iscsi.bench.ts: one target, LUN 1 = the
// given file, one allowed initiator, no CHAP. Prints "ready <port>" on stdout once listening;
// SIGTERM/SIGINT stop it cleanly (so `node --cpu-prof` can write its profile on exit); SIGUSR2
// prints LUN 1's write counters.
// The bench compiles it with tsc and runs the JavaScript under plain node, as in production.
// Usage: iscsi-target-child.ts <host> <port> <target-iqn> <initiator-iqn> <lun-file> [<golden> <map>]
// With <golden> and <map> (ISCSI_VOLUME=clone), <lun-file> is a clone's delta and LUN 1 is that
// copy-on-write clone of <golden> (src/iscsi/lun-clone.ts; made beforehand with LunClone.create).
import { IscsiTarget } from '../../src/iscsi/index.js';
import { createLogger } from '../../src/log/logger.js';

const [host, port, iqn, initiator, path, golden, map, ...extra] = process.argv.slice(2);
if (!host || !port || !iqn || !initiator || !path || (golden === undefined) !== (map === undefined) || extra.length) {
  process.stderr.write('usage: iscsi-target-child.ts <host> <port> <target-iqn> <initiator-iqn> <lun-file> [<golden> <map>]\n');
  process.exit(2);
}
const target = new IscsiTarget({ host, port: Number(port), logger: createLogger({ level: 'warn' }) });
await target.addTarget({ iqn, luns: [{ lun: 1, path, ...(golden && map ? { clone: { golden, map } } : {}) }], allowedInitiators: [initiator] });
await target.start();
process.stdout.write(`ready ${target.port}\n`);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const t = setTimeout(() => process.exit(1), 5000);
  void target.stop().finally(() => {
    clearTimeout(t);
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
// SIGUSR2: one line "stats <json>" with LUN 1's write counters (writes, requests, onLoop: how many
// went on the event loop's thread), which the bench reads after each write run.
process.on('SIGUSR2', () => {
  const s = target.writeStats(iqn).find((x) => x.lun === 1);
  process.stdout.write(`stats ${JSON.stringify(s ?? null)}\n`);
});
process.on('SIGINT', stop);
