// npm run bench:rbd — tgt + rbd against tgt + file (issue #20), on bench:iscsi's lines: one tgtd
// on 127.0.0.1 with two targets, LUN 1 of each 256 MiB of the same pre-written data: an rdwr file
// (tgt's default backing store) and an RBD image of a single-node Ceph cluster started here
// (test/helpers/ceph.ts: one mon, one mgr, one memstore OSD, all on 127.0.0.1) through Debian's
// bs_rbd. Driven by libiscsi initiators on the same machine: iscsi-perf (reads, 32 in flight) and
// qemu-img bench through QEMU's libiscsi driver (reads and writes, 32 in flight). Both targets get
// tgt as shipped (no login-value tuning): what differs is the backing store only.
//
// What this measures and what it does not: the OSD keeps objects in memory (memstore), on the same
// two cores as tgtd and the initiator, with one replica; a real cluster adds the network and the
// OSDs' disks. The ratio shows what bs_rbd's path (librbd, the messenger, the OSD) costs against a
// file in the page cache, not what a production Ceph cluster delivers.
//
// Statistics: every measure runs ROUNDS times (default 3), interleaved (the order reversed every
// other round); each line prints the median and the spread (min–max) of each side. Not a test:
// needs root, the ceph packages, tgt, tgt-rbd, libiscsi-bin, qemu-utils and qemu-block-extra;
// never in CI. Environment: ROUNDS (1–20), PERF_SECONDS (iscsi-perf run length, default 3).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCephCluster, type CephCluster } from '../test/helpers/ceph.js';
import { waitFor } from '../test/helpers/wait.js';
import { prewrite } from './lib/prewrite.js';

const LUN_BYTES = 256 << 20;
const INITIATOR = 'iqn.2026-12.local.netroot:initiator.bench';
const DEPTH = 32;
const K = 1024;
const bounded = (v: string | undefined, def: number, lo: number, hi: number): number => {
  const n = v === undefined ? def : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`expected an integer ${lo}–${hi}, got ${v}`);
  return n;
};
const ROUNDS = bounded(process.env['ROUNDS'], 3, 1, 20);
const PERF_SECONDS = bounded(process.env['PERF_SECONDS'], 3, 1, 60);
const RUN_TIMEOUT_MS = 120_000;

type Side = 'tgt+rbd' | 'tgt+file';
interface Target {
  name: Side;
  iqn: string;
}

function missingPrerequisites(): string[] {
  const why: string[] = [];
  if (process.getuid?.() !== 0) why.push('needs root (tgtd)');
  for (const t of ['tgtd', 'tgtadm', 'iscsi-perf', 'qemu-img', 'ceph-mon', 'ceph-osd', 'ceph-mgr', 'rbd'])
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) why.push(`${t} missing`);
  if (!existsSync('/usr/lib/tgt/backing-store/bs_rbd.so')) why.push('bs_rbd missing (apt-get install tgt-rbd)');
  if (!['/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so', '/usr/lib/qemu/block-iscsi.so'].some((p) => existsSync(p)))
    why.push("QEMU's libiscsi driver missing (apt-get install qemu-block-extra)");
  return why;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), RUN_TIMEOUT_MS);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Tgtd {
  port: number;
  stop(): Promise<void>;
}

/** `tgtd -f -C <ctl> --iscsi portal=127.0.0.1:<port>`, ready when tgtadm answers. */
async function startTgtd(port: number, ctl: number): Promise<Tgtd> {
  const sockets = [`/var/run/tgtd/socket.${ctl}`, `/var/run/tgtd/socket.${ctl}.lock`];
  for (const f of sockets) rmSync(f, { force: true });
  const proc: ChildProcess = spawn('tgtd', ['-f', '-C', String(ctl), '--iscsi', `portal=127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`tgtd exited ${proc.exitCode}`);
      return spawnSync('tgtadm', ['-C', String(ctl), '--op', 'show', '--mode', 'sys']).status === 0;
    },
    { what: 'tgtd to answer tgtadm', intervalMs: 50 },
  );
  return {
    port,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await gone;
      }
      for (const f of sockets) rmSync(f, { force: true });
    },
  };
}

function tgtadm(ctl: number, ...args: string[]): void {
  const r = spawnSync('tgtadm', ['-C', String(ctl), '--lld', 'iscsi', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tgtadm ${args.join(' ')}: ${r.stderr}`);
}

async function iscsiPerf(port: number, t: Target, blocks: number, random: boolean): Promise<number> {
  const url = `iscsi://127.0.0.1:${port}/${t.iqn}/1`;
  const r = await run('iscsi-perf', ['-i', INITIATOR, '-m', String(DEPTH), '-b', String(blocks), '-t', String(PERF_SECONDS), ...(random ? ['-r'] : []), url]);
  const last = [...r.stdout.matchAll(/iops average (\d+)/g)].pop();
  if (r.code !== 0 || !last) throw new Error(`iscsi-perf against ${t.name} failed (${r.code}): ${r.stdout.slice(-300)} ${r.stderr}`);
  return Number(last[1]);
}

async function qemuBench(port: number, t: Target, o: { write: boolean; count: number; size: number }): Promise<number> {
  const opts = `driver=iscsi,transport=tcp,portal=127.0.0.1:${port},target=${t.iqn},lun=1,initiator-name=${INITIATOR}`;
  const args = ['bench', ...(o.write ? ['-w'] : []), '-c', String(o.count), '-s', String(o.size), '-d', String(DEPTH), '-n', '--image-opts', opts];
  const r = await run('qemu-img', args);
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`qemu-img bench against ${t.name} failed (${r.code}): ${r.stdout} ${r.stderr}`);
  return o.count / Number(m[1]);
}

interface Measure {
  label: string;
  unit: string;
  run: (port: number, t: Target) => Promise<number>;
}

const MEASURES: Measure[] = [
  { label: 'seq-read 128KiB (iscsi-perf)', unit: 'GB/s', run: async (p, t) => ((await iscsiPerf(p, t, 256, false)) * 128 * K) / 1e9 },
  { label: 'rand-read 4KiB (iscsi-perf)', unit: 'kIOPS', run: async (p, t) => (await iscsiPerf(p, t, 8, true)) / 1e3 },
  {
    label: 'seq-read 128KiB (qemu-img)',
    unit: 'GB/s',
    run: async (p, t) => ((await qemuBench(p, t, { write: false, count: 2000, size: 128 * K })) * 128 * K) / 1e9,
  },
  {
    label: 'seq-write 128KiB (qemu-img)',
    unit: 'MB/s',
    run: async (p, t) => ((await qemuBench(p, t, { write: true, count: 2000, size: 128 * K })) * 128 * K) / 1e6,
  },
  { label: 'seq-write 4KiB (qemu-img)', unit: 'kIOPS', run: async (p, t) => (await qemuBench(p, t, { write: true, count: 20000, size: 4 * K })) / 1e3 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const spread = (xs: number[]): string => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

/** bench:iscsi's line, rbd in netroot's place: `<measure> (median of N, spread tgt+rbd A–B, tgt+file C–D): …, ratio R`. */
function line(m: Measure, a: number[], b: number[]): string {
  return (
    `${m.label} (median of ${a.length}, spread tgt+rbd ${spread(a)}, tgt+file ${spread(b)}): ` +
    `tgt+rbd ${fmt(median(a))} ${m.unit}, tgt+file ${fmt(median(b))} ${m.unit}, ratio ${(median(a) / median(b)).toFixed(2)} (higher is better)`
  );
}

async function main(): Promise<number> {
  const missing = missingPrerequisites();
  if (missing.length) {
    console.error(`bench:rbd cannot run here: ${missing.join(', ')}`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'netroot-bench-rbd-'));
  let ceph: CephCluster | undefined;
  let tgtd: Tgtd | undefined;
  try {
    ceph = await startCephCluster({ memstoreBytes: 2 << 30 });
    console.log(`ceph cluster (1 mon, 1 mgr, 1 memstore OSD) started in ${(ceph.startMs / 1000).toFixed(1)} s`);
    const file = join(dir, 'lun.img');
    prewrite(file, LUN_BYTES);
    await ceph.rbd(['import', '--image-format', '2', file, `${ceph.pool}/bench`]);
    const tgtConf = join(dir, 'tgt-ceph.conf');
    // The admin keyring of the throwaway cluster is in its conf: bs_rbd gets the conf only.
    copyFileSync(ceph.conf, tgtConf);
    const ctl = 24000 + (process.pid % 8000);
    tgtd = await startTgtd(await freePort(), ctl);
    const targets: Target[] = [
      { name: 'tgt+rbd', iqn: 'iqn.2026-12.local.netroot:bench-rbd' },
      { name: 'tgt+file', iqn: 'iqn.2026-12.local.netroot:bench-file' },
    ];
    for (const [i, t] of targets.entries()) {
      const tid = String(i + 1);
      tgtadm(ctl, '--op', 'new', '--mode', 'target', '--tid', tid, '--targetname', t.iqn);
      if (t.name === 'tgt+rbd')
        tgtadm(
          ctl,
          '--op',
          'new',
          '--mode',
          'logicalunit',
          '--tid',
          tid,
          '--lun',
          '1',
          '--bstype',
          'rbd',
          '--backing-store',
          `${ceph.pool}/bench`,
          '--bsopts',
          `conf=${tgtConf};id=admin`,
        );
      else tgtadm(ctl, '--op', 'new', '--mode', 'logicalunit', '--tid', tid, '--lun', '1', '--backing-store', file);
      tgtadm(ctl, '--op', 'bind', '--mode', 'target', '--tid', tid, '--initiator-name', INITIATOR);
    }
    console.log(
      `tgtd 1.0.85 as shipped, two targets on 127.0.0.1:${tgtd.port}: LUN 1 = RBD image ${ceph.pool}/bench (bs_rbd) | rdwr file; ${LUN_BYTES >> 20} MiB each, same data`,
    );
    console.log(`rounds ${ROUNDS}, iscsi-perf ${PERF_SECONDS} s, queue depth ${DEPTH}; figures on a loaded machine are noise`);
    for (const m of MEASURES) {
      const got: Record<Side, number[]> = { 'tgt+rbd': [], 'tgt+file': [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 ? [...targets].reverse() : targets;
        for (const t of order) got[t.name].push(await m.run(tgtd.port, t));
      }
      console.log(line(m, got['tgt+rbd'], got['tgt+file']));
    }
    return 0;
  } finally {
    await tgtd?.stop();
    await ceph?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
