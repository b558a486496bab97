import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDisklessFixups, checkRoot } from '../../src/image/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { fakeRoot, treeHash } from './helpers.js';

async function withRoot(kind: 'debian' | 'el', fn: (root: string, dir: string) => Promise<void>, omit: string[] = []): Promise<void> {
  const dir = tempStateDir('nrt-fix-');
  try {
    await fn(fakeRoot(join(dir, 'root'), kind, omit), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const read = (root: string, rel: string) => readFileSync(join(root, rel), 'utf8');

test('Debian root: initiator name regenerated, host name and SSH host keys gone, dracut.conf.d, open-iscsi keeps the root session', () =>
  withRoot('debian', async (root) => {
    const done = await applyDisklessFixups(root, checkRoot(root));
    assert.equal(read(root, 'etc/iscsi/initiatorname.iscsi'), 'GenerateName=yes\n');
    assert.equal(existsSync(join(root, 'etc/hostname')), false);
    assert.equal(existsSync(join(root, 'etc/ssh/ssh_host_ed25519_key')), false);
    assert.equal(existsSync(join(root, 'etc/ssh/ssh_host_ed25519_key.pub')), false);
    assert.equal(read(root, 'etc/ssh/sshd_config'), 'PermitRootLogin prohibit-password\n', 'only host keys go');
    assert.match(
      read(root, 'etc/systemd/system/ssh.service.d/netroot-host-keys.conf'),
      /\[Service\]\nExecStartPre=\nExecStartPre=\/usr\/bin\/ssh-keygen -A\nExecStartPre=\/usr\/sbin\/sshd -t\n/,
    );
    const conf = read(root, 'etc/dracut.conf.d/90-netroot.conf');
    assert.match(conf, /^hostonly="no"$/m);
    assert.match(conf, /^add_dracutmodules\+=" iscsi network-legacy "$/m);
    assert.match(conf, /^omit_dracutmodules\+=" systemd-networkd "$/m);
    assert.match(conf, /^install_items\+=" \/lib\/open-iscsi\/startup-checks\.sh "$/m);
    assert.ok(existsSync(join(root, 'etc/iscsi/iscsi.initramfs')));
    assert.equal(
      read(root, 'etc/default/open-iscsi'),
      '# defaults\nOTHER=1\nISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1\n',
      'the old line replaced, not duplicated',
    );
    assert.equal(
      readlinkSync(join(root, 'etc/systemd/system/sysinit.target.wants/iscsid.service')),
      '/lib/systemd/system/iscsid.service',
      'iscsid runs from boot: it recovers the root session',
    );
    assert.equal(
      read(root, 'etc/iscsi/iscsid.conf'),
      '# node.session.timeo.replacement_timeout = 15\nnode.session.timeo.replacement_timeout = 86400\nnode.conn[0].timeo.noop_out_interval = 0\nnode.startup = manual\nnode.conn[0].timeo.noop_out_timeout = 0\n',
      'the root session timers are the defaults the root iscsid takes the session over with; comments and other keys stay',
    );
    assert.equal(done.length, 7, done.join('\n'));
    for (const re of [
      /initiatorname/,
      /etc\/hostname: removed/,
      /90-netroot\.conf: \+iscsi \+network-legacy -systemd-networkd, installs \/lib\/open-iscsi\/startup-checks\.sh/,
      /open-iscsi: keeps the root session/,
      /etc\/ssh: 2 host key files removed; ssh\.service/,
      /iscsid\.service: enabled at boot/,
    ]) {
      assert.ok(
        done.some((l) => re.test(l)),
        `${re} in\n${done.join('\n')}`,
      );
    }
    // a second run changes nothing more (a rebuilt initrd on the node reads the same files)
    const once = treeHash(root);
    await applyDisklessFixups(root, checkRoot(root));
    assert.equal(treeHash(root), once);
  }));

test('Debian root without /etc/default/open-iscsi: the file is written with the one line', () =>
  withRoot(
    'debian',
    async (root) => {
      await applyDisklessFixups(root, checkRoot(root));
      assert.equal(read(root, 'etc/default/open-iscsi'), 'ISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=1\n');
    },
    ['etc/default/open-iscsi'],
  ));

test('EL root (rpm, no dpkg status): initiator name deleted, keys removed for sshd-keygen, no Debian-only changes', () =>
  withRoot('el', async (root) => {
    const done = await applyDisklessFixups(root, checkRoot(root));
    assert.equal(existsSync(join(root, 'etc/iscsi/initiatorname.iscsi')), false);
    assert.equal(existsSync(join(root, 'etc/hostname')), false);
    assert.equal(existsSync(join(root, 'etc/ssh/ssh_host_rsa_key')), false);
    for (const debianOnly of ['etc/iscsi/iscsi.initramfs', 'etc/default/open-iscsi', 'etc/systemd/system/ssh.service.d'])
      assert.equal(existsSync(join(root, debianOnly)), false, debianOnly);
    const conf = read(root, 'etc/dracut.conf.d/90-netroot.conf');
    assert.match(conf, /^add_dracutmodules\+=" iscsi network-manager "$/m);
    assert.doesNotMatch(conf, /omit_dracutmodules|install_items/);
    assert.ok(
      done.some((l) => /sshd-keygen@\.service makes the node's own/.test(l)),
      done.join('\n'),
    );
  }));

test('SSH host keys that nothing regenerates are kept, with a warning line', () =>
  withRoot(
    'el',
    async (root) => {
      const done = await applyDisklessFixups(root, checkRoot(root));
      assert.ok(existsSync(join(root, 'etc/ssh/ssh_host_rsa_key')));
      assert.ok(
        done.some((l) => /WARNING 2 host key files kept/.test(l)),
        done.join('\n'),
      );
    },
    ['usr/lib/systemd/system/sshd-keygen@.service'],
  ));

test('writes and removals stay inside the root: absolute symlinks in an imported root never reach this machine', () =>
  withRoot('debian', async (root, dir) => {
    // outside/: stands for the frontend's own /etc (keys, initiator name, host name)
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    for (const f of ['ssh_host_rsa_key', 'initiatorname.iscsi', 'hostname', 'open-iscsi']) writeFileSync(join(outside, f), "the frontend's own\n");
    const before = treeHash(outside);
    rmSync(join(root, 'etc/ssh'), { recursive: true });
    symlinkSync(outside, join(root, 'etc/ssh')); // absolute: means <root>/<outside>, which the root lacks
    rmSync(join(root, 'etc/iscsi/initiatorname.iscsi'));
    symlinkSync(join(outside, 'initiatorname.iscsi'), join(root, 'etc/iscsi/initiatorname.iscsi'));
    rmSync(join(root, 'etc/hostname'));
    symlinkSync(join(outside, 'hostname'), join(root, 'etc/hostname'));
    rmSync(join(root, 'etc/default'), { recursive: true });
    symlinkSync(outside, join(root, 'etc/default'));
    await applyDisklessFixups(root, checkRoot(root));
    assert.equal(treeHash(outside), before, 'nothing outside the root changed');
    // the root's own (dangling) links were handled inside it
    assert.ok(existsSync(join(root, outside, 'open-iscsi')), 'etc/default/open-iscsi written at <root><outside>/open-iscsi');
    assert.ok(statSync(join(root, 'etc/dracut.conf.d/90-netroot.conf')).isFile());
  }));

test('Debian root with the cluster packages: the install-time munge key is removed, munge and slurmd are not enabled in the image', () =>
  withRoot('debian', async (root) => {
    mkdirSync(join(root, 'etc/munge'), { recursive: true });
    writeFileSync(join(root, 'etc/munge/munge.key'), 'image-wide secret', { mode: 0o400 });
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
    mkdirSync(wants, { recursive: true });
    for (const u of ['munge.service', 'slurmd.service', 'autofs.service']) symlinkSync(`/lib/systemd/system/${u}`, join(wants, u));
    const done = await applyDisklessFixups(root, checkRoot(root));
    assert.equal(existsSync(join(root, 'etc/munge/munge.key')), false);
    const link = (u: string) => lstatSync(join(wants, u), { throwIfNoEntry: false }) !== undefined;
    assert.equal(link('munge.service') || link('slurmd.service'), false);
    assert.equal(readlinkSync(join(wants, 'autofs.service')), '/lib/systemd/system/autofs.service', 'other units stay enabled');
    assert.ok(done.some((l) => /munge\.key: removed/.test(l)) && done.some((l) => /munge\.service, slurmd\.service: not enabled/.test(l)), done.join('\n'));
  }));
