// npm run bench:boot — power-on → diskless root on netroot's own stack (DHCP, HTTP boot files,
// embedded iSCSI target, per-node overlay with CHAP) vs the peer stack (dnsmasq DHCP + TFTP, tgt)
// booting the same kernel, the same base initrd and the same root (a copy of the LUN netroot
// installed), in one run. Also prints each node's full life (add → install → diskless → reboot).
// Then the real-OS line (bench/lib/real-os-boot.ts): a Debian 12 image with its own dracut, on
// netroot against dnsmasq + HTTP + tgt, plus image build and install times (LUN vs local disk).
// Needs root. Not a test: the machine is shared, figures are noisy; never run in CI.
//   BENCH_RUNS=0 skips the boot comparison (installs only).
//   BENCH_NODES (default 1): nodes in the netroot lab (they run in parallel, as in `netroot lab up`).
//   BENCH_BOOT=busybox|os|busybox,os (default both); BENCH_RUNS (boots per side, default 5);
//   BENCH_INSTALL_RUNS (installs per target, default 5); BENCH_IMAGE=<image dir> reuses an image;
//   BENCH_NIC (QEMU NIC model of the real-OS nodes, default virtio-net-pci).
import { appendFileSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FullLab, LAB_ROOT_BOOTED, measurePeerDisklessBoot } from '../src/lab/index.js';
import { openStore } from '../src/store/index.js';
import { tempStateDir } from '../test/helpers/tmp.js';
import { realOsBench } from './lib/real-os-boot.js';

const nodes = Number(process.env.BENCH_NODES ?? 1);
const dir = tempStateDir('nrt-bench-boot-');
const log = join(dir, 'console.log');
const say = (s: string) => process.stdout.write(`${s}\n`);
const parts = (process.env.BENCH_BOOT ?? 'busybox,os').split(',');
let ok = false;
try {
  if (parts.includes('busybox')) await busyboxBench();
  if (parts.includes('os'))
    await realOsBench({ dir, runs: Number(process.env.BENCH_RUNS ?? 5), installRuns: Number(process.env.BENCH_INSTALL_RUNS ?? 5), say });
  ok = true;
} finally {
  if (ok) rmSync(dir, { recursive: true, force: true });
  else say(`# kept ${dir} (console logs in it)`);
}

async function busyboxBench(): Promise<void> {
  const full = new FullLab({
    workDir: join(dir, 'netroot'),
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes,
    memoryMb: 768,
    onProgress: (n, w) => say(`# ${n}: ${w}`),
    onConsole: (n, l) => appendFileSync(log, `netroot ${n}| ${l}\n`),
  });
  let lives;
  let rootArgs: string;
  try {
    lives = await full.run();
    const store = openStore(full.stateDir);
    const rec = await store.boot.get(lives[0]!.host);
    await store.close();
    rootArgs = /root=UUID=\S+/.exec(rec?.args ?? '')?.[0] ?? '';
    if (!rootArgs) throw new Error(`no root=UUID= in ${lives[0]!.host}'s kernel arguments: ${rec?.args}`);
  } finally {
    await full.down();
  }
  // The installed LUN, as netroot's node left it, now served by tgt (no CHAP: the peer lab's tgt has none).
  const lun = join(dir, 'installed.img');
  copyFileSync(join(full.stateDir, 'volumes', `${lives[0]!.host}.img`), lun);
  // Two boots each side (netroot: the first diskless boot and the reboot); the line compares means.
  const peer = await measurePeerDisklessBoot({
    workDir: join(dir, 'peer'),
    firmwares: ['bios', 'bios'],
    root: { lun, marker: LAB_ROOT_BOOTED, rootArgs: (portal, iqn) => `${rootArgs} netroot=iscsi:${portal}::3260:1:${iqn} netroot.lab=poweroff` },
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ours = mean(lives.flatMap((l) => [l.disklessSeconds, l.rebootSeconds]));
  const theirs = mean(peer.map((p) => p.seconds));
  const fmt = (x: number) => x.toFixed(1);
  for (const l of lives)
    say(
      `# ${l.host}: full life ${fmt(l.lifeSeconds)} s = install ${fmt(l.installSeconds)} s (power-on → installer reboot) + diskless ${fmt(l.disklessSeconds)} s + reboot ${fmt(l.rebootSeconds)} s (power-on → root), root kept boot ${l.persistedBoot}`,
    );
  say(`# peer boots: ${peer.map((p) => fmt(p.seconds)).join(' s, ')} s`);
  say(`diskless boot (power-on → root): netroot ${fmt(ours)} s, dnsmasq+tgt ${fmt(theirs)} s, ratio ${(ours / theirs).toFixed(2)} (lower is better)`);
}
