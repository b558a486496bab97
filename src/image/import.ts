// `netroot image import DIR|TARBALL --name N`: a root built elsewhere (an EL9 root exported from a
// container, a site's golden root) becomes an image with the same manifest as a built one. The
// operator's directory or tarball is never changed: it is copied (or unpacked) into staging first,
// checked (checkRoot names everything missing), then prepared like a built root.
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import type { ImageManifest } from './manifest.js';
import { validImageName } from './manifest.js';
import type { ImageRegistry } from './registry.js';
import { checkRoot } from './root-check.js';
import { prepareImage } from './prepare.js';
import { run, type Progress } from './run.js';

export interface ImportOptions {
  registry: ImageRegistry;
  progress?: Progress | undefined;
}

export async function importImage(source: string, nameArg: string, o: ImportOptions): Promise<ImageManifest> {
  const name = validImageName(nameArg);
  const src = resolve(source);
  if (!existsSync(src)) throw new UserError('E_IMAGE_SOURCE', `${source} does not exist`, { where: 'source' });
  const isDir = statSync(src).isDirectory();
  if (isDir) checkRoot(src); // fail before copying gigabytes
  if (process.getuid?.() !== 0) throw new UserError('E_IMAGE_NEEDS_ROOT', 'image import needs root (chroot to run the image\'s dracut)');
  if (o.registry.exists(name)) throw new UserError('E_IMAGE_EXISTS', `image ${name} already exists (netroot image remove ${name} first)`, { where: 'name' });
  await o.registry.sweep();
  const staging = await o.registry.staging(name);
  const say = (l: string) => o.progress?.(l);
  try {
    const root = join(staging, 'root');
    await mkdir(root);
    if (isDir) {
      say(`copying ${src}`);
      await run('cp', ['-a', '--one-file-system', `${src}/.`, root], { progress: o.progress, label: 'cp', code: 'E_IMAGE_IMPORT' });
    } else {
      say(`unpacking ${src}`);
      // GNU tar detects the compression, drops leading '/' and refuses members that climb out with '..'.
      await run('tar', ['--extract', '--numeric-owner', '--file', src, '--directory', root], { progress: o.progress, label: 'tar', code: 'E_IMAGE_IMPORT', userError: true });
    }
    const out = join(staging, 'image');
    await mkdir(out);
    const manifest = await prepareImage({ name, root, out, source: 'import', progress: o.progress });
    await o.registry.commit(out, name);
    say(`registered image ${name}: ${manifest.distribution}, kernel ${manifest.kernelVersion}`);
    return manifest;
  } catch (e) {
    if (e instanceof NetrootError) throw e;
    throw new NetrootError('E_IMAGE_IMPORT', `image import failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
