// The confined resolver for the boot root: the path is confined by boot/files.ts resolveUnderRoot
// (refuses NUL, `..`, backslashes, absolute escapes and symlinks whose target leaves the root), then
// the real path is opened once; files that fit the cache (file-cache.ts, shared by all transfers
// of this resolver) are served from memory, bigger ones with positional reads.
import { read } from 'node:fs';
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
    const fill = (buf: Buffer, offset: number): Promise<number> => readFully(fh.fd, buf.subarray(0, Math.max(0, Math.min(buf.length, size - offset))), offset);
    const file: TftpFile = {
      size,
      async read(offset, length) {
        const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
        const got = await fill(buf, offset);
        return got === buf.length ? buf : buf.subarray(0, got);
      },
      readInto: fill,
      close: () => fh.close(),
    };
    return file;
  };
}

/** pread until `buf` is full or the file ends; the bytes read. */
function readFully(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const step = (got: number): void => {
      if (got >= buf.length) return resolve(got);
      read(fd, buf, got, buf.length - got, offset + got, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return resolve(got);
        step(got + n);
      });
    };
    step(0);
  });
}
