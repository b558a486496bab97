// Paths inside a root file system that is not ours (an imported root, a build in progress),
// resolved as a chroot into it would: a symlink's absolute target is relative to the root, and
// '..' never climbs above it. Every read of and write into an image root goes through here, so a
// root holding `etc/ssh -> /etc/ssh` makes netroot look at (and change) the root's own files,
// never the frontend's.
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

const MAX_LINKS = 40; // as the kernel's ELOOP limit

/** Host path of `rel` inside `root`, symlinks followed within the root; the path need not exist. */
export function inRoot(root: string, rel: string): string {
  const todo = rel.split('/').filter((p) => p && p !== '.');
  const at: string[] = [];
  let links = 0;
  let missing = false;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '..') {
      at.pop();
      continue;
    }
    if (!missing) {
      let link: string | null = null;
      try {
        const st = lstatSync(join(root, ...at, part));
        if (st.isSymbolicLink()) link = readlinkSync(join(root, ...at, part));
      } catch {
        missing = true; // the rest is resolved by name only
      }
      if (link !== null) {
        if (++links > MAX_LINKS) throw new UserError('E_IMAGE_NOT_A_ROOT', `${rel}: too many levels of symbolic links in the root`);
        if (link.startsWith('/')) at.length = 0;
        todo.unshift(...link.split('/').filter((p) => p && p !== '.'));
        continue;
      }
    }
    at.push(part);
  }
  return join(root, ...at);
}

/** Whether `rel` exists inside the root (symlinks resolved within it). */
export function existsIn(root: string, rel: string): boolean {
  try {
    lstatSync(inRoot(root, rel));
    return true;
  } catch {
    return false;
  }
}
