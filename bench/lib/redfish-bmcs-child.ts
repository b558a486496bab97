// bench:power's BMCs in their own process (so their CPU is not counted in netroot's): the lab's
// Redfish emulator (src/lab/redfish-bmc.ts) serving BENCH_BMC_COUNT in-memory systems, one per
// listener on 127.0.0.1 ports, self-signed certificate under BENCH_BMC_DIR, sessions offered, each
// request answered after BENCH_BMC_DELAY_MS. The account's password comes in BENCH_BMC_PASSWORD
// (never argv).
//
// Protocol on stdio, one JSON object per line: on start it prints {"nodes":[{id,host,port}]};
// each line "stats" on stdin is answered with {"requests": R, "cycles": C, "on": N} — requests
// received and PowerCycle resets done since the previous "stats", and how many systems are On —
// after which every system is switched Off again (so the next run cycles Off systems).
import { createInterface } from 'node:readline';
import { startMemoryBmcs } from '../../src/lab/redfish-bmc.js';

const count = Number(process.env.BENCH_BMC_COUNT ?? 200);
const delay = Number(process.env.BENCH_BMC_DELAY_MS ?? 0);
const workDir = process.env.BENCH_BMC_DIR;
const user = process.env.BENCH_BMC_USER ?? 'admin';
const password = process.env.BENCH_BMC_PASSWORD;
if (!workDir || !password || !Number.isInteger(count) || count < 1) {
  process.stderr.write('redfish-bmcs-child: BENCH_BMC_DIR, BENCH_BMC_PASSWORD and BENCH_BMC_COUNT are required\n');
  process.exit(2);
}

const { bmc, nodes } = await startMemoryBmcs({ count, user, password, workDir, responseDelayMs: delay, initial: 'Off' });
process.stdout.write(`${JSON.stringify({ nodes: nodes.map((n) => ({ id: n.id, host: n.host, port: n.port })) })}\n`);

let lastRequests = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() !== 'stats') return;
  let cycles = 0;
  let on = 0;
  for (const n of nodes) {
    cycles += n.system.history.filter((h) => h.startsWith('reset:cycle:')).length;
    if (n.system.state === 'On') on++;
    n.system.history.length = 0;
    n.system.state = 'Off';
  }
  const requests = bmc.requestCount - lastRequests;
  lastRequests = bmc.requestCount;
  process.stdout.write(`${JSON.stringify({ requests, cycles, on })}\n`);
});
rl.on('close', () => {
  void bmc.close().then(() => process.exit(0));
});
process.on('SIGTERM', () => {
  void bmc.close().then(() => process.exit(0));
});
