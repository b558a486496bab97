// Confines a client-supplied path to a boot root. Refused: NUL bytes, `..` segments, backslashes,
// and anything whose real path (symlinks resolved) leaves the root or is not a regular file.
// Leading slashes are dropped: PXE ROMs ask for "/pxelinux.0" and "pxelinux.0" alike.
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { UserError } from '../errors.js';

export async function resolveUnderRoot(root: string, requested: string): Promise<{ path: string; size: number }> {
  if (requested.includes('\0') || requested.includes('\\')) throw new UserError('E_PATH_REFUSED', 'path refused');
  const rel = requested.replace(/^\/+/, '');
  const parts = rel.split('/');
  if (rel === '' || parts.some((p) => p === '..' || p === '.' || p === '')) throw new UserError('E_PATH_REFUSED', 'path refused');
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(join(realRoot, ...parts));
  } catch {
    throw new UserError('E_NOT_FOUND', `no such file: ${rel}`);
  }
  if (!real.startsWith(realRoot + sep)) throw new UserError('E_PATH_REFUSED', 'path refused');
  const st = await stat(real);
  if (!st.isFile()) throw new UserError('E_NOT_FOUND', `no such file: ${rel}`);
  return { path: real, size: st.size };
}
