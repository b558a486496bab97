import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRoot, distributionOf, kernelsOf } from '../../src/image/index.js';
import { inRoot, existsIn } from '../../src/image/rootfs.js';
import { MultiError, NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { fakeRoot } from './helpers.js';

function withDir(fn: (dir: string) => void): void {
  const dir = tempStateDir('nrt-root-');
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Debian layout: /boot/vmlinuz-V with /lib/modules/V, network-legacy chosen over network-manager, systemd-networkd omitted', () =>
  withDir((dir) => {
    const root = fakeRoot(join(dir, 'root'), 'debian');
    assert.deepEqual(checkRoot(root), {
      distribution: 'debian-12',
      kernelVersion: '6.1.0-test-amd64',
      kernelPath: 'boot/vmlinuz-6.1.0-test-amd64',
      dracutAdd: ['iscsi', 'network-legacy'],
      dracutOmit: ['systemd-networkd'],
      packageTool: 'dpkg',
    });
  }));

test('EL layout: /lib/modules/V/vmlinuz, network-manager when there is no network-legacy, nothing omitted, rpm', () =>
  withDir((dir) => {
    const root = fakeRoot(join(dir, 'root'), 'el');
    const f = checkRoot(root);
    assert.equal(f.distribution, 'rocky-9.4');
    assert.equal(f.kernelVersion, '5.14.0-test.el9.x86_64');
    assert.match(f.kernelPath, /^(usr\/)?lib\/modules\/5\.14\.0-test\.el9\.x86_64\/vmlinuz$/);
    assert.deepEqual([f.dracutAdd, f.dracutOmit, f.packageTool], [['iscsi', 'network-manager'], [], 'rpm']);
  }));

test('kernels: newest first; a /boot/vmlinuz-V without /lib/modules/V is no kernel', () =>
  withDir((dir) => {
    const root = fakeRoot(join(dir, 'root'), 'debian');
    writeFileSync(join(root, 'boot/vmlinuz-6.10.0-new-amd64'), '');
    mkdirSync(join(root, 'usr/lib/modules/6.10.0-new-amd64'));
    writeFileSync(join(root, 'boot/vmlinuz-7.0.0-nomodules'), '');
    assert.deepEqual(
      kernelsOf(root).map((k) => k.version),
      ['6.10.0-new-amd64', '6.1.0-test-amd64'],
    );
    assert.equal(checkRoot(root).kernelVersion, '6.10.0-new-amd64');
  }));

test('everything missing is named at once, naming the root as the caller shows it', () =>
  withDir((dir) => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(
      () => checkRoot(empty, 'my-root/'),
      (e: unknown) => {
        assert.ok(e instanceof MultiError);
        assert.equal(e.code, 'E_IMAGE_NOT_A_ROOT');
        assert.equal(e.user, true);
        assert.match(e.message, /^my-root\/ cannot boot diskless:\n/);
        for (const re of [/no \/etc\/os-release/, /no \/bin\/sh/, /no kernel/, /no dracut \(install dracut\)/, /no dracut iscsi module/, /no iscsistart/])
          assert.match(e.message, re);
        assert.equal(e.problems.length, 6);
        return true;
      },
    );
    // one missing piece: one error, still naming the root
    const one = fakeRoot(join(dir, 'one'), 'debian', ['usr/sbin/iscsistart']);
    assert.throws(
      () => checkRoot(one, 'one/'),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_NOT_A_ROOT' && /^one\/ cannot boot diskless: no iscsistart/.test(e.message),
    );
    // dracut modules present but no network module
    const nonet = fakeRoot(join(dir, 'nonet'), 'el', ['usr/lib/dracut/modules.d/35network-manager']);
    assert.throws(() => checkRoot(nonet), /no dracut network module/);
    assert.throws(() => checkRoot(join(dir, 'absent'), 'absent/'), /absent\/ is not a directory/);
  }));

test('distributionOf: ID and VERSION_ID, quoted either way; "linux" without os-release', () =>
  withDir((dir) => {
    const os = (text: string) => {
      mkdirSync(join(dir, 'r/etc'), { recursive: true });
      writeFileSync(join(dir, 'r/etc/os-release'), text);
      return distributionOf(join(dir, 'r'));
    };
    assert.equal(os('ID=debian\nVERSION_ID="12"\n'), 'debian-12');
    assert.equal(os("ID='rocky'\nVERSION_ID='9.4'\n"), 'rocky-9.4');
    assert.equal(os('ID="opensuse-leap"\r\nVERSION_ID="15.6"\r\n'), 'opensuse-leap-15.6');
    assert.equal(os('ID=Arch\n'), 'arch');
    assert.equal(os('ID="deb ian"\nVERSION_ID="1 2/3"\n'), 'debian-123');
    assert.equal(os('NAME=x\n'), 'linux');
    rmSync(join(dir, 'r/etc/os-release'));
    assert.equal(distributionOf(join(dir, 'r')), 'linux');
  }));

test("paths resolve inside the root: an absolute symlink means the root's file, never the frontend's", () =>
  withDir((dir) => {
    const root = fakeRoot(join(dir, 'root'), 'el', ['etc/os-release']);
    // /etc/os-release -> /usr/lib/os-release (absolute): the root's, not this machine's
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/os-release'), 'ID=rocky\nVERSION_ID=9.9\n');
    symlinkSync('/usr/lib/os-release', join(root, 'etc/os-release'));
    assert.equal(distributionOf(root), 'rocky-9.9');
    // a symlink to a host path that the root lacks does not exist in the root
    symlinkSync('/etc/passwd', join(root, 'etc/users'));
    assert.equal(existsIn(root, 'etc/users'), false);
    assert.equal(inRoot(root, 'etc/users'), join(root, 'etc/passwd'));
    assert.equal(inRoot(root, '../../../etc/x'), join(root, 'etc/x'));
    assert.equal(inRoot(root, 'bin/sh'), join(root, 'usr/bin/sh'));
    symlinkSync('/loop', join(root, 'loop'));
    assert.throws(() => inRoot(root, 'loop/x'), /too many levels of symbolic links/);
    assert.equal(existsIn(root, 'loop'), false);
    // dracut reached through an absolute symlinked directory still counts; one pointing out of the root does not
    rmSync(join(root, 'usr/bin/dracut'));
    assert.throws(() => checkRoot(root), /no dracut \(install dracut\)/);
    mkdirSync(join(root, 'opt/dracut/bin'), { recursive: true });
    writeFileSync(join(root, 'opt/dracut/bin/dracut'), '');
    rmSync(join(root, 'usr/sbin'), { recursive: true });
    symlinkSync('/opt/dracut/bin', join(root, 'usr/sbin'));
    assert.throws(() => checkRoot(root), /no iscsistart/, 'iscsistart was in the replaced usr/sbin');
    writeFileSync(join(root, 'opt/dracut/bin/iscsistart'), '');
    assert.equal(checkRoot(root).packageTool, 'rpm');
  }));
