// npm run bench:attack — issue #14's benchmark: a simulated boot storm against a real `netroot
// serve`, first quiet, then while each attack of test/attack runs, and the storm's completion time
// under each attack against the quiet one (target ≤ 1.5×, every node completes), plus the
// frontend's peak RSS (target ≤ 512 MiB). Needs root (namespaces, ports 67/69). Not a test.
//
// Setup: a veth pair between a server and a client namespace (bench/lib/netns.ts), one /16
// (10.61.0.0/16). In the server namespace, `netroot serve` from source (bench/lib/attack-frontend.ts):
// its own state dir, SQLite, the embedded target, DHCP on the veth, TFTP, HTTP on 8080; BENCH_NODES
// (default 200) compute-diskless hosts registered first through insert-ethers' engine and plugins
// (each with its MAC, fixed address, 16 MiB iSCSI volume, target and CHAP; the first MiB of each
// volume random). Boot root: the real iPXE binary (ipxe.efi) and this machine's kernel and initrd
// from /boot as the installer's (random files of 10/30 MiB where there are none).
// In the client namespace: every node's address on the veth, a storm worker
// (bench/lib/storm-worker.ts: DHCP as a UEFI PXE ROM, TFTP of ipxe.efi, DHCP as iPXE, HTTP of the
// iPXE script, kernel and initrd, iSCSI login with the node's CHAP and READ of the first MiB) and,
// for each attack, an attack runner process (bench/lib/attack-runner.ts) with its own source
// addresses 10.61.250.x. Every module of test/attack that exports `attack` is picked up.
//
// Runs: BENCH_RUNS rounds (default 5); each round runs the storm quiet and under every attack, the
// order rotated each round, so load from other work on the machine falls on every condition alike.
// Lines printed (DESIGN.md form; times are medians with their spread, min–max):
//   storm quiet: netroot X s (a–b), nodes completed N/N
//   storm under <attack>: netroot X s (a–b), quiet Y s (c–d), ratio R (time, lower is better; target ≤ 1.5), nodes completed N/N
//   node boot p50/p99 under <attack>: netroot a/b s, quiet c/d s, ratio x/y (time, lower is better)
//   peak RSS: X MiB (target ≤ 512 MiB; ...)
// "nodes completed" is the worst run's count; node boot p50/p99 are the medians over runs of each
// run's per-node boot time quantiles. The frontend's VmHWM is reset before every storm
// (/proc/PID/clear_refs), so each condition's own peak is known as well.
//
// Knobs: BENCH_NODES (200), BENCH_RUNS (5), BENCH_SPREAD_MS (1500: nodes power on within it),
// BENCH_NODE_TIMEOUT_S (180: a node not done by then is failed), BENCH_ATTACKS=a,b (by name),
// BENCH_ATTACK_DIR (test/attack), BENCH_ATTACK_SCALE (1, passed to start()), BENCH_ATTACKERS (8
// source addresses), BENCH_ATTACK_SETTLE_MS (2000: the attack runs alone this long before the
// storm), BENCH_KERNEL_MIB / BENCH_INITRD_MIB (random kernel/initrd of that size instead of /boot's),
// BENCH_VERIFY=1 (hash every kernel and initrd body, not only count it), BENCH_LOG_LEVEL (warn),
// BENCH_VERBOSE=1 (each run's phase latencies and errors), BENCH_IDLE_MAX_S (300: after each run,
// the longest wait for the frontend to hold no connection before the next run starts).
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { addNodeAddresses, createVethPair } from './lib/netns.js';
import { benchWork } from './lib/work.js';
import { preflight } from './lib/preflight.js';
import { startIn, stop, waitFor, type Child } from './lib/children.js';
import { ChildLines } from './lib/child-lines.js';
import { cpuSeconds, statusField } from './lib/proc.js';
import { waitIdle } from './lib/idle.js';
import { NET, HTTP_PORT, attackerIp, nodeIp, prepareFrontend, startFrontend, stormFiles } from './lib/attack-frontend.js';
import type { StormPlan, StormResult } from './lib/storm-worker.js';
import type { Attack, AttackTarget } from '../test/attack/types.js';

const env = process.env;
const NODES = Number(env.BENCH_NODES ?? 200);
const RUNS = Math.max(1, Number(env.BENCH_RUNS ?? 5));
const SPREAD_MS = Number(env.BENCH_SPREAD_MS ?? 1500);
const NODE_TIMEOUT_S = Number(env.BENCH_NODE_TIMEOUT_S ?? 180);
const ATTACK_DIR = resolve(env.BENCH_ATTACK_DIR ?? 'test/attack');
const ONLY = env.BENCH_ATTACKS ? new Set(env.BENCH_ATTACKS.split(',').map((s) => s.trim())) : null;
const SCALE = Number(env.BENCH_ATTACK_SCALE ?? 1);
const ATTACKERS = Number(env.BENCH_ATTACKERS ?? 8);
const SETTLE_MS = Number(env.BENCH_ATTACK_SETTLE_MS ?? 2000);
const KERNEL_MIB = env.BENCH_KERNEL_MIB ? Number(env.BENCH_KERNEL_MIB) : undefined;
const INITRD_MIB = env.BENCH_INITRD_MIB ? Number(env.BENCH_INITRD_MIB) : undefined;
const VERIFY = env.BENCH_VERIFY === '1';
const LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'warn';
const VERBOSE = env.BENCH_VERBOSE === '1';
const READ_BYTES = 1 << 20;
const PAUSE_MS = 1000;
const IDLE_MAX_MS = Number(env.BENCH_IDLE_MAX_S ?? 300) * 1000;
const QUIET = 'quiet';

preflight('bench:attack', { rootFor: 'network namespaces, DHCP and TFTP ports' });

// ---- the attacks: every module of ATTACK_DIR that exports `attack` -------------------------------
interface AttackDef {
  file: string;
  name: string;
  what: string;
}
const attacks: AttackDef[] = [];
for (const f of existsSync(ATTACK_DIR) ? readdirSync(ATTACK_DIR).sort() : []) {
  if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f.endsWith('.d.ts') || f === 'types.ts') continue;
  const file = join(ATTACK_DIR, f);
  try {
    const mod = (await import(pathToFileURL(file).href)) as { attack?: Attack };
    const a = mod.attack;
    if (!a || typeof a.start !== 'function') continue; // a helper module, not an attack
    if (ONLY && !ONLY.has(a.name)) continue;
    if (attacks.some((x) => x.name === a.name)) {
      console.log(`# ${f}: attack name ${a.name} is taken by another module; skipped`);
      continue;
    }
    attacks.push({ file, name: a.name, what: a.what });
  } catch (e) {
    console.log(`# ${f}: not loaded (${(e as Error).message.split('\n')[0]}); skipped`);
  }
}

// ---- setup ----------------------------------------------------------------------------------------
const { dir: work, pairs } = benchWork('attack');
const veth = createVethPair({ prefix: 'nrb-atk', clientAddr: NET.client, serverAddr: NET.server, prefixLen: NET.prefixLen });
pairs.add(veth);
const attackers = Array.from({ length: ATTACKERS }, (_, i) => attackerIp(i));
addNodeAddresses(veth, [...Array.from({ length: NODES }, (_, i) => nodeIp(i)), ...attackers], NET.prefixLen);

const {
  stateDir,
  configFile,
  files,
  nodes,
  registerSeconds: registerS,
} = await prepareFrontend(work, {
  serverIf: veth.serverIf,
  logLevel: LOG_LEVEL,
  kernelMiB: KERNEL_MIB,
  initrdMiB: INITRD_MIB,
  nodes: NODES,
  readBytes: READ_BYTES,
});

const planFile = join(work, 'storm-plan.json');
const plan: StormPlan = {
  iface: veth.clientIf,
  arch: 7,
  nodes,
  spreadMs: SPREAD_MS,
  nodeTimeoutMs: NODE_TIMEOUT_S * 1000,
  readBytes: READ_BYTES,
  verify: VERIFY,
  files: stormFiles(files),
};
writeFileSync(planFile, JSON.stringify(plan));

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
console.log(
  `# bench:attack: ${NODES} virtual nodes (start spread ${SPREAD_MS} ms), ${RUNS} round(s), attacks: ${attacks.map((a) => a.name).join(', ') || 'none found in ' + ATTACK_DIR}`,
);
console.log(
  `# boot files: ipxe.efi ${mib(files.ipxe.bytes)} MiB (${files.ipxe.origin}), kernel ${mib(files.kernel.bytes)} MiB (${files.kernel.origin}), initrd ${mib(files.initrd.bytes)} MiB (${files.initrd.origin}); per node also the iPXE script and 1 MiB over iSCSI`,
);
console.log(`# ${NODES} hosts registered (insert-ethers engine: volume, target, CHAP each) in ${registerS.toFixed(1)} s`);

let frontend: Child = await startFrontend(veth.serverNs, stateDir, configFile);
console.log(`# netroot serve pid ${frontend.proc.pid}: RSS ${(statusField(frontend.proc.pid!, 'VmRSS') / 1024).toFixed(0)} MiB after start`);

const workerTimeoutMs = NODE_TIMEOUT_S * 1000 + SPREAD_MS + 60_000;
let worker!: Child;
let workerLines!: ChildLines;
async function startWorker(): Promise<void> {
  worker = startIn(veth.clientNs, process.execPath, ['--import', 'tsx', 'bench/lib/storm-worker.ts', planFile], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  workerLines = new ChildLines(worker);
  if (!(await workerLines.next(['storm ready'], 60_000))) throw new Error(`the storm worker did not start:\n${worker.output()}`);
}
await startWorker();

// ---- runs -----------------------------------------------------------------------------------------
interface RunRecord {
  result: StormResult | null;
  /** Why there is no result (attack did not start, worker failed, frontend died). */
  problem: string | null;
  peakKiB: number;
  /** The frontend's CPU seconds during the storm (the attack's settle time excluded). */
  serverCpuSeconds: number;
  /** The attack runner's CPU seconds over its whole run (start, settle, storm). */
  attackCpuSeconds: number;
  attackStats: Record<string, number> | null;
}
const records = new Map<string, RunRecord[]>([[QUIET, []], ...attacks.map((a) => [a.name, []] as [string, RunRecord[]])]);

/** Waits (up to IDLE_MAX_MS) until the frontend holds no connection (bench/lib/idle.ts). */
const waitIdleFrontend = (): Promise<{ ms: number; left: number }> => waitIdle(veth.serverNs, IDLE_MAX_MS);

function frontendAlive(): boolean {
  return frontend.proc.exitCode === null && frontend.proc.signalCode === null;
}

let lastStormServerCpu = NaN;
async function storm(): Promise<{ result: StormResult | null; problem: string | null }> {
  const pid = frontend.proc.pid!;
  let cpu0 = NaN;
  try {
    cpu0 = cpuSeconds(pid);
  } catch {
    /* the frontend is gone: runCondition finds out and restarts it */
  }
  workerLines.send('run');
  const r = await workerLines.next(['result ', 'error '], workerTimeoutMs);
  try {
    lastStormServerCpu = cpuSeconds(pid) - cpu0;
  } catch {
    lastStormServerCpu = NaN;
  }
  if (r && r[0] === 'result ') return { result: JSON.parse(r[1]) as StormResult, problem: null };
  const problem = r
    ? `storm worker: ${JSON.parse(r[1]) as string}`
    : `storm worker gave no result in ${workerTimeoutMs / 1000} s:\n${worker.output().slice(-2000)}`;
  await stop(worker);
  await startWorker();
  return { result: null, problem };
}

async function runCondition(name: string): Promise<RunRecord> {
  if (!frontendAlive()) {
    console.log(`# the frontend had died (${frontend.proc.exitCode ?? frontend.proc.signalCode}); restarting it`);
    frontend = await startFrontend(veth.serverNs, stateDir, configFile);
  }
  const pid = frontend.proc.pid!;
  const logFrom = frontend.output().length;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS (proc(5))
  } catch {
    /* an older kernel: the peak is then the process's lifetime peak */
  }
  let runner: Child | null = null;
  let lines: ChildLines | null = null;
  let attackStats: Record<string, number> | null = null;
  let attackCpuSeconds = NaN;
  let out: { result: StormResult | null; problem: string | null };
  if (name === QUIET) out = await storm();
  else {
    const def = attacks.find((a) => a.name === name)!;
    const target: AttackTarget = { host: NET.server, httpPort: HTTP_PORT, tftpPort: 69, iscsiPort: 3260, sourceAddresses: attackers };
    runner = startIn(veth.clientNs, process.execPath, ['--import', 'tsx', 'bench/lib/attack-runner.ts', def.file, JSON.stringify(target), String(SCALE)], {
      cwd: process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    lines = new ChildLines(runner);
    const ready = await lines.next(['ready ', 'error '], 90_000);
    if (ready?.[0] !== 'ready ') {
      const why = ready ? (JSON.parse(ready[1]) as string) : `no answer in 90 s:\n${runner.output().slice(-2000)}`;
      await stop(runner);
      return {
        result: null,
        problem: `attack did not start: ${why.split('\n').slice(0, 3).join(' | ')}`,
        peakKiB: frontendAlive() ? statusField(pid, 'VmHWM') : NaN,
        serverCpuSeconds: NaN,
        attackCpuSeconds: NaN,
        attackStats: null,
      };
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    out = await storm();
    try {
      attackCpuSeconds = cpuSeconds(runner.proc.pid!);
    } catch {
      /* it has exited */
    }
    lines.send('stop');
    const stopped = await lines.next(['stopped ', 'error '], 30_000);
    if (stopped && stopped[0] === 'stopped ') attackStats = JSON.parse(stopped[1]) as Record<string, number>;
    else {
      const gone = runner.proc.exitCode ?? runner.proc.signalCode;
      const why = stopped
        ? (JSON.parse(stopped[1]) as string).split('\n')[0]
        : gone !== null
          ? `its process ended (${gone}) during the storm:\n${runner.output().slice(-1500)}`
          : 'no answer in 30 s';
      out.problem ??= `attack did not stop cleanly: ${why}`;
    }
    await waitFor(runner, 10_000);
  }
  const peakKiB = frontendAlive() ? statusField(pid, 'VmHWM') : NaN;
  if (VERBOSE && out.result && out.result.completed < out.result.nodes) {
    const log = frontend.output().slice(logFrom).trim();
    if (log) console.log(`    frontend log during the run (last 2000 characters):\n${log.slice(-2000)}`);
  }
  if (!frontendAlive()) {
    out.problem = `the frontend died (${frontend.proc.exitCode ?? frontend.proc.signalCode}):\n${frontend.output().slice(-3000)}`;
    frontend = await startFrontend(veth.serverNs, stateDir, configFile);
    console.log(`# frontend restarted, pid ${frontend.proc.pid}`);
  }
  return { ...out, peakKiB, serverCpuSeconds: lastStormServerCpu, attackCpuSeconds, attackStats };
}

// One unmeasured storm first: the frontend's and the worker's code is compiled and their caches
// (TFTP file cache, page cache of the volumes) warm, so round 1's first condition is not the
// only one to pay for it.
{
  const w = await storm();
  console.log(`warm-up storm (not counted): ${w.result ? `${f1(w.result.seconds)} s, ${w.result.completed}/${w.result.nodes} nodes` : w.problem}`);
  if (w.result && w.result.completed < w.result.nodes) for (const e of w.result.errors) console.log(`    ${e.count}× ${e.message}`);
  const idle = await waitIdleFrontend();
  if (idle.left > 0) console.log(`    the frontend still holds ${idle.left} connection(s) ${f1(idle.ms / 1000)} s after the warm-up`);
}

const conditions = [QUIET, ...attacks.map((a) => a.name)];
for (let round = 0; round < RUNS; round++) {
  console.log(`round ${round + 1}/${RUNS}:`);
  const order = conditions.map((_, i) => conditions[(i + round) % conditions.length]!);
  for (const c of order) {
    const rec = await runCondition(c);
    records.get(c)!.push(rec);
    const r = rec.result;
    const peak = Number.isNaN(rec.peakKiB) ? '?' : f1(rec.peakKiB / 1024);
    if (r) {
      const fails = Object.entries(r.failed)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ');
      console.log(
        `  ${c}: ${f1(r.seconds)} s, ${r.completed}/${r.nodes} nodes${fails ? ` (failed: ${fails})` : ''}, peak RSS ${peak} MiB, CPU s frontend ${f1(rec.serverCpuSeconds)} / storm client ${f1(r.clientCpuSeconds)}${Number.isNaN(rec.attackCpuSeconds) ? '' : ` / attack ${f1(rec.attackCpuSeconds)}`}${rec.attackStats ? `, attack ${JSON.stringify(rec.attackStats)}` : ''}`,
      );
      if (VERBOSE || r.completed < r.nodes) for (const e of r.errors) console.log(`    ${e.count}× ${e.message}`);
      if (VERBOSE) {
        console.log(
          `    phases p50/p99 s: ${Object.entries(r.phaseSeconds)
            .map(([p, q]) => `${p} ${f2(q.p50)}/${f2(q.p99)}`)
            .join(', ')}`,
        );
        console.log(
          `    retransmits: dhcp ${r.retransmits.dhcp}, tftp ${r.retransmits.tftp}, http 503 ${r.retransmits.http503}; stray dhcp replies ${r.dhcpStray}`,
        );
      }
    }
    if (rec.problem) console.log(`  ${c}: ${rec.problem.split('\n').join('\n    ')}`);
    await new Promise((res) => setTimeout(res, PAUSE_MS));
    const idle = await waitIdleFrontend();
    if (idle.left > 0) console.log(`    the frontend still holds ${idle.left} connection(s) ${f1(idle.ms / 1000)} s after ${c}; the next run starts anyway`);
    else if (idle.ms > 1000) console.log(`    the frontend let go of what ${c} left ${f1((idle.ms + PAUSE_MS) / 1000)} s after it ended`);
  }
}

// ---- summary --------------------------------------------------------------------------------------
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
interface Summary {
  median: number;
  min: number;
  max: number;
  worstCompleted: number;
  runs: number;
  /** Runs with a problem: no result (attack did not start, worker failed) or the frontend died. */
  problems: number;
  peakKiB: number;
  /** Medians over runs of each run's node boot time p50 and p99. */
  bootP50: number;
  bootP99: number;
}
function summarize(name: string): Summary | null {
  const recs = records.get(name)!;
  const ok = recs.filter((r) => r.result !== null).map((r) => r.result!);
  if (ok.length === 0) return null;
  const xs = ok.map((r) => r.seconds);
  return {
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    worstCompleted: Math.min(...ok.map((r) => r.completed)),
    runs: ok.length,
    problems: recs.filter((r) => r.problem !== null).length,
    peakKiB: Math.max(...recs.map((r) => r.peakKiB).filter((x) => !Number.isNaN(x))),
    bootP50: median(ok.map((r) => r.phaseSeconds['boot']?.p50 ?? NaN)),
    bootP99: median(ok.map((r) => r.phaseSeconds['boot']?.p99 ?? NaN)),
  };
}
const spread = (s: Summary): string => `${f1(s.median)} s (${f1(s.min)}–${f1(s.max)})`;
const quiet = summarize(QUIET);
console.log('');
if (quiet)
  console.log(
    `storm quiet: netroot ${spread(quiet)}, nodes completed ${quiet.worstCompleted}/${NODES}, node boot p50/p99 ${f2(quiet.bootP50)}/${f2(quiet.bootP99)} s${quiet.problems ? ` (${quiet.problems} run(s) with a problem, see above)` : ''}`,
  );
else console.log('storm quiet: no result (see the runs above)');
for (const a of attacks) {
  const s = summarize(a.name);
  const recs = records.get(a.name)!;
  if (!s) {
    console.log(`storm under ${a.name}: no result (${recs.map((r) => r.problem?.split('\n')[0]).filter(Boolean)[0] ?? 'not run'})`);
    continue;
  }
  const ratio = quiet ? f2(s.median / quiet.median) : 'n/a';
  console.log(
    `storm under ${a.name}: netroot ${spread(s)}, quiet ${quiet ? spread(quiet) : 'n/a'}, ratio ${ratio} (time, lower is better; target ≤ 1.5), nodes completed ${s.worstCompleted}/${NODES}${s.problems ? ` (${s.problems} of ${recs.length} runs with a problem: ${recs.find((r) => r.problem)!.problem!.split('\n')[0]})` : ''}`,
  );
  if (quiet)
    console.log(
      `node boot p50/p99 under ${a.name}: netroot ${f2(s.bootP50)}/${f2(s.bootP99)} s, quiet ${f2(quiet.bootP50)}/${f2(quiet.bootP99)} s, ratio ${f2(s.bootP50 / quiet.bootP50)}/${f2(s.bootP99 / quiet.bootP99)} (time, lower is better)`,
    );
}
const peaks = conditions
  .map(
    (c) =>
      [
        c,
        records
          .get(c)!
          .map((r) => r.peakKiB)
          .filter((x) => !Number.isNaN(x)),
      ] as const,
  )
  .filter(([, xs]) => xs.length > 0);
if (peaks.length) {
  const [worst, worstXs] = peaks.reduce((a, b) => (Math.max(...b[1]) > Math.max(...a[1]) ? b : a));
  console.log(
    `peak RSS: ${f1(Math.max(...worstXs) / 1024)} MiB (target ≤ 512 MiB; the frontend's VmHWM, highest under ${worst}; by condition: ${peaks.map(([c, xs]) => `${c} ${f1(Math.max(...xs) / 1024)}`).join(', ')})`,
  );
}
for (const a of attacks) {
  const stats = records
    .get(a.name)!
    .map((r) => r.attackStats)
    .filter((x): x is Record<string, number> => x !== null);
  console.log(`# ${a.name}: ${a.what}${stats.length ? `; stats of its last run: ${JSON.stringify(stats.at(-1))}` : ''}`);
}

workerLines.send('exit');
await waitFor(worker, 10_000);
await stop(frontend, 10_000);
process.exit(0);
