// `netroot image build debian-12`: a root from the Debian archive this frontend's apt already
// uses (mmdebstrap, minbase + what a diskless node needs + the operator's packages), then
// prepare.ts makes it an image. Nothing is registered unless every step succeeded; the staging
// directory is removed on every path out. An unknown package is the operator's error (exit 2,
// found in seconds by a simulated install first); an unreachable archive or a full disk is a
// failure (exit 1) quoting apt's own last lines.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { NetrootError, UserError } from '../errors.js';
import { operatorFileReason } from '../operator-file.js';
import type { ImageManifest } from './manifest.js';
import { validImageName } from './manifest.js';
import { removeTree, type ImageRegistry } from './registry.js';
import { prepareImage } from './prepare.js';
import { run, saysDiskFull, ToolError, type Progress } from './run.js';

export interface Distribution {
  suite: string;
  kernelPackage: string;
}

/** Distributions `image build` knows; others come in with `image import`. */
export const DISTRIBUTIONS: Readonly<Record<string, Distribution>> = Object.freeze({
  'debian-12': { suite: 'bookworm', kernelPackage: 'linux-image-amd64' },
});

/** What every diskless node needs besides minbase: init, devices, its kernel, dracut with iSCSI and
 *  a network module, the initiator tools, SSH for the administrator, curl for the %post callback;
 *  and what the cluster roles run (scratch, slurm-client, nfs-home). */
export const BASE_PACKAGES: readonly string[] = [
  'systemd-sysv',
  'udev',
  'dbus',
  'dracut',
  'dracut-network',
  'open-iscsi',
  'openssh-server',
  'curl',
  'iproute2',
  'iputils-ping',
  'kmod',
  'procps',
  'e2fsprogs',
  'netbase',
  'zstd',
  // The cluster roll (roles/cluster): scratch (lvm2; e2fsprogs above), slurm-client (slurmd, munge),
  // nfs-home (nfs-common, autofs). About 80 MiB installed and 22 MB downloaded more than without
  // them (33 packages; most of it libicu72 through slurm's libxml2, and python3 through nfs-common),
  // on a base of about 575 MiB.
  'lvm2',
  'slurmd',
  'munge',
  'nfs-common',
  'autofs',
  // The sync-client role (roles/sync): netroot-sync checks the payload's Ed25519 signature with
  // `openssl pkeyutl -verify`; without it every node refuses every payload (and munge has no key).
  'openssl',
];

/** Documentation and translations are left out (as Debian's slim container images do). */
const DPKG_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/info/*',
];

const PACKAGE = /^[a-z0-9][a-z0-9+.-]{0,99}$/;

export interface BuildRequest {
  distribution: string;
  name?: string | undefined;
  packages?: string[] | undefined;
}

const CONFIG_KEYS = ['distribution', 'name', 'packages'];

/**
 * `--from-config FILE` (YAML mapping: distribution, name, packages) under the flags given: a flag
 * wins over the file, packages are the file's then the flags'. Unknown keys and wrong types refused.
 */
export function buildRequestFrom(file: string | undefined, flags: BuildRequest): BuildRequest {
  if (!file) return flags;
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError('E_IMAGE_CONFIG', `cannot read ${file}: ${operatorFileReason(e) ?? (e as Error).message}`, { where: 'from-config' });
  }
  const bad = (why: string) => new UserError('E_IMAGE_CONFIG', `${file}: ${why}`, { where: 'from-config' });
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) throw bad('expected a mapping of distribution, name, packages');
  const o = (raw ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!CONFIG_KEYS.includes(k)) throw bad(`unknown key ${JSON.stringify(k)} (${CONFIG_KEYS.join(', ')})`);
  if (o['packages'] !== undefined && (!Array.isArray(o['packages']) || o['packages'].some((p) => typeof p !== 'string')))
    throw bad('packages must be a list of names');
  for (const k of ['distribution', 'name']) if (o[k] !== undefined && typeof o[k] !== 'string') throw bad(`${k} must be a string`);
  const str = (k: string) => o[k] as string | undefined;
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
  /** The apt sources file mmdebstrap uses (null: its default mirror; default: frontendSources()). */
  sources?: string | null;
  /** Aborting stops the running tool; the build fails with E_IMAGE_INTERRUPTED, staging removed. */
  signal?: AbortSignal | undefined;
}

/** apt's words for a package the archive does not have: the operator's to fix (exit 2). */
const UNKNOWN_PACKAGE = [
  /Unable to locate package (\S+)/,
  /Package '([^']+)' has no installation candidate/,
  /Couldn't find any package by (?:glob|regex) '([^']+)'/,
];
const UNREACHABLE = /Failed to fetch|Could not connect|Could not resolve|Temporary failure resolving|Unable to connect/;

/** mmdebstrap's failure, told as the operator's (unknown packages) or as a failure naming the archive or the full disk. */
function mmdebstrapFailure(e: unknown, what: string, sources: string | null, imagesDir: string): unknown {
  if (!(e instanceof ToolError)) return e;
  const unknown = [...new Set(e.lines.flatMap((l) => UNKNOWN_PACKAGE.map((re) => re.exec(l)?.[1]).filter((p): p is string => !!p)))];
  if (unknown.length) {
    const apt = e.lines.filter((l) => UNKNOWN_PACKAGE.some((re) => re.test(l))).join('; ');
    return new UserError('E_IMAGE_PACKAGE', `${what}: unknown package${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (apt: ${apt})`, {
      where: 'packages',
    });
  }
  const why = saysDiskFull(e.lines)
    ? ` — no space left on the file system holding ${imagesDir}`
    : e.lines.some((l) => UNREACHABLE.test(l))
      ? ` — the archive in ${sources ?? "mmdebstrap's default mirror"} is unreachable or broken`
      : '';
  return new NetrootError('E_IMAGE_BUILD', `image build failed${why}: ${e.message}`, { cause: e });
}

export async function buildImage(req: BuildRequest, o: BuildOptions): Promise<ImageManifest> {
  const dist = Object.hasOwn(DISTRIBUTIONS, req.distribution) ? DISTRIBUTIONS[req.distribution] : undefined;
  if (!dist)
    throw new UserError(
      'E_IMAGE_DISTRIBUTION',
      `cannot build ${JSON.stringify(req.distribution)}: image build knows ${Object.keys(DISTRIBUTIONS).join(', ')} (use image import for others)`,
      { where: 'distribution' },
    );
  const name = validImageName(req.name ?? req.distribution);
  const extra = req.packages ?? [];
  for (const p of extra) if (!PACKAGE.test(p)) throw new UserError('E_IMAGE_PACKAGE', `not a Debian package name: ${JSON.stringify(p)}`, { where: 'packages' });
  if (process.getuid?.() !== 0) throw new UserError('E_IMAGE_NEEDS_ROOT', 'image build needs root (mmdebstrap, chroot)');
  if (o.registry.exists(name)) throw new UserError('E_IMAGE_EXISTS', `image ${name} already exists (netroot image remove ${name} first)`, { where: 'name' });
  const say = (l: string) => o.progress?.(l);
  await o.registry.sweep().catch((e: Error) => say(`warning: ${e.message}`));
  const staging = await o.registry.staging(name);
  const root = join(staging, 'root');
  // Staging paths mean nothing to the operator (and are gone when the message is read).
  const scrub: Array<[string, string]> = [
    [root, '<image root>'],
    [staging, '<staging>'],
  ];
  try {
    const packages = [...new Set([...BASE_PACKAGES, dist.kernelPackage, ...extra])];
    const sources = o.sources === undefined ? frontendSources() : o.sources;
    // mmdebstrap --mode=root mounts /proc, /sys, /dev into the root in its caller's mount
    // namespace; a private one makes them vanish with it, however it ends (even SIGKILL).
    const mmdebstrap = (more: string[], target: string, label: string) =>
      run(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          o.mmdebstrap ?? 'mmdebstrap',
          '--variant=minbase',
          '--mode=root',
          `--include=${packages.join(',')}`,
          ...more,
          dist.suite,
          target,
          ...(sources ? [sources] : []),
        ],
        // INITRD=No: the kernel's postinst skips its own initrd; prepare.ts builds the one netroot serves.
        { progress: o.progress, label, code: 'E_IMAGE_BUILD', env: { ...process.env, INITRD: 'No' }, scrub, signal: o.signal },
      ).catch((e: unknown) => {
        throw mmdebstrapFailure(e, `image build ${name}`, sources, o.registry.dir);
      });
    if (extra.length) {
      // The operator's package names are resolved first (seconds), not after minutes of unpacking.
      say(`apt: resolving ${extra.length} extra package${extra.length > 1 ? 's' : ''} against ${dist.suite} (simulated install)`);
      await mmdebstrap(['--simulate'], join(staging, 'simulate'), 'apt');
    }
    say(`mmdebstrap: ${dist.suite} minbase + ${packages.length} packages from ${sources ?? 'the default Debian mirror'} (takes minutes)`);
    await mmdebstrap(
      DPKG_EXCLUDES.map((x) => `--dpkgopt=${x}`),
      root,
      'mmdebstrap',
    );
    const out = join(staging, 'image');
    await mkdir(out);
    const manifest = await prepareImage({
      name,
      root,
      out,
      source: 'build',
      distribution: req.distribution,
      shownAs: `the ${name} root built by mmdebstrap`,
      scrub,
      progress: o.progress,
      signal: o.signal,
    });
    await o.registry.commit(out, name);
    say(`registered image ${name}: kernel ${manifest.kernelVersion}, root.tar.gz ${(manifest.rootTarball.size / 2 ** 20).toFixed(0)} MiB`);
    return manifest;
  } catch (e) {
    if (e instanceof NetrootError && e.code === 'E_IMAGE_INTERRUPTED')
      throw new NetrootError(e.code, `image build ${name} interrupted (${e.message}): nothing registered`);
    if (e instanceof NetrootError) throw e;
    const msg = scrub.reduce((m, [path, shown]) => m.split(path).join(shown), (e as Error).message);
    throw new NetrootError('E_IMAGE_BUILD', `image build failed: ${msg}`, { cause: e });
  } finally {
    await removeTree(staging).catch((e: Error) => say(`warning: ${e.message} (the next build sweeps it)`));
  }
}
