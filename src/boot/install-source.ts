// What the installer boots, per host, from its attributes — for sites with a real EL tree, where
// Anaconda runs instead of the lab installer:
//   install_kernel, install_initrd  the installer's kernel and initrd: a boot-root path
//                                   (e.g. rocky9/images/pxeboot/vmlinuz) or an http(s) URL;
//                                   default boot.installKernel / boot.installInitrd
//   install_stage2                  inst.stage2=<url>: where Anaconda finds its runtime image
//                                   (install.img) when the kickstart installs from `liveimg`
//   install_repo                    inst.repo=<url>: an installation tree (stage2 and packages)
// A liveimg install needs inst.stage2 (or inst.repo): Anaconda has no package source to load its
// own runtime from otherwise (Anaconda's boot options, inst.stage2). Values are checked here, so
// a bad one refuses the boot answer by name instead of reaching a kernel command line.
import { UserError } from '../errors.js';

export interface InstallSource {
  kernel: string;
  initrd: string;
  /** Extra installer arguments (inst.stage2= / inst.repo=), possibly empty. */
  args: string;
}

const URL = /^(https?|ftp|nfs):\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$/;
const BOOT_PATH = /^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}$/;

function pathOrUrl(name: string, v: string): string {
  if (URL.test(v) && /^https?:/.test(v)) return v;
  if (BOOT_PATH.test(v)) return v;
  throw new UserError('E_INSTALL_SOURCE', `attribute ${name} must be a path under the boot root or an http(s) URL without spaces`, { where: name });
}

function url(name: string, v: string): string {
  if (!URL.test(v)) throw new UserError('E_INSTALL_SOURCE', `attribute ${name} must be an http, https, ftp or nfs URL without spaces`, { where: name });
  return v;
}

export function installSource(attrs: Record<string, string>, defaults: { kernel: string; initrd: string }): InstallSource {
  const args: string[] = [];
  if (attrs['install_stage2']) args.push(`inst.stage2=${url('install_stage2', attrs['install_stage2'])}`);
  if (attrs['install_repo']) args.push(`inst.repo=${url('install_repo', attrs['install_repo'])}`);
  return {
    kernel: attrs['install_kernel'] ? pathOrUrl('install_kernel', attrs['install_kernel']) : defaults.kernel,
    initrd: attrs['install_initrd'] ? pathOrUrl('install_initrd', attrs['install_initrd']) : defaults.initrd,
    args: args.join(' '),
  };
}
