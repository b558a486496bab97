// npm run bench:dhcp — DHCPv4 DORA throughput and ACK latency: netroot's DhcpServer against Kea
// (multi-threaded, persistent memfile: the main peer), Kea as shipped (one thread) and dnsmasq, in
// one run, through the same veth pair. Needs root. Not a test.
//
// Load: perfdhcp 2.2 in a client namespace as a relay (giaddr = its address), MACs numbered
// sequentially over a range of 500,000 (-R); a trial of S seconds at rate R makes about R × S
// clients, each a different MAC, and the bench prints how many were actually served. Every trial
// starts its server afresh in the server namespace with an empty lease database, on the same pool
// (524,269 addresses of the relay's /13).
//
// Peers, each at the configuration named here (printed again at the start of every run):
// - netroot: bench/lib/netroot-dhcp-server.ts, production settings: SO_BINDTODEVICE, no known
//   hosts, the pool, the durable lease journal (src/dhcp/lease-journal.ts: every ACK waits for an
//   fdatasync(2) that began after its lease record was written; group commit, one sync in flight).
// - kea-mt (main peer): Kea 2.2 kea-dhcp4, "multi-threading": {"enable-multi-threading": true,
//   "thread-pool-size": 2, "packet-queue-size": 14}, memfile "persist": true in the trial's temp
//   dir, "lfc-interval": 0 (no lease-file cleanup during a trial), UDP sockets (the ARM's advice
//   for relayed traffic). Kea 2.2 ARM, "Multi-Threading Settings With Different Database
//   Backends": ISC's best memfile results were thread-pool-size 4 and packet-queue-size
//   7 × threads; the pool here is sized to this machine's 2 cores (0 = auto-detect gives the same),
//   the queue at the ARM's 7 × threads (BENCH_DHCP_KEA_THREADS / BENCH_DHCP_KEA_QUEUE change both).
//   Durability: memfile writes each lease change to its CSV file with one write(2)
//   (CSVFile::append, std::endl) and never fsyncs — a lease survives a crash of the process, not
//   of the machine. That is Kea's best documented memfile setup; it has no fsync option.
// - kea-1t (as shipped): the same file with no "multi-threading" map (Kea 2.2's default is off,
//   one thread), memfile persist true (the default), same interface, pool and lease file.
// - dnsmasq 2.90: --port=0 (DHCP only), --no-ping, --quiet-dhcp, the pool with 1 h leases, a lease
//   file, --dhcp-lease-max above the clients, bound to the veth. Durability: after each packet that
//   changed a lease it rewrites its whole lease file and fsync(2)s it (lease_update_file) before
//   the reply goes out.
//
// Method:
// 1. Maximum rate: the highest offered rate with < 1 % of DISCOVERs not ending in an ACK (the pass
//    criterion), searched BENCH_DHCP_RUNS times (default 5) per server. In each run the servers
//    take turns trial by trial (round-robin, order reversed every other run), so load from other
//    work on the machine falls on all of them alike. Run 1 doubles from BENCH_DHCP_START until a
//    trial fails, then bisects; later runs start at the median of the earlier runs and step by
//    ×1.25 up or down until a pass and a fail bracket the maximum, then bisect. A run stops when
//    the lowest fail is within 12 % of the highest pass. Prints the median of the runs' maxima
//    with their spread (min–max), and how many distinct clients a trial at that rate served.
// 2. Latency: at 50 % and 80 % of each server's median maximum, BENCH_DHCP_RUNS interleaved
//    trials per server and level under `perfdhcp -x t`; each trial's REQUEST→ACK delay p50 and
//    p99 (nearest rank over every ACKed exchange); the lines give the median over the trials and
//    the spread. The delay is measured by perfdhcp's receive thread, so it includes perfdhcp's own
//    scheduling on a loaded machine.
//
// Knobs (environment): BENCH_DHCP_RUNS (5), BENCH_DHCP_SECONDS (trial length, 5),
// BENCH_DHCP_SERVERS (comma list of netroot,kea-mt,kea-1t,dnsmasq; default all), BENCH_DHCP_START
// (run 1's first rate, 500), BENCH_DHCP_MAX (e.g. netroot=5000,kea-mt=5500: skip step 1 and use
// these maxima), BENCH_DHCP_RATE (one trial per server at this rate, with latency, instead of the
// method), BENCH_DHCP_KEA_THREADS (2), BENCH_DHCP_KEA_QUEUE (7 × threads), BENCH_DHCP_PROF (a
// directory: netroot runs under --cpu-prof writing profiles there), BENCH_DHCP_UDPSTATS=1 (UDP
// counters of both namespaces after each trial: whose buffer dropped), BENCH_DHCP_TIMELINE=1 (each
// latency trial's ACK delay p99/max per 0.5 s window: warm-up or periodic stalls), BENCH_DHCP_SYNC_TIMES=1
// (netroot times each journal fdatasync and its event-loop delay; printed after each trial).
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createVethPair, onExit } from './lib/netns.js';
import { startIn, stop, waitUntil, killAll, type Child } from './lib/children.js';
import { runPerfdhcp, percentile, ackTimeline, type PerfdhcpResult } from './lib/perfdhcp.js';

const RUNS = Number(process.env.BENCH_DHCP_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_DHCP_SECONDS ?? 5);
const START_RATE = Number(process.env.BENCH_DHCP_START ?? 500);
const FIXED_RATE = Number(process.env.BENCH_DHCP_RATE ?? 0);
const PROF = process.env.BENCH_DHCP_PROF ? resolve(process.env.BENCH_DHCP_PROF) : null;
const KEA_THREADS = Number(process.env.BENCH_DHCP_KEA_THREADS ?? 2);
const KEA_QUEUE = Number(process.env.BENCH_DHCP_KEA_QUEUE ?? 7 * KEA_THREADS);
const CLIENTS = 500_000;
const MAX_DROP = 1; // percent
const RESOLUTION = 1.12; // a search stops when the lowest fail is within 12 % of the highest pass
const FIRST_RUN_TRIALS = 14; // bounds run 1's search (doubling from START_RATE)
const LATER_RUN_TRIALS = 8;
const LATER_STEP = 1.25;
const LEVELS = [0.5, 0.8]; // latency at these shares of each server's maximum rate
const READY_MS = 20_000;
// Every trial's server, whichever it is, first serves WARMUP_S seconds of DORAs at WARMUP_RATE from
// clients of another MAC base (not counted; their leases stay): the measured seconds are a running
// server's, not a fresh process's first thousand packets (netroot's JIT compiles then: ~5× the CPU
// per DORA for about 1,000 DORAs). 0 turns it off.
const WARMUP_S = Number(process.env.BENCH_DHCP_WARMUP_S ?? 2);
const WARMUP_RATE = 1000;
const WARMUP_MAC_BASE = '02:77:00:00:00:00';

// One /13 shared by relay and server: 524,288 addresses, the pool holds 524,269 of them.
const NET = {
  clientAddr: '10.32.0.2',
  serverAddr: '10.32.0.1',
  prefixLen: 13,
  mask: '255.248.0.0',
  poolStart: '10.32.0.10',
  poolEnd: '10.39.255.250',
  subnet: '10.32.0.0/13',
};

if (process.getuid?.() !== 0) {
  console.error('bench:dhcp needs root (network namespaces, port 67)');
  process.exit(2);
}
for (const bin of ['perfdhcp', 'dnsmasq', 'kea-dhcp4']) {
  if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
    console.error(`bench:dhcp needs ${bin} (Debian packages kea-admin, dnsmasq-base, kea-dhcp4-server)`);
    process.exit(2);
  }
}
for (const [k, v] of Object.entries({ RUNS, SECONDS, START_RATE, KEA_THREADS, KEA_QUEUE }))
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench:dhcp: ${k} must be a positive integer (got ${v})`);
    process.exit(2);
  }

const work = mkdtempSync(join(tmpdir(), 'nrt-bench-dhcp-'));
let pair: ReturnType<typeof createVethPair> | null = null;
onExit(() => {
  killAll();
  pair?.destroy();
  rmSync(work, { recursive: true, force: true });
});
pair = createVethPair({ prefix: 'nrb-dhcp', ...NET });
const veth = pair;

interface ServerDef {
  name: string;
  /** The configuration, as printed at the start of the run. */
  config: string;
  start(dir: string): Child;
}

/** Kea's configuration file for one trial; `mt`: the multi-threading map of the main peer. */
function keaConfig(dir: string, mt: boolean): object {
  return {
    Dhcp4: {
      'interfaces-config': { interfaces: [`${veth.serverIf}/${NET.serverAddr}`], 'dhcp-socket-type': 'udp' },
      'lease-database': { type: 'memfile', persist: true, name: join(dir, 'kea-leases4.csv'), 'lfc-interval': 0 },
      ...(mt ? { 'multi-threading': { 'enable-multi-threading': true, 'thread-pool-size': KEA_THREADS, 'packet-queue-size': KEA_QUEUE } } : {}),
      'valid-lifetime': 3600,
      subnet4: [{ subnet: NET.subnet, pools: [{ pool: `${NET.poolStart} - ${NET.poolEnd}` }] }],
      loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
    },
  };
}

function startKea(dir: string, mt: boolean): Child {
  const conf = join(dir, 'kea.json');
  writeFileSync(conf, JSON.stringify(keaConfig(dir, mt)));
  mkdirSync('/run/kea', { recursive: true }); // Kea 2.2 insists on it existing
  return startIn(veth.serverNs, 'kea-dhcp4', ['-c', conf], { env: { ...process.env, KEA_LOCKFILE_DIR: dir, KEA_PIDFILE_DIR: dir } });
}

const dnsmasqArgs = (dir: string): string[] => [
  '--keep-in-foreground',
  '--no-daemon',
  '--conf-file=/dev/null',
  '--port=0',
  '--no-ping',
  '--quiet-dhcp',
  `--dhcp-range=${NET.poolStart},${NET.poolEnd},${NET.mask},1h`,
  `--dhcp-leasefile=${join(dir, 'leases')}`,
  `--dhcp-lease-max=${CLIENTS + 100_000}`,
  `--interface=${veth.serverIf}`,
  '--bind-interfaces',
  `--pid-file=${join(dir, 'pid')}`,
];

const servers: ServerDef[] = [
  {
    name: 'netroot',
    config:
      'DhcpServer (bench/lib/netroot-dhcp-server.ts): SO_BINDTODEVICE, no known hosts, pool, 1 h leases, durable lease journal: ' +
      'each ACK waits for an fdatasync begun after its lease record was written (group commit, one sync in flight)',
    start: (dir) =>
      startIn(
        veth.serverNs,
        process.execPath,
        [
          ...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []),
          '--import',
          'tsx',
          'bench/lib/netroot-dhcp-server.ts',
          veth.serverIf,
          NET.serverAddr,
          NET.poolStart,
          NET.poolEnd,
          NET.mask,
          join(dir, 'leases'),
        ],
        { cwd: process.cwd() },
      ),
  },
  {
    name: 'kea-mt',
    config:
      `Kea 2.2, multi-threaded (main peer): ${JSON.stringify(keaConfig('<trial dir>', true))}; ` +
      'memfile writes each lease with one write(2), no fsync (Kea has no fsync option)',
    start: (dir) => startKea(dir, true),
  },
  {
    name: 'kea-1t',
    config: `Kea 2.2 as shipped (multi-threading off = 1 thread, the 2.2 default; memfile persist, the default): ${JSON.stringify(keaConfig('<trial dir>', false))}`,
    start: (dir) => startKea(dir, false),
  },
  {
    name: 'dnsmasq',
    config: `dnsmasq ${dnsmasqVersion()}: ${dnsmasqArgs('<trial dir>').join(' ')}; rewrites and fsyncs its whole lease file after each packet that changed a lease, before replying`,
    start: (dir) => startIn(veth.serverNs, 'dnsmasq', dnsmasqArgs(dir)),
  },
];

function dnsmasqVersion(): string {
  const r = spawnSync('dnsmasq', ['--version'], { encoding: 'utf8' });
  return /version (\S+)/.exec(r.stdout ?? '')?.[1] ?? '?';
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function listening67(): boolean {
  const r = spawnSync('ip', ['netns', 'exec', veth.serverNs, 'ss', '-Huln', 'sport = :67'], { encoding: 'utf8' });
  return (r.stdout ?? '').trim() !== '';
}

let trialNo = 0;
async function trial(def: ServerDef, rate: number, withLatency: boolean): Promise<PerfdhcpResult> {
  const n = trialNo++;
  const dir = join(work, `${def.name}-${n}`);
  mkdirSync(dir);
  const child = def.start(dir);
  try {
    await waitUntil(child, def.name, listening67, READY_MS);
    if (WARMUP_S > 0)
      await runPerfdhcp({
        ns: veth.clientNs,
        relayAddr: NET.clientAddr,
        serverAddr: NET.serverAddr,
        rate: WARMUP_RATE,
        clients: WARMUP_RATE * WARMUP_S,
        seconds: WARMUP_S,
        macBase: WARMUP_MAC_BASE,
      });
    const r = await runPerfdhcp({
      ns: veth.clientNs,
      relayAddr: NET.clientAddr,
      serverAddr: NET.serverAddr,
      rate,
      clients: CLIENTS,
      seconds: SECONDS,
      seed: n + 1,
      timestamps: withLatency,
      outFile: join(work, `perfdhcp-${n}.out`),
    });
    const lat = r.ackDelaysMs
      ? `, ACK delay p50 ${ms(percentile(r.ackDelaysMs, 50))} p99 ${ms(percentile(r.ackDelaysMs, 99))} ms` +
        (r.ackDelaysMs.length === r.acksReceived ? '' : ` (${r.ackDelaysMs.length} timestamps for ${r.acksReceived} ACKs)`)
      : '';
    console.log(
      `  ${def.name} offered ${rate}/s: ${r.rate.toFixed(0)} DORA/s, drops ${r.dropPercent.toFixed(2)} % ${r.dropPercent < MAX_DROP ? 'pass' : 'FAIL'} (discover ${r.discoversSent}, offer ${r.offersReceived}, request ${r.requestsSent}, ack ${r.acksReceived}, mean ack delay ${r.ackDelayMs.toFixed(1)} ms${lat})`,
    );
    if (process.env.BENCH_DHCP_TIMELINE && r.ackStamps)
      console.log(
        `  ${def.name} ACK delay by 0.5 s of the trial (from its first REQUEST; window: ACKs p99/max ms): ` +
          ackTimeline(r.ackStamps, 0.5)
            .map(([t, n, p99, max]) => `${t.toFixed(1)} s: ${n} ${ms(p99)}/${ms(max)}`)
            .join(', '),
      );
    if (process.env.BENCH_DHCP_UDPSTATS)
      for (const ns of [veth.serverNs, veth.clientNs])
        console.log(
          ns,
          spawnSync('ip', ['netns', 'exec', ns, 'nstat', '-az', 'UdpInErrors', 'UdpRcvbufErrors', 'UdpInDatagrams', 'UdpOutDatagrams', 'UdpSndbufErrors'], {
            encoding: 'utf8',
          }).stdout,
        );
    return r;
  } finally {
    await stop(child);
    if (process.env.BENCH_DHCP_SYNC_TIMES)
      for (const line of child.output().split('\n')) if (line.startsWith('sync-times ')) console.log(`  ${def.name} ${line}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

function ms(v: number): string {
  return Number.isNaN(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function spread(xs: readonly number[], f: (v: number) => string): string {
  return xs.length === 0 ? 'none' : `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
}

/**
 * One run's search for a server's highest offered rate with < MAX_DROP % drops. Without an
 * estimate: double from START_RATE until a trial fails, then bisect. With one: start there, step
 * ×LATER_STEP up (after a pass) or down (after a fail) until a pass and a fail bracket the
 * maximum, then bisect. Stops when fail/pass ≤ RESOLUTION or after its trial budget. A failed trial
 * counts at once: the median over runs, not a retry, absorbs a stall of the shared machine.
 */
class RateSearch {
  best: PerfdhcpResult | null = null;
  private failRate = Infinity;
  private trials = 0;
  next: number | null;
  private readonly step: number;
  private readonly budget: number;
  constructor(
    readonly def: ServerDef,
    estimate: number | null,
  ) {
    this.next = estimate ? Math.round(estimate) : START_RATE;
    this.step = estimate ? LATER_STEP : 2;
    this.budget = estimate ? LATER_RUN_TRIALS : FIRST_RUN_TRIALS;
  }
  /** The highest passing offered rate (0 when nothing passed). */
  get max(): number {
    return this.best?.offered ?? 0;
  }
  record(r: PerfdhcpResult): void {
    this.trials++;
    if (r.dropPercent < MAX_DROP) {
      if (!this.best || r.offered > this.best.offered) this.best = r;
    } else this.failRate = Math.min(this.failRate, r.offered);
    let rate: number | null;
    if (this.trials >= this.budget) rate = null;
    else if (!this.best) rate = Math.floor(this.failRate / this.step);
    else if (this.failRate === Infinity) rate = Math.round(this.best.offered * this.step);
    else if (this.failRate / this.best.offered <= RESOLUTION) rate = null;
    else rate = Math.round((this.best.offered + this.failRate) / 2);
    this.next = rate !== null && rate >= 50 ? rate : null;
  }
}

const wanted = (process.env.BENCH_DHCP_SERVERS ?? 'netroot,kea-mt,kea-1t,dnsmasq').split(',');
const active = servers.filter((s) => wanted.includes(s.name));
const orderFor = (run: number): ServerDef[] => (run % 2 === 0 ? active : [...active].reverse());

console.log(`bench:dhcp ${new Date().toISOString()}, load average ${loadavg()} (1/5/15 min; 2 shared cores: other work moves these figures)`);
console.log(
  `perfdhcp 2.2 as a relay, ${SECONDS} s trials, client MAC range ${CLIENTS.toLocaleString('en-US')} (-R), pass = < ${MAX_DROP} % of DISCOVERs without an ACK; ` +
    (WARMUP_S > 0
      ? `every trial's server first serves ${WARMUP_S} s at ${WARMUP_RATE}/s from clients of MAC base ${WARMUP_MAC_BASE} (not counted; BENCH_DHCP_WARMUP_S=0: none)`
      : 'no warm-up (BENCH_DHCP_WARMUP_S=0): each trial measures a fresh server from its first packet'),
);
console.log('peers:');
for (const s of active) console.log(`  ${s.name}: ${s.config}`);

if (FIXED_RATE) {
  for (const s of active) await trial(s, FIXED_RATE, true);
  process.exit(0);
}

// 1. Maximum rate: RUNS searches per server, interleaved.
const maxima = new Map<string, number[]>(active.map((s) => [s.name, []]));
const servedAtMax = new Map<string, number[]>(active.map((s) => [s.name, []]));
const given = process.env.BENCH_DHCP_MAX;
if (given) {
  for (const kv of given.split(',')) {
    const [name, v] = kv.split('=');
    if (name && maxima.has(name) && Number(v) > 0) maxima.get(name)!.push(Number(v));
  }
  console.log(`maximum rates given (BENCH_DHCP_MAX), step 1 skipped: ${given}`);
} else {
  for (let run = 0; run < RUNS; run++) {
    console.log(`max-rate run ${run + 1}/${RUNS} (load average ${loadavg()}):`);
    const searches = orderFor(run).map((d) => {
      const earlier = maxima.get(d.name)!;
      return new RateSearch(d, earlier.length ? median(earlier) : null);
    });
    while (searches.some((s) => s.next !== null)) for (const s of searches) if (s.next !== null) s.record(await trial(s.def, s.next, false));
    for (const s of searches) {
      maxima.get(s.def.name)!.push(s.max);
      if (s.best) servedAtMax.get(s.def.name)!.push(s.best.acksReceived);
      console.log(`  → ${s.def.name} run ${run + 1} maximum: ${s.max}/s`);
    }
  }
}

// 2. Latency at 50 % and 80 % of each server's median maximum.
const latency = new Map<string, { p50: number[]; p99: number[]; drops: number[] }>();
const maxOf = (name: string): number => median(maxima.get(name) ?? []);
for (let run = 0; run < RUNS; run++) {
  console.log(`latency run ${run + 1}/${RUNS} (load average ${loadavg()}):`);
  for (const level of LEVELS)
    for (const s of orderFor(run)) {
      const max = maxOf(s.name);
      if (!(max > 0)) continue;
      const r = await trial(s, Math.max(1, Math.round(max * level)), true);
      const key = `${s.name}@${level}`;
      const l = latency.get(key) ?? { p50: [], p99: [], drops: [] };
      l.p50.push(percentile(r.ackDelaysMs ?? [], 50));
      l.p99.push(percentile(r.ackDelaysMs ?? [], 99));
      l.drops.push(r.dropPercent);
      latency.set(key, l);
    }
}

// Results.
console.log(`results (load average ${loadavg()}; figures from a shared 2-core machine: noisy):`);
const rate = (v: number): string => `${Math.round(v)}/s`;
const rateSpread = (xs: readonly number[]): string => `${spread(xs, (v) => String(Math.round(v)))}/s`;
const peers = active.filter((s) => s.name !== 'netroot').map((s) => s.name);
const hasNetroot = active.some((s) => s.name === 'netroot');
const nrMax = maxima.get('netroot') ?? [];
const maxLine = (peer: string): void => {
  const p = maxima.get(peer)!;
  const n = Math.min(nrMax.length, p.length);
  const ratio = maxOf('netroot') > 0 && maxOf(peer) > 0 ? (maxOf('netroot') / maxOf(peer)).toFixed(2) : 'n/a';
  console.log(
    `dhcp DORA/s (< ${MAX_DROP} % drops; median of ${n}, spread netroot ${rateSpread(nrMax)}, ${peer} ${rateSpread(p)}): netroot ${rate(maxOf('netroot'))}, ${peer} ${rate(maxOf(peer))}, ratio ${ratio} (higher is better)`,
  );
};
if (given) console.log('(no DORA/s lines: the maxima were given, not measured)');
else if (hasNetroot) for (const p of peers) maxLine(p);
else
  for (const s of active)
    console.log(
      `dhcp DORA/s (< ${MAX_DROP} % drops; median of ${maxima.get(s.name)!.length}, spread ${rateSpread(maxima.get(s.name)!)}): ${s.name} ${rate(maxOf(s.name))} (no netroot in this run)`,
    );
if (!given)
  console.log(
    `clients served by one ${SECONDS} s trial at the maximum (median of the runs' best trials; each ACK a different MAC, a trial serves about rate × ${SECONDS} s clients, not ${CLIENTS.toLocaleString('en-US')}): ` +
      active.map((s) => `${s.name} ${Math.round(median(servedAtMax.get(s.name)!)).toLocaleString('en-US')}`).join(', '),
  );
for (const level of LEVELS)
  for (const q of ['p50', 'p99'] as const) {
    const pct = `${Math.round(level * 100)} %`;
    const of = (name: string): { p50: number[]; p99: number[]; drops: number[] } | undefined => latency.get(`${name}@${level}`);
    const at = (name: string): string => `${name} ${rate(maxOf(name) * level)}`;
    if (hasNetroot) {
      const nr = of('netroot');
      for (const peer of peers) {
        const p = of(peer);
        if (!nr || !p) continue;
        const a = median(nr[q]);
        const b = median(p[q]);
        console.log(
          `dhcp ACK delay ${q} at ${pct} of each server's maximum (${at('netroot')}, ${at(peer)}; median of ${Math.min(nr[q].length, p[q].length)}, spread netroot ${spread(nr[q], ms)} ms, ${peer} ${spread(p[q], ms)} ms; median drops netroot ${median(nr.drops).toFixed(2)} %, ${peer} ${median(p.drops).toFixed(2)} %): netroot ${ms(a)} ms, ${peer} ${ms(b)} ms, ratio ${(a / b).toFixed(2)} (lower is better)`,
        );
      }
    } else
      for (const s of active) {
        const l = of(s.name);
        if (l)
          console.log(
            `dhcp ACK delay ${q} at ${pct} of maximum (${at(s.name)}; median of ${l[q].length}, spread ${spread(l[q], ms)} ms): ${s.name} ${ms(median(l[q]))} ms`,
          );
      }
  }
