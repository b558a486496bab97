// `netroot image build debian-12`: a root from the Debian archive this frontend's apt already
// uses (mmdebstrap, minbase + what a diskless node needs + the operator's packages), then
// prepare.ts makes it an image. Nothing is registered unless every step succeeded; the staging
// directory is removed on every path out.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { NetrootError, UserError } from '../errors.js';
import type { ImageManifest } from './manifest.js';
import { validImageName } from './manifest.js';
import type { ImageRegistry } from './registry.js';
import { prepareImage } from './prepare.js';
import { run, type Progress } from './run.js';

export interface Distribution {
  suite: string;
  kernelPackage: string;
}

/** Distributions `image build` knows; others come in with `image import`. */
export const DISTRIBUTIONS: Readonly<Record<string, Distribution>> = Object.freeze({
  'debian-12': { suite: 'bookworm', kernelPackage: 'linux-image-amd64' },
});

/** What every diskless node needs besides minbase: init, devices, its kernel, dracut with iSCSI and
 *  a network module, the initiator tools, SSH for the administrator, curl for the %post callback. */
export const BASE_PACKAGES: readonly string[] = [
  'systemd-sysv', 'udev', 'dbus', 'dracut', 'dracut-network', 'open-iscsi', 'openssh-server', 'curl',
  'iproute2', 'iputils-ping', 'kmod', 'procps', 'e2fsprogs', 'netbase', 'zstd',
];

/** Documentation and translations are left out (as Debian's slim container images do). */
const DPKG_EXCLUDES = ['path-exclude=/usr/share/man/*', 'path-exclude=/usr/share/doc/*', 'path-include=/usr/share/doc/*/copyright', 'path-exclude=/usr/share/locale/*', 'path-exclude=/usr/share/info/*'];

const PACKAGE = /^[a-z0-9][a-z0-9+.-]{0,99}$/;

export interface BuildRequest {
  distribution: string;
  name?: string | undefined;
  packages?: string[] | undefined;
}

/** Reads `--from-config FILE` (YAML: distribution, name, packages) under the flags given. */
export function buildRequestFrom(file: string | undefined, flags: BuildRequest): BuildRequest {
  if (!file) return flags;
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError('E_IMAGE_CONFIG', `cannot read ${file}: ${(e as Error).message}`, { where: 'from-config' });
  }
  const o = (raw ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['distribution', 'name', 'packages'].includes(k)) throw new UserError('E_IMAGE_CONFIG', `${file}: unknown key ${JSON.stringify(k)} (distribution, name, packages)`, { where: 'from-config' });
  if (o['packages'] !== undefined && (!Array.isArray(o['packages']) || o['packages'].some((p) => typeof p !== 'string'))) throw new UserError('E_IMAGE_CONFIG', `${file}: packages must be a list of names`, { where: 'from-config' });
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  return {
    distribution: flags.distribution || str('distribution') || '',
    name: flags.name ?? str('name'),
    packages: [...((o['packages'] as string[] | undefined) ?? []), ...(flags.packages ?? [])],
  };
}

/** The frontend's own apt sources, pasted into the image (mmdebstrap takes a sources file as a mirror). */
export function frontendSources(systemRoot = '/'): string | null {
  for (const f of ['etc/apt/sources.list.d/debian.sources', 'etc/apt/sources.list']) {
    const p = join(systemRoot, f);
    if (existsSync(p) && /^\s*(deb\s|URIs:)/m.test(readFileSync(p, 'utf8'))) return p;
  }
  return null;
}

export interface BuildOptions {
  registry: ImageRegistry;
  progress?: Progress | undefined;
  /** Test hook: the mmdebstrap program (default from PATH). */
  mmdebstrap?: string;
  sources?: string | null;
}

export async function buildImage(req: BuildRequest, o: BuildOptions): Promise<ImageManifest> {
  const dist = DISTRIBUTIONS[req.distribution];
  if (!dist) throw new UserError('E_IMAGE_DISTRIBUTION', `cannot build ${JSON.stringify(req.distribution)}: image build knows ${Object.keys(DISTRIBUTIONS).join(', ')} (use image import for others)`, { where: 'distribution' });
  const name = validImageName(req.name ?? req.distribution);
  const extra = req.packages ?? [];
  for (const p of extra) if (!PACKAGE.test(p)) throw new UserError('E_IMAGE_PACKAGE', `not a Debian package name: ${JSON.stringify(p)}`, { where: 'packages' });
  if (process.getuid?.() !== 0) throw new UserError('E_IMAGE_NEEDS_ROOT', 'image build needs root (mmdebstrap, chroot)');
  if (o.registry.exists(name)) throw new UserError('E_IMAGE_EXISTS', `image ${name} already exists (netroot image remove ${name} first)`, { where: 'name' });
  await o.registry.sweep();
  const staging = await o.registry.staging(name);
  const say = (l: string) => o.progress?.(l);
  try {
    const root = join(staging, 'root');
    const packages = [...new Set([...BASE_PACKAGES, dist.kernelPackage, ...extra])];
    const sources = o.sources === undefined ? frontendSources() : o.sources;
    say(`mmdebstrap: ${dist.suite} minbase + ${packages.length} packages from ${sources ?? 'the default Debian mirror'} (takes minutes)`);
    await run(
      o.mmdebstrap ?? 'mmdebstrap',
      ['--variant=minbase', '--mode=root', `--include=${packages.join(',')}`, ...DPKG_EXCLUDES.map((x) => `--dpkgopt=${x}`), dist.suite, root, ...(sources ? [sources] : [])],
      // INITRD=No: the kernel's postinst skips its own initrd; prepare.ts builds the one netroot serves.
      { progress: o.progress, label: 'mmdebstrap', code: 'E_IMAGE_BUILD', userError: true, env: { ...process.env, INITRD: 'No' } },
    );
    const out = join(staging, 'image');
    await mkdir(out);
    const manifest = await prepareImage({ name, root, out, source: 'build', distribution: req.distribution, progress: o.progress });
    await o.registry.commit(out, name);
    say(`registered image ${name}: kernel ${manifest.kernelVersion}, root.tar.gz ${(manifest.rootTarball.size / 2 ** 20).toFixed(0)} MiB`);
    return manifest;
  } catch (e) {
    if (e instanceof NetrootError) throw e;
    throw new NetrootError('E_IMAGE_BUILD', `image build failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
