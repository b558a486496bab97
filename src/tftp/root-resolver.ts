// The confined resolver for the boot root: the path is confined by boot/files.ts resolveUnderRoot
// (refuses NUL, `..`, backslashes, absolute escapes and symlinks whose target leaves the root), then
// the real path is opened once; files that fit the cache (file-cache.ts, shared by all transfers
// of this resolver) are served from memory, bigger ones with positional reads.
import { open } from 'node:fs/promises';
import { resolveUnderRoot } from '../boot/files.js';
import { FileCache } from './file-cache.js';
import type { TftpFile, TftpResolver } from './source.js';

export function rootResolver(root: string, cache: FileCache = new FileCache()): TftpResolver {
  return async (requested) => {
    if (root === '') return null;
    const { path } = await resolveUnderRoot(root, requested);
    const fh = await open(path, 'r');
    let st;
    let bytes: Buffer | null;
    try {
      st = await fh.stat();
      bytes = await cache.get(fh, st);
    } catch (e) {
      await fh.close();
      throw e;
    }
    if (bytes) {
      await fh.close();
      return { size: bytes.length, bytes, read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)) };
    }
    const size = st.size;
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
