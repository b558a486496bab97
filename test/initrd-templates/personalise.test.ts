// A golden clone's first-boot personalisation (initrd-templates/overlay/etc/netroot/personalise.sh,
// issue #20), run for real against temporary root directories with the overlay files rendered for a
// node, under busybox sh (our /init) and dash (Debian's /bin/sh, what a dracut initrd may run):
// host name, machine id (an empty file under systemd, machine-id(5); a fresh id without systemd), initiator
// name, SSH host keys and leases gone, the network file rebound to the node's MAC, firstboot.sh and
// its systemd unit; once per clone id; nothing for an installed node; never through a symlink; a
// read-only root remounted for the change (as root, in a private mount namespace). Then the clone's
// own first boot: firstboot.sh run in the root (chroot, as root) runs the role's sections once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultTemplatesDir, renderOverlayFiles } from '../../src/initrd/overlay.js';
import type { NodeBootInfo } from '../../src/initrd/kernel-args.js';
import { BUSYBOX, skipBusybox } from '../initrd/init-shell.js';

const SHELLS = [
  ['busybox sh', BUSYBOX ? [BUSYBOX, 'sh'] : null],
  ['dash', existsSync('/usr/bin/dash') || existsSync('/bin/dash') ? ['dash'] : null],
] as const;
const asRoot = process.getuid?.() === 0;
const skipRoot = asRoot || process.env.CI === 'true' ? false : 'needs root (chroot, mount namespaces)';

const node = (over: Partial<NodeBootInfo> = {}): NodeBootInfo => ({
  hostname: 'compute-0-7',
  initiatorIqn: 'iqn.2024-01.org.example:initiator.compute-0-7',
  targetIqn: 'iqn.2024-01.org.example:compute-0-7',
  portal: '10.1.1.1',
  port: 3260,
  lun: 0,
  chapUser: 'compute-0-7',
  chapSecret: 'Abcdefgh12345678',
  rootUuid: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
  interface: 'bootnet',
  mac: '52:54:00:aa:bb:07',
  cloneId: '00112233445566ff',
  firstboot: '# node: role-a\n(\necho "role A ran on $(hostname)" >> /var/log/role.log\n) || echo failed\n',
  ...over,
});

/** The node's overlay written out (an "initrd"), and a Debian-like root with a golden node's identity. */
async function setup(info: NodeBootInfo, opts: { systemd?: boolean } = {}): Promise<{ dir: string; initrd: string; root: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-perso-'));
  const initrd = join(dir, 'initrd');
  for (const f of await renderOverlayFiles(info, defaultTemplatesDir())) {
    mkdirSync(dirname(join(initrd, f.path)), { recursive: true });
    writeFileSync(join(initrd, f.path), f.content, { mode: f.mode });
  }
  const root = join(dir, 'root');
  const put = (rel: string, text: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  put('etc/hostname', 'compute-0-0\n');
  put('etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\tcompute-0-0\n');
  put('etc/machine-id', 'c0ffee00c0ffee00c0ffee00c0ffee00\n');
  put('var/lib/dbus/machine-id', 'c0ffee00c0ffee00c0ffee00c0ffee00\n');
  put('etc/iscsi/initiatorname.iscsi', 'InitiatorName=iqn.2024-01.org.example:initiator.compute-0-0\n');
  put('etc/ssh/ssh_host_ed25519_key', 'PRIVATE golden\n');
  put('etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 golden\n');
  put('etc/ssh/sshd_config', 'Port 22\n');
  put('var/lib/dhcp/dhclient.bootnet.leases', 'lease { fixed-address 10.1.255.254; }\n');
  put('etc/systemd/network/50-netroot-boot.network', '[Match]\nMACAddress=52:54:00:00:00:01\n\n[Network]\nDHCP=ipv4\n');
  if (opts.systemd !== false) put('lib/systemd/systemd', '');
  return { dir, initrd, root };
}

function personalise(shell: readonly string[], s: { initrd: string; root: string }) {
  const r = spawnSync(shell[0]!, [...shell.slice(1), join(s.initrd, 'etc/netroot/personalise.sh'), s.root], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      NETROOT_NODE_CONF: join(s.initrd, 'etc/netroot/node.conf'),
      NETROOT_FIRSTBOOT_ROLE: join(s.initrd, 'etc/netroot/firstboot-role.sh'),
    },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const read = (root: string, rel: string) => readFileSync(join(root, rel), 'utf8');

for (const [name, shell] of SHELLS) {
  test(`personalise.sh (${name}): a clone's root gets its own identity, once per clone id`, { skip: shell ? false : skipBusybox }, async () => {
    const s = await setup(node());
    try {
      let r = personalise(shell!, s);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      assert.equal(r.out, 'netroot-firstboot: personalised compute-0-7 (clone 00112233445566ff)\n');
      assert.equal(read(s.root, 'etc/hostname'), 'compute-0-7\n');
      assert.equal(read(s.root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tcompute-0-7\n');
      // Under systemd an empty machine-id: a new id made at boot and committed, no first-boot prompts.
      assert.equal(read(s.root, 'etc/machine-id'), '');
      assert.equal(existsSync(join(s.root, 'var/lib/dbus/machine-id')), false);
      assert.equal(read(s.root, 'etc/iscsi/initiatorname.iscsi'), 'InitiatorName=iqn.2024-01.org.example:initiator.compute-0-7\n');
      assert.equal(existsSync(join(s.root, 'etc/ssh/ssh_host_ed25519_key')), false);
      assert.equal(existsSync(join(s.root, 'etc/ssh/ssh_host_ed25519_key.pub')), false);
      assert.equal(read(s.root, 'etc/ssh/sshd_config'), 'Port 22\n');
      assert.equal(existsSync(join(s.root, 'var/lib/dhcp/dhclient.bootnet.leases')), false);
      assert.match(read(s.root, 'etc/systemd/network/50-netroot-boot.network'), /^MACAddress=52:54:00:aa:bb:07$/m);
      const fb = read(s.root, 'etc/netroot/firstboot.sh');
      assert.match(fb, /^# netroot: first boot of clone 00112233445566ff \(compute-0-7\)/m);
      assert.match(fb, /^if command -v ssh-keygen >\/dev\/null 2>&1; then ssh-keygen -A; fi$/m);
      assert.ok(fb.includes('echo "role A ran on $(hostname)" >> /var/log/role.log'), fb);
      assert.ok(fb.indexOf('ssh-keygen') < fb.indexOf('role A'), 'keys before the role');
      assert.match(fb, /mv -f \/etc\/netroot\/firstboot.sh \/etc\/netroot\/firstboot.sh.done\n.*first boot done"\n$/);
      const unit = read(s.root, 'etc/systemd/system/netroot-firstboot.service');
      assert.match(unit, /^ConditionPathExists=\/etc\/netroot\/firstboot.sh$/m);
      assert.match(unit, /^Before=ssh.service/m);
      assert.match(unit, /^ExecStart=\/bin\/sh \/etc\/netroot\/firstboot.sh$/m);
      assert.equal(
        readlinkSync(join(s.root, 'etc/systemd/system/multi-user.target.wants/netroot-firstboot.service')),
        '/etc/systemd/system/netroot-firstboot.service',
      );
      assert.equal(read(s.root, 'var/lib/netroot/clone-id'), '00112233445566ff\n');

      // The same clone boots again: nothing is rewritten (the operator's change stays).
      writeFileSync(join(s.root, 'etc/hostname'), 'renamed-by-operator\n');
      writeFileSync(join(s.root, 'etc/ssh/ssh_host_ed25519_key'), 'PRIVATE node\n');
      r = personalise(shell!, s);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'netroot-firstboot: clone 00112233445566ff of compute-0-7 already personalised\n');
      assert.equal(read(s.root, 'etc/hostname'), 'renamed-by-operator\n');
      assert.equal(read(s.root, 'etc/ssh/ssh_host_ed25519_key'), 'PRIVATE node\n');
      assert.equal(read(s.root, 'etc/hosts').match(/127\.0\.1\.1/g)?.length, 1);

      // boot=reset (or a golden promoted from this clone): a new id, so it runs again.
      const again = await setup(node({ cloneId: 'aaaabbbbccccdddd' }));
      try {
        rmSync(again.root, { recursive: true });
        spawnSync('cp', ['-a', s.root, again.root]);
        r = personalise(shell!, again);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out, 'netroot-firstboot: personalised compute-0-7 (clone aaaabbbbccccdddd)\n');
        assert.equal(read(again.root, 'etc/hostname'), 'compute-0-7\n');
        assert.equal(existsSync(join(again.root, 'etc/ssh/ssh_host_ed25519_key')), false);
        assert.equal(read(again.root, 'var/lib/netroot/clone-id'), 'aaaabbbbccccdddd\n');
      } finally {
        rmSync(again.dir, { recursive: true, force: true });
      }
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

test('personalise.sh: without systemd a fresh machine id is written and no unit; an installed node (no clone id) is left alone', {
  skip: skipBusybox,
}, async () => {
  const s = await setup(node(), { systemd: false });
  try {
    const r = personalise([BUSYBOX ?? 'busybox', 'sh'], s);
    assert.equal(r.code, 0, r.err);
    const id = read(s.root, 'etc/machine-id');
    assert.match(id, /^[0-9a-f]{32}\n$/);
    assert.notEqual(id, 'c0ffee00c0ffee00c0ffee00c0ffee00\n');
    assert.equal(existsSync(join(s.root, 'etc/systemd/system/netroot-firstboot.service')), false);
    assert.ok(existsSync(join(s.root, 'etc/netroot/firstboot.sh')));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
  const { cloneId: _c, firstboot: _f, ...installed } = node();
  const p = await setup(installed);
  try {
    const r = personalise([BUSYBOX ?? 'busybox', 'sh'], p);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.equal(read(p.root, 'etc/hostname'), 'compute-0-0\n');
    assert.equal(existsSync(join(p.root, 'var/lib/netroot')), false);
    assert.equal(read(p.initrd, 'etc/netroot/firstboot-role.sh'), '\n');
  } finally {
    rmSync(p.dir, { recursive: true, force: true });
  }
});

test('personalise.sh never writes through a symlink in the root', { skip: skipBusybox }, async () => {
  const s = await setup(node());
  const outside = join(s.dir, 'outside-file');
  try {
    writeFileSync(outside, 'not the root\n');
    for (const rel of ['etc/hostname', 'etc/machine-id', 'etc/iscsi/initiatorname.iscsi']) {
      rmSync(join(s.root, rel));
      symlinkSync(outside, join(s.root, rel));
    }
    const r = personalise([BUSYBOX ?? 'busybox', 'sh'], s);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(outside, 'utf8'), 'not the root\n');
    assert.equal(lstatSync(join(s.root, 'etc/hostname')).isFile(), true);
    assert.equal(read(s.root, 'etc/hostname'), 'compute-0-7\n');
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a read-only root is remounted read-write for the change and read-only again; firstboot.sh then runs the role once in the clone', {
  skip: skipRoot || skipBusybox,
}, async () => {
  const s = await setup(node(), { systemd: false });
  try {
    // The root on a tmpfs of its own, read-only, in a private mount namespace (gone with the process).
    const script = `set -e
mnt="$1"; src="$2"; perso="$3"
mount -t tmpfs -o size=8m tmpfs "$mnt"
cp -a "$src"/. "$mnt"/
mount -o remount,ro "$mnt"
touch "$mnt/probe" 2>/dev/null && { echo "not read-only"; exit 9; }
NETROOT_NODE_CONF="$4" NETROOT_FIRSTBOOT_ROLE="$5" sh "$perso" "$mnt"
awk -v m="$mnt" '$2 == m { print "OPTS " $4 }' /proc/mounts
cat "$mnt/etc/hostname"
`;
    const mnt = join(s.dir, 'mnt');
    mkdirSync(mnt);
    const r = spawnSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'sh',
        mnt,
        s.root,
        join(s.initrd, 'etc/netroot/personalise.sh'),
        join(s.initrd, 'etc/netroot/node.conf'),
        join(s.initrd, 'etc/netroot/firstboot-role.sh'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^netroot-firstboot: personalised compute-0-7 \(clone 00112233445566ff\)$/m);
    assert.match(r.stdout, /^OPTS ro[,$]/m);
    assert.match(r.stdout, /^compute-0-7$/m);

    // The clone's own first boot, in its root (chroot with a static busybox as its shell).
    const root = s.root;
    assert.equal(personalise([BUSYBOX!, 'sh'], s).code, 0);
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX!, join(root, 'bin/busybox'));
    for (const a of ['sh', 'mv', 'echo', 'hostname']) symlinkSync('busybox', join(root, 'bin', a));
    mkdirSync(join(root, 'var/log'), { recursive: true });
    const boot = () =>
      spawnSync('chroot', [root, '/bin/sh', '-c', 'PATH=/bin; [ -f /etc/netroot/firstboot.sh ] && sh /etc/netroot/firstboot.sh; echo booted'], {
        encoding: 'utf8',
      });
    let b = boot();
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /^netroot-firstboot: first boot of .*\n(.*\n)?netroot-firstboot: first boot done\nbooted\n$/);
    assert.match(read(root, 'var/log/role.log'), /^role A ran on /);
    assert.equal(existsSync(join(root, 'etc/netroot/firstboot.sh')), false);
    assert.ok(existsSync(join(root, 'etc/netroot/firstboot.sh.done')));
    b = boot();
    assert.equal(b.stdout, 'booted\n');
    assert.equal(read(root, 'var/log/role.log').split('\n').filter(Boolean).length, 1);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('dracut: the conf.d file registers the pre-pivot hook once, and the hook personalises $NEWROOT', { skip: skipRoot || skipBusybox }, async () => {
  const s = await setup(node(), { systemd: false });
  try {
    // The overlay's files as an initrd root of their own (chroot), with busybox as its tools and the
    // node's root at /sysroot, as dracut has it when it sources the pre-pivot hooks.
    const i = s.initrd;
    mkdirSync(join(i, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX!, join(i, 'bin/busybox'));
    spawnSync('cp', ['-a', s.root, join(i, 'sysroot')]);
    mkdirSync(join(i, 'proc/sys/kernel/random'), { recursive: true });
    writeFileSync(join(i, 'proc/sys/kernel/random/uuid'), '5d3c9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f\n');
    mkdirSync(join(i, 'dev'));
    assert.equal(spawnSync('mknod', ['-m', '666', join(i, 'dev/null'), 'c', '1', '3']).status, 0);
    const body = `/bin/busybox --install -s /bin; export PATH=/bin hookdir=/hooks NEWROOT=/sysroot
warn() { echo "WARN $*"; }
. /etc/conf.d/91-netroot-firstboot.conf
. /etc/conf.d/91-netroot-firstboot.conf
ls /hooks/pre-pivot
for f in /hooks/pre-pivot/*.sh; do . "$f"; done
cat /sysroot/etc/hostname /sysroot/etc/machine-id`;
    const r = spawnSync('chroot', [i, '/bin/busybox', 'sh', '-c', body], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      '91-netroot-personalise.sh\nnetroot-firstboot: personalised compute-0-7 (clone 00112233445566ff)\ncompute-0-7\n5d3c9c4e1a2b4c3d8e9f0a1b2c3d4e5f\n',
    );
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
