// `netroot image import DIR|TARBALL --name N`: a root built elsewhere (an EL9 root exported from a
// container, a site's golden root) becomes an image with the same manifest as a built one. The
// operator's directory or tarball is never changed: it is copied (or unpacked) into staging first,
// checked (checkRoot names everything missing, and names the operator's DIR or TARBALL, not the
// staging copy), then prepared like a built root. Nothing is registered unless every step
// succeeded; the staging directory is removed on every path out.
import { statSync, type Stats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import { operatorFileReason } from '../operator-file.js';
import type { ImageManifest } from './manifest.js';
import { validImageName } from './manifest.js';
import { removeTree, type ImageRegistry } from './registry.js';
import { checkRoot } from './root-check.js';
import { prepareImage } from './prepare.js';
import { run, type Progress } from './run.js';

export interface ImportOptions {
  registry: ImageRegistry;
  progress?: Progress | undefined;
  /** Aborting stops the running tool; the import fails with E_IMAGE_INTERRUPTED, staging removed. */
  signal?: AbortSignal | undefined;
}

export async function importImage(source: string, nameArg: string, o: ImportOptions): Promise<ImageManifest> {
  const name = validImageName(nameArg);
  const src = resolve(source);
  let st: Stats;
  try {
    st = statSync(src);
  } catch (e) {
    const why = operatorFileReason(e);
    if (why === undefined) throw e;
    throw new UserError('E_IMAGE_SOURCE', (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${source} does not exist` : `${source}: ${why}`, {
      where: 'source',
    });
  }
  const isDir = st.isDirectory();
  if (!isDir && !st.isFile()) throw new UserError('E_IMAGE_SOURCE', `${source} is neither a directory nor a tarball`, { where: 'source' });
  if (isDir) checkRoot(src, source); // fail before copying gigabytes
  if (process.getuid?.() !== 0) throw new UserError('E_IMAGE_NEEDS_ROOT', "image import needs root (chroot to run the image's dracut)");
  if (o.registry.exists(name)) throw new UserError('E_IMAGE_EXISTS', `image ${name} already exists (netroot image remove ${name} first)`, { where: 'name' });
  const say = (l: string) => o.progress?.(l);
  await o.registry.sweep().catch((e: Error) => say(`warning: ${e.message}`));
  const staging = await o.registry.staging(name);
  const root = join(staging, 'root');
  const shown = isDir ? source : `${source} (unpacked)`;
  const scrub: Array<[string, string]> = [
    [root, '<image root>'],
    [staging, '<staging>'],
  ];
  try {
    await mkdir(root);
    if (isDir) {
      say(`copying ${src}`);
      await run('cp', ['-a', '--one-file-system', `${src}/.`, root], { progress: o.progress, label: 'cp', code: 'E_IMAGE_IMPORT', scrub, signal: o.signal });
    } else {
      say(`unpacking ${src}`);
      // GNU tar detects the compression, drops leading '/' and refuses members that climb out with '..'.
      await run('tar', ['--extract', '--numeric-owner', '--file', src, '--directory', root], {
        progress: o.progress,
        label: 'tar',
        code: 'E_IMAGE_IMPORT',
        userError: true,
        scrub,
        signal: o.signal,
      });
      checkRoot(root, shown);
    }
    const out = join(staging, 'image');
    await mkdir(out);
    const manifest = await prepareImage({ name, root, out, source: 'import', shownAs: shown, scrub, progress: o.progress, signal: o.signal });
    await o.registry.commit(out, name);
    say(`registered image ${name}: ${manifest.distribution}, kernel ${manifest.kernelVersion}`);
    return manifest;
  } catch (e) {
    if (e instanceof NetrootError && e.code === 'E_IMAGE_INTERRUPTED')
      throw new NetrootError(e.code, `image import ${name} interrupted (${e.message}): nothing registered`);
    if (e instanceof NetrootError) throw e;
    const msg = scrub.reduce((m, [path, label]) => m.split(path).join(label), (e as Error).message);
    throw new NetrootError('E_IMAGE_IMPORT', `image import failed: ${msg}`, { cause: e });
  } finally {
    await removeTree(staging).catch((e: Error) => say(`warning: ${e.message} (the next import or build sweeps it)`));
  }
}
