// bench:cluster's NFS peer part (bench/README.md): nfs-ganesha, configured as the nfs-home role
// configures it on the frontend (src/cluster/nfs.ts renderGaneshaConf), against the kernel NFS
// server (nfsd) on the same export, in ONE QEMU guest (TCG) that boots the installed Debian kernel
// over this machine's root (test/helpers/kernel-guest.ts): this machine's running kernel has no nfsd,
// the installed one has it as a module, and the guest has the host's rpc.nfsd, exportfs, rpc.mountd
// and ganesha.nfsd. Both servers run at once in the guest and export the same directory of one ext4
// on a virtio disk (knfsd on 127.0.0.1:2049, ganesha on 127.0.0.1:2050); the client is the guest's
// own kernel NFS client over loopback, mounting each with the role's options (rw,hard,proto=tcp) —
// the same client, wire, file system and emulated CPU for both, so the ratio compares the servers
// (a second guest on a virtual link would add a second emulated CPU and a virtio-net path that
// both would share). Runs alternate (knfsd first in even rounds, ganesha first in odd ones); each
// is `dd if=/dev/zero bs=1M count=MiB conv=fsync` into a new file, timed by the guest's clock, after
// `sync` + drop_caches; a 4 MiB write per server first (not counted) waits out knfsd's grace period.
import { truncateSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { renderGaneshaConf } from '../../src/cluster/nfs.js';
import { runInKernelGuest } from '../../test/helpers/kernel-guest.js';
import { haveTool } from '../../test/helpers/tools.js';

/** What the guest needs from this machine's root, and the Debian package of each. */
export const NFS_PEER_TOOLS: ReadonlyArray<[string, string]> = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['/bin/busybox', 'busybox-static'],
  ['rpc.nfsd', 'nfs-kernel-server'],
  ['rpc.mountd', 'nfs-kernel-server'],
  ['exportfs', 'nfs-kernel-server'],
  ['rpcbind', 'rpcbind'],
  ['ganesha.nfsd', 'nfs-ganesha'],
  ['/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so', 'nfs-ganesha-vfs'],
  ['mount.nfs4', 'nfs-common'],
  ['mkfs.ext4', 'e2fsprogs'],
];
/** The installed kernel's modules the guest loads: the server, the client, the export's file system. */
export const NFS_PEER_MODULES = ['nfsd', 'nfsv4', 'ext4'];

const KNFSD_PORT = 2049;
const GANESHA_PORT = 2050;
const EXPORT = '/srv/home';
/** The nfs-home role's default mount options (roles/cluster/nfs-home.xml nfs_home_options). */
const MOUNT_OPTIONS = 'rw,hard,proto=tcp';
const TAG = '@@nfspeer';

export interface NfsPeerResult {
  /** MiB/s of each counted run, in run order. */
  ganesha: number[];
  knfsd: number[];
  /** The NFS version each mount got (vers= in the guest's /proc/mounts). */
  versions: { ganesha: string; knfsd: string };
  /** This machine's 1-minute load average at the start and at the end. */
  load: [number, number];
  seconds: number;
}

export class NfsPeerError extends Error {}

/** Throws, naming every missing tool and its package (never a silent skip). */
export function checkNfsPeerTools(): void {
  const missing = NFS_PEER_TOOLS.filter(([t]) => !haveTool(t));
  if (missing.length > 0) throw new NfsPeerError(`NFS peer part needs ${missing.map(([t, p]) => `${t} (Debian: ${p})`).join(', ')}`);
}

function guestScript(mib: number, runs: number): string {
  const ganeshaConf = renderGaneshaConf({ exportDir: EXPORT, clients: '127.0.0.0/8', bindAddress: '127.0.0.1', port: GANESHA_PORT });
  const rounds = Array.from({ length: runs }, (_, i) => (i % 2 === 0 ? `run knfsd ${i}\nrun ganesha ${i}` : `run ganesha ${i}\nrun knfsd ${i}`));
  return `
T=${TAG}
fail() { echo "$T fail $*"; [ -s /tmp/step.err ] && sed "s/^/$T stderr /" /tmp/step.err; [ -f /tmp/ganesha.log ] && tail -20 /tmp/ganesha.log | sed "s/^/$T ganesha-log /"; dmesg | tail -20 | sed "s/^/$T dmesg /"; exit 1; }
ip link set lo up || fail "ip link set lo up"
# ganesha resolves Bind_addr with AI_ADDRCONFIG, which finds no IPv4 while 127.0.0.1 is the only
# address ("No IP address found for 127.0.0.1"): one more (TEST-NET-1) on lo, as any host has
ip addr add 192.0.2.1/32 dev lo || fail "ip addr add 192.0.2.1/32 dev lo"
grep -qw nfsd /proc/filesystems || fail "the guest kernel has no nfsd (/proc/filesystems)"
grep -qw nfs4 /proc/filesystems || fail "the guest kernel has no nfs4 client (/proc/filesystems)"
mkfs.ext4 -q -F /dev/vda || fail "mkfs.ext4 /dev/vda"
mount -t ext4 /dev/vda /srv || fail "mount /dev/vda /srv"
mkdir -p ${EXPORT} /tmp/mnt-knfsd /tmp/mnt-ganesha
# /var/lib/nfs (etab, rmtab, v4 recovery, ganesha's recovery) is on the read-only host root here
mount -t tmpfs nfsstate /var/lib/nfs || fail "tmpfs on /var/lib/nfs"
mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery /var/lib/nfs/ganesha /run/rpcbind; touch /var/lib/nfs/etab /var/lib/nfs/rmtab
rpcbind 2> /tmp/step.err || fail "rpcbind"
# kernel nfsd: NFSv4 over TCP only, export root (fsid=0) = ${EXPORT}; grace and lease 10 s (the minimum)
mount -t nfsd nfsd /proc/fs/nfsd || fail "mount -t nfsd"
exportfs -i -o rw,sync,no_root_squash,no_subtree_check,fsid=0 127.0.0.1:${EXPORT} 2> /tmp/step.err || fail "exportfs"
rpc.mountd -N 2 -N 3 2> /tmp/step.err || fail "rpc.mountd"
rpc.nfsd -N 3 -U -L 10 -G 10 -p ${KNFSD_PORT} 8 2> /tmp/step.err || fail "rpc.nfsd"
# nfs-ganesha with the nfs-home role's configuration (src/cluster/nfs.ts), on port ${GANESHA_PORT}
cat > /tmp/ganesha.conf << 'NETROOT_GANESHA_END'
${ganeshaConf}NETROOT_GANESHA_END
setsid ganesha.nfsd -F -L /tmp/ganesha.log -f /tmp/ganesha.conf -p /run/ganesha.pid -N NIV_EVENT < /dev/null > /tmp/ganesha.out 2>&1 &
i=0; until bash -c 'exec 3<>/dev/tcp/127.0.0.1/${GANESHA_PORT}' 2>/dev/null; do i=$((i + 1)); [ $i -gt 120 ] && fail "ganesha does not listen on ${GANESHA_PORT}: $(cat /tmp/ganesha.out)"; sleep 1; done
timeout 120 mount -t nfs4 -o ${MOUNT_OPTIONS},port=${KNFSD_PORT} 127.0.0.1:/ /tmp/mnt-knfsd 2> /tmp/step.err || fail "mount knfsd"
timeout 120 mount -t nfs4 -o ${MOUNT_OPTIONS},port=${GANESHA_PORT} 127.0.0.1:${EXPORT} /tmp/mnt-ganesha 2> /tmp/step.err || fail "mount ganesha"
for s in knfsd ganesha; do
  echo "$T vers $s $(grep " /tmp/mnt-$s " /proc/mounts | tr ',' '\\n' | sed -n 's/^vers=//p')"
  # not counted: the first OPEN waits out knfsd's grace period
  timeout 300 dd if=/dev/zero of=/tmp/mnt-$s/warm-up-$s bs=1M count=4 conv=fsync status=none || fail "warm-up write through $s"
  rm -f /tmp/mnt-$s/warm-up-$s
done
run() {
  f=/tmp/mnt-$1/bench-$1-$2.dat
  sync; echo 3 > /proc/sys/vm/drop_caches
  t0=$(date +%s.%N)
  dd if=/dev/zero of=$f bs=1M count=${mib} conv=fsync status=none || fail "dd through $1"
  t1=$(date +%s.%N)
  rm -f $f
  echo "$T run $1 $2 $t0 $t1"
}
${rounds.join('\n')}
umount /tmp/mnt-ganesha /tmp/mnt-knfsd
kill $(cat /run/ganesha.pid) 2>/dev/null
rpc.nfsd 0
echo "$T done"
`;
}

/**
 * Boots the guest, runs `runs` rounds of both servers and returns their MiB/s. Throws with the
 * guest's own words (or the console's tail) when anything is missing or fails.
 */
export async function measureNfsPeer(opts: { workDir: string; mib: number; runs: number; timeoutMs: number }): Promise<NfsPeerResult> {
  checkNfsPeerTools();
  const started = Date.now();
  const load0 = loadavg()[0]!;
  const disk = join(opts.workDir, 'nfs-peer-export.img');
  writeFileSync(disk, '');
  // sparse; ext4 and one run's file (each is deleted after its run) fit well within it
  truncateSync(disk, Math.max(512, opts.mib * 4) * 1024 * 1024);
  const guest = await runInKernelGuest({
    workDir: opts.workDir,
    script: guestScript(opts.mib, opts.runs),
    timeoutMs: opts.timeoutMs,
    disks: [disk],
    memoryMb: 1024,
    modules: NFS_PEER_MODULES,
  });
  const consoleLog = join(opts.workDir, 'nfs-peer-console.log');
  writeFileSync(consoleLog, guest.console);
  // From the tag on: the console's first line starts with the firmware's terminal escapes.
  const lines = guest.console
    .split(/\r?\n/)
    .filter((l) => l.includes(`${TAG} `) || / insmod .* failed/.test(l))
    .map((l) => (l.includes(`${TAG} `) ? l.slice(l.indexOf(`${TAG} `)) : l));
  const tail = () => guest.console.split(/\r?\n/).slice(-40).join('\n');
  const failed = lines.filter((l) => !/^\S+ (run|vers) /.test(l));
  if (guest.status !== 0 || !lines.includes(`${TAG} done`))
    throw new NfsPeerError(`NFS peer guest (status ${guest.status}; console ${consoleLog}): ${failed.length ? failed.join('\n') : tail()}`);
  const result: NfsPeerResult = { ganesha: [], knfsd: [], versions: { ganesha: '', knfsd: '' }, load: [load0, loadavg()[0]!], seconds: 0 };
  for (const l of lines) {
    const w = l.split(' ');
    if (w[1] === 'vers' && (w[2] === 'ganesha' || w[2] === 'knfsd')) result.versions[w[2]] = w[3] ?? '';
    if (w[1] === 'run' && (w[2] === 'ganesha' || w[2] === 'knfsd')) {
      const s = Number(w[5]) - Number(w[4]);
      if (!(s > 0)) throw new NfsPeerError(`NFS peer guest: a run without a duration: ${l}`);
      result[w[2]].push(opts.mib / s);
    }
  }
  if (result.ganesha.length !== opts.runs || result.knfsd.length !== opts.runs)
    throw new NfsPeerError(`NFS peer guest: ${result.ganesha.length} ganesha and ${result.knfsd.length} knfsd runs of ${opts.runs}:\n${tail()}`);
  result.seconds = (Date.now() - started) / 1000;
  return result;
}
