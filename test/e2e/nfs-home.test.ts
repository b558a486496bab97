// The nfs-home role end to end on one machine: nfs-ganesha (FSAL VFS) serves a home export with the
// configuration src/cluster/nfs.ts writes, on loopback (this machine's kernel has no NFS server and
// no NFS client: /proc/filesystems lists neither nfsd nor nfs4); `netroot serve`'s check
// (nfsNullCall) sees it answer; a QEMU guest with the Debian kernel (test/helpers/kernel-guest.ts,
// user-mode network: the guest reaches this machine's 127.0.0.1 at 10.0.2.2) runs the role's own
// %post into a scratch directory and the automount daemon on the maps it wrote, while the server is
// DOWN (ganesha not started): automount runs, a home access fails at once instead of hanging, and the
// role's netroot-home-check names the server and why; then ganesha starts, and the next access to
// /home/alice is mounted by automount (NFSv4) and written into; the file is read back here, in the
// export, and the check says the server answers again.
// Wall time: one guest boot, ~75 s on a loaded 2-core machine (TCG; ~55 s before the server-down
// part), of which ~15 s wait for the server to come back (ganesha's start, then automount's 10 s
// negative timeout).
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
import { roleFile } from '../roles/role-files.js';
import { e2eSkip } from './helpers.js';

const TOOLS: Array<[string, string]> = [
  ['ganesha.nfsd', 'nfs-ganesha'],
  ['/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so', 'nfs-ganesha-vfs'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['/bin/busybox', 'busybox-static'],
  ['mount.nfs4', 'nfs-common'],
  ['automount', 'autofs'],
];
const CHECK = roleFile('cluster', 'nfs-home', '/usr/local/sbin/netroot-home-check');
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

/** ganesha on `port`, answering (its NULL procedure) before this resolves. */
async function startGanesha(): Promise<void> {
  ganesha = spawn('ganesha.nfsd', ['-F', '-L', join(dir, 'ganesha.log'), '-f', join(dir, 'ganesha.conf'), '-p', join(dir, 'ganesha.pid'), '-N', 'NIV_EVENT'], {
    stdio: 'ignore',
  });
  await waitFor(async () => (await nfsNullCall('127.0.0.1', port, 1000)) === null, {
    what: () => `ganesha to answer on ${port}:\n${existsSync(join(dir, 'ganesha.log')) ? readFileSync(join(dir, 'ganesha.log'), 'utf8').slice(-1500) : ''}`,
    timeoutMs: 30_000,
    intervalMs: 200,
  });
}

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'nrt-nfs-home-'));
  const exportDir = join(dir, 'export', 'home');
  mkdirSync(join(exportDir, 'alice'), { recursive: true });
  port = await freePort();
  writeFileSync(join(dir, 'ganesha.conf'), renderGaneshaConf({ exportDir, clients: '127.0.0.0/8', bindAddress: '127.0.0.1', port }));
  const post = await rolePost({
    nfs_home_server: '10.0.2.2',
    nfs_home_export: exportDir,
    nfs_home_options: `rw,hard,proto=tcp,port=${port}`,
    Kickstart_PrivateAddress: '10.1.1.1',
  });
  // The role's %post writes /etc/auto.master.d and /etc/auto.home: here into the guest's /tmp/etc,
  // with a master map that includes auto.master.d as Debian's /etc/auto.master does. The server is
  // down (ganesha not started) until the guest prints `@@ server-down-done`.
  const script = `
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
E=/tmp/etc; mkdir -p $E
cat > /tmp/post.sh << 'NETROOT_POST_END'
${post.replaceAll('/etc/', '/tmp/etc/').replace(/^systemctl enable (.*)$/m, 'echo "@@ enable $1"')}
NETROOT_POST_END
sh /tmp/post.sh; echo "@@ post rc=$?"
echo "@@ master $(grep -v '^#' $E/auto.master.d/netroot-home.autofs)"
echo "@@ map $(grep -v '^#' $E/auto.home)"
printf '+dir:/tmp/etc/auto.master.d\\n' > $E/auto.master
cat > /tmp/check.sh << 'NETROOT_POST_END'
${CHECK}NETROOT_POST_END
# The automount daemon (foreground: its messages on stderr, which systemd would send to the
# journal) in its own session: the kernel refuses an autofs mount for process group 0 (init's).
setsid automount -f -v $E/auto.master > /tmp/automount.log 2>&1 &
AM=$!
i=0; until grep -q ' /home autofs ' /proc/mounts || [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
echo "@@ automount running=$(kill -0 $AM 2>/dev/null && echo yes || echo no) autofs=$(grep ' /home autofs ' /proc/mounts | cut -d' ' -f1-3)"
sh /tmp/check.sh --map $E/auto.home --every 1 2> /tmp/check.log &
CHECK=$!
i=0; until grep -q 'does not answer' /tmp/check.log || [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
t0=$(date +%s); ls /home/alice > /dev/null 2>&1; echo "@@ down access rc=$? seconds=$(( $(date +%s) - t0 ))"
echo "@@ down mounted=$(grep -c ' /home/alice nfs4 ' /proc/mounts)"
echo "@@ server-down-done"
# The server comes back (started by the test): the next access mounts (automount retries a failed
# key after its negative timeout, 10 s in the role's master map).
t0=$(date +%s)
i=0; until [ -e /home/alice/.netroot-probe ] || [ $i -ge 180 ]; do sleep 1; i=$((i + 1)); done
echo "@@ up probe=$([ -e /home/alice/.netroot-probe ] && echo yes || echo no) seconds=$(( $(date +%s) - t0 ))"
echo hello-from-node > /home/alice/hello.txt; echo "@@ write rc=$?"
echo "@@ mount $(grep ' /home/alice ' /proc/mounts | cut -d' ' -f1,3)"
i=0; while kill -0 $CHECK 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
echo "@@ check exited=$(kill -0 $CHECK 2>/dev/null && echo no || echo yes)"
kill $AM; wait $AM
sed 's/^/@@ automount-log /' /tmp/automount.log
sed 's/^/@@ check-log /' /tmp/check.log
`;
  writeFileSync(join(exportDir, 'alice', '.netroot-probe'), '');
  let starting: Promise<void> | undefined;
  guest = await runInKernelGuest({
    workDir: dir,
    script,
    timeoutMs: 420_000,
    net: true,
    onOutput: (out) => {
      if (starting || !out.includes('@@ server-down-done')) return;
      starting = startGanesha();
      starting.catch(() => {}); // awaited (and so reported) once the guest is done
    },
  });
  await starting;
});

after(async () => {
  ganesha?.kill('SIGTERM');
  if (ganesha && ganesha.exitCode === null) await new Promise((r) => ganesha!.once('exit', r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The guest's `@@ <prefix> ...` lines (the console may put escape sequences before a marker). */
const lines = (prefix: string): string[] =>
  guest!.console
    .split(/\r?\n/)
    .map((l) => /@@ (.*)$/.exec(l.trimEnd())?.[1])
    .filter((l): l is string => l?.startsWith(`${prefix} `) ?? false)
    .map((l) => l.slice(prefix.length + 1));

test("nfs-home: ganesha serves the export netroot configures; the role's autofs maps mount a home on first use and the node writes into it", { skip }, () => {
  const out = guest!.console;
  assert.equal(guest!.status, 0, out.slice(-3000));
  assert.match(out, /@@ post rc=0/, out.slice(-3000));
  assert.match(out, /@@ enable autofs\.service/);
  assert.match(
    out,
    /@@ master \/home \/tmp\/etc\/auto\.home --timeout=600 --negative-timeout=10/,
    'the master map hands /home to auto.home (written under /tmp/etc here)',
  );
  assert.match(out, new RegExp(`@@ map \\* -fstype=nfs4,rw,hard,proto=tcp,port=${port} 10\\.0\\.2\\.2:${join(dir, 'export', 'home')}/&`));
  assert.match(out, /@@ write rc=0/, out.slice(-3000));
  assert.match(out, new RegExp(`@@ mount 10\\.0\\.2\\.2:${join(dir, 'export', 'home')}/alice nfs4`), out.slice(-3000));
  assert.equal(readFileSync(join(dir, 'export', 'home', 'alice', 'hello.txt'), 'utf8'), 'hello-from-node\n');
});

test('nfs-home: the server down at boot — automount runs, an access fails at once, the journal names the server and why; the home mounts when it returns', {
  skip,
}, () => {
  const out = guest!.console;
  assert.equal(guest!.status, 0, out.slice(-3000));
  // automount itself, on the role's maps: /home is its autofs mount, the daemon alive.
  assert.match(out, /@@ automount running=yes autofs=\/tmp\/etc\/auto\.home \/home autofs/, out.slice(-3000));
  const down = /@@ down access rc=(\d+) seconds=(\d+)/.exec(out);
  assert.ok(down, out.slice(-3000));
  assert.notEqual(down[1], '0', 'no home while the server is down');
  assert.ok(Number(down[2]) <= 15, `the access failed after ${down[2]} s: it must not hang the boot`);
  assert.match(out, /@@ down mounted=0/);
  // The journal (the check's stderr, with its sd-daemon priority): the server, its port, why.
  const check = lines('check-log');
  const warn = check.find((l) => l.startsWith('<4>'));
  assert.ok(warn, check.join('\n'));
  assert.equal(
    warn,
    `<4>netroot-home-check: the NFS server 10.0.2.2 (port ${port}) does not answer: Connection refused; /home stays empty until it does (autofs mounts a home at its first use after that)`,
  );
  assert.equal(check.filter((l) => l.startsWith('<4>')).length, 1, 'said once while the reason stays the same');
  assert.ok(check.includes(`<5>netroot-home-check: the NFS server 10.0.2.2 (port ${port}) answers again: /home mounts on first use`), check.join('\n'));
  assert.match(out, /@@ check exited=yes/);
  // automount's own messages: the failed attempt while down, the mount after.
  const am = lines('automount-log').join('\n');
  assert.match(am, /mounted indirect on \/home/);
  assert.match(am, /failed to mount \/home\/alice/, am);
  assert.match(am, /mounted \/home\/alice/, am);
  assert.match(out, /@@ up probe=yes seconds=\d+/, out.slice(-3000));
});

test('nfs-home: the start report check says why a server does not answer', { skip }, async () => {
  const closed = await freePort();
  assert.equal(await nfsNullCall('127.0.0.1', closed, 2000), 'connection refused');
  assert.equal(await nfsNullCall('127.0.0.1', port, 2000), null);
});
