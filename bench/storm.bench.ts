// npm run bench:storm — issue #21 part 4: a boot storm of N simulated diskless nodes against one
// netroot frontend and against the stack a site builds without it (dnsmasq + nginx-light + tgt,
// bench/lib/storm-peer.ts), serving the same files and the same volumes, in one run. Needs root
// (namespaces, ports 67/69) and `npm run build:native`; Debian dnsmasq-base, nginx-light, tgt.
//
// Network: a client namespace with two veth legs (bench/lib/netns.ts) — 10.61.0.0/16 to netroot's
// namespace (frontend 10.61.0.1), 10.62.0.0/16 to the peer's (10.62.0.1) — so the two DHCP servers
// never hear each other's clients. Every node has its own address on each leg (10.61.x.y and
// 10.62.x.y) and the same MAC on both.
// netroot: `netroot serve` from source (bench/lib/attack-frontend.ts: its own state dir, SQLite,
// the embedded target, DHCP on its veth), max(N) compute-diskless hosts registered beforehand
// through the insert-ethers engine (MAC, fixed address, 16 MiB volume, target, CHAP; the first MiB
// of each volume random: the node's marker).
// Peer: the same boot files (hard links) and the same volume files, one tgt target per node with
// the node's initiator name and CHAP; see storm-peer.ts for every setting.
// Storm (bench/lib/storm-worker.ts, one worker process per side in the client namespace): each
// node boots as a UEFI machine — DHCP DORA with its own MAC, TFTP of ipxe.efi (size and SHA-256
// checked), DHCP as iPXE, HTTP of its iPXE script, kernel (SHA-256 checked) and initrd (size
// checked), iSCSI login with its CHAP and READ of the first MiB of its own volume (SHA-256 checked
// against its marker). Start times spread over BENCH_SPREAD_MS.
//
// Runs: for each N of BENCH_STORM_NODES (100,500,1000), BENCH_RUNS (5) rounds, each round one storm
// per side, the order reversed every other round. Lines (medians with their spread):
//   storm N=… completion time (…): netroot X s, dnsmasq+nginx+tgt Y s, ratio R (lower is better; target ≤ 1.0)
//   storm N=… node boot p50 / p99 (…): …                                     (lower is better; target ≤ 1.0)
//   storm N=… bytes per second (…): netroot X MB/s, … (higher is better)
//   storm N=… nodes completed (worst run): netroot n/N, dnsmasq+nginx+tgt n/N
//   storm N=… two servers vs one, completion time / node boot p50 / p99 / bytes per second (…): two
//     netroot servers X, one netroot server Y, ratio R           (the same ratioLine form)
//   storm N=… two servers: nodes per server (all runs): 10.61.0.1 a, 10.61.0.3 b; completed (worst run) n/N
// Two servers (bench/lib/storm-two.ts; BENCH_STORM_TWO=0 skips them): two `netroot serve` on one
// PostgreSQL, on one bridged link in a client namespace of their own, the same N nodes (same MACs
// and addresses, registered once in PostgreSQL); every DISCOVER reaches both, a node uses the server
// whose OFFER came first (TFTP, HTTP and its iSCSI portal); both export every volume (one shared
// volumes folder). A third storm worker, in the same rounds as the other two.
//
// Knobs: BENCH_STORM_NODES, BENCH_RUNS, BENCH_KERNEL_MIB (2), BENCH_INITRD_MIB (8): random files of
// those sizes (real-size boots: 10 and 40), BENCH_SPREAD_MS (2000), BENCH_NODE_TIMEOUT_S (300),
// BENCH_VERIFY=1 (hash the initrd too), BENCH_LOG_LEVEL (warn), BENCH_VERBOSE=1 (phase times and
// errors of every run), BENCH_IDLE_MAX_S (120), BENCH_STORM_TWO (1; 0: no two-server run),
// BENCH_STORE_URL (the two servers' PostgreSQL: an empty database both server namespaces can reach,
// e.g. over its unix socket, postgres://user@localhost/db?host=/run/postgresql; default: a
// temporary server started like the tests' (test/helpers/postgres.ts, Debian postgresql)).
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { addNodeAddresses, createVethPair } from './lib/netns.js';
import { benchWork } from './lib/work.js';
import { preflight } from './lib/preflight.js';
import { startIn, stop, waitFor, type Child } from './lib/children.js';
import { ChildLines } from './lib/child-lines.js';
import { cpuSeconds, statusField } from './lib/proc.js';
import { waitIdle } from './lib/idle.js';
import { median, ratioLine } from './lib/stats.js';
import { NET, nodeIp, prepareFrontend, startFrontend, stormFiles } from './lib/attack-frontend.js';
import { PEER_NAME, PEER_SETTINGS, startPeer } from './lib/storm-peer.js';
import { createTwoServerNet, startTwoServers, TWO_SERVERS, type TwoServers } from './lib/storm-two.js';
import { ownPostgres } from '../test/helpers/postgres.js';
import type { StormNode, StormPlan, StormResult } from './lib/storm-worker.js';

const env = process.env;
const COUNTS = (env.BENCH_STORM_NODES ?? '100,500,1000').split(',').map((s) => Number(s.trim()));
const RUNS = Math.max(1, Number(env.BENCH_RUNS ?? 5));
const KERNEL_MIB = Number(env.BENCH_KERNEL_MIB ?? 2);
const INITRD_MIB = Number(env.BENCH_INITRD_MIB ?? 8);
const SPREAD_MS = Number(env.BENCH_SPREAD_MS ?? 2000);
const NODE_TIMEOUT_S = Number(env.BENCH_NODE_TIMEOUT_S ?? 300);
const VERIFY: StormPlan['verify'] = env.BENCH_VERIFY === '1' ? true : 'kernel';
const LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'warn';
const VERBOSE = env.BENCH_VERBOSE === '1';
const IDLE_MAX_MS = Number(env.BENCH_IDLE_MAX_S ?? 120) * 1000;
const STORE_URL = env.BENCH_STORE_URL ?? '';
const TWO = env.BENCH_STORM_TWO !== '0';
const READ_BYTES = 1 << 20;
const PEER_NET = { client: '10.62.0.2', server: '10.62.0.1' } as const;
const peerIp = (i: number): string => nodeIp(i).replace(/^10\.61\./, '10.62.');

if (COUNTS.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`BENCH_STORM_NODES: whole numbers ≥ 1, comma-separated (got ${env.BENCH_STORM_NODES})`);
  process.exit(2);
}
preflight('bench:storm', {
  rootFor: 'network namespaces, DHCP and TFTP ports',
  tools: ['dnsmasq', 'nginx', 'tgtd', 'tgtadm', 'ss'],
  packages: 'dnsmasq-base, nginx-light, tgt, iproute2',
});
const MAX = Math.max(...COUNTS);

// ---- setup ----------------------------------------------------------------------------------------
const { dir: work, pairs } = benchWork('storm');
console.log(
  `# bench:storm: N = ${COUNTS.join(', ')}, ${RUNS} round(s) per N, start spread ${SPREAD_MS} ms, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

const veth = createVethPair({ prefix: 'nrb-storm', clientAddr: NET.client, serverAddr: NET.server, prefixLen: NET.prefixLen });
pairs.add(veth);
const leg = veth.addLeg({ name: 'p', clientAddr: PEER_NET.client, serverAddr: PEER_NET.server, prefixLen: NET.prefixLen });
const indexes = Array.from({ length: MAX }, (_, i) => i);
addNodeAddresses(veth, indexes.map(nodeIp), NET.prefixLen);
addNodeAddresses({ ...leg, clientNs: veth.clientNs }, indexes.map(peerIp), NET.prefixLen);

const { stateDir, configFile, files, nodes, registerSeconds } = await prepareFrontend(work, {
  serverIf: veth.serverIf,
  logLevel: LOG_LEVEL,
  kernelMiB: KERNEL_MIB,
  initrdMiB: INITRD_MIB,
  nodes: MAX,
  readBytes: READ_BYTES,
});
const bootRoot = join(work, 'boot');
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
console.log(
  `# boot files: ipxe.efi ${mib(files.ipxe.bytes)} MiB (${files.ipxe.origin}), kernel ${mib(files.kernel.bytes)} MiB, initrd ${mib(files.initrd.bytes)} MiB (random; BENCH_KERNEL_MIB/BENCH_INITRD_MIB), per node also its iPXE script and the first MiB of its volume over iSCSI`,
);
console.log(`# ${MAX} hosts registered in netroot (insert-ethers engine: volume, target, CHAP each) in ${registerSeconds.toFixed(1)} s`);

const frontend: Child = await startFrontend(veth.serverNs, stateDir, configFile);
console.log(
  `# netroot: \`netroot serve\` from source, pid ${frontend.proc.pid}, RSS ${(statusField(frontend.proc.pid!, 'VmRSS') / 1024).toFixed(0)} MiB after start`,
);

const t = performance.now();
const peer = await startPeer({
  ns: leg.serverNs,
  iface: leg.serverIf,
  serverAddr: leg.serverAddr,
  prefixLen: leg.prefixLen,
  work: join(work, 'peer'),
  files: {
    bootRoot,
    volume: (host) => {
      const v = nodes.find((n) => n.host === host)?.volumeFile;
      if (!v) throw new Error(`no volume file for ${host}`);
      return v;
    },
  },
  nodes,
  peerIp,
  ctl: 26000 + (process.pid % 6000),
});
console.log(`# peer ${PEER_NAME} started with ${MAX} targets in ${((performance.now() - t) / 1000).toFixed(1)} s: ${PEER_SETTINGS}`);

// ---- two netroot servers on one PostgreSQL (BENCH_STORM_TWO) -------------------------------------
const pgOwn = ownPostgres();
pairs.add({ destroy: () => pgOwn.abort() }); // an early exit: the temporary PostgreSQL goes too
let two: TwoServers | null = null;
let twoNet: ReturnType<typeof createTwoServerNet> | null = null;
if (TWO) {
  const t2 = performance.now();
  let url = STORE_URL;
  if (!url) {
    const pgs = await pgOwn.server();
    const tcp = new URL(await pgs.freshDatabase());
    // The servers run in namespaces of their own: the unix socket, not 127.0.0.1.
    url = `postgres://${tcp.username}@localhost${tcp.pathname}?host=${encodeURIComponent(pgOwn.socketDir()!)}&port=${pgs.port}`;
  }
  twoNet = createTwoServerNet('nrb-stm2', indexes.map(nodeIp));
  pairs.add(twoNet);
  two = await startTwoServers(twoNet, { work: join(work, 'two'), bootRoot, storeUrl: url, logLevel: LOG_LEVEL, nodes: MAX, readBytes: READ_BYTES });
  console.log(
    `# two netroot servers (${TWO_SERVERS.map((s) => s.addr).join(', ')}) on one PostgreSQL (${STORE_URL ? 'BENCH_STORE_URL' : 'a temporary server, test/helpers/postgres.ts'}): ${MAX} hosts registered in ${two.registerSeconds.toFixed(1)} s, both serving after ${((performance.now() - t2) / 1000).toFixed(1)} s in all`,
  );
} else console.log('# two netroot servers: not run (BENCH_STORM_TWO=0)');

// ---- sides: one storm worker each ----------------------------------------------------------------
interface Side {
  key: string;
  /** The name in the lines. */
  label: string;
  /** The namespaces whose connections must drop to 0 between runs. */
  serverNs: string[];
  /** The netroot servers it storms (their CPU time is printed, their death ends the bench). */
  frontends: Child[];
  worker: Child;
  lines: ChildLines;
  results: Map<number, StormResult[]>;
}

async function startSide(
  key: string,
  label: string,
  where: { clientNs: string; serverNs: string[]; iface: string; frontends: Child[] },
  sideNodes: StormNode[],
  portal: StormPlan['portal'] = 'registered',
): Promise<Side> {
  const { iface } = where;
  const plan: StormPlan = {
    portal,
    iface,
    arch: 7,
    nodes: sideNodes,
    spreadMs: SPREAD_MS,
    nodeTimeoutMs: NODE_TIMEOUT_S * 1000,
    readBytes: READ_BYTES,
    verify: VERIFY,
    files: stormFiles(files),
  };
  const planFile = join(work, `storm-plan-${key}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  const worker = startIn(where.clientNs, process.execPath, ['--import', 'tsx', 'bench/lib/storm-worker.ts', planFile], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = new ChildLines(worker);
  if (!(await lines.next(['storm ready'], 60_000))) throw new Error(`the ${key} storm worker did not start:\n${worker.output()}`);
  return { key, label, serverNs: where.serverNs, frontends: where.frontends, worker, lines, results: new Map(COUNTS.map((n) => [n, []])) };
}

const TWO_LABEL = 'two netroot servers';
const sides: Side[] = [
  await startSide('netroot', 'netroot', { clientNs: veth.clientNs, serverNs: [veth.serverNs], iface: veth.clientIf, frontends: [frontend] }, nodes),
  await startSide('peer', PEER_NAME, { clientNs: veth.clientNs, serverNs: [leg.serverNs], iface: leg.clientIf, frontends: [] }, peer.nodes),
];
if (two && twoNet)
  sides.push(
    await startSide(
      'two',
      TWO_LABEL,
      { clientNs: twoNet.clientNs, serverNs: twoNet.servers.map((s) => s.ns), iface: twoNet.bridge, frontends: two.frontends },
      two.nodes,
      'answering',
    ),
  );
const idleAll = async (side: Side): Promise<{ ms: number; left: number }> => {
  let ms = 0;
  let left = 0;
  for (const ns of side.serverNs) {
    const r = await waitIdle(ns, IDLE_MAX_MS);
    ms += r.ms;
    left += r.left;
  }
  return { ms, left };
};

const workerTimeoutMs = NODE_TIMEOUT_S * 1000 + SPREAD_MS + 60_000;
async function storm(side: Side, n: number): Promise<StormResult> {
  side.lines.send(`run ${n}`);
  const r = await side.lines.next(['result ', 'error '], workerTimeoutMs);
  if (r?.[0] === 'result ') return JSON.parse(r[1]) as StormResult;
  throw new Error(
    r
      ? `${side.key} storm worker: ${JSON.parse(r[1]) as string}`
      : `${side.key} storm worker gave no result in ${workerTimeoutMs / 1000} s:\n${side.worker.output().slice(-2000)}`,
  );
}

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const MB = 1e6;

// One unmeasured storm per side first (code compiled, caches warm), at the smallest N.
for (const s of sides) {
  const w = await storm(s, Math.min(...COUNTS));
  console.log(`warm-up storm ${s.label} (not counted): ${f1(w.seconds)} s, ${w.completed}/${w.nodes} nodes`);
  for (const e of w.errors) console.log(`    ${e.count}× ${e.message}`);
  await idleAll(s);
}

for (const n of COUNTS) {
  for (let round = 0; round < RUNS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const mine = s.frontends.length > 0;
      const cpuOf = (): number => s.frontends.reduce((sum, f) => sum + cpuSeconds(f.proc.pid!), 0);
      const cpu0 = mine ? cpuOf() : NaN;
      const logFrom = s.frontends.map((f) => f.output().length);
      const r = await storm(s, n);
      for (const f of s.frontends)
        if (f.proc.exitCode !== null || f.proc.signalCode !== null)
          throw new Error(`netroot serve (${s.label}) died during the storm (${f.proc.exitCode ?? f.proc.signalCode}):\n${f.output().slice(-3000)}`);
      const cpu = mine ? cpuOf() - cpu0 : NaN;
      s.results.get(n)!.push(r);
      const fails = Object.entries(r.failed)
        .map(([p, c]) => `${p} ${c}`)
        .join(', ');
      console.log(
        `  N=${n} round ${round + 1}/${RUNS} ${s.label}: ${f1(r.seconds)} s, ${r.completed}/${r.nodes} nodes${fails ? ` (failed: ${fails})` : ''}, node p50/p99 ${f2(r.phaseSeconds['boot']?.p50 ?? NaN)}/${f2(r.phaseSeconds['boot']?.p99 ?? NaN)} s, ${f1(r.bytes / r.seconds / MB)} MB/s, CPU s storm client ${f1(r.clientCpuSeconds)}${Number.isNaN(cpu) ? '' : ` / frontend ${f1(cpu)}`}`,
      );
      if (VERBOSE || r.completed < r.nodes) for (const e of r.errors) console.log(`    ${e.count}× ${e.message}`);
      s.frontends.forEach((f, i) => {
        const log = VERBOSE && r.completed < r.nodes ? f.output().slice(logFrom[i]).trim() : '';
        if (log) console.log(`    ${s.label}${s.frontends.length > 1 ? ` #${i + 1}` : ''}: log during the storm (last 2000 characters):\n${log.slice(-2000)}`);
      });
      if (VERBOSE) {
        console.log(
          `    phases p50/p99 s: ${Object.entries(r.phaseSeconds)
            .map(([p, q]) => `${p} ${f2(q.p50)}/${f2(q.p99)}`)
            .join(', ')}; retransmits dhcp ${r.retransmits.dhcp}, tftp ${r.retransmits.tftp}, http 503 ${r.retransmits.http503}`,
        );
      }
      const idle = await idleAll(s);
      if (idle.left > 0) console.log(`    ${s.label} still holds ${idle.left} connection(s) ${f1(idle.ms / 1000)} s after the storm; the next starts anyway`);
    }
  }
}

// ---- summary --------------------------------------------------------------------------------------
console.log('');
const [nr, pe, tw] = sides as [Side, Side, Side | undefined];
const boot = (rs: StormResult[], q: 'p50' | 'p99'): number[] => rs.map((r) => r.phaseSeconds['boot']?.[q] ?? NaN);
for (const n of COUNTS) {
  const a = nr.results.get(n)!;
  const b = pe.results.get(n)!;
  const lines: Array<[string, number[], number[], string, 'lower' | 'higher', (v: number) => string, string | undefined]> = [
    ['completion time', a.map((r) => r.seconds), b.map((r) => r.seconds), 's', 'lower', f2, 'target ≤ 1.0'],
    ['node boot p50', boot(a, 'p50'), boot(b, 'p50'), 's', 'lower', f2, 'target ≤ 1.0'],
    ['node boot p99', boot(a, 'p99'), boot(b, 'p99'), 's', 'lower', f2, 'target ≤ 1.0'],
    ['bytes per second', a.map((r) => r.bytes / r.seconds / MB), b.map((r) => r.bytes / r.seconds / MB), 'MB/s', 'higher', f1, undefined],
  ];
  for (const [measure, netroot, other, unit, better, f, note] of lines)
    console.log(ratioLine({ measure: `storm N=${n} ${measure}`, peer: PEER_NAME, netroot, other, unit, better, f, ...(note ? { note } : {}) }));
  const worst = (rs: StormResult[]): number => Math.min(...rs.map((r) => r.completed));
  console.log(`storm N=${n} nodes completed (worst run): netroot ${worst(a)}/${n}, ${PEER_NAME} ${worst(b)}/${n}`);
}
// Two servers against one: the one-server figures are the netroot side's above (same nodes, same files).
for (const n of tw ? COUNTS : []) {
  const a = tw!.results.get(n)!;
  const b = nr.results.get(n)!;
  const lines: Array<[string, number[], number[], string, 'lower' | 'higher', (v: number) => string]> = [
    ['completion time', a.map((r) => r.seconds), b.map((r) => r.seconds), 's', 'lower', f2],
    ['node boot p50', boot(a, 'p50'), boot(b, 'p50'), 's', 'lower', f2],
    ['node boot p99', boot(a, 'p99'), boot(b, 'p99'), 's', 'lower', f2],
    ['bytes per second', a.map((r) => r.bytes / r.seconds / MB), b.map((r) => r.bytes / r.seconds / MB), 'MB/s', 'higher', f1],
  ];
  for (const [measure, twoFigs, oneFigs, unit, better, f] of lines)
    console.log(
      ratioLine({
        measure: `storm N=${n} two servers vs one ${measure}`,
        name: TWO_LABEL,
        peer: 'one netroot server',
        netroot: twoFigs,
        other: oneFigs,
        unit,
        better,
        f,
      }),
    );
  const split = new Map<string, number>();
  for (const r of a) for (const [server, c] of Object.entries(r.servers)) split.set(server, (split.get(server) ?? 0) + c);
  const total = [...split.values()].reduce((x, y) => x + y, 0);
  console.log(
    `storm N=${n} two servers: nodes per server (all ${a.length} run(s), the server that answered the node's iPXE DHCP): ${TWO_SERVERS.map(
      (s) => `${s.addr} ${split.get(s.addr) ?? 0} (${total ? ((100 * (split.get(s.addr) ?? 0)) / total).toFixed(0) : '–'} %)`,
    ).join(', ')}; completed (worst run) ${Math.min(...a.map((r) => r.completed))}/${n}`,
  );
}
console.log(
  `# load average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(
      ' ',
    )}; median client CPU per storm: netroot side ${f1(median([...nr.results.values()].flat().map((r) => r.clientCpuSeconds)))} s, peer side ${f1(median([...pe.results.values()].flat().map((r) => r.clientCpuSeconds)))} s`,
);

for (const s of sides) {
  s.lines.send('exit');
  await waitFor(s.worker, 10_000);
}
await peer.stop();
await stop(frontend, 10_000);
if (two) await two.stop();
await pgOwn.stop();
process.exit(0);
