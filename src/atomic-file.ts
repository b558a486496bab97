// Whole-file replacement by write-to-temporary then rename, for state files that may be written by
// several callers at once (two installComplete calls for one node, two processes).
// Contracts:
//   - the temporary name is unique per call (pid + counter + random) and opened O_CREAT|O_EXCL|
//     O_NOFOLLOW with `mode`: two writers never share a file, a planted file or symlink is never
//     written through, and the mode is the one given at creation (never chmod-fixed afterwards);
//   - temporary names start with "." and end with ".tmp", so a directory sweep that matches final
//     names (e.g. `overlay-<sha>.img`) never removes another writer's file in flight;
//   - readers see the old file or the new one, never half of one; a failed write leaves no temporary.
import { randomBytes } from 'node:crypto';
import { constants as C } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A fresh temporary name next to `path` (same directory, so the rename is atomic). */
export function tempNameFor(path: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return join(dirname(path), `.${basename(path)}.${process.pid}-${counter}-${randomBytes(4).toString('hex')}.tmp`);
}

export interface AtomicWriteOptions {
  /** Mode of the new file (default 0600: state files hold secrets unless said otherwise). */
  mode?: number;
  /** fsync the data before the rename (a crash after return keeps the new content). */
  durable?: boolean;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempNameFor(path);
  const fh = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, opts.mode ?? 0o600);
  try {
    try {
      await fh.writeFile(data);
      if (opts.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
