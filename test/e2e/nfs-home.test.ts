// The nfs-home role end to end on one machine: nfs-ganesha (FSAL VFS) serves a home export with the
// configuration src/cluster/nfs.ts writes, on loopback (this machine's kernel has no NFS server and
// no NFS client: /proc/filesystems lists neither nfsd nor nfs4); `netroot serve`'s check
// (nfsNullCall) sees it answer; a QEMU guest with the Debian kernel (test/helpers/kernel-guest.ts,
// user-mode network: the guest reaches this machine's 127.0.0.1 at 10.0.2.2) runs the role's own
// %post into a scratch directory, mounts a user's home as its autofs map says (the automount
// daemon's own autofs mount fails in this guest), and writes a file there; the file is read back
// here, in the export.
// Wall time: one guest boot, ~40 s on a loaded 2-core machine (TCG).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { nfsNullCall, renderGaneshaConf } from '../../src/cluster/nfs.js';
import { runInKernelGuest, type GuestRun } from '../helpers/kernel-guest.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';
import { e2eSkip } from './helpers.js';

const TOOLS: Array<[string, string]> = [
  ['ganesha.nfsd', 'nfs-ganesha'],
  ['/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so', 'nfs-ganesha-vfs'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['/bin/busybox', 'busybox-static'],
  ['mount.nfs4', 'nfs-common'],
];
const skip = e2eSkip || skipUnless(TOOLS);

/** The %post of roles/cluster/nfs-home.xml as the profile renders it, for these attribute values. */
async function rolePost(attrs: Record<string, string>): Promise<string> {
  const { readFileSync: read } = await import('node:fs');
  const xml = read(join(import.meta.dirname, '..', '..', 'roles', 'cluster', 'nfs-home.xml'), 'utf8');
  const body = /<post>\n([\s\S]*?)\n {2}<\/post>/.exec(xml)?.[1];
  assert.ok(body, 'nfs-home.xml has a <post>');
  // The entities (&name;) outside CDATA, as the profile expands them; CDATA as is.
  return body.replace(/<!\[CDATA\[\n?|\]\]>/g, '').replace(/'&([A-Za-z_]+);'/g, (_m, name: string) => {
    assert.ok(name in attrs, `attribute ${name}`);
    return `'${attrs[name]}'`;
  });
}

let dir = '';
let ganesha: ChildProcess | undefined;
let port = 0;
let guest: GuestRun | undefined;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'nrt-nfs-home-'));
  const exportDir = join(dir, 'export', 'home');
  mkdirSync(join(exportDir, 'alice'), { recursive: true });
  port = await freePort();
  writeFileSync(join(dir, 'ganesha.conf'), renderGaneshaConf({ exportDir, clients: '127.0.0.0/8', bindAddress: '127.0.0.1', port }));
  ganesha = spawn('ganesha.nfsd', ['-F', '-L', join(dir, 'ganesha.log'), '-f', join(dir, 'ganesha.conf'), '-p', join(dir, 'ganesha.pid'), '-N', 'NIV_EVENT'], {
    stdio: 'ignore',
  });
  await waitFor(async () => (await nfsNullCall('127.0.0.1', port, 1000)) === null, {
    what: () => `ganesha to answer on ${port}:\n${existsSync(join(dir, 'ganesha.log')) ? readFileSync(join(dir, 'ganesha.log'), 'utf8').slice(-1500) : ''}`,
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  const post = await rolePost({
    nfs_home_server: '10.0.2.2',
    nfs_home_export: exportDir,
    nfs_home_options: `rw,hard,proto=tcp,port=${port}`,
    Kickstart_PrivateAddress: '10.1.1.1',
  });
  // The role's %post writes /etc/auto.master.d and /etc/auto.home: here into the guest's /tmp/etc.
  const script = `
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
E=/tmp/etc; mkdir -p $E
cat > /tmp/post.sh << 'NETROOT_POST_END'
${post.replaceAll('/etc/', '/tmp/etc/').replace(/^systemctl enable (.*)$/m, 'echo "@@ enable $1"')}
NETROOT_POST_END
sh /tmp/post.sh; echo "@@ post rc=$?"
echo "@@ master $(grep -v '^#' $E/auto.master.d/netroot-home.autofs)"
echo "@@ map $(grep -v '^#' $E/auto.home)"
# What automount does on first use of /home/alice: the map's one line, its key (*) replaced by
# alice and & by the key (autofs(5)). The automount daemon itself cannot run in this guest (its
# autofs test mount fails there), so the mount it would make is made by hand.
line=$(grep -v '^#' $E/auto.home)
opts=$(echo "$line" | awk '{ sub(/^-fstype=nfs4,/, "", $2); print $2 }')
what=$(echo "$line" | awk '{ print $3 }' | sed 's/&/alice/')
mkdir -p /tmp/home/alice
mount -t nfs4 -o "$opts" "$what" /tmp/home/alice; echo "@@ mountrc rc=$?"
echo hello-from-node > /tmp/home/alice/hello.txt; echo "@@ write rc=$?"
echo "@@ mount $(grep ' /tmp/home/alice ' /proc/mounts | cut -d' ' -f1,3)"
umount /tmp/home/alice
`;
  guest = await runInKernelGuest({ workDir: dir, script, timeoutMs: 240_000, net: true });
});

after(async () => {
  ganesha?.kill('SIGTERM');
  if (ganesha && ganesha.exitCode === null) await new Promise((r) => ganesha!.once('exit', r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("nfs-home: ganesha serves the export netroot configures; the role's autofs maps mount a home on first use and the node writes into it", { skip }, () => {
  const out = guest!.console;
  assert.equal(guest!.status, 0, out.slice(-3000));
  assert.match(out, /@@ post rc=0/, out.slice(-3000));
  assert.match(out, /@@ enable autofs\.service/);
  assert.match(out, /@@ master \/home \/tmp\/etc\/auto\.home --timeout=600/, 'the master map hands /home to auto.home (written under /tmp/etc here)');
  assert.match(out, new RegExp(`@@ map \\* -fstype=nfs4,rw,hard,proto=tcp,port=${port} 10\\.0\\.2\\.2:${join(dir, 'export', 'home')}/&`));
  assert.match(out, /@@ write rc=0/, out.slice(-3000));
  assert.match(out, new RegExp(`@@ mount 10\\.0\\.2\\.2:${join(dir, 'export', 'home')}/alice nfs4`), out.slice(-3000));
  assert.equal(readFileSync(join(dir, 'export', 'home', 'alice', 'hello.txt'), 'utf8'), 'hello-from-node\n');
});

test('nfs-home: the start report check says why a server does not answer', { skip }, async () => {
  const closed = await freePort();
  assert.equal(await nfsNullCall('127.0.0.1', closed, 2000), 'connection refused');
  assert.equal(await nfsNullCall('127.0.0.1', port, 2000), null);
});
