// The real-OS part of `npm run bench:boot` (issue 13): a Debian 12 image (netroot image build)
//   1. image build time (or BENCH_IMAGE=<image dir> reuses one and says so);
//   2. power-on → multi-user.target of a diskless node booting the image's kernel + dracut initrd +
//      its overlay from netroot (DHCP, HTTP, embedded iSCSI target with CHAP), against the same
//      kernel, initrd, overlay and a copy of the same installed LUN served by the peer at its best:
//      dnsmasq DHCP, boot files over HTTP (busybox httpd; TFTP would be one round trip per block),
//      tgt. The two sides take turns; medians of BENCH_RUNS boots each (default 5), with spread;
//   3. install time of the same image onto the node's iSCSI LUN and onto a local virtual disk of the
//      same size (a `compute` node in the same lab), taking turns, medians of BENCH_INSTALL_RUNS.
// multi-user.target is read from the node's own systemd (ActiveEnterTimestampMonotonic) plus the
// power-on → kernel start time seen on the console: the same method for both sides.
import { copyFileSync, readdirSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { exitWithin } from '../../src/lab/lab.js';
import { FullLab, Lab, LabSsh, PeerLab, RealOsNode, KERNEL_START, REFERENCE_IQN, labSshKey, nodeMac, LAB_INSTALL_DONE } from '../../src/lab/index.js';
import { openStore } from '../../src/store/index.js';

const NETROOT = [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'];
const IMAGE = 'debian-12';
const DEADLINE = 600_000;
/**
 * QEMU NIC model of every node, both sides (BENCH_NIC). Default virtio-net-pci, the paravirtual NIC
 * of real VM clusters: under TCG an emulated e1000 costs the guest CPU per packet, which an iSCSI
 * root pays on every write and a local disk does not (install ratio 1.04 and 1.42 on e1000, 0.97
 * and 0.95 on virtio-net in two paired runs while other work shared the cores).
 */
const NIC = process.env.BENCH_NIC ?? 'virtio-net-pci';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const f1 = (x: number) => x.toFixed(1);

export interface RealOsBenchOptions {
  dir: string;
  runs: number;
  installRuns: number;
  say: (line: string) => void;
}

export function imageDir(o: RealOsBenchOptions): string {
  const given = process.env.BENCH_IMAGE;
  if (given) {
    o.say(`# image build: skipped, BENCH_IMAGE=${given}`);
    return given;
  }
  const t = Date.now();
  const r = spawnSync(NETROOT[0]!, [...NETROOT.slice(1), '--state-dir', join(o.dir, 'image-state'), 'image', 'build', IMAGE], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`image build failed:\n${r.stderr.slice(-3000)}`);
  o.say(`image build ${IMAGE} (mmdebstrap + dracut + root tarball): ${f1((Date.now() - t) / 1000)} s`);
  return join(o.dir, 'image-state', 'tftpboot', 'images', IMAGE);
}

export async function realOsBench(o: RealOsBenchOptions): Promise<void> {
  const img = imageDir(o);
  o.say(`# nodes: QEMU TCG, 1024 MiB, NIC ${NIC} (BENCH_NIC) on both sides; the local disk is a raw file on IDE, the LUN a raw file on the target`);
  const key = labSshKey(o.dir);
  const log = join(o.dir, 'console-os.log');
  const full = new FullLab({
    workDir: join(o.dir, 'netroot-os'),
    netroot: NETROOT,
    nodes: 2,
    name: 'nrt-bench-os',
    image: { name: IMAGE, dir: img },
    volumeGiB: 2,
    memoryMb: 1024,
    nicModel: NIC,
    sshPublicKey: key.pub,
    stageDeadlineMs: DEADLINE,
    onProgress: (n, w) => o.say(`# ${n}: ${w}`),
    onConsole: (n, l) => appendFileSync(log, `netroot ${n}| ${l}\n`),
  });
  const peerLab = new Lab({ name: 'nrt-bench-osref', workDir: join(o.dir, 'peer-os') });
  try {
    await full.up();
    const node = new RealOsNode(full, key.key, (n, w) => o.say(`# ${n}: ${w}`));
    const life = await node.life({ index: 0, firmware: 'bios', stageDeadlineMs: DEADLINE });
    o.say(
      `# netroot life: install ${f1(life.installSeconds)} s, multi-user.target ${f1(life.bootSeconds)} s (again ${f1(life.secondBootSeconds)} s), systemctl reboot ${f1(life.rebootSeconds)} s, poweroff ${f1(life.poweroffSeconds)} s`,
    );

    // The peer serves exactly what netroot's node boots: the image's kernel and initrd, the node's
    // overlay, and a copy of its installed LUN (as tgt LUN 1, no CHAP: dracut offers CHAP,None).
    const store = openStore(full.stateDir);
    const rec = await store.boot.get(life.host);
    await store.close();
    if (!rec?.overlay) throw new Error(`${life.host} has no diskless boot record`);
    const lun = join(o.dir, 'peer-lun.img');
    copyFileSync(join(full.stateDir, 'volumes', `${life.host}.img`), lun);
    const fe = peerLab.frontendAddress;
    const args = rec.args.replace(/netroot=iscsi:\S+/, `netroot=iscsi:${fe}::3260:1:${REFERENCE_IQN}`);
    await peerLab.up();
    const peer = new PeerLab(peerLab, {
      kernel: join(img, 'vmlinuz'),
      initrd: join(img, 'initrd.img'),
      moreInitrds: [join(full.stateDir, rec.overlay)],
      cmdline: args,
      http: true,
      hosts: [{ mac: life.mac, ip: life.ip }],
      iscsi: { iqn: REFERENCE_IQN, backingFile: lun },
    });
    await peer.start();
    const peerSsh = new LabSsh(peerLab, key.key);

    const boots: Record<'netroot' | 'peer', number[]> = { netroot: [], peer: [] };
    for (let i = 0; i < o.runs; i++) {
      for (const side of i % 2 === 0 ? (['netroot', 'peer'] as const) : (['peer', 'netroot'] as const)) {
        const lab = side === 'netroot' ? full.lab : peerLab;
        const ssh = side === 'netroot' ? node : peerSsh;
        const t = Date.now();
        const n = lab.bootNode({
          mac: life.mac,
          firmware: 'bios',
          memoryMb: 1024,
          nicModel: NIC,
          onLine: (l) => appendFileSync(log, `${side} boot ${i}| +${((Date.now() - t) / 1000).toFixed(1)}s ${l}\n`),
        });
        try {
          await n.waitFor(KERNEL_START, DEADLINE);
          const kernelAt = (Date.now() - n.startedAt) / 1000;
          await ssh.waitForSsh(life.ip, DEADLINE);
          const s = kernelAt + (await ssh.multiUserSeconds(life.ip));
          boots[side].push(s);
          o.say(`# boot ${i + 1}/${o.runs} ${side}: multi-user.target ${f1(s)} s (kernel at ${f1(kernelAt)} s)`);
          await ssh.shutdown(n, life.ip, 'poweroff', 120_000, []);
        } finally {
          await n.powerOff();
        }
      }
    }
    if (o.runs > 0) {
      const ours = median(boots.netroot);
      const theirs = median(boots.peer);
      o.say(
        `real OS diskless boot, Debian 12 + its dracut (power-on → multi-user.target, median of ${o.runs}): netroot ${f1(ours)} s (${spread(boots.netroot)}), dnsmasq+httpd+tgt ${f1(theirs)} s (${spread(boots.peer)}), ratio ${(ours / theirs).toFixed(2)} (lower is better)`,
      );
    } else o.say('# real OS diskless boot: skipped (BENCH_RUNS=0)');

    // Install onto the LUN (reinstall compute-0-0) and onto a local disk (a compute node), in turns.
    await full.cliOk('attr', 'set', 'os_image', IMAGE, '--appliance', 'compute');
    const diskMac = nodeMac(1);
    const added = JSON.parse(await full.cliOk('insert-ethers', '--mac', diskMac, '--appliance', 'compute', '--json')) as { name: string };
    const disk = join(o.dir, 'disk.img');
    const installs: Record<'lun' | 'disk', number[]> = { lun: [], disk: [] };
    const done = new RegExp(`${LAB_INSTALL_DONE}: reboot`);
    for (let i = 0; i < o.installRuns; i++) {
      for (const where of i % 2 === 0 ? (['lun', 'disk'] as const) : (['disk', 'lun'] as const)) {
        const host = where === 'lun' ? life.host : added.name;
        await full.cliOk('host', 'set', host, 'boot=install');
        if (where === 'disk') {
          writeFileSync(disk, '');
          truncateSync(disk, 2 * 2 ** 30); // blank, the size of the LUN
        }
        const r = await full.stage(host, where === 'lun' ? life.mac : diskMac, `install ${where}`, done, done, where === 'disk' ? { disk } : {});
        await exitWithin(r.node.exited, 30_000);
        await r.node.powerOff();
        installs[where].push(r.seconds);
        o.say(`# install ${i + 1}/${o.installRuns} onto the ${where === 'lun' ? 'iSCSI LUN' : 'local disk'}: ${f1(r.seconds)} s`);
      }
    }
    const lunT = median(installs.lun);
    const diskT = median(installs.disk);
    o.say(
      `install Debian 12 image (power-on → installer reboot, median of ${o.installRuns}): iSCSI LUN ${f1(lunT)} s (${spread(installs.lun)}), local disk ${f1(diskT)} s (${spread(installs.disk)}), ratio ${(lunT / diskT).toFixed(2)} (lower is better; target ≤ 1.05)`,
    );
    for (const f of readdirSync(o.dir)) if (f.endsWith('.img')) truncateSync(join(o.dir, f), 0);
  } finally {
    await full.down();
    await peerLab.down();
  }
}
