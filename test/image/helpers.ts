// Test helpers for OS images: a registered image with a manifest that matches its bytes, fake
// roots (empty files at the paths checkRoot and the fix-ups look at), and a tree hash.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ImageManifest } from '../../src/image/index.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface FakeImageFiles {
  kernel?: Buffer;
  initrd?: Buffer;
  root?: Buffer;
  distribution?: string;
}

/** Writes `<bootRoot>/images/<name>/` whole: the three files and a manifest whose sizes and sums match. */
export function writeImage(bootRoot: string, name: string, f: FakeImageFiles = {}): ImageManifest {
  const dir = join(bootRoot, 'images', name);
  mkdirSync(dir, { recursive: true });
  const entry = (file: string, bytes: Buffer) => {
    writeFileSync(join(dir, file), bytes);
    return { file, size: bytes.length, sha256: sha(bytes) };
  };
  const m: ImageManifest = {
    version: 1,
    name,
    distribution: f.distribution ?? 'debian-12',
    source: 'build',
    createdAt: '2026-01-01T00:00:00.000Z',
    kernelVersion: '6.1.0-test-amd64',
    kernel: entry('vmlinuz', f.kernel ?? Buffer.from(`kernel of ${name}\n`)),
    initrd: entry('initrd.img', f.initrd ?? Buffer.from(`initrd of ${name}\n`)),
    rootTarball: entry('root.tar.gz', f.root ?? Buffer.from(`root of ${name}\n`)),
    dracut: { version: '059', modules: ['iscsi', 'network-legacy'], omitted: ['systemd-networkd'] },
    packages: ['dracut 059-4', 'open-iscsi 2.1.8-1'],
    rootBytes: 123456,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  return m;
}

export type RootKind = 'debian' | 'el';

/** A root that checkRoot accepts. Debian: merged /usr (relative symlinks), /boot/vmlinuz-V, dpkg.
 *  EL: /lib/modules/V/vmlinuz, rpm, network-manager only. `omit` leaves out root-relative paths. */
export function fakeRoot(root: string, kind: RootKind, omit: string[] = []): string {
  const files: Record<string, string> =
    kind === 'debian'
      ? {
          'usr/lib/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
          'usr/bin/sh': '',
          'boot/vmlinuz-6.1.0-test-amd64': 'kernel',
          'usr/lib/modules/6.1.0-test-amd64/modules.dep': '',
          'usr/bin/dracut': '',
          'usr/lib/dracut/modules.d/95iscsi/module-setup.sh': '',
          'usr/lib/dracut/modules.d/35network-legacy/module-setup.sh': '',
          'usr/lib/dracut/modules.d/35network-manager/module-setup.sh': '',
          'usr/lib/dracut/modules.d/01systemd-networkd/module-setup.sh': '',
          'usr/sbin/iscsistart': '',
          'var/lib/dpkg/status': 'Package: dracut\n',
          'usr/lib/open-iscsi/startup-checks.sh': '',
          'usr/lib/open-iscsi/logout-all.sh': '',
          'usr/lib/systemd/system/ssh.service': '[Service]\n',
          'usr/lib/systemd/system/iscsid.service': '[Unit]\nDescription=iSCSI initiator daemon (iscsid)\n',
          'etc/iscsi/iscsid.conf':
            '# node.session.timeo.replacement_timeout = 15\nnode.session.timeo.replacement_timeout = 120\nnode.conn[0].timeo.noop_out_interval = 5\nnode.startup = manual\n',
          'etc/iscsi/initiatorname.iscsi': 'InitiatorName=iqn.1993-08.org.debian:01:buildhost\n',
          'etc/hostname': 'buildhost\n',
          'etc/ssh/ssh_host_ed25519_key': 'PRIVATE\n',
          'etc/ssh/ssh_host_ed25519_key.pub': 'PUBLIC\n',
          'etc/ssh/sshd_config': 'PermitRootLogin prohibit-password\n',
          'etc/default/open-iscsi': '# defaults\nISCSI_ROOT_KEEP_ALL_SESSIONS_AT_SHUTDOWN=0\nOTHER=1\n',
        }
      : {
          'etc/os-release': "NAME='Rocky Linux'\nID=\"rocky\"\nVERSION_ID='9.4'\n",
          'usr/bin/sh': '',
          'usr/lib/modules/5.14.0-test.el9.x86_64/vmlinuz': 'kernel',
          'usr/bin/dracut': '',
          'usr/lib/dracut/modules.d/95iscsi/module-setup.sh': '',
          'usr/lib/dracut/modules.d/35network-manager/module-setup.sh': '',
          'usr/sbin/iscsistart': '',
          'usr/bin/rpm': '',
          'usr/lib/systemd/system/sshd-keygen@.service': '[Unit]\n',
          'etc/iscsi/initiatorname.iscsi': 'InitiatorName=iqn.1994-05.com.redhat:buildhost\n',
          'etc/hostname': 'buildhost\n',
          'etc/ssh/ssh_host_rsa_key': 'PRIVATE\n',
          'etc/ssh/ssh_host_rsa_key.pub': 'PUBLIC\n',
        };
  for (const [rel, text] of Object.entries(files)) {
    if (omit.some((o) => rel === o || rel.startsWith(o + '/'))) continue;
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  for (const d of ['bin', 'sbin', 'lib']) if (!omit.includes(d)) symlinkSync(`usr/${d}`, join(root, d)); // merged /usr
  if (kind === 'debian' && !omit.includes('etc/os-release') && !omit.includes('usr/lib/os-release'))
    symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
  return root;
}

/** sha256 over a tree's paths, types, modes, link targets and contents (what "unchanged" means). */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const p = join(dir, rel);
    const st = lstatSync(p);
    h.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isFile()) h.update(readFileSync(p));
    else if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return h.digest('hex');
}

/** Entries of `<bootRoot>/images/` (dot-directories included): what an aborted build must not leave. */
export function imagesDirEntries(bootRoot: string): string[] {
  try {
    return readdirSync(join(bootRoot, 'images')).sort();
  } catch {
    return [];
  }
}

export const isRoot = process.getuid?.() === 0;
/** Skip reason for tests that need root (chroot, mounts); under CI=true they never skip. */
export const rootSkip: string | false = !isRoot && process.env.CI !== 'true' ? 'needs root (chroot, mount namespaces, tar ownership)' : false;
