// `netroot assets import`: finds the boot binaries on this system and copies them under the boot
// root (copies, not symlinks: the file servers refuse links that leave the root). A missing
// required asset is an error that names the Debian package to install.
import { copyFile, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';

export interface AssetSource {
  /** Destination, relative to the boot root. */
  dest: string;
  /** Candidate paths (relative to the system root), first found wins. */
  from: string[];
  package: string;
  required: boolean;
  why: string;
}

export const ASSETS: readonly AssetSource[] = [
  { dest: 'undionly.kpxe', from: ['usr/lib/ipxe/undionly.kpxe'], package: 'ipxe', required: true, why: 'iPXE for BIOS PXE ROMs' },
  { dest: 'ipxe.efi', from: ['usr/lib/ipxe/ipxe.efi', 'boot/ipxe.efi'], package: 'ipxe', required: true, why: 'iPXE for x86-64 UEFI' },
  { dest: 'snponly.efi', from: ['usr/lib/ipxe/snponly.efi'], package: 'ipxe', required: false, why: 'iPXE for UEFI using the firmware NIC driver' },
  {
    dest: 'ipxe.lkrn',
    from: ['usr/lib/ipxe/ipxe.lkrn', 'boot/ipxe.lkrn'],
    package: 'ipxe',
    required: false,
    why: 'iPXE as a kernel, for pxelinux/GRUB sanboot',
  },
  { dest: 'ipxe-arm64.efi', from: ['usr/lib/ipxe/arm64-efi/ipxe.efi'], package: 'ipxe (arm64 build)', required: false, why: 'iPXE for arm64 UEFI' },
  { dest: 'pxelinux.0', from: ['usr/lib/PXELINUX/pxelinux.0'], package: 'pxelinux', required: false, why: 'pxelinux for old BIOS clients' },
  { dest: 'ldlinux.c32', from: ['usr/lib/syslinux/modules/bios/ldlinux.c32'], package: 'syslinux-common', required: false, why: 'pxelinux core module' },
];

export interface ImportResult {
  copied: Array<{ dest: string; from: string }>;
  missing: Array<{ dest: string; package: string; why: string }>;
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function copyAtomically(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}`;
  await copyFile(from, tmp);
  await rename(tmp, to);
}

/** The newest /boot/vmlinuz-<version> of the system, or null. */
export async function newestKernel(systemRoot: string): Promise<string | null> {
  let names: string[];
  try {
    names = (await readdir(join(systemRoot, 'boot'))).filter((n) => /^vmlinuz-\d/.test(n));
  } catch {
    return null;
  }
  names.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const last = names.at(-1);
  return last ? join(systemRoot, 'boot', last) : null;
}

export async function importAssets(bootRoot: string, opts: { systemRoot?: string; kernel?: string } = {}): Promise<ImportResult> {
  const sys = opts.systemRoot ?? '/';
  const result: ImportResult = { copied: [], missing: [] };
  for (const a of ASSETS) {
    let found: string | null = null;
    for (const f of a.from)
      if (await exists(join(sys, f))) {
        found = join(sys, f);
        break;
      }
    if (!found) {
      result.missing.push({ dest: a.dest, package: a.package, why: a.why });
      continue;
    }
    await copyAtomically(found, join(bootRoot, a.dest));
    result.copied.push({ dest: a.dest, from: found });
  }
  const kernel = opts.kernel ?? (await newestKernel(sys));
  if (kernel && (await exists(kernel))) {
    await copyAtomically(kernel, join(bootRoot, 'diskless', 'vmlinuz'));
    result.copied.push({ dest: 'diskless/vmlinuz', from: kernel });
  } else {
    result.missing.push({ dest: 'diskless/vmlinuz', package: 'linux-image-amd64', why: 'the kernel diskless nodes boot' });
  }
  const requiredMissing = result.missing.filter((m) => ASSETS.find((a) => a.dest === m.dest)?.required ?? m.dest === 'diskless/vmlinuz');
  if (requiredMissing.length > 0) {
    const pkgs = [...new Set(requiredMissing.map((m) => m.package))].join(' ');
    throw new UserError(
      'E_ASSETS_MISSING',
      `missing boot assets: ${requiredMissing.map((m) => `${m.dest} (${m.why})`).join(', ')}; install them with: apt-get install ${pkgs}`,
    );
  }
  return result;
}
