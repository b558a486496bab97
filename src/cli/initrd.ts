// `netroot initrd build-base|build-installer|build-lab-root` — builds the boot images under the
// boot root (tftp.root) from the host's Debian kernel, busybox-static, open-iscsi and e2fsprogs.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CliContext } from './context.js';
import { parse, noExtra, badVerb } from './args.js';
import { json } from './output.js';
import { UserError } from '../errors.js';
import { buildBaseInitrd } from '../initrd/base.js';
import { buildInstallerInitrd } from '../initrd/installer.js';
import { buildLabRootTarball } from '../initrd/lab-root.js';

export const USAGE = [
  'netroot initrd build-base [--kernel-version V] [--out PATH] [--json]',
  'netroot initrd build-installer [--kernel-version V] [--out PATH] [--json]',
  'netroot initrd build-lab-root [--out PATH] [--json]',
].join('\n       ');

/** The newest kernel with both modules (/lib/modules/V) and an image (/boot/vmlinuz-V). */
async function defaultKernelVersion(): Promise<string> {
  const all = await readdir('/lib/modules').catch(() => [] as string[]);
  const v = all
    .sort()
    .reverse()
    .find((k) => existsSync(join('/lib/modules', k, 'modules.dep')) && existsSync(`/boot/vmlinuz-${k}`));
  if (!v) throw new UserError('E_INITRD_INPUT', 'no kernel with modules and /boot/vmlinuz-VERSION (Debian package: linux-image-amd64); pass --kernel-version');
  return v;
}

export async function initrdCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { values: v, positionals: p } = parse(rest, { 'kernel-version': { type: 'string' }, out: { type: 'string' } }, USAGE);
  noExtra(p, 0, USAGE);
  const root = ctx.config.tftp.root;
  let result: Record<string, unknown>;
  switch (verb) {
    case 'build-base': {
      const kernelVersion = v['kernel-version'] ?? (await defaultKernelVersion());
      const out = v.out ?? join(root, 'diskless', 'initrd.img');
      const r = await buildBaseInitrd({ kernelVersion, out });
      // The kernel the base initrd's modules belong to goes next to it (boot.disklessKernel default diskless/vmlinuz).
      const kernelFrom = `/boot/vmlinuz-${kernelVersion}`;
      if (!existsSync(kernelFrom)) throw new UserError('E_INITRD_INPUT', `${kernelFrom} not found (Debian package: linux-image-amd64)`);
      const kernel = join(dirname(out), 'vmlinuz');
      await mkdir(dirname(kernel), { recursive: true });
      await copyFile(kernelFrom, kernel);
      result = { out: r.out, bytes: r.bytes, kernelVersion: r.kernelVersion, modules: r.modules.length, kernel, kernelFrom };
      break;
    }
    case 'build-installer': {
      const kernelVersion = v['kernel-version'] ?? (await defaultKernelVersion());
      const out = v.out ?? join(root, 'install', 'initrd.img');
      const r = await buildInstallerInitrd({ kernelVersion, out });
      const kernelFrom = `/boot/vmlinuz-${kernelVersion}`;
      if (!existsSync(kernelFrom)) throw new UserError('E_INITRD_INPUT', `${kernelFrom} not found (Debian package: linux-image-amd64)`);
      const kernel = join(dirname(out), 'vmlinuz');
      await mkdir(dirname(kernel), { recursive: true });
      await copyFile(kernelFrom, kernel);
      result = { out: r.out, bytes: r.bytes, kernelVersion: r.kernelVersion, kernel, kernelFrom };
      break;
    }
    case 'build-lab-root': {
      if (v['kernel-version']) throw new UserError('E_USAGE', 'build-lab-root takes no --kernel-version');
      const r = await buildLabRootTarball({ out: v.out ?? join(root, 'lab', 'root.tar.gz') });
      result = { out: r.out, bytes: r.bytes, applets: r.applets };
      break;
    }
    default:
      throw badVerb('initrd', verb, USAGE);
  }
  if (v.json) ctx.io.out(json(result));
  else
    ctx.io.out(
      Object.entries(result)
        .map(([k, x]) => `${k}: ${String(x)}`)
        .join('\n') + '\n',
    );
  return 0;
}
