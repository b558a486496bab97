// What a root file system must hold before netroot can boot it diskless: a kernel with its
// modules, dracut with its iscsi module and a network module, and iscsistart. Everything missing
// is named at once, so an operator fixes an imported root in one round.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { MultiError, UserError } from '../errors.js';
import { existsIn, inRoot } from './rootfs.js';

export interface RootFacts {
  /** "debian-12", "rocky-9.4", from os-release ID and VERSION_ID. */
  distribution: string;
  kernelVersion: string;
  /** Root-relative path of the kernel image (read it through rootfs.inRoot). */
  kernelPath: string;
  /** dracut module names (without the number prefix) to add: iscsi and the network module. */
  dracutAdd: string[];
  /** dracut modules to omit (ones known not to start in this distribution's initrd). */
  dracutOmit: string[];
  packageTool: 'dpkg' | 'rpm' | null;
}

function firstExisting(root: string, paths: string[]): string | null {
  return paths.find((p) => existsIn(root, p)) ?? null;
}

/** Whether `rel` is a directory inside the root. */
function isDir(root: string, rel: string): boolean {
  try {
    return statSync(inRoot(root, rel)).isDirectory();
  } catch {
    return false;
  }
}

/** os-release ID and VERSION_ID → "<id>-<version>"; "linux" when there is none. */
export function distributionOf(root: string): string {
  const file = firstExisting(root, ['etc/os-release', 'usr/lib/os-release']);
  if (!file) return 'linux';
  const kv: Record<string, string> = {};
  for (const line of readFileSync(inRoot(root, file), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(?:"([^"]*)"|'([^']*)'|(\S*))\s*$/.exec(line);
    if (m) kv[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  const id = (kv['ID'] ?? 'linux').toLowerCase().replace(/[^a-z0-9._-]/g, '');
  const ver = (kv['VERSION_ID'] ?? '').replace(/[^A-Za-z0-9._-]/g, '');
  return (ver ? `${id}-${ver}` : id).slice(0, 64) || 'linux';
}

/** Kernels of the root: Debian's /boot/vmlinuz-<v>, or EL's /lib/modules/<v>/vmlinuz. Newest first. */
export function kernelsOf(root: string): Array<{ version: string; path: string }> {
  const found = new Map<string, string>();
  for (const modDir of ['usr/lib/modules', 'lib/modules']) {
    if (!isDir(root, modDir)) continue;
    for (const v of readdirSync(inRoot(root, modDir))) if (existsIn(root, `${modDir}/${v}/vmlinuz`)) found.set(v, `${modDir}/${v}/vmlinuz`);
  }
  if (isDir(root, 'boot')) {
    for (const n of readdirSync(inRoot(root, 'boot'))) {
      const m = /^vmlinuz-(\d.*)$/.exec(n);
      if (m && !found.has(m[1]!) && existsIn(root, `boot/${n}`)) found.set(m[1]!, `boot/${n}`);
    }
  }
  return [...found.entries()]
    .filter(([v]) => isDir(root, `lib/modules/${v}`) || isDir(root, `usr/lib/modules/${v}`))
    .map(([version, path]) => ({ version, path }))
    .sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }));
}

function dracutModules(root: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!isDir(root, 'usr/lib/dracut/modules.d')) return out;
  for (const n of readdirSync(inRoot(root, 'usr/lib/dracut/modules.d'))) {
    const m = /^\d\d(.+)$/.exec(n);
    if (m) out.set(m[1]!, n);
  }
  return out;
}

/**
 * Inspects a root; throws one error listing everything that is missing. `shown` names the root in
 * messages (the operator's tarball rather than the staging directory it was unpacked into).
 */
export function checkRoot(root: string, shown = root): RootFacts {
  if (!isDir(root, '.')) throw new UserError('E_IMAGE_NOT_A_ROOT', `${shown} is not a directory`);
  const problems: UserError[] = [];
  const miss = (what: string) => problems.push(new UserError('E_IMAGE_NOT_A_ROOT', what));
  if (!firstExisting(root, ['etc/os-release', 'usr/lib/os-release'])) miss('not a root file system: no /etc/os-release (or /usr/lib/os-release)');
  if (!firstExisting(root, ['bin/sh', 'usr/bin/sh'])) miss('not a root file system: no /bin/sh');
  const kernels = kernelsOf(root);
  if (kernels.length === 0)
    miss('no kernel: no /boot/vmlinuz-<version> or /lib/modules/<version>/vmlinuz with its modules (install linux-image-amd64 or kernel-core)');
  if (!firstExisting(root, ['usr/bin/dracut', 'usr/sbin/dracut', 'sbin/dracut', 'bin/dracut'])) miss('no dracut (install dracut)');
  const mods = dracutModules(root);
  if (!mods.has('iscsi')) miss('no dracut iscsi module (usr/lib/dracut/modules.d/95iscsi: install dracut-network)');
  const net = ['network-legacy', 'network-manager', 'network'].find((m) => mods.has(m));
  if (mods.size > 0 && !net) miss('no dracut network module (install dracut-network)');
  if (!firstExisting(root, ['usr/sbin/iscsistart', 'sbin/iscsistart', 'usr/bin/iscsistart']))
    miss('no iscsistart (install open-iscsi or iscsi-initiator-utils)');
  if (problems.length === 1) throw new UserError('E_IMAGE_NOT_A_ROOT', `${shown} cannot boot diskless: ${problems[0]!.message}`);
  if (problems.length > 1) throw new MultiError('E_IMAGE_NOT_A_ROOT', `${shown} cannot boot diskless`, problems);
  // network-legacy (dhclient) is the one that works on Debian 12's dracut; the systemd-networkd
  // module fails to start in its initrd. Distributions without network-legacy (EL9+) use
  // network-manager.
  const omit = net === 'network-legacy' && mods.has('systemd-networkd') ? ['systemd-networkd'] : [];
  return {
    distribution: distributionOf(root),
    kernelVersion: kernels[0]!.version,
    kernelPath: kernels[0]!.path,
    dracutAdd: ['iscsi', net!],
    dracutOmit: omit,
    packageTool: existsIn(root, 'var/lib/dpkg/status') ? 'dpkg' : firstExisting(root, ['usr/bin/rpm', 'bin/rpm']) ? 'rpm' : null,
  };
}
