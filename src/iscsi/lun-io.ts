// The optional native helper of lun-file.ts (native/lunio, built by `npm run build:native`):
// several positional writes in one thread-pool request, and reads of what the page cache holds
// without a thread-pool round trip (its header states the contract). Without
// the build, `lunIo` is undefined and LunFile issues one fs.write/fs.writev per write, as before;
// nothing else changes (the same bytes reach the same offsets, durability is the same).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LunIo {
  /** errors[i]: 0 or the errno of write i; see native/lunio/lunio.c. */
  writeBatch(fd: number, positions: Float64Array, counts: Uint32Array, buffers: Buffer[], done: (errors: Int32Array) => void): void;
  /** preadv2 RWF_NOWAIT on this thread: bytes read (0 at the end), or -errno (-EAGAIN: not cached). */
  readCached(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
}

/** native/lunio/build/Release/lunio.node above this file (from src/iscsi and dist/src/iscsi). */
function addonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'native', 'lunio', 'build', 'Release', 'lunio.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

function load(): LunIo | undefined {
  const p = addonPath();
  if (!p) return undefined;
  try {
    return createRequire(import.meta.url)(p) as LunIo;
  } catch {
    return undefined; // built for another Node ABI: the fs path still works
  }
}

export const lunIo: LunIo | undefined = load();
