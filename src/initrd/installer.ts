// The lab installer initrd: the base initrd (buildBaseInitrd, unchanged) followed by a second
// gzipped newc archive with /etc/netroot/install.sh, mkfs.ext4 (e2fsprogs) and the shared
// libraries `ldd` lists for it (those the base already holds are not repeated), and
// /etc/mke2fs.conf; with the host's extlinux and syslinux MBR (Debian: extlinux, syslinux-common),
// also /sbin/extlinux and /usr/lib/netroot/mbr.bin for `bootloader --location=mbr` on disked nodes
// (without them the installer refuses that command by name). The kernel unpacks concatenated
// archives in order.
import { spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import { buildBaseInitrd, parseLdd, type BaseInitrdOptions, type BaseInitrdResult } from './base.js';
import { CpioWriter, gzip } from './cpio.js';
import { INSTALLER_MODULES } from './modules.js';
import { defaultTemplatesDir } from './overlay.js';

export interface InstallerInitrdOptions extends BaseInitrdOptions {
  /** mkfs.ext4 on the build host (Debian: e2fsprogs). */
  mkfs?: string;
  /** mke2fs.conf on the build host; absent is fine (mke2fs has built-in defaults). */
  mke2fsConf?: string;
  /** extlinux and the syslinux MBR boot code on the build host; absent: no bootloader support. */
  extlinux?: string;
  mbr?: string;
}

export interface InstallerInitrdResult extends BaseInitrdResult {
  /** Libraries added for the installer tools, beyond the base ones. */
  installerLibraries: string[];
}

function ldd(binary: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = spawn('ldd', [binary], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => reject(new NetrootError('E_INITRD_TOOL', `cannot run ldd: ${e.message}`)));
    c.on('close', (code) => {
      if (code !== 0) reject(new NetrootError('E_INITRD_TOOL', `ldd ${binary} failed: ${err.trim()}`));
      else resolve(parseLdd(out, binary));
    });
  });
}

export async function buildInstallerInitrd(opts: InstallerInitrdOptions): Promise<InstallerInitrdResult> {
  const mkfs = opts.mkfs ?? '/sbin/mkfs.ext4';
  const templatesDir = opts.templatesDir ?? defaultTemplatesDir();
  let mkfsBytes: Buffer;
  try {
    mkfsBytes = await readFile(mkfs); // follows the mkfs.ext4 → mke2fs symlink
  } catch {
    throw new UserError('E_INITRD_INPUT', `mkfs.ext4 ${mkfs} not found (Debian package: e2fsprogs)`);
  }
  const installSh = await readFile(join(templatesDir, 'lab-installer', 'install.sh'));
  const extraLibs = await ldd(mkfs);
  const conf = await readFile(opts.mke2fsConf ?? '/etc/mke2fs.conf').catch(() => null);
  const extlinuxPath = opts.extlinux ?? '/usr/bin/extlinux';
  const extlinux = await readFile(extlinuxPath).catch(() => null);
  const mbr = await readFile(opts.mbr ?? '/usr/lib/syslinux/mbr/mbr.bin').catch(() => null);
  if (extlinux && mbr) extraLibs.push(...(await ldd(extlinuxPath)));

  const base = await buildBaseInitrd({ ...opts, modules: opts.modules ?? INSTALLER_MODULES });
  const w = new CpioWriter({ mtime: opts.mtime ?? 0 });
  w.dir('etc').dir('etc/netroot').dir('sbin');
  w.file('etc/netroot/install.sh', installSh, { mode: 0o755 });
  w.file('sbin/mkfs.ext4', mkfsBytes, { mode: 0o755 });
  if (conf) w.file('etc/mke2fs.conf', conf, { mode: 0o644 });
  if (extlinux && mbr) {
    w.file('sbin/extlinux', extlinux, { mode: 0o755 });
    w.dir('usr').dir('usr/lib').dir('usr/lib/netroot');
    w.file('usr/lib/netroot/mbr.bin', mbr, { mode: 0o644 });
  }
  const installerLibraries: string[] = [];
  for (const lib of extraLibs) {
    if (base.libraries.includes(lib) || installerLibraries.includes(lib)) continue;
    installerLibraries.push(lib);
    w.file(lib, await readFile(lib), { mode: 0o755 });
  }
  const extra = gzip(w.finish());
  await appendFile(opts.out, extra);
  return { ...base, bytes: base.bytes + extra.length, installerLibraries };
}
