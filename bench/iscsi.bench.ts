// npm run bench:iscsi — the embedded iSCSI target (a child process) against tgt (tgtd), all in
// one server namespace on the same pre-written 1 GiB file (LUN 1), no CHAP, driven from a client
// namespace over veth by libiscsi initiators: iscsi-perf (reads, 32 in flight), qemu-img bench
// through QEMU's libiscsi driver (reads and writes, 32 in flight) and bench/lib/iscsi-lat.c (our
// own small libiscsi client: per-command latency p50/p99 of random 4 KiB reads and writes at
// queue depth 1 and 32, and the read checks).
//
// Peer configuration (issue #23: the peer at its best documented configuration), printed at the
// start of every run and checked with `tgtadm --op show --mode target` before any measure:
//   tgt          — tgtd 1.0.85 with its login values matched to what netroot offers
//                  (src/iscsi/text-keys.ts DEFAULT_LIMITS, imported below so they cannot drift):
//                  MaxRecvDataSegmentLength 262144, InitialR2T No, ImmediateData Yes,
//                  FirstBurstLength 262144, MaxBurstLength 16776192, MaxOutstandingR2T 8, set with
//                  `tgtadm --lld iscsi --op update --mode target --tid 1 --name KEY --value V`; and
//                  MaxXmitDataSegmentLength 262144 (tgt's own cap on the Data-In PDUs it sends,
//                  8192 as shipped; netroot's Data-In PDUs are bounded only by the initiator's
//                  MaxRecvDataSegmentLength, 262144 from libiscsi). Backing store rdwr (its default).
//   tgt as shipped — a second tgtd with no update (MaxRecvDataSegmentLength 8192, InitialR2T Yes,
//                  FirstBurstLength 65536, MaxOutstandingR2T 1, MaxXmitDataSegmentLength 8192);
//                  its lines say "tgt as shipped". TGT_SHIPPED=0 leaves it out.
// What each session really negotiated is read from the initiator's side (libiscsi's log of the
// target's login answer) and printed. libiscsi offers MaxOutstandingR2T 1 and MaxBurstLength
// 262144, so those are what every session runs with, whatever the target offers.
//
// Statistics: every measure runs ROUNDS times (default 5) per target, interleaved (one run of each
// target per round, the order reversed every other round); each line prints the median and the
// spread (min–max) of each side. After every read run, VERIFY_BLOCKS random 4 KiB blocks and a
// few 128 KiB ones are read back through libiscsi (iscsi-lat verify) and compared byte for byte
// with the LUN file; the latency client also compares every 16th read it times. A mismatch stops
// the bench. Then each target's peak RSS (VmHWM) under load. Write measures also print how the
// embedded target's writes went (LUN 1's writeStats, asked from the child with SIGUSR2 before and
// after each of its runs): pwritev requests, how many on the event loop's thread, pauses of that path.
// Not a test: needs root, tgt, libiscsi-bin, libiscsi-dev, a C compiler, qemu-utils and
// qemu-block-extra; never in CI.
//
// Environment: ROUNDS (default 5), PERF_SECONDS (iscsi-perf run length, default 3), LAT_SECONDS
// (iscsi-lat run length, default 3), VERIFY_BLOCKS (4 KiB blocks checked after each read run,
// default 64), TGT_SHIPPED=0 (no "as shipped" tgt), NETROOT_CPU_PROF=<dir> (run the embedded
// target under `node --cpu-prof`, profile in <dir>), ONLY=<regex> (run only the measures whose
// label matches), VERBOSE=1 (print every run), NETROOT_THREADPOOL=<n> (UV_THREADPOOL_SIZE for the
// embedded target; libuv's default is 4), BASELINE=<checkout> (one more peer, "netroot baseline":
// the embedded target of another checkout of this repository — its own bench/lib/iscsi-target-child.ts,
// node_modules and native builds — interleaved with the others on the same file: an A/B of a
// change in the same conditions, for a shared machine whose load moves between runs).
//
// ISCSI_VOLUME=clone (issue #20; what `npm run bench:golden` runs): no tgt. Two embedded targets
// instead, each its own child process: "netroot clone" serves a copy-on-write clone of the
// pre-written file (src/iscsi/lun-clone.ts: the file is the golden volume, read-only from then on;
// an empty delta and map made with LunClone.create), "netroot plain volume" serves a full copy of
// it. The read measures run first (every round of each), then the writes: until a write, the
// clone reads back as the golden file, against which its reads are checked; the plain volume's
// reads are checked against its own copy.
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../src/iscsi/text-keys.js';
import { LunClone } from '../src/iscsi/lun-clone.js';
import type { WriteStats } from '../src/iscsi/lun-store.js';
import { createVethPair, type VethPair } from './lib/netns.js';
import { cpuSeconds, statusField } from './lib/proc.js';
import { prewrite } from './lib/prewrite.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LUN_BYTES = 1 << 30;
const PORT = 3260;
const IQN_NETROOT = 'iqn.2026-12.local.netroot:bench-netroot';
const IQN_TGT = 'iqn.2026-12.local.netroot:bench-tgt';
const INITIATOR = 'iqn.2026-12.local.netroot:initiator.bench';
const DEPTH = 32;
const ROUNDS = boundedInt(process.env['ROUNDS'], 5, 1, 20);
const PERF_SECONDS = boundedInt(process.env['PERF_SECONDS'], 3, 1, 60);
const LAT_SECONDS = boundedInt(process.env['LAT_SECONDS'], 3, 1, 60);
const VERIFY_BLOCKS = boundedInt(process.env['VERIFY_BLOCKS'], 64, 1, 100_000);
const TGT_SHIPPED = process.env['TGT_SHIPPED'] !== '0';
const CPU_PROF = process.env['NETROOT_CPU_PROF'];
const THREADS = process.env['NETROOT_THREADPOOL'] ? boundedInt(process.env['NETROOT_THREADPOOL'], 4, 1, 128) : undefined;
const VERBOSE = process.env['VERBOSE'] === '1';
const ONLY = process.env['ONLY'] ? new RegExp(process.env['ONLY']) : undefined;
const CLONE_MODE = process.env['ISCSI_VOLUME'] === 'clone';
const BASELINE = process.env['BASELINE'] || undefined;
if (BASELINE !== undefined && !existsSync(join(BASELINE, 'bench/lib/iscsi-target-child.ts')))
  throw new Error(`BASELINE: no bench/lib/iscsi-target-child.ts under ${BASELINE}`);
if (process.env['ISCSI_VOLUME'] !== undefined && !CLONE_MODE) throw new Error(`ISCSI_VOLUME: only "clone" is known, got ${process.env['ISCSI_VOLUME']}`);
const RUN_TIMEOUT_MS = 120_000;

/**
 * tgt's login values matched to what netroot offers (DEFAULT_LIMITS: the same table the embedded
 * target negotiates from), applied with `tgtadm --op update --mode target` and read back before
 * any measure. MaxXmitDataSegmentLength is tgt's own cap on the Data-In PDUs it sends (not a
 * negotiated key; 8192 as shipped): netroot's are bounded only by the initiator's
 * MaxRecvDataSegmentLength, so tgt gets the same size as the one it may receive.
 */
const TGT_MATCHED: ReadonlyArray<readonly [string, string]> = [
  ['MaxRecvDataSegmentLength', String(DEFAULT_LIMITS.maxRecvDataSegmentLength)],
  ['InitialR2T', DEFAULT_LIMITS.initialR2T ? 'Yes' : 'No'],
  ['ImmediateData', DEFAULT_LIMITS.immediateData ? 'Yes' : 'No'],
  ['FirstBurstLength', String(DEFAULT_LIMITS.firstBurstLength)],
  ['MaxBurstLength', String(DEFAULT_LIMITS.maxBurstLength)],
  ['MaxOutstandingR2T', String(DEFAULT_LIMITS.maxOutstandingR2T)],
  ['MaxXmitDataSegmentLength', String(DEFAULT_LIMITS.maxRecvDataSegmentLength)],
];
/** The keys printed from each target's login answer (libiscsi's "TargetLoginReply" log lines). */
const NEGOTIATED_KEYS = ['MaxRecvDataSegmentLength', 'InitialR2T', 'ImmediateData', 'FirstBurstLength', 'MaxBurstLength', 'MaxOutstandingR2T'];
/** RFC 7143 §13 defaults of those keys: what holds when a target's answer leaves one out. */
const RFC_DEFAULTS: Record<string, string> = {
  MaxRecvDataSegmentLength: '8192',
  InitialR2T: 'Yes',
  ImmediateData: 'Yes',
  FirstBurstLength: '65536',
  MaxBurstLength: '262144',
  MaxOutstandingR2T: '1',
};

function boundedInt(v: string | undefined, dflt: number, lo: number, hi: number): number {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`expected an integer in [${lo}, ${hi}], got ${v}`);
  return n;
}

function missingPrerequisites(): string[] {
  const why: string[] = [];
  if (process.getuid?.() !== 0) why.push('needs root (network namespaces)');
  for (const t of ['ip', ...(CLONE_MODE ? [] : ['tgtd', 'tgtadm']), 'iscsi-perf', 'qemu-img', 'cc']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) why.push(`${t} missing`);
  }
  const qemuIscsi = ['/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so', '/usr/lib/qemu/block-iscsi.so'];
  if (!qemuIscsi.some((p) => existsSync(p))) why.push("QEMU's libiscsi driver missing (apt-get install qemu-block-extra)");
  if (!existsSync('/usr/include/iscsi/iscsi.h')) why.push("libiscsi's headers missing for bench/lib/iscsi-lat.c (apt-get install libiscsi-dev)");
  return why;
}

function settle(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** VmHWM (peak) or VmRSS (now) of a process, in MiB. */
function memMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  return statusField(pid, field) / 1024;
}

async function waitFor(what: string, deadlineMs: number, ok: () => boolean, alive: () => boolean, log: () => string): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!ok()) {
    if (!alive()) throw new Error(`${what} exited before it was ready: ${log()}`);
    if (Date.now() > end) throw new Error(`${what} not ready after ${deadlineMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type TargetName = 'netroot' | 'netroot baseline' | 'tgt' | 'tgt as shipped' | 'netroot clone' | 'netroot plain volume';

interface Target {
  name: TargetName;
  addr: string;
  iqn: string;
  proc: ChildProcess;
  log: () => string;
  /** What its reads are checked against: the LUN file, or for a clone its golden file (no write yet). */
  file: string;
  /** The files fsynced before every run (a clone's delta and map). */
  settle: string[];
  /** LUN 1's write counters now (SIGUSR2 to this checkout's child; a BASELINE child may not know it). */
  writeStats?: () => Promise<WriteStats>;
}

/**
 * Compile the target child of the checkout at `root` (this one, or BASELINE) and what it imports
 * to plain JavaScript (tsc, the project's own compiler): the target then runs as in production
 * (`npm run build` output under plain node), without tsx's loader thread in its memory or its profile.
 */
function compileChild(outDir: string, root = ROOT): string {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = [
    tsc,
    '--outDir',
    outDir,
    '--rootDir',
    root,
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--strict',
    '--skipLibCheck',
    '--types',
    'node',
    join(root, 'bench/lib/iscsi-target-child.ts'),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  // The compiled child lives outside the repository (in the temporary directory): it finds its
  // packages (pino, …) through this link, as Node resolves bare imports up from the file; and the
  // native helpers (src/iscsi/lun-io.ts looks for native/lunio above itself) through the second,
  // as from the package directory in production.
  symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'));
  symlinkSync(join(root, 'native'), join(outDir, 'native'));
  return join(outDir, 'bench/lib/iscsi-target-child.js');
}

/** Compiles bench/lib/iscsi-lat.c (libiscsi) into the bench's temporary folder; returns its path. */
function compileLatencyClient(dir: string): string {
  const out = join(dir, 'iscsi-lat');
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', out, join(ROOT, 'bench/lib/iscsi-lat.c'), '-liscsi'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`cannot compile bench/lib/iscsi-lat.c (needs gcc and libiscsi-dev): ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
  }
  return out;
}

/**
 * The embedded target child on `o.addr`, LUN 1 = `o.lun`; with `o.clone`, `o.lun` is a clone's
 * delta and the LUN is that copy-on-write clone of `o.clone.golden` (iscsi-target-child.ts).
 */
async function startNetroot(
  net: VethPair,
  child: string,
  o: { name: TargetName; addr: string; lun: string; clone?: { golden: string; map: string }; noStats?: boolean },
): Promise<Target> {
  const nodeArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
  const env = { ...process.env, ...(THREADS ? { UV_THREADPOOL_SIZE: String(THREADS) } : {}) };
  const cloneArgs = o.clone ? [o.clone.golden, o.clone.map] : [];
  const proc = net.spawnIn(net.serverNs, process.execPath, [...nodeArgs, child, o.addr, String(PORT), IQN_NETROOT, INITIATOR, o.lun, ...cloneArgs], { env });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await waitFor(
    'netroot target',
    20_000,
    () => /^ready \d+$/m.test(out),
    () => proc.exitCode === null && proc.signalCode === null,
    () => out,
  );
  const writeStats = async (): Promise<WriteStats> => {
    const seen = out.match(/^stats .*$/gm)?.length ?? 0;
    proc.kill('SIGUSR2');
    const lines = (): string[] => out.match(/^stats .*$/gm) ?? [];
    await waitFor(
      'netroot write counters',
      5000,
      () => lines().length > seen,
      () => proc.exitCode === null && proc.signalCode === null,
      () => out,
    );
    return JSON.parse(lines()[seen]!.slice('stats '.length)) as WriteStats;
  };
  return {
    name: o.name,
    addr: o.addr,
    iqn: IQN_NETROOT,
    proc,
    log: () => out,
    file: o.clone?.golden ?? o.lun,
    settle: o.clone ? [o.lun, o.clone.map] : [o.lun],
    ...(o.noStats ? {} : { writeStats }),
  };
}

function tgtadm(ctl: number, ...args: string[]): string {
  const r = spawnSync('tgtadm', ['-C', String(ctl), '--lld', 'iscsi', ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tgtadm ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function removeTgtSockets(ctl: number): void {
  rmSync(`/var/run/tgtd/socket.${ctl}`, { force: true });
  rmSync(`/var/run/tgtd/socket.${ctl}.lock`, { force: true });
}

/** tgtd on `addr`, LUN 1 = `lun`; with `matched`, TGT_MATCHED applied and read back. */
async function startTgt(net: VethPair, name: TargetName, addr: string, lun: string, ctl: number, matched: boolean): Promise<Target> {
  removeTgtSockets(ctl);
  const proc = net.spawnIn(net.serverNs, 'tgtd', ['-f', '-C', String(ctl), '--iscsi', `portal=${addr}:${PORT}`]);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const up = (): boolean => spawnSync('tgtadm', ['-C', String(ctl), '--op', 'show', '--mode', 'sys'], { timeout: 5000 }).status === 0;
  await waitFor(
    'tgtd',
    10_000,
    up,
    () => proc.exitCode === null && proc.signalCode === null,
    () => out,
  );
  tgtadm(ctl, '--op', 'new', '--mode', 'target', '--tid', '1', '-T', IQN_TGT);
  tgtadm(ctl, '--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', lun);
  // Same admission rule as the embedded target: only this initiator name (-Q), from the client.
  tgtadm(ctl, '--op', 'bind', '--mode', 'target', '--tid', '1', '--initiator-name', INITIATOR);
  tgtadm(ctl, '--op', 'bind', '--mode', 'target', '--tid', '1', '--initiator-address', net.clientAddr);
  if (matched) {
    for (const [k, v] of TGT_MATCHED) tgtadm(ctl, '--op', 'update', '--mode', 'target', '--tid', '1', '--name', k, '--value', v);
    // Read back: `--op show --mode target --tid 1` lists the target's session parameters as K=V.
    const shown = new Map<string, string>();
    for (const m of tgtadm(ctl, '--op', 'show', '--mode', 'target', '--tid', '1').matchAll(/^(\w+)=(.*)$/gm)) shown.set(m[1]!, m[2]!);
    const wrong = TGT_MATCHED.filter(([k, v]) => shown.get(k) !== v).map(([k, v]) => `${k} is ${shown.get(k)}, wanted ${v}`);
    if (wrong.length) throw new Error(`tgtadm update did not take effect: ${wrong.join('; ')}`);
  }
  return { name, addr, iqn: IQN_TGT, proc, log: () => out, file: lun, settle: [lun] };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command in a namespace to completion (killed after RUN_TIMEOUT_MS). */
function runIn(net: VethPair, ns: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const p = net.spawnIn(ns, cmd, args, env ? { env } : {});
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), RUN_TIMEOUT_MS);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const url = (t: Target): string => `iscsi://${t.addr}:${PORT}/${t.iqn}/1`;

interface Tools {
  lat: string;
}

/** The values `t` answered at login, as libiscsi logs them (LIBISCSI_DEBUG=6). */
async function negotiated(net: VethPair, tools: Tools, t: Target): Promise<Map<string, string>> {
  const r = await runIn(net, net.clientNs, tools.lat, [url(t), INITIATOR, 'login'], { ...process.env, LIBISCSI_DEBUG: '6' });
  if (r.code !== 0) throw new Error(`login to ${t.name} failed (${r.code}): ${r.stderr.slice(-500)}`);
  const got = new Map<string, string>();
  for (const m of r.stderr.matchAll(/TargetLoginReply: (\w+)=(\S*)/g)) got.set(m[1]!, m[2]!);
  return got;
}

/** Reads are checked: random blocks read back through libiscsi and compared with the LUN file. */
const checked = new Map<TargetName, { blocks: number; bytes: number }>();
async function verifyReads(net: VethPair, tools: Tools, t: Target): Promise<void> {
  for (const [count, size] of [
    [VERIFY_BLOCKS, 4096],
    [Math.max(1, VERIFY_BLOCKS >> 3), 128 * 1024],
  ] as const) {
    const r = await runIn(net, net.clientNs, tools.lat, [url(t), INITIATOR, 'verify', String(count), String(size), t.file]);
    const m = /\{"checked":(\d+),"bytes":(\d+),"mismatches":(\d+)\}/.exec(r.stdout);
    if (r.code !== 0 || !m || m[3] !== '0') throw new Error(`read check against ${t.name} failed (${r.code}): ${r.stdout} ${r.stderr.slice(-500)}`);
    const c = checked.get(t.name) ?? { blocks: 0, bytes: 0 };
    checked.set(t.name, { blocks: c.blocks + Number(m[1]), bytes: c.bytes + Number(m[2]) });
  }
}

/** iscsi-perf prints "iops average N (M MB/s)" last; we convert from IOPS ourselves. */
async function iscsiPerf(net: VethPair, t: Target, blocks: number, random: boolean): Promise<number> {
  const args = ['-i', INITIATOR, '-m', String(DEPTH), '-b', String(blocks), '-t', String(PERF_SECONDS), ...(random ? ['-r'] : []), url(t)];
  const r = await runIn(net, net.clientNs, 'iscsi-perf', args);
  const all = [...r.stdout.matchAll(/iops average (\d+)/g)];
  const last = all[all.length - 1];
  if (r.code !== 0 || !last) throw new Error(`iscsi-perf against ${t.name} failed (${r.code}): ${r.stdout.slice(-300)} ${r.stderr}\n${t.log()}`);
  return Number(last[1]);
}

/** qemu-img bench prints "Run completed in S seconds."; returns requests/s. */
async function qemuBench(net: VethPair, t: Target, o: { write: boolean; count: number; size: number; step?: number }): Promise<number> {
  const opts = `driver=iscsi,transport=tcp,portal=${t.addr}:${PORT},target=${t.iqn},lun=1,initiator-name=${INITIATOR}`;
  const args = ['bench', ...(o.write ? ['-w'] : []), '-c', String(o.count), '-s', String(o.size), '-d', String(DEPTH), '-n'];
  if (o.step !== undefined) args.push('-S', String(o.step));
  args.push('--image-opts', opts);
  const r = await runIn(net, net.clientNs, 'qemu-img', args);
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`qemu-img bench against ${t.name} failed (${r.code}): ${r.stdout} ${r.stderr}\n${t.log()}`);
  return o.count / Number(m[1]);
}

/** iscsi-lat lat: random 4 KiB commands at `depth` for LAT_SECONDS; latency percentiles in µs. */
async function latency(net: VethPair, tools: Tools, t: Target, op: 'read' | 'write', depth: number): Promise<Record<string, number>> {
  const r = await runIn(net, net.clientNs, tools.lat, [url(t), INITIATOR, 'lat', op, String(depth), String(LAT_SECONDS), '4096', t.file]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"ops"'));
  if (r.code !== 0 || !line)
    throw new Error(`iscsi-lat ${op} QD${depth} against ${t.name} failed (${r.code}): ${r.stdout} ${r.stderr.slice(-500)}\n${t.log()}`);
  const j = JSON.parse(line) as { ops: number; iops: number; p50us: number; p99us: number; checked: number };
  if (op === 'read') {
    const c = checked.get(t.name) ?? { blocks: 0, bytes: 0 };
    checked.set(t.name, { blocks: c.blocks + j.checked, bytes: c.bytes + j.checked * 4096 });
  }
  // ops: the commands of the whole run (the warm-up too, whose CPU time is also counted).
  return { p50: j.p50us, p99: j.p99us, iops: j.iops / 1e3, ops: j.iops * LAT_SECONDS };
}

interface Output {
  /** Key in the record a run returns. */
  key: string;
  /** Appended to the measure's label in the printed line ('' for none). */
  suffix: string;
  unit: string;
  better: 'higher' | 'lower';
}

interface Measure {
  label: string;
  /** A read measure: its data is checked after every run (verifyReads). */
  reads: boolean;
  outputs: Output[];
  /** One run against a target: the figures, by output key. */
  run: (net: VethPair, tools: Tools, t: Target) => Promise<Record<string, number>>;
}

const K = 1024;
/** An iscsi-perf run: the figure from its IOPS, and the commands it made (IOPS × run length). */
const perfRun = (iops: number, v: (iops: number) => number): Record<string, number> => ({ v: v(iops), ops: iops * PERF_SECONDS });
/**
 * CPU time per command: the target process's user + system time over the run (all its threads,
 * /proc/PID/stat), divided by the commands the run made. Unlike wall time it barely moves with
 * the load of a shared machine.
 */
const CPU_OUTPUT: Output = { key: 'cpuUs', suffix: ' CPU per command', unit: 'µs', better: 'lower' };
const one = (unit: string): Output[] => [{ key: 'v', suffix: '', unit, better: 'higher' }];
const LAT_OUTPUTS: Output[] = [
  { key: 'p50', suffix: ' latency p50', unit: 'µs', better: 'lower' },
  { key: 'p99', suffix: ' latency p99', unit: 'µs', better: 'lower' },
  { key: 'iops', suffix: ' throughput', unit: 'kIOPS', better: 'higher' },
];
const MEASURES: Measure[] = [
  {
    label: 'seq-read 128KiB (iscsi-perf)',
    reads: true,
    outputs: one('GB/s'),
    run: async (n, _, t) => perfRun(await iscsiPerf(n, t, 256, false), (iops) => (iops * 128 * K) / 1e9),
  },
  {
    label: 'rand-read 4KiB (iscsi-perf)',
    reads: true,
    outputs: one('kIOPS'),
    run: async (n, _, t) => perfRun(await iscsiPerf(n, t, 8, true), (iops) => iops / 1e3),
  },
  {
    label: 'seq-read 128KiB (qemu-img)',
    reads: true,
    outputs: one('GB/s'),
    run: async (n, _, t) => ({ v: ((await qemuBench(n, t, { write: false, count: 4000, size: 128 * K })) * 128 * K) / 1e9, ops: 4000 }),
  },
  {
    label: 'seq-write 128KiB (qemu-img)',
    reads: false,
    outputs: one('MB/s'),
    run: async (n, _, t) => ({ v: ((await qemuBench(n, t, { write: true, count: 4000, size: 128 * K })) * 128 * K) / 1e6, ops: 4000 }),
  },
  {
    label: 'seq-write 4KiB (qemu-img)',
    reads: false,
    outputs: one('kIOPS'),
    run: async (n, _, t) => ({ v: (await qemuBench(n, t, { write: true, count: 100000, size: 4 * K })) / 1e3, ops: 100000 }),
  },
  // A stride of 1 MiB + 4 KiB wraps around the 1 GiB LUN: scattered 4 KiB writes, no two adjacent.
  {
    label: 'scattered-write 4KiB (qemu-img)',
    reads: false,
    outputs: one('kIOPS'),
    run: async (n, _, t) => ({ v: (await qemuBench(n, t, { write: true, count: 100000, size: 4 * K, step: 1028 * K })) / 1e3, ops: 100000 }),
  },
  ...(['read', 'write'] as const).flatMap((op) =>
    [1, DEPTH].map(
      (depth): Measure => ({
        label: `rand-${op} 4KiB QD${depth} (iscsi-lat)`,
        reads: op === 'read',
        outputs: LAT_OUTPUTS,
        run: (n, tools, t) => latency(n, tools, t, op, depth),
      }),
    ),
  ),
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const spread = (xs: number[]): string => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

/** One DESIGN.md line: `<measure> (median of N, spread netroot A–B, <peer> C–D): netroot X, <peer> Y, ratio R (...)`; `me` is the first side ("netroot", or "netroot clone"). */
function line(label: string, o: Output, me: TargetName, peer: TargetName, a: number[], b: number[]): string {
  const ma = median(a);
  const mb = median(b);
  // Issue #20's target for the clone against a plain volume: ≥ 0.9× (throughput; ≤ 1/0.9 ≈ 1.11× for latencies).
  const target = CLONE_MODE && o.key !== 'cpuUs' ? `; target ${o.better === 'higher' ? '≥ 0.9' : '≤ 1.11'}` : '';
  return (
    `${label}${o.suffix} (median of ${a.length}, spread ${me} ${spread(a)}, ${peer} ${spread(b)}): ` +
    `${me} ${fmt(ma)} ${o.unit}, ${peer} ${fmt(mb)} ${o.unit}, ratio ${(ma / mb).toFixed(2)} (${o.better} is better${target})`
  );
}

function loadavg(): string {
  return spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<number> {
  const missing = missingPrerequisites();
  if (missing.length) {
    console.error(`bench:iscsi cannot run here: ${missing.join(', ')}`);
    return 2;
  }
  const ctl = 24000 + (process.pid % 8000); // tgtd refuses -C values above 32767; ctl + 1 for the second tgtd
  const dir = mkdtempSync(join(tmpdir(), 'netroot-bench-iscsi-'));
  let net: VethPair | undefined;
  const targets: Target[] = [];
  const cleanup = (): void => {
    for (const t of targets) if (t.proc.exitCode === null && t.proc.signalCode === null) t.proc.kill('SIGKILL');
    net?.destroy();
    removeTgtSockets(ctl);
    removeTgtSockets(ctl + 1);
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const lun = join(dir, 'lun1.img');
    prewrite(lun, LUN_BYTES);
    settle(lun);
    const tools: Tools = { lat: compileLatencyClient(dir) };
    // 10.250.<pid-derived>.0/24: private, only reachable inside these namespaces; one server address per target.
    const subnet = `10.250.${process.pid % 250}`;
    net = createVethPair({
      prefix: 'nrib',
      serverAddr: [`${subnet}.1`, `${subnet}.2`, `${subnet}.3`, `${subnet}.4`],
      clientAddr: `${subnet}.10`,
      prefixLen: 24,
    });
    const child = compileChild(join(dir, 'js'));
    if (CLONE_MODE) {
      // The pre-written file becomes the golden volume (never written again); the plain volume is a full copy of it.
      const plain = join(dir, 'plain.img');
      execFileSync('cp', ['--reflink=never', '--sparse=never', lun, plain]);
      settle(plain);
      const clone = { golden: lun, map: join(dir, 'clone.map') };
      const delta = join(dir, 'clone.img');
      await (await LunClone.create({ golden: lun, delta, map: clone.map })).close();
      targets.push(await startNetroot(net, child, { name: 'netroot clone', addr: net.serverAddrs[0]!, lun: delta, clone }));
      targets.push(await startNetroot(net, child, { name: 'netroot plain volume', addr: net.serverAddrs[1]!, lun: plain }));
    } else {
      targets.push(await startNetroot(net, child, { name: 'netroot', addr: net.serverAddr, lun }));
      if (BASELINE)
        targets.push(
          await startNetroot(net, compileChild(join(dir, 'baseline-js'), BASELINE), {
            name: 'netroot baseline',
            addr: net.serverAddrs[3]!,
            lun,
            // An older child has no SIGUSR2 handler (the signal would kill it): counters only when it does.
            noStats: !readFileSync(join(BASELINE, 'bench/lib/iscsi-target-child.ts'), 'utf8').includes('SIGUSR2'),
          }),
        );
      targets.push(await startTgt(net, 'tgt', net.serverAddrs[1]!, lun, ctl, true));
      if (TGT_SHIPPED) targets.push(await startTgt(net, 'tgt as shipped', net.serverAddrs[2]!, lun, ctl + 1, false));
    }
    const idle = targets.map((t) => memMiB(t.proc.pid!, 'VmRSS'));
    console.log(
      `iscsi bench: ${LUN_BYTES >> 20} MiB file-backed LUN, no CHAP, veth between namespaces, median of ${ROUNDS} interleaved run(s) per target (order reversed every other round), ` +
        `iscsi-perf ${PERF_SECONDS} s and iscsi-lat ${LAT_SECONDS} s per run, ${DEPTH} in flight unless QD says otherwise, netroot UV_THREADPOOL_SIZE ${THREADS ?? process.env['UV_THREADPOOL_SIZE'] ?? '4 (libuv default)'}, load average ${loadavg()}`,
    );
    if (CLONE_MODE)
      console.log(
        'clone mode (ISCSI_VOLUME=clone): netroot clone = the embedded target serving a copy-on-write clone of the file (empty delta + allocation map; reads fall through to the file, writes go to the delta); peer: netroot plain volume = the embedded target serving a full copy of the file; every read measure runs before the writes',
      );
    else
      console.log(
        `peer: tgt = tgtd with login values matched to netroot's (tgtadm --op update, read back): ${TGT_MATCHED.map(([k, v]) => `${k} ${v}`).join(', ')}`,
      );
    if (BASELINE && !CLONE_MODE) console.log(`peer: netroot baseline = the embedded target of the checkout ${BASELINE} (compiled the same way, same file)`);
    if (TGT_SHIPPED && !CLONE_MODE)
      console.log(
        'peer: tgt as shipped = a second tgtd, no update (MaxRecvDataSegmentLength 8192, InitialR2T Yes, FirstBurstLength 65536, MaxOutstandingR2T 1, MaxXmitDataSegmentLength 8192)',
      );
    for (const t of targets) {
      const got = await negotiated(net, tools, t);
      // A key the target does not answer keeps RFC 7143's default (§13): tgt as shipped does not
      // declare its MaxRecvDataSegmentLength, which is then 8192.
      const shown = NEGOTIATED_KEYS.map((k) => `${k} ${got.get(k) ?? `not sent (RFC 7143 default ${RFC_DEFAULTS[k]})`}`);
      console.log(`negotiated with ${t.name} (libiscsi's log of the login answer): ${shown.join(', ')}`);
    }
    const me = targets[0]!;
    const peers = targets.slice(1);
    // Clone mode: every read measure before any write (the clone's reads are checked against its golden file).
    const measures = CLONE_MODE ? [...MEASURES.filter((x) => x.reads), ...MEASURES.filter((x) => !x.reads)] : MEASURES;
    for (const m of measures.filter((x) => !ONLY || ONLY.test(x.label))) {
      const runs = new Map<TargetName, Array<Record<string, number>>>();
      // Write measures: how the embedded target's writes went (lun-file.ts writeStats over the runs).
      const onLoop = new Map<TargetName, WriteStats>();
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          // Start every run with no dirty pages: otherwise one target's writes are written back
          // while the other runs, and writes to pages under writeback wait (stable pages).
          for (const f of targets.flatMap((x) => x.settle)) settle(f);
          const stats0 = !m.reads && t.writeStats ? await t.writeStats() : undefined;
          const cpu0 = cpuSeconds(t.proc.pid!);
          const v = await m.run(net, tools, t);
          v['cpuUs'] = ((cpuSeconds(t.proc.pid!) - cpu0) * 1e6) / v['ops']!;
          if (stats0 && t.writeStats) {
            const s = await t.writeStats();
            const w = onLoop.get(t.name) ?? { writes: 0, requests: 0, onLoop: 0, slowPauses: 0 };
            onLoop.set(t.name, {
              writes: w.writes + s.writes - stats0.writes,
              requests: w.requests + s.requests - stats0.requests,
              onLoop: w.onLoop + s.onLoop - stats0.onLoop,
              slowPauses: w.slowPauses + s.slowPauses - stats0.slowPauses,
            });
          }
          if (m.reads) await verifyReads(net, tools, t);
          if (VERBOSE) console.log(`  ${m.label} round ${round + 1} ${t.name}: ${m.outputs.map((o) => `${fmt(v[o.key]!)} ${o.unit}`).join(', ')}`);
          runs.set(t.name, [...(runs.get(t.name) ?? []), v]);
        }
      }
      if (VERBOSE) console.log(`  peak RSS so far: ${targets.map((t) => `${t.name} ${memMiB(t.proc.pid!, 'VmHWM').toFixed(0)} MiB`).join(', ')}`);
      const of = (name: TargetName, key: string): number[] => runs.get(name)!.map((r) => r[key]!);
      for (const o of [...m.outputs, CPU_OUTPUT]) for (const p of peers) console.log(line(m.label, o, me.name, p.name, of(me.name, o.key), of(p.name, o.key)));
      for (const [name, s] of onLoop)
        console.log(
          `${m.label} ${name} writes (all runs): ${s.writes} writes, ${s.requests} pwritev, ${s.onLoop} of them on the event loop's thread, ${s.slowPauses} pauses of that path after a slow write`,
        );
    }
    console.log(
      `reads checked (random 4 KiB and 128 KiB blocks read back through libiscsi after each read run, and every 16th timed read of iscsi-lat, compared with the LUN file): ` +
        targets
          .map((t) => `${t.name} ${checked.get(t.name)?.blocks ?? 0} blocks (${((checked.get(t.name)?.bytes ?? 0) / 2 ** 20).toFixed(1)} MiB) equal`)
          .join(', '),
    );
    const hwm = targets.map((t) => memMiB(t.proc.pid!, 'VmHWM'));
    for (let i = 1; i < targets.length; i++) {
      console.log(
        `peak RSS under load (VmHWM): ${me.name} ${hwm[0]!.toFixed(0)} MiB, ${targets[i]!.name} ${hwm[i]!.toFixed(0)} MiB, ratio ${(hwm[0]! / hwm[i]!).toFixed(2)} (lower is better)`,
      );
    }
    const threads = targets.map((t) => readdirSync(`/proc/${t.proc.pid!}/task`).length);
    console.log(
      `threads after load: ${targets.map((t, i) => `${t.name} ${threads[i]}${t.name.startsWith('netroot') ? ' (main + V8 + libuv pool)' : ''}`).join(', ')}`,
    );
    console.log(`RSS before load (VmRSS): ${targets.map((t, i) => `${t.name} ${idle[i]!.toFixed(0)} MiB`).join(', ')}`);
    console.log(`load average at the end: ${loadavg()}`);
    if (CPU_PROF) {
      // A clean stop lets node write the profile.
      const nr = targets[0]!;
      const gone = new Promise((r) => nr.proc.once('exit', r));
      nr.proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      console.log(`cpu profile of the embedded target written to ${CPU_PROF}`);
    }
    return 0;
  } finally {
    cleanup();
  }
}

process.exitCode = await main();
