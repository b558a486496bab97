// bench:power (issue #18): one `netroot power cycle` of 200 Redfish BMCs against an administrator's
// sequential loop of one `curl` per BMC, over the same BMCs. No root, no packages beyond curl and
// /usr/bin/time (GNU time, for the CLI's peak RSS).
//
// - BMCs: the lab's Redfish emulator (src/lab/redfish-bmc.ts) in its own process
//   (bench/lib/redfish-bmcs-child.ts): BENCH_POWER_BMCS (200) systems, each on its own listener on
//   127.0.0.1 (200 ports), self-signed certificate, SessionService offered, Basic accepted. Real
//   BMCs take 100 ms to seconds per request; the emulator waits BENCH_POWER_LATENCY_MS (default
//   100) before each answer, without blocking others; every run is repeated at 0 ms as well
//   (BENCH_POWER_LATENCIES=100,0 sets the list). Both sides face the same emulator.
//   BENCH_POWER_PARALLEL=N runs netroot with `--parallel N` instead of its default 32;
//   BENCH_POWER_CPU_PROF=<dir> runs it under `node --cpu-prof` (a profile per run in <dir>).
// - netroot: `npm run build` output (tsc, then `node bin/netroot.js`, as installed), a temporary
//   state dir whose store holds 200 hosts compute-0-0 … compute-0-199, each with a Redfish BMC entry
//   (address, port, user, secret, insecure-tls since the certificate is self-signed, system id
//   node-i), written through the store API. Then ONE process: `netroot power cycle
//   compute-0-[0-199]` with default settings (power.parallel 32, timeouts as shipped). Its wall time
//   runs from spawn to exit (node start-up included); its peak RSS is GNU time's %M.
// - peer: what an administrator's script does: one `curl` per BMC, one after another (execFile, no
//   shell): `curl -sS -k -K <0600 file with user = "user:password"> -X POST -H Content-Type:
//   application/json -d {"ResetType":"PowerCycle"} https://BMC/redfish/v1/Systems/node-i/Actions/
//   ComputerSystem.Reset`, HTTP 204 checked. One request per BMC, Basic auth, no check of the
//   state after (netroot posts the reset at the same standard URI with Basic auth — the entry has
//   its system id — and reads the PowerState back: 2 requests; see src/power/redfish.ts).
//   (ipmitool does not speak Redfish; for IPMI BMCs the same loop would run ipmitool.)
// - Runs: BENCH_POWER_RUNS (3) interleaved runs per side and latency, the order swapped each run;
//   after each run the emulator reports how many requests arrived and how many PowerCycles were
//   done (every one of the 200 must have been cycled), then switches every system Off again.
//
// Prints, per latency:
//   power cycle of 200 Redfish BMCs (emulated latency X ms, median of N, spread …): netroot S s,
//   sequential curl loop S s, ratio R (time; lower is better; target ≤ 0.1)
// the CPU time (user + system) of each side per cycle — netroot's from GNU time, the curls' from
// /proc/self/stat's reaped-children times — which, unlike wall time, does not move with the load of
// a shared machine; `netroot power CLI peak RSS: N MiB` (highest of all netroot runs), requests per
// cycle of each side, and the load average before and after.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { openStore } from '../src/store/index.js';
import { onExit } from './lib/netns.js';

const ROOT = resolve(import.meta.dirname, '..');
const COUNT = Number(process.env.BENCH_POWER_BMCS ?? 200);
const RUNS = Number(process.env.BENCH_POWER_RUNS ?? 3);
const LATENCIES = (process.env.BENCH_POWER_LATENCIES ?? `${process.env.BENCH_POWER_LATENCY_MS ?? 100},0`).split(',').map(Number);
// Unset: netroot's default (power.parallel 32), as the issue asks. Set: `--parallel N` (a what-if line).
const PARALLEL = process.env.BENCH_POWER_PARALLEL;
/** A folder: the netroot CLI runs under `node --cpu-prof` and writes one profile per run there. */
const CPU_PROF = process.env.BENCH_POWER_CPU_PROF;
const USER = 'admin';
// The emulator's throwaway account (never a real BMC's secret); it reaches the emulator through its
// environment, netroot through the store, curl through a 0600 config file: never argv.
const PASSWORD = `bench-${process.pid}-pw`;
const RUN_TIMEOUT_MS = 15 * 60_000;

interface Node {
  id: string;
  host: string;
  port: number;
}
interface Stats {
  requests: number;
  cycles: number;
  on: number;
}

const work = mkdtempSync(join(tmpdir(), 'nrb-power-'));
const children: import('node:child_process').ChildProcess[] = [];
onExit(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

/** `npm run build`'s TypeScript step: the CLI runs as installed, from dist/. */
function build(): void {
  if (process.env.BENCH_POWER_NO_BUILD === '1') return;
  const t = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
  console.log(`# built dist/ with tsc in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** The emulator child: resolves with its nodes and a `stats()` query. */
async function startBmcs(delayMs: number): Promise<{ nodes: Node[]; stats: () => Promise<Stats>; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/redfish-bmcs-child.ts')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      BENCH_BMC_COUNT: String(COUNT),
      BENCH_BMC_DELAY_MS: String(delayMs),
      BENCH_BMC_DIR: join(work, 'bmc'),
      BENCH_BMC_USER: USER,
      BENCH_BMC_PASSWORD: PASSWORD,
    },
  });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()).length > 1e5 && (err = err.slice(-1e4)));
  const lines = createInterface({ input: child.stdout });
  const waiting: ((l: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const next = (what: string) =>
    new Promise<string>((res, rej) => {
      const onExit = () => rej(new Error(`the BMC emulator exited: ${err.slice(-2000)}`));
      const t = setTimeout(() => rej(new Error(`the BMC emulator did not answer ${what} within 120 s: ${err.slice(-2000)}`)), 120_000);
      waiting.push((l) => {
        clearTimeout(t);
        child.off('exit', onExit);
        res(l);
      });
      child.once('exit', onExit);
    });
  const first = JSON.parse(await next('its start')) as { nodes: Node[] };
  return {
    nodes: first.nodes,
    stats: async () => {
      const p = next('stats');
      child.stdin.write('stats\n');
      return JSON.parse(await p) as Stats;
    },
    stop: async () => {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

/** A state dir with COUNT hosts compute-0-i, each with a Redfish BMC entry for emulator node i. */
async function prepareStore(stateDir: string, nodes: Node[]): Promise<void> {
  const store = openStore(stateDir);
  try {
    for (const [i, n] of nodes.entries()) {
      const name = `compute-0-${i}`;
      if (!(await store.hosts.get(name))) {
        const mac = `52:54:00:b0:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
        await store.hosts.add({ name, appliance: 'compute', rack: 0, rank: i, interfaces: [{ mac, ip: null, subnet: null, device: 'eth0' }] });
      }
      await store.bmcs.set({ host: name, driver: 'redfish', address: n.host, port: n.port, user: USER, secret: PASSWORD, insecureTls: true, systemId: n.id });
    }
  } finally {
    await store.close();
  }
}

/** One `netroot power cycle` of every host: wall seconds and the CLI's peak RSS (MiB). */
async function runNetroot(stateDir: string): Promise<{ s: number; rssMiB: number; cpu: number }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NETROOT_')));
  const prof = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
  const args = [
    '-f',
    '@@peak-rss-kb %M cpu-s %U %S',
    process.execPath,
    ...prof,
    join(ROOT, 'bin/netroot.js'),
    '--state-dir',
    stateDir,
    'power',
    'cycle',
    `compute-0-[0-${COUNT - 1}]`,
  ];
  const t0 = performance.now();
  const r = await new Promise<{ code: number; out: string; err: string }>((res) =>
    execFile('/usr/bin/time', args, { env, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 << 20 }, (e, out, err) =>
      res({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
    ),
  );
  const s = (performance.now() - t0) / 1000;
  const ok = r.out.split('\n').filter((l) => /^compute-0-\d+: on$/.test(l)).length;
  if (r.code !== 0 || ok !== COUNT) throw new Error(`netroot power cycle: exit ${r.code}, ${ok}/${COUNT} on\n${r.out.slice(0, 2000)}\n${r.err.slice(-2000)}`);
  const m = /@@peak-rss-kb (\d+) cpu-s ([\d.]+) ([\d.]+)/.exec(r.err);
  if (!m) throw new Error(`no peak RSS from /usr/bin/time: ${r.err.slice(-500)}`);
  return { s, rssMiB: Number(m[1]) / 1024, cpu: Number(m[2]) + Number(m[3]) };
}

/** CPU seconds (user + system) of this process's reaped children so far (/proc/self/stat cutime, cstime). */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100; // fields 16 and 17 of proc(5), in clock ticks (USER_HZ 100)
}

/** The administrator's loop: one curl per BMC, one after another: wall seconds and the curls' CPU seconds. */
async function runCurlLoop(nodes: Node[], cfg: string): Promise<{ s: number; cpu: number }> {
  const t0 = performance.now();
  const c0 = childCpuSeconds();
  for (const n of nodes) {
    const url = `https://${n.host}:${n.port}/redfish/v1/Systems/${n.id}/Actions/ComputerSystem.Reset`;
    const code = await new Promise<string>((res, rej) =>
      execFile(
        'curl',
        [
          '-sS',
          '-k',
          '-K',
          cfg,
          '-X',
          'POST',
          '-H',
          'Content-Type: application/json',
          '-d',
          '{"ResetType":"PowerCycle"}',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          url,
        ],
        { timeout: 60_000 },
        (e, out, err) => (e ? rej(new Error(`curl ${url}: ${err || e.message}`)) : res(out.trim())),
      ),
    );
    if (code !== '204') throw new Error(`curl ${url}: HTTP ${code}`);
  }
  return { s: (performance.now() - t0) / 1000, cpu: childCpuSeconds() - c0 };
}

async function main(): Promise<void> {
  const curlVersion = spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? 'curl';
  console.log(`# bench:power ${new Date().toISOString()}, node ${process.version}, load average ${load()}`);
  console.log(`# ${COUNT} emulated Redfish BMCs (src/lab/redfish-bmc.ts, own process, one system per listener on 127.0.0.1 ports, self-signed TLS)`);
  console.log(
    `# netroot: one \`netroot power cycle compute-0-[0-${COUNT - 1}]\` (dist/ build, ${PARALLEL ? `--parallel ${PARALLEL}` : 'default settings: power.parallel 32'}), insecure-tls BMC entries with system ids`,
  );
  console.log(
    `# peer: sequential loop, one \`curl -k\` process per BMC: POST Actions/ComputerSystem.Reset {"ResetType":"PowerCycle"}, Basic auth, 1 request, 204 checked (${curlVersion})`,
  );
  console.log(`# ${RUNS} interleaved runs per side and latency, order swapped each run`);
  build();
  const cfg = join(work, 'curl.cfg');
  writeFileSync(cfg, `user = "${USER}:${PASSWORD}"\n`, { mode: 0o600 });
  const stateDir = join(work, 'state');
  const results: string[] = [];
  const rss: number[] = [];
  for (const latency of LATENCIES) {
    const bmcs = await startBmcs(latency);
    try {
      await prepareStore(stateDir, bmcs.nodes);
      await bmcs.stats(); // zero the counters
      const nr: number[] = [];
      const cl: number[] = [];
      const cpu = { netroot: [] as number[], curl: [] as number[] };
      const reqs = { netroot: [] as number[], curl: [] as number[] };
      const check = async (side: 'netroot' | 'curl') => {
        const st = await bmcs.stats();
        if (st.cycles !== COUNT || st.on !== COUNT) throw new Error(`${side}: ${st.cycles} PowerCycles, ${st.on} systems On (want ${COUNT})`);
        reqs[side].push(st.requests / COUNT);
      };
      for (let r = 0; r < RUNS; r++) {
        const order: ('netroot' | 'curl')[] = r % 2 === 0 ? ['netroot', 'curl'] : ['curl', 'netroot'];
        for (const side of order) {
          if (side === 'netroot') {
            const x = await runNetroot(stateDir);
            nr.push(x.s);
            rss.push(x.rssMiB);
            cpu.netroot.push(x.cpu);
            console.log(
              `# latency ${latency} ms run ${r + 1}: netroot ${x.s.toFixed(2)} s, ${x.cpu.toFixed(2)} CPU s, peak RSS ${x.rssMiB.toFixed(1)} MiB (load ${load()})`,
            );
          } else {
            const x = await runCurlLoop(bmcs.nodes, cfg);
            cl.push(x.s);
            cpu.curl.push(x.cpu);
            console.log(`# latency ${latency} ms run ${r + 1}: curl loop ${x.s.toFixed(2)} s, ${x.cpu.toFixed(2)} CPU s (load ${load()})`);
          }
          await check(side);
        }
      }
      const f = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} s`;
      const ratio = median(nr) / median(cl);
      results.push(
        `power cycle of ${COUNT} Redfish BMCs (emulated latency ${latency} ms, median of ${RUNS}, spread netroot ${f(nr)}, curl ${f(cl)}): netroot ${median(nr).toFixed(2)} s, sequential curl loop ${median(cl).toFixed(2)} s, ratio ${ratio.toFixed(3)} (time; lower is better; target ≤ 0.1)`,
      );
      results.push(
        `CPU time of one power cycle of ${COUNT} BMCs (emulated latency ${latency} ms, median of ${RUNS}): netroot ${median(cpu.netroot).toFixed(2)} s, curl loop ${median(cpu.curl).toFixed(2)} s, ratio ${(median(cpu.netroot) / median(cpu.curl)).toFixed(3)} (user + system; lower is better; wall time on a loaded machine follows it)`,
      );
      results.push(
        `# HTTP requests per BMC (emulated latency ${latency} ms): netroot ${[...new Set(reqs.netroot)].join('/')}, curl loop ${[...new Set(reqs.curl)].join('/')}`,
      );
    } finally {
      await bmcs.stop();
    }
  }
  for (const l of results) console.log(l);
  console.log(`netroot power CLI peak RSS: ${Math.max(...rss).toFixed(1)} MiB (highest of ${rss.length} runs; median ${median(rss).toFixed(1)} MiB)`);
  console.log(`# load average at the end: ${load()}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
