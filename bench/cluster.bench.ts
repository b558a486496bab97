// npm run bench:cluster — the cluster lab (src/lab/cluster.ts, the same code as the cluster test in
// test/e2e/real-os.test.ts): two Debian 12 diskless nodes, Slurm (slurmctld + munged in the lab
// namespace), the NFS home from nfs-ganesha, accounts and the munge key from `netroot sync users`.
//   1. a blank node's power-on to its first Slurm job running: node 1, a golden clone of node 0 added
//      by insert-ethers, gets a job (sbatch -w <node>) as soon as it is discovered; the job's
//      StartTime (slurmctld's clock, 1 s resolution) against the node's own power-on to
//      multi-user.target. Target: first job ≤ 1.2 × multi-user.target.
//   2. `srun -N2 true` latency from the frontend as the synced user (BENCH_SRUN runs, default 10).
//   3. NFS home write throughput: dd of BENCH_NFS_MIB (default 64) MiB with conv=fsync into the
//      user's home from node 0, BENCH_NFS_RUNS (default 3) times.
//   4. (part nfs-peer, bench/lib/nfs-peer.ts) the same export served by the peer NFS server: this
//      machine's kernel has no nfsd, so nfs-ganesha (the role's configuration) and the kernel nfsd
//      both run in one QEMU guest with the installed Debian kernel, the same ext4 export, the
//      guest's own NFS client over loopback; dd as in 3, BENCH_NFS_PEER_RUNS (default 5) rounds,
//      interleaved. Ratio ganesha/knfsd, target ≥ 0.9×.
// BENCH_CLUSTER_PARTS (default lab,nfs-peer): `nfs-peer` alone needs no cluster lab nor root (~2–3 min).
// Needs root (part lab). Not a test: the machine is shared, figures are noisy; never run in CI.
// BENCH_IMAGE=<image dir> reuses a built image (else one is built first, ~5 min).
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { clusterLab } from '../src/lab/cluster.js';
import { labSshKey } from '../src/lab/index.js';
import { tempStateDir } from '../test/helpers/tmp.js';
import { measureNfsPeer, checkNfsPeerTools } from './lib/nfs-peer.js';
import { imageDir } from './lib/real-os-boot.js';
import { median as statsMedian, ratioLine, spread } from './lib/stats.js';

const STAGE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 420_000);
const NETROOT = [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'];
const SRUN = Number(process.env.BENCH_SRUN ?? 10);
const NFS_MIB = Number(process.env.BENCH_NFS_MIB ?? 64);
const NFS_RUNS = Number(process.env.BENCH_NFS_RUNS ?? 3);
const PEER_RUNS = Number(process.env.BENCH_NFS_PEER_RUNS ?? 5);
const PARTS = new Set((process.env.BENCH_CLUSTER_PARTS ?? 'lab,nfs-peer').split(',').map((p) => p.trim()));
for (const p of PARTS) if (p !== 'lab' && p !== 'nfs-peer') throw new Error(`BENCH_CLUSTER_PARTS: unknown part ${p} (lab, nfs-peer)`);
if (!(NFS_MIB >= 1 && NFS_MIB <= 4096 && PEER_RUNS >= 1 && PEER_RUNS <= 50)) throw new Error('BENCH_NFS_MIB 1–4096, BENCH_NFS_PEER_RUNS 1–50');
// Before the lab's ten minutes: a missing tool of the peer part fails now, by name.
if (PARTS.has('nfs-peer')) checkNfsPeerTools();
const say = (s: string) => process.stdout.write(`${s}\n`);
const f1 = (x: number) => x.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const dir = tempStateDir('nrt-bench-cluster-');
const log = join(dir, 'console.log');
let ok = false;
try {
  if (PARTS.has('lab')) await labPart();
  if (PARTS.has('nfs-peer')) await peerPart();
  ok = true;
} finally {
  if (ok) rmSync(dir, { recursive: true, force: true });
  else say(`# kept ${dir} (console log: ${log})`);
}

/** 4. The same export served by nfs-ganesha and by the kernel nfsd, in one guest (bench/lib/nfs-peer.ts). */
async function peerPart(): Promise<void> {
  say(`# nfs-peer: one QEMU guest (TCG), ${PEER_RUNS} rounds of ${NFS_MIB} MiB per server`);
  const r = await measureNfsPeer({ workDir: dir, mib: NFS_MIB, runs: PEER_RUNS, timeoutMs: Number(process.env.BENCH_NFS_PEER_DEADLINE_MS ?? 1_800_000) });
  const vers = r.versions.ganesha === r.versions.knfsd ? `NFSv${r.versions.ganesha}` : `NFSv${r.versions.ganesha} (ganesha) / v${r.versions.knfsd} (knfsd)`;
  say(
    ratioLine({
      measure: `NFS home write throughput against the same export served by the peer NFS server (one QEMU guest, TCG: ext4 on a virtio disk, ${vers} TCP over the guest's loopback, dd ${NFS_MIB} MiB conv=fsync, interleaved)`,
      name: 'nfs-ganesha',
      peer: 'kernel nfsd',
      netroot: r.ganesha,
      other: r.knfsd,
      unit: 'MiB/s',
      f: f1,
      better: 'higher',
      note: 'target ≥ 0.9×',
    }),
  );
  // Each round's two runs are next to each other: their ratio is less moved by the load's swings.
  const paired = r.ganesha.map((g, i) => g / r.knfsd[i]!);
  say(
    `# nfs-peer: ${f1(r.seconds)} s; load average ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}; ganesha ${r.ganesha.map(f1).join(', ')}; knfsd ${r.knfsd.map(f1).join(', ')}; ` +
      `per-round ratio median ${statsMedian(paired).toFixed(2)} (${spread(paired, (x) => x.toFixed(2))})`,
  );
}

async function labPart(): Promise<void> {
  const image = imageDir({ dir, runs: 0, installRuns: 0, say });
  const ssh = labSshKey(dir);
  const { full, cluster } = clusterLab({
    workDir: join(dir, 'lab'),
    netroot: NETROOT,
    image: { name: 'debian-12', dir: image },
    sshKey: ssh,
    name: 'nrt-bench-cl',
    stageDeadlineMs: STAGE_MS,
    onProgress: (n, w) => say(`# ${n}: ${w}`),
    onConsole: (n, l) => appendFileSync(log, `${n}| ${l}\n`),
  });
  try {
    await full.up();
    await cluster.setUp();
    const n0 = await cluster.installNode(0, { firmware: 'bios' }, STAGE_MS);
    await cluster.waitIdle([n0.host], 240_000);
    await cluster.powerOff(n0, STAGE_MS);
    await cluster.golden('bench-golden', n0.host);
    const again = cluster.boot(n0, 'diskless boot again', STAGE_MS);
    again.catch(() => {});

    // 1. blank node → first job
    let job = 0;
    const n1 = await cluster.cloneNode(1, { firmware: 'bios' }, STAGE_MS, async (host) => {
      job = await cluster.sbatch(['-N1', `-w${host}`, '--output=/dev/null'], 'true');
    });
    const done = await cluster.waitJob(job, STAGE_MS);
    const start = Date.parse(`${done.get('StartTime')}`);
    if (done.get('JobState') !== 'COMPLETED' || !Number.isFinite(start))
      throw new Error(`first job ${job}: ${[...done].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    // StartTime has whole seconds: the power-on is rounded down to its second too.
    const firstJob = (start - Math.floor(n1.poweredOn / 1000) * 1000) / 1000;
    say(
      `first Slurm job on a blank node (golden clone, insert-ethers): ${f1(firstJob)} s after power-on; multi-user.target ${f1(n1.bootSeconds)} s → ` +
        `${(firstJob / n1.bootSeconds).toFixed(2)}× (target ≤ 1.2×)`,
    );
    const n0b = await again;
    await cluster.waitIdle([n0b.host, n1.host], 240_000);

    // 2. srun -N2 true
    const lat: number[] = [];
    for (let i = 0; i < SRUN; i++) {
      const t = Date.now();
      const r = await cluster.srun(['-N2', 'true']);
      if (r.code !== 0) throw new Error(`srun -N2 true: ${r.err}`);
      lat.push((Date.now() - t) / 1000);
    }
    const sorted = [...lat].sort((a, b) => a - b);
    say(
      `srun -N2 true (frontend → both nodes, as the synced user), ${SRUN} runs: median ${median(lat).toFixed(2)} s, min ${sorted[0]!.toFixed(2)} s, max ${sorted.at(-1)!.toFixed(2)} s`,
    );

    // 3. NFS home writes from node 0
    const rates: number[] = [];
    for (let i = 0; i < NFS_RUNS; i++) {
      const out = await cluster.sshOk(
        n0b.ip,
        `runuser -u alice -- sh -c 'cd /home/alice && t0=$(date +%s.%N) && dd if=/dev/zero of=bench.dat bs=1M count=${NFS_MIB} conv=fsync status=none && t1=$(date +%s.%N) && rm -f bench.dat && echo "$t0 $t1"'`,
        300_000,
      );
      const [a, b] = out.trim().split(/\s+/).map(Number);
      rates.push(NFS_MIB / (b! - a!));
    }
    say(
      `NFS home write (nfs-ganesha FSAL VFS, NFSv4 TCP, dd ${NFS_MIB} MiB conv=fsync from ${n0b.host}), ${NFS_RUNS} runs: median ${f1(median(rates))} MiB/s ` +
        `(${rates.map(f1).join(', ')})`,
    );
    await cluster.powerOff(n1, STAGE_MS);
    await cluster.powerOff(n0b, STAGE_MS);
  } finally {
    await full.down();
  }
}
