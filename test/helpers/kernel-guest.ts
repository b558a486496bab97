// Runs a shell script as root inside a throw-away QEMU guest (TCG) that boots the installed Debian
// kernel with this machine's own root file system, read-only over virtio-9p: the script sees the
// same programs (lvm2, e2fsprogs, util-linux...) as the host, under a kernel that has what the
// host's may lack (device-mapper, loop). For tests of node-side scripts that must change block
// devices: nothing on the host is touched.
//
// Guest layout: / is the 9p host root (read-only); /dev devtmpfs, /proc, /sys, /run and /tmp
// tmpfs (the host's /tmp is hidden: the script travels in the initramfs); LVM runs without udev (LVM_SYSTEM_DIR points at a config that says so, with no backups).
// The guest prints `<prefix> exit <status>` after the script and powers off; the console is
// returned whole. The script runs in process group 0 (under the guest's init): a daemon that needs
// its own, such as automount (the kernel refuses an autofs mount for pgrp 0), is started with setsid.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpioWriter, gzip, readModuleIndex, resolveModules } from '../../src/initrd/index.js';
import { BUSYBOX, installedKernel, kernelVersion } from '../../src/lab/test-images.js';

/** Loaded from the initramfs: what mounting the host root over virtio-9p needs. */
const INITRAMFS_MODULES = ['virtio_pci', 'virtio_blk', '9pnet_virtio', '9p'];
/** Loaded from the host root once it is mounted (insmod paths under /lib/modules/<kver>). */
const ROOT_MODULES = ['dm_mod', 'loop', 'crc32c_generic', 'ext4', 'xfs', 'virtio_net', 'nfsv4', 'autofs4'];

const LVM_CONF = `devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
global { use_lvmpolld = 0 event_activation = 0 }
backup { backup = 0 archive = 0 }
`;

export interface GuestRun {
  console: string;
  /** The script's exit status, or null when the guest never printed it (timeout, crash). */
  status: number | null;
}

async function initramfs(kver: string, script: string, marker: string, modules: readonly string[]): Promise<Buffer> {
  const index = await readModuleIndex('/lib/modules', kver);
  // Asked for by the caller: missing ones fail here (E_MODULE_MISSING), and an insmod of one of
  // them (or of what it depends on) that fails in the guest says so on the console.
  const needed = new Set(
    resolveModules(
      index,
      modules.map((name) => ({ name })),
    ).map((m) => m.path),
  );
  const first = resolveModules(
    index,
    INITRAMFS_MODULES.map((name) => ({ name, optional: name === 'virtio_blk' })),
  );
  const later = resolveModules(index, [...ROOT_MODULES.map((name) => ({ name, optional: true })), ...modules.map((name) => ({ name }))]).filter(
    (m) => !first.some((f) => f.path === m.path),
  );
  const w = new CpioWriter({ mtime: 0 });
  w.dir('/dev').dir('/proc').dir('/sys').dir('/bin').dir('/host').dir('/mods');
  w.device('/dev/console', 'char', 5, 1, { mode: 0o600 });
  w.file('/bin/busybox', readFileSync(BUSYBOX), { mode: 0o755 });
  w.file('/script.sh', script, { mode: 0o755 });
  w.symlink('/bin/sh', 'busybox');
  for (const [i, m] of first.entries()) w.file(`/mods/${String(i).padStart(2, '0')}.ko`, readFileSync(join(index.dir, m.path)));
  const insmodLater = later
    .map((m) =>
      needed.has(m.path)
        ? `/bin/busybox insmod /host/lib/modules/${kver}/${m.path} || echo "${marker} insmod ${m.path} failed"`
        : `/bin/busybox insmod /host/lib/modules/${kver}/${m.path} 2>/dev/null`,
    )
    .join('\n');
  const init = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in /mods/*.ko; do $B insmod $m || echo "${marker} insmod $m failed"; done
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host || { echo "${marker} exit 125"; $B poweroff -f; }
${insmodLater}
$B mount -t proc proc /host/proc
$B mount -t sysfs sys /host/sys
$B mount -t devtmpfs dev /host/dev
$B mount -t tmpfs tmp /host/tmp
$B mount -t tmpfs run /host/run
$B mkdir -p /host/run/lvm /host/run/lock /host/tmp/lvm
$B cat > /host/tmp/lvm/lvm.conf << 'NETROOT_EOF'
${LVM_CONF}NETROOT_EOF
$B cp /script.sh /host/run/netroot-guest-script.sh
LVM_SYSTEM_DIR=/tmp/lvm $B chroot /host /bin/sh /run/netroot-guest-script.sh
echo "${marker} exit $?"
$B sync
$B poweroff -f
`;
  w.file('/init', init, { mode: 0o755 });
  return gzip(w.finish());
}

/**
 * Boots the guest and runs `script` (shell text) as root; it sees the host's files read-only.
 * `disks`: raw image files attached as virtio disks (/dev/vda, /dev/vdb, ... in order).
 * `net`: one virtio NIC on QEMU's user-mode network (the guest configures it: 10.0.2.15/24); the
 * guest reaches this machine's 127.0.0.1 at 10.0.2.2 (connections come from 127.0.0.1 here).
 * `onOutput`: called with the whole console so far at every new chunk, while the guest runs (a test
 * that must act on this machine at a point of the script watches for a line the script prints).
 * `modules`: more modules loaded from the host root with what they depend on (after the built-in
 * list), e.g. nfsd: one the installed kernel lacks fails here, one that does not load in the guest
 * prints `<prefix> insmod <path> failed`.
 */
export async function runInKernelGuest(opts: {
  workDir: string;
  script: string;
  timeoutMs: number;
  disks?: string[];
  memoryMb?: number;
  net?: boolean;
  modules?: readonly string[];
  onOutput?: (console: string) => void;
}): Promise<GuestRun> {
  const kernel = installedKernel();
  const marker = `NETROOT-GUEST-${process.pid}`;
  const initrd = join(opts.workDir, 'guest-initrd.gz');
  writeFileSync(initrd, await initramfs(kernelVersion(kernel), opts.script, marker, opts.modules ?? []));
  const args = [
    '-accel',
    'tcg',
    '-m',
    String(opts.memoryMb ?? 768),
    '-nographic',
    '-no-reboot',
    '-nodefaults',
    '-serial',
    'stdio',
    '-kernel',
    kernel,
    '-initrd',
    initrd,
    '-append',
    'console=ttyS0 panic=-1 quiet loglevel=3',
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap',
  ];
  if (opts.net) args.push('-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0');
  for (const d of opts.disks ?? []) args.push('-drive', `file=${d},format=raw,if=virtio,cache=unsafe`);
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const more = (d: Buffer) => {
    out += d;
    opts.onOutput?.(out);
  };
  child.stdout.on('data', more);
  child.stderr.on('data', more);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  await new Promise<void>((r) => child.once('exit', () => r()));
  clearTimeout(timer);
  const m = new RegExp(`${marker} exit (\\d+)`).exec(out);
  return { console: out, status: m ? Number(m[1]) : null };
}
