// npm run bench:iscsi — the embedded iSCSI target (a child process) against tgt (tgtd), both in
// one server namespace on the same pre-written 1 GiB sparse file (LUN 1), no CHAP, driven from
// a client namespace over veth with 32 requests in flight by libiscsi's iscsi-perf (reads) and
// qemu-img bench through QEMU's libiscsi driver (reads and writes). Each measure runs ROUNDS
// times, alternating which target goes first, and keeps each target's best figure. Prints one
// line per measure (DESIGN.md format) and each target's peak RSS (VmHWM) under load.
// Not a test: needs root, tgt, libiscsi-bin, qemu-utils and qemu-block-extra; never in CI.
//
// Environment: ROUNDS (default 5), PERF_SECONDS (iscsi-perf run length, default 3),
// NETROOT_CPU_PROF=<dir> (run the embedded target under `node --cpu-prof`, profile in <dir>),
// ONLY=<regex> (run only the measures whose label matches), VERBOSE=1 (print every run),
// NETROOT_THREADPOOL=<n> (UV_THREADPOOL_SIZE for the embedded target; libuv's default is 4).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVethPair, type VethPair } from './lib/netns.js';
import { statusField } from './lib/proc.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LUN_BYTES = 1 << 30;
const PORT = 3260;
const IQN_NETROOT = 'iqn.2026-12.local.netroot:bench-netroot';
const IQN_TGT = 'iqn.2026-12.local.netroot:bench-tgt';
const INITIATOR = 'iqn.2026-12.local.netroot:initiator.bench';
const DEPTH = 32;
const ROUNDS = boundedInt(process.env['ROUNDS'], 5, 1, 20);
const PERF_SECONDS = boundedInt(process.env['PERF_SECONDS'], 3, 1, 60);
const CPU_PROF = process.env['NETROOT_CPU_PROF'];
const THREADS = process.env['NETROOT_THREADPOOL'] ? boundedInt(process.env['NETROOT_THREADPOOL'], 4, 1, 128) : undefined;
const VERBOSE = process.env['VERBOSE'] === '1';
const ONLY = process.env['ONLY'] ? new RegExp(process.env['ONLY']) : undefined;
const RUN_TIMEOUT_MS = 120_000;

function boundedInt(v: string | undefined, dflt: number, lo: number, hi: number): number {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`expected an integer in [${lo}, ${hi}], got ${v}`);
  return n;
}

function missingPrerequisites(): string[] {
  const why: string[] = [];
  if (process.getuid?.() !== 0) why.push('needs root (network namespaces)');
  for (const t of ['ip', 'tgtd', 'tgtadm', 'iscsi-perf', 'qemu-img']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) why.push(`${t} missing`);
  }
  const qemuIscsi = ['/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so', '/usr/lib/qemu/block-iscsi.so'];
  if (!qemuIscsi.some((p) => existsSync(p))) why.push("QEMU's libiscsi driver missing (apt-get install qemu-block-extra)");
  return why;
}

/** Fill the LUN so reads hit data, not holes: a random 1 MiB block, varied per MiB. */
function prewrite(path: string): void {
  const block = randomBytes(1 << 20);
  const fd = openSync(path, 'w', 0o600);
  try {
    for (let off = 0; off < LUN_BYTES; off += block.length) {
      block.writeUInt32BE(off >>> 20, 0);
      writeSync(fd, block, 0, block.length, off);
    }
  } finally {
    closeSync(fd);
  }
}

function settle(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command in a namespace to completion (killed after RUN_TIMEOUT_MS). */
function runIn(net: VethPair, ns: string, cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = net.spawnIn(ns, cmd, args);
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

interface Target {
  name: 'netroot' | 'tgt';
  addr: string;
  iqn: string;
  proc: ChildProcess;
  log: () => string;
}

/**
 * Compile the target child and what it imports to plain JavaScript (tsc, the project's own
 * compiler): the target then runs as in production (`npm run build` output under plain node),
 * without tsx's loader thread in its memory or its profile.
 */
function compileChild(outDir: string): string {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = [
    tsc,
    '--outDir',
    outDir,
    '--rootDir',
    ROOT,
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
    join(ROOT, 'bench/lib/iscsi-target-child.ts'),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  // The compiled child lives outside the repository (in the temporary directory): it finds its
  // packages (pino, …) through this link, as Node resolves bare imports up from the file.
  symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'));
  return join(outDir, 'bench/lib/iscsi-target-child.js');
}

async function startNetroot(net: VethPair, lun: string, child: string): Promise<Target> {
  const nodeArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [];
  const env = { ...process.env, ...(THREADS ? { UV_THREADPOOL_SIZE: String(THREADS) } : {}) };
  const proc = net.spawnIn(net.serverNs, process.execPath, [...nodeArgs, child, net.serverAddr, String(PORT), IQN_NETROOT, INITIATOR, lun], { env });
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
  return { name: 'netroot', addr: net.serverAddr, iqn: IQN_NETROOT, proc, log: () => out };
}

function tgtadm(ctl: number, ...args: string[]): void {
  const r = spawnSync('tgtadm', ['-C', String(ctl), '--lld', 'iscsi', ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tgtadm ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

function removeTgtSockets(ctl: number): void {
  rmSync(`/var/run/tgtd/socket.${ctl}`, { force: true });
  rmSync(`/var/run/tgtd/socket.${ctl}.lock`, { force: true });
}

async function startTgt(net: VethPair, lun: string, ctl: number): Promise<Target> {
  removeTgtSockets(ctl);
  const proc = net.spawnIn(net.serverNs, 'tgtd', ['-f', '-C', String(ctl), '--iscsi', `portal=${net.serverAddrs[1]!}:${PORT}`]);
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
  return { name: 'tgt', addr: net.serverAddrs[1]!, iqn: IQN_TGT, proc, log: () => out };
}

interface Measure {
  label: string;
  unit: 'GB/s' | 'MB/s' | 'kIOPS';
  /** One run against a target: the figure in `unit`. */
  run: (net: VethPair, t: Target) => Promise<number>;
}

/** iscsi-perf prints "iops average N (M MB/s)" last; we convert from IOPS ourselves. */
async function iscsiPerf(net: VethPair, t: Target, blocks: number, random: boolean): Promise<number> {
  const url = `iscsi://${t.addr}:${PORT}/${t.iqn}/1`;
  const args = ['-i', INITIATOR, '-m', String(DEPTH), '-b', String(blocks), '-t', String(PERF_SECONDS), ...(random ? ['-r'] : []), url];
  const r = await runIn(net, net.clientNs, 'iscsi-perf', args);
  const all = [...r.stdout.matchAll(/iops average (\d+)/g)];
  const last = all[all.length - 1];
  if (r.code !== 0 || !last) throw new Error(`iscsi-perf against ${t.name} failed (${r.code}): ${r.stdout.slice(-300)} ${r.stderr}\n${t.log()}`);
  return Number(last[1]);
}

/** qemu-img bench prints "Run completed in S seconds."; returns [requests/s]. */
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

const K = 1024;
const MEASURES: Measure[] = [
  { label: 'seq-read 128KiB (iscsi-perf)', unit: 'GB/s', run: async (n, t) => ((await iscsiPerf(n, t, 256, false)) * 128 * K) / 1e9 },
  { label: 'rand-read 4KiB (iscsi-perf)', unit: 'kIOPS', run: async (n, t) => (await iscsiPerf(n, t, 8, true)) / 1e3 },
  {
    label: 'seq-read 128KiB (qemu-img)',
    unit: 'GB/s',
    run: async (n, t) => ((await qemuBench(n, t, { write: false, count: 4000, size: 128 * K })) * 128 * K) / 1e9,
  },
  {
    label: 'seq-write 128KiB (qemu-img)',
    unit: 'MB/s',
    run: async (n, t) => ((await qemuBench(n, t, { write: true, count: 4000, size: 128 * K })) * 128 * K) / 1e6,
  },
  { label: 'seq-write 4KiB (qemu-img)', unit: 'kIOPS', run: async (n, t) => (await qemuBench(n, t, { write: true, count: 100000, size: 4 * K })) / 1e3 },
  // A stride of 1 MiB + 4 KiB wraps around the 1 GiB LUN: scattered 4 KiB writes, no two adjacent.
  {
    label: 'scattered-write 4KiB (qemu-img)',
    unit: 'kIOPS',
    run: async (n, t) => (await qemuBench(n, t, { write: true, count: 100000, size: 4 * K, step: 1028 * K })) / 1e3,
  },
];

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

async function main(): Promise<number> {
  const missing = missingPrerequisites();
  if (missing.length) {
    console.error(`bench:iscsi cannot run here: ${missing.join(', ')}`);
    return 2;
  }
  const ctl = 24000 + (process.pid % 8000); // tgtd refuses -C values above 32767
  const dir = mkdtempSync(join(tmpdir(), 'netroot-bench-iscsi-'));
  let net: VethPair | undefined;
  const targets: Target[] = [];
  const cleanup = (): void => {
    for (const t of targets) if (t.proc.exitCode === null && t.proc.signalCode === null) t.proc.kill('SIGKILL');
    net?.destroy();
    removeTgtSockets(ctl);
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
    prewrite(lun);
    settle(lun);
    // 10.250.<pid-derived>.0/24: private, only reachable inside these namespaces; one server address per target.
    const subnet = `10.250.${process.pid % 250}`;
    net = createVethPair({ prefix: 'nrib', serverAddr: [`${subnet}.1`, `${subnet}.2`], clientAddr: `${subnet}.10`, prefixLen: 24 });
    targets.push(await startNetroot(net, lun, compileChild(join(dir, 'js'))));
    targets.push(await startTgt(net, lun, ctl));
    const idle = targets.map((t) => memMiB(t.proc.pid!, 'VmRSS'));
    console.log(
      `iscsi bench: ${LUN_BYTES >> 20} MiB file-backed LUN, ${DEPTH} in flight, no CHAP, veth between namespaces, best of ${ROUNDS} round(s), iscsi-perf ${PERF_SECONDS} s per run, netroot UV_THREADPOOL_SIZE ${THREADS ?? process.env['UV_THREADPOOL_SIZE'] ?? '4 (libuv default)'}`,
    );
    for (const m of MEASURES.filter((x) => !ONLY || ONLY.test(x.label))) {
      const best = new Map<string, number>();
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          // Start every run with no dirty pages: otherwise one target's writes are written back
          // while the other runs, and writes to pages under writeback wait (stable pages).
          settle(lun);
          const v = await m.run(net, t);
          if (VERBOSE) console.log(`  ${m.label} round ${round + 1} ${t.name}: ${fmt(v)} ${m.unit}`);
          best.set(t.name, Math.max(best.get(t.name) ?? 0, v));
        }
      }
      if (VERBOSE) console.log(`  peak RSS so far: ${targets.map((t) => `${t.name} ${memMiB(t.proc.pid!, 'VmHWM').toFixed(0)} MiB`).join(', ')}`);
      const a = best.get('netroot')!;
      const b = best.get('tgt')!;
      console.log(`${m.label}: netroot ${fmt(a)} ${m.unit}, tgt ${fmt(b)} ${m.unit}, ratio ${(a / b).toFixed(2)} (higher is better)`);
    }
    const [rn, rt] = targets.map((t) => memMiB(t.proc.pid!, 'VmHWM'));
    console.log(`peak RSS under load (VmHWM): netroot ${rn!.toFixed(0)} MiB, tgt ${rt!.toFixed(0)} MiB, ratio ${(rn! / rt!).toFixed(2)} (lower is better)`);
    const threads = targets.map((t) => readdirSync(`/proc/${t.proc.pid!}/task`).length);
    console.log(`threads after load: netroot ${threads[0]} (main + V8 + libuv pool), tgt ${threads[1]}`);
    console.log(`RSS before load (VmRSS): netroot ${idle[0]!.toFixed(0)} MiB (node), tgt ${idle[1]!.toFixed(0)} MiB`);
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
