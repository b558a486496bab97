// npm run bench:golden — issue #20's performance section: golden clones against installing each
// node, in one run. Needs root (namespaces, taps, tgtd), QEMU and what bench:iscsi and bench:rbd
// need for their parts. Never in CI; on a shared machine the figures are noise.
//
// 1. Lab (BENCH_GOLDEN_PARTS has `lab`): one FullLab (src/lab/full.ts: real busybox QEMU nodes,
//    `netroot serve` from source with the embedded target, the real CLI). Node 0 installs and is
//    frozen as golden volume `bench-golden` (`netroot golden create --from`, as `lab up --golden`).
//    Then, for each N of BENCH_GOLDEN_NODES (4,16), both ways, the order swapped every other round:
//    - install each: attribute golden unset on compute-diskless; N nodes added by MAC (`insert-ethers
//      --mac`: empty volume, boot install), each installs (power-on → installer's reboot) and boots
//      diskless (power-on → `netroot-root: booted`);
//    - clones: `golden=bench-golden` on compute-diskless; N nodes added by MAC (each gets a clone and
//      boot os: no install), each boots (power-on → `netroot-root: booted`, personalised at first boot).
//    Provisioning N nodes = wall time from the first `insert-ethers --mac` of a wave to the last node
//    of the wave at its root, summed over the waves: BENCH_GOLDEN_WAVE (4) nodes at a time in
//    parallel, BENCH_GOLDEN_MEMORY_MB (512) each — 16 TCG guests at once do not fit 2 cores. Both
//    ways run in the same waves; the lines say how. Fresh nodes (MACs) every time.
//    Then, for the largest N:
//    - disk (each round): allocated blocks (du) of the N clones (delta + allocation map + record)
//      and the golden file once, against the N installed volumes, after their boots;
//    - boot storm (the last round's nodes, all off) (bench/lib/golden-storm-client.ts, in the lab namespace, every node from its own
//      address with its CHAP, all at once): login + first MiB, then the rest of the boot — the data
//      the install wrote (golden file for the clones, each volume for the full copies: the 64 KiB
//      pieces that are not all zeros) — against the N clones and the N installed volumes (each a
//      full copy of its own install). Page cache of every file involved dropped before each run
//      (cold, as after a restart; BENCH_STORM_CACHE=warm keeps it). BENCH_STORM_RUNS (5) runs each,
//      interleaved.
// 2. `iscsi`: bench:iscsi's lines with ISCSI_VOLUME=clone (bench/iscsi.bench.ts as a child:
//    the embedded target serving a clone against a plain volume; target ≥ 0.9×). Its knobs pass
//    through (ROUNDS, PERF_SECONDS, LAT_SECONDS, VERIFY_BLOCKS, ONLY).
// 3. `rbd`: bench:rbd (bench/rbd.bench.ts as a child: tgt + rbd against tgt + file); ROUNDS and
//    PERF_SECONDS pass through.
//
// Knobs: BENCH_GOLDEN_PARTS (lab,iscsi,rbd), BENCH_GOLDEN_NODES (4,16), BENCH_GOLDEN_WAVE (4),
// BENCH_GOLDEN_MEMORY_MB (512), BENCH_LAB_RUNS (1: a 16-node install takes a quarter of an hour
// here), BENCH_STORM_RUNS (5), BENCH_STORM_CACHE (cold|warm), BENCH_KEEP=1 (keep the work dir).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FullLab, LAB_ROOT_BOOTED, LAB_ROOT_READY, exitWithin } from '../src/lab/index.js';
import { openStore } from '../src/store/index.js';
import { hostAttributes } from '../src/discovery/plugins/iscsi-allocation.js';
import { tempStateDir } from '../test/helpers/tmp.js';
import { median, ratioLine } from './lib/stats.js';
import { allocatedBytes, dataRanges, dropCache } from './lib/golden-disk.js';
import type { GoldenStormNode, GoldenStormPlan, GoldenStormResult } from './lib/golden-storm-client.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const int = (name: string, def: number, lo: number, hi: number): number => {
  const v = env[name];
  const n = v === undefined ? def : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    console.error(`${name}: a whole number ${lo}–${hi}, got ${v}`);
    process.exit(2);
  }
  return n;
};
const PARTS = (env.BENCH_GOLDEN_PARTS ?? 'lab,iscsi,rbd').split(',').map((s) => s.trim());
const COUNTS = (env.BENCH_GOLDEN_NODES ?? '4,16').split(',').map((s) => Number(s.trim()));
const WAVE = int('BENCH_GOLDEN_WAVE', 4, 1, 16);
const MEMORY_MB = int('BENCH_GOLDEN_MEMORY_MB', 512, 128, 4096);
const LAB_RUNS = int('BENCH_LAB_RUNS', 1, 1, 5);
const STORM_RUNS = int('BENCH_STORM_RUNS', 5, 1, 20);
const COLD = (env.BENCH_STORM_CACHE ?? 'cold') === 'cold';
const KEEP = env.BENCH_KEEP === '1';
const GOLDEN = 'bench-golden';
const FIRST_BYTES = 1 << 20;
/** nodeMac(i) is 52:54:00:6e:72:<0x10 + i>: indexes up to 239. */
const MAX_INDEX = 239;

for (const p of PARTS)
  if (!['lab', 'iscsi', 'rbd'].includes(p)) {
    console.error(`BENCH_GOLDEN_PARTS: lab, iscsi, rbd (comma-separated), got ${p}`);
    process.exit(2);
  }
if (COUNTS.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) {
  console.error(`BENCH_GOLDEN_NODES: whole numbers 1–64, comma-separated, got ${env.BENCH_GOLDEN_NODES}`);
  process.exit(2);
}
if (1 + LAB_RUNS * 2 * COUNTS.reduce((a, b) => a + b, 0) > MAX_INDEX + 1) {
  console.error(`BENCH_LAB_RUNS × 2 × Σ BENCH_GOLDEN_NODES + 1 must stay ≤ ${MAX_INDEX + 1} nodes (one MAC each)`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('bench:golden needs root (network namespaces, taps, tgtd)');
  process.exit(2);
}

const say = (s: string): void => void process.stdout.write(`${s}\n`);
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

say(`# bench:golden: parts ${PARTS.join(', ')}; load average ${load()}; figures on a loaded machine are noise`);
if (PARTS.includes('lab')) await labPart();
if (PARTS.includes('iscsi')) await childBench('bench:iscsi, embedded clone against a plain volume', 'bench/iscsi.bench.ts', { ISCSI_VOLUME: 'clone' });
if (PARTS.includes('rbd')) await childBench('bench:rbd, tgt + rbd against tgt + file', 'bench/rbd.bench.ts', {});
say(`# load average at the end: ${load()}`);

// ---- part 1: the lab ------------------------------------------------------------------------------

interface Added {
  host: string;
  mac: string;
  ip: string;
}
type Way = 'clone' | 'install';
interface Provisioned {
  /** Σ over waves of (first add → last node at its root). */
  seconds: number;
  /** Σ over waves of the adds (`insert-ethers --mac`, one after another). */
  addSeconds: number;
  /** Each node: power-on → root (for install: install power-on → diskless root, the reboot included). */
  perNode: number[];
  hosts: Added[];
}

async function labPart(): Promise<void> {
  const dir = tempStateDir('nrt-bench-golden-');
  const consoleLog = join(dir, 'console.log');
  const full = new FullLab({
    workDir: dir,
    netroot: [process.execPath, '--import', 'tsx', join(ROOT, 'test/helpers/netroot.ts')],
    // Only `run()` reads `nodes` (and caps it at 8); this bench adds its nodes itself.
    nodes: 1,
    name: 'nrt-bgold',
    memoryMb: MEMORY_MB,
    onProgress: (n, w) => appendFileSync(consoleLog, `progress ${n}: ${w}\n`),
    onConsole: (n, l) => appendFileSync(consoleLog, `${n}| ${l}\n`),
  });
  let ok = false;
  try {
    await full.up();
    let next = 0;
    const add = async (): Promise<Added> => full.addNode(next++);
    // The golden volume: node 0 installs, and is frozen as the installer left it (as `lab up --golden`).
    const src = await add();
    const inst = await full.installStage(src.host, src.mac);
    await finishInstall(inst.node, src.host);
    const t = Date.now();
    await full.cliOk('golden', 'create', GOLDEN, '--from', src.host);
    say(`# golden volume ${GOLDEN} frozen from ${src.host} (install ${f1(inst.seconds)} s, freeze ${f1((Date.now() - t) / 1000)} s)`);
    say(
      `# how the nodes ran: busybox QEMU (TCG) lab nodes, ${MEMORY_MB} MiB each, in waves of ${WAVE} at a time (2 shared cores); ` +
        `${LAB_RUNS} round(s) per N; provisioning N = Σ over waves of (first \`insert-ethers --mac\` → last node's diskless root); console log ${consoleLog}`,
    );
    let golden = false;
    const setGolden = async (on: boolean): Promise<void> => {
      if (on === golden) return;
      await full.cliOk('attr', on ? 'set' : 'unset', 'golden', ...(on ? [GOLDEN] : []), '--appliance', 'compute-diskless');
      golden = on;
    };

    /** One node's way to its diskless root; resolves with the time (ms, Date.now()) the root was reached. */
    const installNode = async (a: Added): Promise<{ on: number; root: number }> => {
      const i = await full.installStage(a.host, a.mac);
      await finishInstall(i.node, a.host);
      const b = await full.stage(a.host, a.mac, 'diskless boot', new RegExp(LAB_ROOT_READY), new RegExp(LAB_ROOT_BOOTED));
      await b.node.powerOff();
      return { on: i.node.startedAt, root: b.node.startedAt + b.seconds * 1000 };
    };
    const cloneNode = async (a: Added): Promise<{ on: number; root: number }> => {
      const b = await full.stage(a.host, a.mac, 'clone first boot', new RegExp(LAB_ROOT_READY), new RegExp(LAB_ROOT_BOOTED));
      if (!b.node.console.output.includes(`netroot-firstboot: personalised ${a.host} (clone `))
        throw new Error(`${a.host}: the clone's first boot was not personalised`);
      await b.node.powerOff();
      return { on: b.node.startedAt, root: b.node.startedAt + b.seconds * 1000 };
    };

    const provision = async (way: Way, n: number): Promise<Provisioned> => {
      await setGolden(way === 'clone');
      const r: Provisioned = { seconds: 0, addSeconds: 0, perNode: [], hosts: [] };
      for (let w = 0; w < n; w += WAVE) {
        const t0 = Date.now();
        const wave: Added[] = [];
        for (let k = 0; k < Math.min(WAVE, n - w); k++) wave.push(await add());
        r.addSeconds += (Date.now() - t0) / 1000;
        const actions = JSON.parse(await full.cliOk('host', 'list', '--json')) as Array<{ name: string; bootAction?: string }>;
        for (const a of wave) {
          const got = actions.find((h) => h.name === a.host)?.bootAction;
          const want = way === 'clone' ? 'os' : 'install';
          if (got !== want) throw new Error(`${a.host} (${way}) has boot action ${got}, expected ${want}`);
        }
        const ends = await Promise.all(wave.map((a) => (way === 'clone' ? cloneNode(a) : installNode(a))));
        r.seconds += (Math.max(...ends.map((e) => e.root)) - t0) / 1000;
        r.perNode.push(...ends.map((e) => (e.root - e.on) / 1000));
        r.hosts.push(...wave);
      }
      say(
        `  ${way === 'clone' ? 'clones' : 'install each'} N=${n}: ${f1(r.seconds)} s (adds ${f1(r.addSeconds)} s; per node power-on → root ${r.perNode.map(f1).join(' ')} s)`,
      );
      return r;
    };

    const got = new Map<string, Provisioned[]>();
    const key = (way: Way, n: number): string => `${way} ${n}`;
    /** Each round's pair at the largest N: its disk use is measured after its boots, the last one's volumes are the storm's. */
    const largest: Array<{ clone: Provisioned; install: Provisioned; disk: DiskUse }> = [];
    for (let round = 0; round < LAB_RUNS; round++) {
      for (const n of COUNTS) {
        const order: Way[] = round % 2 === 0 ? ['install', 'clone'] : ['clone', 'install'];
        const pair: Partial<Record<Way, Provisioned>> = {};
        for (const way of order) {
          const p = await provision(way, n);
          got.set(key(way, n), [...(got.get(key(way, n)) ?? []), p]);
          pair[way] = p;
        }
        if (n === Math.max(...COUNTS))
          largest.push({ clone: pair.clone!, install: pair.install!, disk: await diskUse(full, pair.clone!.hosts, pair.install!.hosts) });
      }
    }
    say('');
    for (const n of COUNTS) {
      const c = got.get(key('clone', n))!;
      const i = got.get(key('install', n))!;
      const waves = Math.ceil(n / WAVE);
      say(
        ratioLine({
          measure: `provision ${n} nodes, lab (${waves} wave(s) of ≤ ${WAVE}, ${MEMORY_MB} MiB each)`,
          name: 'clones',
          peer: 'install each',
          netroot: c.map((p) => p.seconds),
          other: i.map((p) => p.seconds),
          unit: 's',
          f: f1,
          better: 'lower',
          note: 'target ≤ 0.2',
        }),
      );
      say(
        ratioLine({
          measure: `per node power-on → diskless root, N=${n}`,
          name: 'clones',
          peer: 'install each',
          netroot: c.flatMap((p) => p.perNode),
          other: i.flatMap((p) => p.perNode),
          unit: 's',
          f: f1,
          better: 'lower',
          note: 'install: install + diskless boot',
        }),
      );
    }
    const n = Math.max(...COUNTS);
    const disks = largest.map((l) => l.disk);
    say(
      ratioLine({
        measure: `disk used after boot by ${n} nodes (du, allocated blocks; clones: deltas + maps + records, median ${mib(median(disks.map((d) => d.clones)))} MiB, and the golden file once, ${mib(median(disks.map((d) => d.golden)))} MiB)`,
        name: 'clones',
        peer: 'full volumes',
        netroot: disks.map((d) => (d.clones + d.golden) / 2 ** 20),
        other: disks.map((d) => d.fulls / 2 ** 20),
        unit: 'MiB',
        f: f1,
        better: 'lower',
      }),
    );
    await storm(full, largest[largest.length - 1]!);
    ok = true;
  } finally {
    await full.down();
    if (ok && !KEEP) rmSync(dir, { recursive: true, force: true });
    else say(`# kept ${dir} (console log, state)`);
  }
}

async function finishInstall(node: { exited: Promise<number | null>; powerOff(): Promise<void> }, host: string): Promise<void> {
  const code = await exitWithin(node.exited, 30_000);
  await node.powerOff();
  if (code === 'hung') throw new Error(`${host}: the installer did not reboot`);
}

interface VolumeFacts {
  node: GoldenStormNode;
  /** The files whose pages a cold run drops, and whose blocks `du` counts. */
  files: string[];
  /** The file whose data the boot reads (the golden file for a clone). */
  data: string;
}

async function volumesOf(stateDir: string, hosts: Added[], clone: boolean): Promise<VolumeFacts[]> {
  const store = openStore(stateDir);
  try {
    const out: VolumeFacts[] = [];
    for (const h of hosts) {
      const a = await hostAttributes(store, h.host);
      const need = (k: string): string => {
        const v = a[k];
        if (!v) throw new Error(`${h.host} has no ${k} attribute`);
        return v;
      };
      const base = join(stateDir, 'volumes', need('iscsi_volume'));
      const golden = join(stateDir, 'volumes', 'golden', `${GOLDEN}.img`);
      if (clone && need('iscsi_golden') !== GOLDEN) throw new Error(`${h.host} is not a clone of ${GOLDEN}`);
      out.push({
        node: {
          host: h.host,
          ip: h.ip,
          portal: need('iscsi_portal'),
          port: Number(need('iscsi_port')),
          target: need('iscsi_target'),
          initiator: need('iscsi_initiator'),
          user: need('iscsi_user'),
          secret: need('iscsi_secret'),
          lun: Number(need('iscsi_lun')),
          ranges: [],
        },
        files: clone ? [`${base}.img`, `${base}.map`, `${base}.clone.json`] : [`${base}.img`],
        data: clone ? golden : `${base}.img`,
      });
    }
    return out;
  } finally {
    await store.close();
  }
}

interface DiskUse {
  /** Bytes allocated: the clones' deltas, maps and records; the golden file; the installed volumes. */
  clones: number;
  golden: number;
  fulls: number;
}

async function diskUse(full: FullLab, clones: Added[], installs: Added[]): Promise<DiskUse> {
  const c = await volumesOf(full.stateDir, clones, true);
  const f = await volumesOf(full.stateDir, installs, false);
  return {
    clones: allocatedBytes(c.flatMap((v) => v.files)),
    golden: allocatedBytes([join(full.stateDir, 'volumes', 'golden', `${GOLDEN}.img`)]),
    fulls: allocatedBytes(f.flatMap((v) => v.files)),
  };
}

async function storm(full: FullLab, last: { clone: Provisioned; install: Provisioned }): Promise<void> {
  const n = last.clone.hosts.length;
  const clones = await volumesOf(full.stateDir, last.clone.hosts, true);
  const fulls = await volumesOf(full.stateDir, last.install.hosts, false);
  const goldenFile = join(full.stateDir, 'volumes', 'golden', `${GOLDEN}.img`);

  // The storm: each node's rest-of-boot reads are the data its image holds after the first MiB.
  const goldenRanges = dataRanges(goldenFile, { from: FIRST_BYTES });
  for (const c of clones) c.node.ranges = goldenRanges;
  for (const f of fulls) f.node.ranges = dataRanges(f.data, { from: FIRST_BYTES });
  const ns = full.lab.namespace;
  for (const v of [...clones, ...fulls]) {
    const r = spawnSync('ip', ['-n', ns, 'addr', 'add', `${v.node.ip}/32`, 'dev', 'br0']);
    if (r.status !== 0 && !/File exists/.test(String(r.stderr))) throw new Error(`ip addr add ${v.node.ip}: ${r.stderr}`);
  }
  const sides = [
    { name: 'clones', vols: clones, cache: [goldenFile, ...clones.flatMap((c) => c.files)] },
    { name: 'full copies', vols: fulls, cache: fulls.flatMap((c) => c.files) },
  ];
  const results = new Map<string, GoldenStormResult[]>(sides.map((s) => [s.name, []]));
  for (let round = 0; round < STORM_RUNS; round++) {
    for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
      if (COLD) dropCache(s.cache);
      const r = await stormRun(
        full,
        s.vols.map((v) => v.node),
      );
      results.get(s.name)!.push(r);
      say(
        `  storm ${s.name} round ${round + 1}/${STORM_RUNS}: first MiB ${f2(r.firstSeconds)} s, whole boot ${f2(r.wholeSeconds)} s (${mib(r.wholeBytes)} MiB)`,
      );
    }
  }
  const c = results.get('clones')!;
  const f = results.get('full copies')!;
  const cache = COLD ? 'page cache of every file dropped before each run' : 'warm page cache';
  say(
    ratioLine({
      measure: `boot storm of ${n}, first MiB read throughput (login included; ${cache})`,
      name: 'clones',
      peer: 'full copies',
      netroot: c.map((r) => r.firstBytes / r.firstSeconds / 1e6),
      other: f.map((r) => r.firstBytes / r.firstSeconds / 1e6),
      unit: 'MB/s',
      f: f1,
      better: 'higher',
    }),
  );
  say(
    ratioLine({
      measure: `boot storm of ${n}, whole-boot read throughput (clones ${mib(median(c.map((r) => r.wholeBytes)))} MiB, full copies ${mib(median(f.map((r) => r.wholeBytes)))} MiB: the data the install wrote; ${cache})`,
      name: 'clones',
      peer: 'full copies',
      netroot: c.map((r) => r.wholeBytes / r.wholeSeconds / 1e6),
      other: f.map((r) => r.wholeBytes / r.wholeSeconds / 1e6),
      unit: 'MB/s',
      f: f1,
      better: 'higher',
    }),
  );
}

/** One storm: the client in the lab namespace, all nodes at once; its result line. */
async function stormRun(full: FullLab, nodes: GoldenStormNode[]): Promise<GoldenStormResult> {
  const plan: GoldenStormPlan = { nodes, firstBytes: FIRST_BYTES, timeoutMs: 300_000 };
  const file = join(full.stateDir, 'golden-storm-plan.json');
  writeFileSync(file, JSON.stringify(plan), { mode: 0o600 });
  const child = full.lab.spawnInNamespace(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/golden-storm-client.ts'), file]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  rmSync(file, { force: true });
  const m = /^result (.*)$/m.exec(out);
  if (!m) throw new Error(`storm client failed: ${out.slice(-2000)}`);
  return JSON.parse(m[1]!) as GoldenStormResult;
}

// ---- parts 2 and 3: bench:iscsi (clone mode) and bench:rbd as children ---------------------------

/** Runs another bench as a child (its own knobs pass through) and prints its output as it comes. */
async function childBench(title: string, script: string, extra: Record<string, string>): Promise<void> {
  say('');
  say(
    `# ${title}: ${script}${
      Object.keys(extra).length
        ? ` with ${Object.entries(extra)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''
    }`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script)], { cwd: ROOT, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => process.stdout.write(d));
  child.stderr.on('data', (d) => process.stdout.write(d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) say(`# ${script} exited ${code}: its lines above are all there is of this part`);
}
