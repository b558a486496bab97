// Turns a root file system (built by mmdebstrap or imported) into an image directory:
//   1. diskless fix-ups written into the root (fixups.ts);
//   2. the image's own dracut builds its initrd for its own kernel, inside the root;
//   3. kernel, initrd and the root tarball (the kickstart's liveimg) are written next to it;
//   4. manifest.json, written last (sizes, sha256 sums, packages, dracut modules).
// The caller renames the finished directory into place (registry.commit).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageFile, ImageManifest } from './manifest.js';
import { checkRoot } from './root-check.js';
import { inRoot } from './rootfs.js';
import { applyDisklessFixups } from './fixups.js';
import { inChroot } from './chroot.js';
import { run, type Progress } from './run.js';
import { MANIFEST } from './registry.js';

export interface PrepareOptions {
  name: string;
  root: string;
  /** Directory that receives vmlinuz, initrd.img, root.tar.gz, manifest.json. */
  out: string;
  source: 'build' | 'import';
  /** Overrides os-release's distribution label (build passes "debian-12"). */
  distribution?: string;
  /** How messages name the root (the operator's directory or tarball; default: the path). */
  shownAs?: string;
  /** Paths replaced in quoted tool output (staging paths mean nothing to the operator). */
  scrub?: Array<[string, string]>;
  progress?: Progress | undefined;
  /** Stops the running tool (the CLI's SIGINT). */
  signal?: AbortSignal | undefined;
  now?: () => Date;
}

/** Where dracut writes inside the root: at its top, never under a path the chroot mounts over
 *  (an imported root's /var/tmp may be a symlink to the /tmp that inChroot mounts a tmpfs on). */
const INITRD_IN_ROOT = '.netroot-initrd.img';

async function describe(dir: string, file: string): Promise<ImageFile> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(join(dir, file))) hash.update(chunk as Buffer);
  return { file, size: (await stat(join(dir, file))).size, sha256: hash.digest('hex') };
}

/** dracut --version exits 1 on Debian's 059; its version file is what it prints. */
function dracutVersionOf(root: string): string {
  const f = inRoot(root, 'usr/lib/dracut/dracut-version.sh');
  if (!existsSync(f)) return 'unknown';
  return /DRACUT_VERSION=["']?([A-Za-z0-9._+~-]+)/.exec(readFileSync(f, 'utf8'))?.[1] ?? 'unknown';
}

async function packagesOf(root: string, tool: 'dpkg' | 'rpm' | null, signal: AbortSignal | undefined): Promise<string[]> {
  if (tool === null) return [];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
  const argv = tool === 'dpkg' ? ['dpkg-query', '-W', '-f', '${Package} ${Version}\\n'] : ['rpm', '-qa', '--qf', '%{NAME} %{VERSION}-%{RELEASE}\\n'];
  const out = await inChroot(root, argv, { capture: true, code: 'E_IMAGE_PACKAGES', label: tool, signal });
  return out.split('\n').filter(Boolean).sort();
}

export async function prepareImage(o: PrepareOptions): Promise<ImageManifest> {
  const say = (l: string) => o.progress?.(l);
  const facts = checkRoot(o.root, o.shownAs);
  const scrub = o.scrub ?? [];
  say(
    `root: ${facts.distribution}, kernel ${facts.kernelVersion}, dracut modules +${facts.dracutAdd.join(' +')}${facts.dracutOmit.map((m) => ` -${m}`).join('')}`,
  );
  const fixed = await applyDisklessFixups(o.root, facts);
  for (const f of fixed) say(`diskless fix-up: ${f}`);

  say('dracut: building the initrd inside the image (takes a minute or two)');
  const dracutVersion = dracutVersionOf(o.root);
  // zstd when the image has it: the kernel unpacks it several times faster than gzip (it matters
  // under emulation, and on every boot of every node); dracut's default gzip -9 otherwise.
  const compress = existsSync(inRoot(o.root, 'usr/bin/zstd')) ? ['--compress', 'zstd'] : [];
  await inChroot(
    o.root,
    [
      'dracut',
      '--quiet',
      '--force',
      '--no-hostonly',
      ...compress,
      '--kver',
      facts.kernelVersion,
      '--add',
      facts.dracutAdd.join(' '),
      ...(facts.dracutOmit.length ? ['--omit', facts.dracutOmit.join(' ')] : []),
      `/${INITRD_IN_ROOT}`,
    ],
    { progress: o.progress, label: 'dracut', code: 'E_IMAGE_DRACUT', scrub, signal: o.signal },
  );
  await rename(join(o.root, INITRD_IN_ROOT), join(o.out, 'initrd.img'));
  await chmod(join(o.out, 'initrd.img'), 0o644); // dracut writes 0600; it holds no secret (the overlay does)
  await copyFile(inRoot(o.root, facts.kernelPath), join(o.out, 'vmlinuz'));

  const packages = await packagesOf(o.root, facts.packageTool, o.signal);
  const rootBytes = Number((await run('du', ['-sbx', o.root], { capture: true, code: 'E_IMAGE_TAR', scrub, signal: o.signal })).split(/\s/)[0] ?? 0);

  say(`tar: packing the root (${(rootBytes / 2 ** 20).toFixed(0)} MiB) as root.tar.gz`);
  await run(
    'tar',
    [
      '--create',
      '--gzip',
      '--numeric-owner',
      '--one-file-system',
      '--file',
      join(o.out, 'root.tar.gz'),
      '--directory',
      o.root,
      '--exclude=./proc/*',
      '--exclude=./sys/*',
      '--exclude=./dev/*',
      '--exclude=./run/*',
      '--exclude=./tmp/*',
      '--exclude=./var/cache/apt/archives/*.deb',
      '--exclude=./var/lib/apt/lists/*',
      '.',
    ],
    { progress: o.progress, label: 'tar', code: 'E_IMAGE_TAR', scrub, signal: o.signal },
  );
  await rm(o.root, { recursive: true, force: true });

  say('sha256: hashing kernel, initrd and root tarball');
  const manifest: ImageManifest = {
    version: 1,
    name: o.name,
    distribution: o.distribution ?? facts.distribution,
    source: o.source,
    createdAt: (o.now?.() ?? new Date()).toISOString(),
    kernelVersion: facts.kernelVersion,
    kernel: await describe(o.out, 'vmlinuz'),
    initrd: await describe(o.out, 'initrd.img'),
    rootTarball: await describe(o.out, 'root.tar.gz'),
    dracut: { version: dracutVersion.slice(0, 64), modules: facts.dracutAdd, omitted: facts.dracutOmit },
    packages,
    rootBytes,
  };
  await writeFile(join(o.out, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
  return manifest;
}
