// Small boot images for the lab, built from the installed Debian kernel and busybox-static:
//   - a marker initrd whose /init prints `<marker> cmdline=<kernel command line>` and powers off;
//   - an ext4 root filesystem image whose /sbin/init prints a marker and powers off.
// Builds are cached under <workDir>/images/<kernel version>/, keyed by marker.
import { readdirSync, readFileSync, existsSync, mkdirSync, writeFileSync, renameSync, rmSync, chmodSync, copyFileSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { CpioWriter, gzip } from '../initrd/index.js';
import { NetrootError } from '../errors.js';

export const BUSYBOX = '/bin/busybox';

/** The newest installed kernel image (/boot/vmlinuz-*). */
export function installedKernel(): string {
  const names = existsSync('/boot')
    ? readdirSync('/boot')
        .filter((n) => /^vmlinuz-\d/.test(n))
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    : [];
  const last = names.at(-1);
  if (!last) throw new NetrootError('E_LAB_KERNEL', 'no /boot/vmlinuz-*: apt-get install linux-image-amd64');
  return join('/boot', last);
}

/** The version part of an installed kernel path: /boot/vmlinuz-6.1.0-56-amd64 → 6.1.0-56-amd64. */
export function kernelVersion(kernel = installedKernel()): string {
  return basename(kernel).replace(/^vmlinuz-/, '');
}

function needBusybox(): void {
  if (!existsSync(BUSYBOX)) throw new NetrootError('E_LAB_BUSYBOX', `${BUSYBOX} missing: apt-get install busybox-static`);
}

function checkMarker(marker: string): void {
  // The marker is pasted into a shell script inside double quotes.
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(marker)) throw new NetrootError('E_LAB_MARKER', `marker ${JSON.stringify(marker)}: letters, digits, _.:- only`);
}

/** A gzipped newc initrd whose /init prints `<marker> cmdline=<...>` on the console and powers off. */
export function markerInitrd(marker: string): Buffer {
  needBusybox();
  checkMarker(marker);
  const init = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "${marker} cmdline=$(/bin/busybox cat /proc/cmdline)"
/bin/busybox sync
/bin/busybox poweroff -f
`;
  const w = new CpioWriter({ mtime: 0 });
  w.dir('/dev').dir('/proc').dir('/bin');
  w.device('/dev/console', 'char', 5, 1, { mode: 0o600 });
  w.file('/bin/busybox', readFileSync(BUSYBOX), { mode: 0o755 });
  w.symlink('/bin/sh', 'busybox');
  w.file('/init', init, { mode: 0o755 });
  return gzip(w.finish());
}

function cacheDir(workDir: string): string {
  const d = join(workDir, 'images', kernelVersion());
  mkdirSync(d, { recursive: true });
  return d;
}

/** Writes atomically: a crashed build never leaves a half file that a later run would take as cached. */
function publish(path: string, build: (tmp: string) => void): string {
  if (existsSync(path)) return path;
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  build(tmp);
  renameSync(tmp, path);
  return path;
}

export interface TestImages {
  kernel: string;
  kernelVersion: string;
  initrd: string;
}

/** The installed kernel plus a cached marker initrd file for it. */
export function markerBootFiles(workDir: string, marker: string): TestImages {
  const kernel = installedKernel();
  const initrd = publish(join(cacheDir(workDir), `marker-${marker}.cpio.gz`), (tmp) => writeFileSync(tmp, markerInitrd(marker)));
  return { kernel, kernelVersion: kernelVersion(kernel), initrd };
}

/**
 * An ext4 image (`mkfs.ext4 -d`, nothing mounted) holding busybox and an /sbin/init that mounts
 * proc, prints `<marker> root=<source of />` and powers off. Cached per marker and size.
 */
export function rootImage(workDir: string, marker: string, sizeMb = 16): string {
  needBusybox();
  checkMarker(marker);
  const img = join(cacheDir(workDir), `root-${marker}-${sizeMb}M.ext4`);
  return publish(img, (tmp) => {
    const dir = `${tmp}.d`;
    rmSync(dir, { recursive: true, force: true });
    for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'tmp', 'etc']) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
    chmodSync(join(dir, 'bin/busybox'), 0o755);
    symlinkSync('busybox', join(dir, 'bin/sh'));
    writeFileSync(
      join(dir, 'sbin/init'),
      `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "${marker} root=$(/bin/busybox awk '$2=="/"{print $1}' /proc/mounts | /bin/busybox tail -n 1)"
/bin/busybox sync
/bin/busybox poweroff -f
`,
      { mode: 0o755 },
    );
    writeFileSync(join(dir, 'etc/netroot-lab-root'), `${marker}\n`);
    writeFileSync(tmp, Buffer.alloc(0));
    execFileSync('truncate', ['-s', `${sizeMb}M`, tmp]);
    try {
      execFileSync('mkfs.ext4', ['-q', '-F', '-d', dir, tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new NetrootError('E_LAB_MKFS', `mkfs.ext4 -d ${dir}: ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * netroot's base initrd (src/initrd: busybox, iscsistart, the iSCSI/ext4 modules, initrd-templates/init.sh)
 * for the installed kernel, cached. With `root=iscsi:<portal>::3260:1:<iqn> rd.iscsi.initiator=<iqn> ip=dhcp`
 * on the command line it logs in, mounts the whole LUN as root and switch_roots to its /sbin/init.
 */
export async function iscsiRootInitrd(workDir: string): Promise<string> {
  const out = join(cacheDir(workDir), 'iscsi-root.cpio.gz');
  if (existsSync(out)) return out;
  const { buildBaseInitrd } = await import('../initrd/index.js');
  await buildBaseInitrd({ kernelVersion: kernelVersion(), out });
  return out;
}
