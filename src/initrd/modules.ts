// Kernel modules for the base initrd, resolved from the kernel's own modules.dep (the file depmod
// writes: "<path>: <dep path> <dep path>...", paths relative to /lib/modules/<kver>). Module names
// compare with '-' and '_' as the same character, as modprobe does.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetrootError, UserError } from '../errors.js';

export interface ModuleInfo {
  name: string;
  /** Relative to /lib/modules/<kver>, as in modules.dep (may end in .ko.xz / .ko.zst / .ko.gz). */
  path: string;
  deps: string[];
}

export interface ModuleIndex {
  kernelVersion: string;
  /** /lib/modules/<kver> */
  dir: string;
  byName: Map<string, ModuleInfo>;
  byPath: Map<string, ModuleInfo>;
  /** Names built into the kernel image (modules.builtin): asking for them is satisfied. */
  builtin: Set<string>;
}

export interface WantedModule {
  name: string;
  /** Missing and not built in: skipped instead of failing the build. */
  optional?: boolean;
}

/**
 * What a diskless iSCSI root needs (LAB.md): NIC drivers for the lab and common VMs, the iSCSI
 * initiator stack, the SCSI disk driver, ext4. The crypto providers come first so that crc32c
 * (jbd2/ext4) and crct10dif (sd_mod's t10-pi) are there before anything asks for them.
 */
export const DEFAULT_MODULES: readonly WantedModule[] = Object.freeze([
  { name: 'crc32c_generic' },
  { name: 'crc32c_intel', optional: true },
  { name: 'crct10dif_generic', optional: true },
  { name: 'af_packet', optional: true },
  { name: 'e1000' },
  { name: 'e1000e', optional: true },
  { name: 'virtio_pci', optional: true },
  { name: 'virtio_net' },
  { name: 'iscsi_tcp' },
  { name: 'sd_mod' },
  { name: 'ext4' },
]);

/**
 * The lab installer also installs disked nodes onto their local disk: the base set plus the disk
 * controllers of common machines and VMs (IDE/SATA on QEMU's pc and q35, virtio, NVMe).
 */
export const INSTALLER_MODULES: readonly WantedModule[] = Object.freeze([
  ...DEFAULT_MODULES,
  { name: 'ata_piix', optional: true },
  { name: 'ahci', optional: true },
  { name: 'virtio_blk', optional: true },
  { name: 'nvme', optional: true },
]);

export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export function parseModulesDep(text: string): ModuleInfo[] {
  const out: ModuleInfo[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new NetrootError('E_MODULES_DEP', `modules.dep line ${i + 1}: no ':'`);
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((d) => d !== '');
    out.push({ name: moduleName(path), path, deps });
  });
  return out;
}

export async function readModuleIndex(modulesDir: string, kernelVersion: string): Promise<ModuleIndex> {
  if (!/^[A-Za-z0-9._+-]+$/.test(kernelVersion)) throw new UserError('E_INITRD_INPUT', `bad kernel version ${JSON.stringify(kernelVersion)}`);
  const dir = join(modulesDir, kernelVersion);
  let dep: string;
  try {
    dep = await readFile(join(dir, 'modules.dep'), 'utf8');
  } catch {
    throw new UserError(
      'E_INITRD_INPUT',
      `${join(dir, 'modules.dep')} not found: install the kernel's modules (Debian: linux-image-amd64) or pass another kernel version`,
    );
  }
  const builtinText = await readFile(join(dir, 'modules.builtin'), 'utf8').catch(() => '');
  const byName = new Map<string, ModuleInfo>();
  const byPath = new Map<string, ModuleInfo>();
  for (const m of parseModulesDep(dep)) {
    byName.set(m.name, m);
    byPath.set(m.path, m);
  }
  const builtin = new Set(
    builtinText
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(moduleName),
  );
  return { kernelVersion, dir, byName, byPath, builtin };
}

/**
 * The modules to load, dependencies first (depth-first post-order over modules.dep), each once.
 * Every missing module that is neither optional nor built in is reported, all at once.
 */
export function resolveModules(index: ModuleIndex, wanted: readonly WantedModule[]): ModuleInfo[] {
  const order: ModuleInfo[] = [];
  const done = new Set<string>();
  const active = new Set<string>();
  const missing: string[] = [];
  const visit = (m: ModuleInfo, chain: string[]) => {
    if (done.has(m.path)) return;
    if (active.has(m.path)) throw new NetrootError('E_MODULES_DEP', `dependency cycle: ${[...chain, m.name].join(' → ')}`);
    active.add(m.path);
    for (const d of m.deps) {
      const dep = index.byPath.get(d);
      if (!dep) throw new NetrootError('E_MODULES_DEP', `${m.path} depends on ${d}, which modules.dep does not list`);
      visit(dep, [...chain, m.name]);
    }
    active.delete(m.path);
    done.add(m.path);
    order.push(m);
  };
  for (const w of wanted) {
    const name = w.name.replace(/-/g, '_');
    const m = index.byName.get(name);
    if (m) visit(m, []);
    else if (!index.builtin.has(name) && !w.optional) missing.push(w.name);
  }
  if (missing.length > 0) {
    throw new UserError('E_MODULE_MISSING', `kernel ${index.kernelVersion} has no module ${missing.join(', ')} (neither in modules.dep nor built in)`);
  }
  return order;
}
