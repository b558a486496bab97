// npm run bench:scale — issue #21 part 5: how one frontend fares with 10,000 hosts in its store.
// Needs root (namespaces, the DHCP port) and `npm run build:native`. Prints figures with their
// targets, no peer:
//   frontend RSS after start and after serving                         target ≤ 200 MiB
//   `netroot host list` wall time (a new CLI process, as an operator)  target ≤ 1 s
//   kickstart p99 over BENCH_SCALE_REQUESTS requests, each from the host's own address
//                                                                      target ≤ 20 ms
//   DHCP answer p99 for known hosts (one DORA at a time, PXE ROM)      target ≤ 2 ms
//   insert-ethers throughput: BENCH_SCALE_DISCOVER unknown machines DISCOVER at once while a
//   session is open; no duplicate name, address, MAC or rack/rank after  target ≥ 200 named hosts/s
// Each target line says pass or FAIL after the colon; each backend ends with a line counting the
// targets met.
//
// Setup per store backend: a veth pair (bench/lib/netns.ts), a fresh state dir, BENCH_HOSTS
// (10,000) hosts of appliance `compute` (disked, so each has a kickstart; boot action install)
// written through the store API in one transaction, then `netroot serve` (bench/lib/attack-frontend.ts:
// DHCP on the veth, HTTP 8080) in the server namespace. The client side (DHCP, kickstart, the
// insert-ethers session over the REST API) is bench/lib/scale-client.ts in the client namespace;
// the sampled hosts' addresses are added to its veth so each request comes from its host.
//
// Backends: SQLite always; BENCH_STORE_URL=postgres://… adds a run on that (empty) PostgreSQL
// database. The frontend runs in the server namespace, whose 127.0.0.1 is its own: give a URL it
// can reach, e.g. the server's unix socket (postgres://user@localhost/db?host=/run/postgresql).
//
// Knobs: BENCH_HOSTS (10000), BENCH_SCALE_REQUESTS (1000: kickstarts and known-host DORAs),
// BENCH_SCALE_DISCOVER (1000), BENCH_SCALE_APPLIANCE (compute-diskless: what insert-ethers names the
// new machines; each gets a volume, target and CHAP), BENCH_SCALE_DISCOVER_MAX_S (180: the
// discovery's deadline; the figure is then over the machines named by it), BENCH_RUNS (5: `host list` runs),
// BENCH_SCALE_FROM (source | dist: run netroot from source through tsx, or from dist/ as installed;
// tsx adds its own memory to the RSS), BENCH_STORE_URL, BENCH_LOG_LEVEL (warn), BENCH_SCALE_CPU_PROF
// (a directory: the frontend under `node --cpu-prof`).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { addNodeAddresses, createVethPair } from './lib/netns.js';
import { benchWork } from './lib/work.js';
import { preflight } from './lib/preflight.js';
import { startIn, stop, waitFor, type Child } from './lib/children.js';
import { ChildLines } from './lib/child-lines.js';
import { statusField } from './lib/proc.js';
import { median, quantile, spread } from './lib/stats.js';
import { addInstalledHosts } from './lib/scale-hosts.js';
import { NET, HTTP_PORT, netrootEntry, nodeIp, nodeMac, prepareBootRoot, startFrontend, writeConfig } from './lib/attack-frontend.js';
import { openStoreFromConfig, type Store } from '../src/store/index.js';
import { readApiToken } from '../src/app/api-token.js';
import type { Config } from '../src/config/index.js';

const env = process.env;
const HOSTS = Number(env.BENCH_HOSTS ?? 10_000);
const REQUESTS = Math.min(HOSTS, Number(env.BENCH_SCALE_REQUESTS ?? 1000));
const DISCOVER = Number(env.BENCH_SCALE_DISCOVER ?? 1000);
const APPLIANCE = env.BENCH_SCALE_APPLIANCE ?? 'compute-diskless';
const DISCOVER_MAX_S = Number(env.BENCH_SCALE_DISCOVER_MAX_S ?? 180);
const RUNS = Math.max(1, Number(env.BENCH_RUNS ?? 5));
const FROM = env.BENCH_SCALE_FROM === 'dist' ? 'dist' : 'source';
const LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'warn';
const STORE_URL = env.BENCH_STORE_URL ?? '';
/** A directory: the frontend runs under `node --cpu-prof` and writes its profile there when it stops. */
const CPU_PROF = env.BENCH_SCALE_CPU_PROF ?? '';
const BACKENDS = ['sqlite', ...(STORE_URL ? [STORE_URL] : [])];
/** The known hosts take indexes 0…HOSTS-1 of nodeMac/nodeIp; the unknown machines follow. */
const UNKNOWN_BASE = HOSTS;

if (![HOSTS, REQUESTS, DISCOVER].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('BENCH_HOSTS, BENCH_SCALE_REQUESTS and BENCH_SCALE_DISCOVER are whole numbers ≥ 1');
  process.exit(2);
}
if (HOSTS + DISCOVER > 0xffff) {
  console.error(`at most ${0xffff} hosts and unknown machines together (the bench's MAC plan)`);
  process.exit(2);
}
preflight('bench:scale', { rootFor: 'network namespaces, the DHCP port', tools: ['ip'], packages: 'iproute2' });

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@');
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const mib = (kib: number): string => (kib / 1024).toFixed(0);
/** Each target line says whether this run met it; the backend's last line sums them up. */
const verdicts = new Map<string, Array<{ target: string; met: boolean }>>();
function judge(tag: string, target: string, met: boolean): string {
  const list = verdicts.get(tag) ?? [];
  list.push({ target, met });
  verdicts.set(tag, list);
  return met ? 'pass' : 'FAIL';
}

/**
 * The store the bench writes through and checks, opened as the frontend opens it (SQLite when
 * store.url is empty, PostgreSQL at store.url otherwise).
 */
async function openBenchStore(config: Config): Promise<Store> {
  return openStoreFromConfig(config);
}

/** `store` section of the frontend's configuration for a backend (none for SQLite, the default). */
const storeSection = (backend: string): Record<string, unknown> => (backend === 'sqlite' ? {} : { store: { url: backend } });

const { dir: work, pairs } = benchWork('scale');

console.log(
  `# bench:scale: ${HOSTS} hosts, ${REQUESTS} kickstarts and known-host DORAs, ${DISCOVER} unknown machines; netroot from ${FROM}; backends: ${BACKENDS.map((b) => (b === 'sqlite' ? b : redact(b))).join(', ')}; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
if (!STORE_URL) console.log('# PostgreSQL: not run (BENCH_STORE_URL=postgres://… names an empty database to run on it too)');

/** Every sampled index, spread evenly over the hosts. */
const sample = Array.from({ length: REQUESTS }, (_, k) => Math.floor((k * HOSTS) / REQUESTS));

async function runBackend(backend: string, tag: string): Promise<void> {
  const dir = join(work, backend === 'sqlite' ? 'sqlite' : 'postgres');
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const veth = createVethPair({ prefix: 'nrb-scale', clientAddr: NET.client, serverAddr: NET.server, prefixLen: NET.prefixLen });
  pairs.add(veth);
  let frontend: Child | null = null;
  let client: Child | null = null;
  try {
    addNodeAddresses(veth, sample.map(nodeIp), NET.prefixLen);
    const bootRoot = join(dir, 'boot');
    prepareBootRoot(bootRoot, { kernelMiB: 1, initrdMiB: 1 });
    const configFile = join(dir, 'netroot.yaml');
    const config = writeConfig(configFile, stateDir, bootRoot, veth.serverIf, LOG_LEVEL, storeSection(backend));

    // ---- the hosts, through the store API in one transaction ----
    const store = await openBenchStore(config);
    let t = performance.now();
    try {
      await addInstalledHosts(store, HOSTS, { mac: nodeMac, ip: nodeIp, subnet: NET.network });
    } finally {
      await store.close();
    }
    console.log(`scale ${tag} ${HOSTS} hosts written through the store API in one transaction: ${f1((performance.now() - t) / 1000)} s`);

    // ---- frontend RSS after start ----
    frontend = await startFrontend(veth.serverNs, stateDir, configFile, CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [], FROM);
    const pid = frontend.proc.pid!;
    const rssStart = statusField(pid, 'VmRSS');
    console.log(
      `scale ${tag} frontend RSS after start: ${judge(tag, 'RSS after start', rssStart <= 200 * 1024)} ${mib(rssStart)} MiB (target ≤ 200 MiB; netroot serve from ${FROM}, ${HOSTS} hosts)`,
    );

    // ---- netroot host list ----
    const listTimes: number[] = [];
    let lines = 0;
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      const out = spawnSync(
        'ip',
        ['netns', 'exec', veth.serverNs, process.execPath, ...netrootEntry(FROM), '--state-dir', stateDir, '--config', configFile, 'host', 'list'],
        {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
          timeout: 120_000,
        },
      );
      listTimes.push((performance.now() - t) / 1000);
      if (out.status !== 0) throw new Error(`netroot host list: exit ${out.status}: ${out.stderr.slice(0, 500)}`);
      lines = out.stdout.split('\n').filter((l) => /^compute-/.test(l)).length;
    }
    console.log(
      `scale ${tag} netroot host list wall time (median of ${RUNS}, spread ${spread(listTimes, f2)} s): ${judge(tag, 'host list', median(listTimes) <= 1 && lines >= HOSTS)} ${f2(median(listTimes))} s (target ≤ 1 s; a new CLI process from ${FROM}, ${lines} host lines)`,
    );
    if (lines < HOSTS) console.log(`    host list printed ${lines} host lines, not ${HOSTS}`);

    // ---- the client namespace's side ----
    client = startIn(veth.clientNs, process.execPath, ['--import', 'tsx', 'bench/lib/scale-client.ts', veth.clientIf], {
      cwd: process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const cl = new ChildLines(client);
    if (!(await cl.next(['scale client ready'], 60_000))) throw new Error(`the scale client did not start:\n${client.output()}`);
    const ask = async <T>(cmd: string, arg: unknown, ms: number): Promise<T> => {
      cl.send(`${cmd} ${JSON.stringify(arg)}`);
      const r = await cl.next(['result ', 'error '], ms);
      if (r?.[0] === 'result ') return JSON.parse(r[1]) as T;
      throw new Error(
        r ? `scale client ${cmd}: ${JSON.parse(r[1]) as string}` : `scale client ${cmd}: no answer in ${ms / 1000} s:\n${client!.output().slice(-2000)}`,
      );
    };
    const base = `http://${NET.server}:${HTTP_PORT}`;

    // ---- kickstart ----
    const ks = await ask<{ ms: number[]; bytes: number; failures: string[] }>(
      'kickstart',
      { base, hosts: sample.map((i) => ({ name: `compute-${1 + Math.floor(i / 250)}-${i % 250}`, ip: nodeIp(i) })) },
      600_000,
    );
    console.log(
      `scale ${tag} kickstart p99 over ${ks.ms.length} requests (one at a time, each from its host's address): ${judge(tag, 'kickstart p99', quantile(ks.ms, 0.99) <= 20 && ks.failures.length === 0)} ${f1(quantile(ks.ms, 0.99))} ms, p50 ${f1(quantile(ks.ms, 0.5))} ms (target p99 ≤ 20 ms; ${f1(ks.bytes / Math.max(1, ks.ms.length) / 1024)} KiB each)`,
    );
    if (ks.failures.length) console.log(`    ${ks.failures.length} failed, e.g. ${ks.failures.slice(0, 3).join('; ')}`);

    // ---- DHCP answers for known hosts ----
    const dh = await ask<{ offerMs: number[]; ackMs: number[]; failures: string[] }>(
      'dhcp',
      { macs: sample.map((i) => nodeMac(i)), ips: sample.map((i) => nodeIp(i)) },
      REQUESTS * 70_000,
    );
    console.log(
      `scale ${tag} DHCP answer p99 for known hosts (${dh.offerMs.length} PXE DORAs, one at a time): ${judge(tag, 'DHCP p99', Math.max(quantile(dh.offerMs, 0.99), quantile(dh.ackMs, 0.99)) <= 2 && dh.offerMs.length === REQUESTS)} DISCOVER→OFFER ${f2(quantile(dh.offerMs, 0.99))} ms, REQUEST→ACK ${f2(quantile(dh.ackMs, 0.99))} ms; p50 ${f2(quantile(dh.offerMs, 0.5))} / ${f2(quantile(dh.ackMs, 0.5))} ms (target p99 ≤ 2 ms)`,
    );
    if (dh.failures.length) console.log(`    ${dh.failures.length} not clean, e.g. ${dh.failures.slice(0, 3).join('; ')}`);

    // ---- insert-ethers: DISCOVER unknown machines at once ----
    const token = readApiToken(config);
    if (!token) throw new Error('the frontend wrote no API token');
    const unknown = Array.from({ length: DISCOVER }, (_, k) => nodeMac(UNKNOWN_BASE + k));
    const ie = await ask<{ seconds: number; named: number; errors: string[] }>(
      'discover',
      { base, token, appliance: APPLIANCE, macs: unknown, maxSeconds: DISCOVER_MAX_S },
      (DISCOVER_MAX_S + 120) * 1000,
    );
    const check = await duplicates(config, unknown);
    const timedOut = ie.named < DISCOVER ? `, gave up after ${DISCOVER_MAX_S} s with ${DISCOVER - ie.named} not named` : '';
    console.log(
      `scale ${tag} insert-ethers throughput, ${DISCOVER} unknown machines DISCOVER at once (appliance ${APPLIANCE}): ${judge(tag, 'insert-ethers', ie.named / ie.seconds >= 200 && ie.named === DISCOVER && !check.startsWith('DUPLICATES'))} ${f1(ie.named / ie.seconds)} named hosts/s (${ie.named} in ${f2(ie.seconds)} s${timedOut}; target ≥ 200/s); ${check}`,
    );
    if (ie.errors.length) console.log(`    session errors: ${ie.errors.join('; ')}`);

    // ---- frontend RSS after serving ----
    const peak = statusField(pid, 'VmHWM');
    console.log(
      `scale ${tag} frontend RSS after serving: ${judge(tag, 'RSS after serving (peak)', peak <= 200 * 1024)} ${mib(statusField(pid, 'VmRSS'))} MiB, peak ${mib(peak)} MiB (target ≤ 200 MiB; ${HOSTS} hosts and the discovered ones)`,
    );
    cl.send('exit');
    await waitFor(client, 10_000);
  } finally {
    if (client) await stop(client);
    if (frontend) await stop(frontend, 10_000);
    veth.destroy();
  }
}

/**
 * After discovery, read back from the store (not taken from the session): no two hosts share a
 * name, an address, a MAC or a basename/rack/rank, and how many of the discovered MACs have a host.
 */
async function duplicates(config: Config, macs: string[]): Promise<string> {
  const store = await openBenchStore(config);
  try {
    const hosts = await store.hosts.list();
    const dup = (what: string, keys: string[]): string | null => {
      const seen = new Set<string>();
      for (const k of keys) {
        if (seen.has(k)) return `${what} ${k} twice`;
        seen.add(k);
      }
      return null;
    };
    const ifaces = hosts.flatMap((h) => h.interfaces);
    const problems = [
      dup(
        'name',
        hosts.map((h) => h.name),
      ),
      dup(
        'MAC',
        ifaces.map((i) => i.mac),
      ),
      dup(
        'address',
        ifaces.map((i) => i.ip).filter((x): x is string => x !== null),
      ),
      dup(
        'rack/rank',
        hosts.map((h) => `${h.name.replace(/-\d+-\d+$/, '')}/${h.rack}/${h.rank}`),
      ),
    ].filter((x): x is string => x !== null);
    const byMac = new Set(ifaces.map((i) => i.mac));
    const named = macs.filter((m) => byMac.has(m)).length;
    return `${problems.length ? `DUPLICATES: ${problems.join('; ')}` : 'no duplicate name, address, MAC or rack/rank'} among ${hosts.length} hosts in the store; ${named} of the ${macs.length} discovered MACs have a host there`;
  } finally {
    await store.close();
  }
}

for (const backend of BACKENDS) {
  const tag = `[${backend === 'sqlite' ? 'sqlite' : 'postgres'}]`;
  try {
    await runBackend(backend, tag);
  } catch (e) {
    const why = (e as Error).message.replace(/\s*\n\s*/g, ' ').slice(0, 400);
    console.log(`scale ${tag}: not run: ${why}`);
  }
  const v = verdicts.get(tag) ?? [];
  const failed = v.filter((x) => !x.met).map((x) => x.target);
  const unmeasured = 6 - v.length;
  console.log(
    `scale ${tag} targets: ${v.length - failed.length} of 6 met${failed.length ? `; not met: ${failed.join(', ')}` : ''}${unmeasured ? `; ${unmeasured} not measured` : ''}`,
  );
}
process.exit(0);
