import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempStateDir } from '../helpers/tmp.js';

const SCRIPT = 'initrd-templates/lab-installer/install.sh';
const haveBusybox = spawnSync('busybox', ['true']).status === 0;
const skip = !haveBusybox && process.env.CI !== 'true' ? 'busybox not installed (apt-get install busybox-static)' : false;

const KS = `# a diskless kickstart as the diskless role renders it
lang en_US.UTF-8
keyboard us
timezone UTC
rootpw --iscrypted $6$x$y
bootloader --location=none
iscsiname iqn.2026-11.local.netroot:init:compute-0-0
iscsi --ipaddr=10.1.1.1 --port=3260 --target=iqn.2026-11.local.netroot:compute-0-0 --user=compute-0-0 --password=s3cret
ignoredisk --only-use=/dev/disk/by-path/ip-10.1.1.1:3260-iscsi-iqn.2026-11.local.netroot:compute-0-0-lun-0
zerombr
clearpart --all --initlabel
part / --fstype=ext4 --grow
liveimg --url=http://10.1.1.1:8080/boot/files/lab/root.tar.gz
reboot
%packages --ignoremissing
@core
%end
%pre
echo pre one
%end
%post --nochroot
echo post nochroot
%end
%post --interpreter=/bin/sh --erroronfail
echo post chroot
%end
`;

function plan(ks: string): { code: number | null; out: string } {
  const dir = tempStateDir('nrt-inst-');
  writeFileSync(join(dir, 'ks.cfg'), ks);
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0 inst.ks=http://10.1.1.1/ks');
  const r = spawnSync('busybox', ['sh', SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NETROOT_INSTALLER_MODE: 'plan',
      NETROOT_KS: join(dir, 'ks.cfg'),
      NETROOT_CMDLINE: join(dir, 'cmdline'),
      NETROOT_WORK: join(dir, 'work'),
    },
  });
  rmSync(dir, { recursive: true });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('plans the diskless subset of a kickstart in Anaconda order', { skip }, () => {
  const r = plan(KS);
  assert.equal(r.code, 0, r.out);
  const lines = r.out.split('\n').filter((l) => l.startsWith('plan:'));
  assert.deepEqual(lines, [
    'plan: %pre 001 interpreter=/bin/sh nochroot=no',
    'plan: login initiator=iqn.2026-11.local.netroot:init:compute-0-0 target=iqn.2026-11.local.netroot:compute-0-0 portal=10.1.1.1:3260 chap=yes',
    'plan: bootloader none',
    'plan: disk only-use=/dev/disk/by-path/ip-10.1.1.1:3260-iscsi-iqn.2026-11.local.netroot:compute-0-0-lun-0 clear=yes root=ext4',
    'plan: liveimg http://10.1.1.1:8080/boot/files/lab/root.tar.gz',
    'plan: %post 002 interpreter=/bin/sh nochroot=yes',
    'plan: %post 003 interpreter=/bin/sh nochroot=no',
    'plan: then reboot',
  ]);
  assert.match(r.out, /ignored in the lab: lang/);
  assert.doesNotMatch(r.out, /s3cret/, 'the CHAP secret is never printed');
});

test('a disked kickstart (no iscsi): the first local disk, autopart as one ext4 root, an MBR bootloader', { skip }, () => {
  const disked = KS.replace(/^iscsiname.*\n/m, '')
    .replace(/^iscsi .*\n/m, '')
    .replace(/^ignoredisk.*\n/m, '')
    .replace('part / --fstype=ext4 --grow', 'autopart --type=plain')
    .replace('bootloader --location=none', 'bootloader --location=mbr');
  const r = plan(disked);
  assert.equal(r.code, 0, r.out);
  const lines = r.out.split('\n').filter((l) => l.startsWith('plan:'));
  assert.deepEqual(lines.slice(1, 4), ['plan: local disk', 'plan: bootloader mbr', 'plan: disk only-use=any clear=yes root=ext4']);
});

test('anything it does not understand is an error naming it', { skip }, () => {
  const cases: Array<[string, RegExp]> = [
    [KS.replace('zerombr\n', 'volgroup vg0 pv.01\n'), /does not understand the kickstart command: volgroup/],
    [KS.replace('bootloader --location=none', 'bootloader --location=partition'), /supports mbr and none/],
    [KS.replace('part / --fstype=ext4 --grow', 'part /home --fstype=ext4'), /creates only the root filesystem/],
    [KS.replace('part / --fstype=ext4 --grow', 'part / --fstype=xfs'), /only --fstype=ext4/],
    [KS.replace('%pre\n', '%include /tmp/x\n%pre\n'), /unsupported section %include/],
    [KS.replace(/^liveimg.*$/m, ''), /no liveimg --url/],
    [KS.replace(/^iscsiname.*$/m, ''), /no iscsiname/],
  ];
  for (const [ks, re] of cases) {
    const r = plan(ks);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, re);
  }
});
