// The confined resolver for the boot root: the path is confined by boot/files.ts resolveUnderRoot
// (refuses NUL, `..`, backslashes, absolute escapes and symlinks whose target leaves the root), then
// the real path is opened once and read with positional reads.
import { open } from 'node:fs/promises';
import { resolveUnderRoot } from '../boot/files.js';
import type { TftpFile, TftpResolver } from './source.js';

export function rootResolver(root: string): TftpResolver {
  return async (requested) => {
    if (root === '') return null;
    const { path } = await resolveUnderRoot(root, requested);
    const fh = await open(path, 'r');
    const size = (await fh.stat()).size;
    const file: TftpFile = {
      size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = Buffer.allocUnsafe(n);
        let got = 0;
        while (got < n) {
          const { bytesRead } = await fh.read(buf, got, n - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === n ? buf : buf.subarray(0, got);
      },
      close: () => fh.close(),
    };
    return file;
  };
}
