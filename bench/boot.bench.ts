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
import { FullLab, LAB_ROOT_BOOTED, LAB_ROOT_READY, PeerBootStack } from '../src/lab/index.js';
import { openStore } from '../src/store/index.js';
import { tempStateDir } from '../test/helpers/tmp.js';
import { realOsBench } from './lib/real-os-boot.js';
import { ratioLine } from './lib/stats.js';

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
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
  const full = new FullLab({
    workDir: join(dir, 'netroot'),
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes,
    memoryMb: 768,
    onProgress: (n, w) => say(`# ${n}: ${w}`),
    onConsole: (n, l) => appendFileSync(log, `netroot ${n}| ${l}\n`),
  });
  // The peer stacks: the peer lab at its best (kernel and initrd over TFTP), the same with them over
  // HTTP (busybox httpd), the transfer protocol netroot uses: like for like; and the peer lab as
  // shipped, where iPXE waits ~15 s for IPv6 router advertisements (issue #23's ≤ 0.7 target).
  const peers: Array<{ label: string; stack: PeerBootStack; seconds: number[] }> = [];
  try {
    const lives = await full.run();
    const first = lives[0]!;
    const store = openStore(full.stateDir);
    const rec = await store.boot.get(first.host);
    await store.close();
    const rootArgs = /root=UUID=\S+/.exec(rec?.args ?? '')?.[0] ?? '';
    if (!rootArgs) throw new Error(`no root=UUID= in ${first.host}'s kernel arguments: ${rec?.args}`);
    for (const l of lives)
      say(
        `# ${l.host}: full life ${fmt(l.lifeSeconds)} s = install ${fmt(l.installSeconds)} s (power-on → installer reboot) + diskless ${fmt(l.disklessSeconds)} s + reboot ${fmt(l.rebootSeconds)} s (power-on → root), root kept boot ${l.persistedBoot}`,
      );
    // The installed LUN, as netroot's node left it (powered off), served by tgt (no CHAP: the peer lab's tgt has none).
    const lun = join(dir, 'installed.img');
    copyFileSync(join(full.stateDir, 'volumes', `${first.host}.img`), lun);
    const root = {
      lun,
      marker: LAB_ROOT_BOOTED,
      rootArgs: (portal: string, iqn: string) => `${rootArgs} netroot=iscsi:${portal}::3260:1:${iqn} netroot.lab=poweroff`,
    };
    for (const [label, http, best, name] of [
      ['dnsmasq+TFTP+tgt', false, true, 'nrt-ref'],
      ['dnsmasq+httpd+tgt', true, true, 'nrt-refh'],
      ['dnsmasq+TFTP+tgt as shipped', false, false, 'nrt-refs'],
    ] as const) {
      const stack = new PeerBootStack({ workDir: join(dir, name), root, http, best, name, tgtControlPort: 1000 + ((process.pid + peers.length + 1) % 20000) });
      peers.push({ label, stack, seconds: [] });
      await stack.up();
    }
    // Interleaved: netroot, then each peer, BENCH_RUNS times, so load drifts hit every side alike.
    const ours: number[] = [];
    for (let r = 0; r < runs; r++) {
      const b = await full.stage(first.host, first.mac, `diskless boot ${r + 1}/${runs}`, new RegExp(LAB_ROOT_READY), new RegExp(LAB_ROOT_BOOTED));
      await b.node.powerOff();
      ours.push(b.seconds);
      for (const p of peers) p.seconds.push((await p.stack.boot(0)).seconds);
      say(`# boot ${r + 1}/${runs}: netroot ${fmt(ours[r]!)} s, ${peers.map((p) => `${p.label} ${fmt(p.seconds[r]!)} s`).join(', ')}`);
    }
    const [tftp, http, shipped] = peers;
    const line = (measure: string, peer: (typeof peers)[number], note?: string) =>
      say(ratioLine({ measure, peer: peer.label, netroot: ours, other: peer.seconds, unit: 's', f: fmt, better: 'lower', ...(note ? { note } : {}) }));
    line('diskless boot, power-on → root, interleaved', tftp!);
    line('diskless boot like for like, kernel and initrd over HTTP on both sides', http!);
    line('diskless boot against the peer lab as shipped (iPXE waits for IPv6 router advertisements)', shipped!, 'target ≤ 0.7');
  } finally {
    for (const p of peers) await p.stack.down();
    await full.down();
  }
}

function fmt(x: number): string {
  return x.toFixed(1);
}
