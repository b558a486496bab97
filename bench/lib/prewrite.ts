// A LUN file full of data, so reads hit data rather than holes: one random 1 MiB block, its first
// four bytes the MiB's index (no two MiB alike), written `bytes` long. bench:iscsi and bench:rbd.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

export function prewrite(path: string, bytes: number): void {
  const block = randomBytes(1 << 20);
  const fd = openSync(path, 'w', 0o600);
  try {
    for (let off = 0; off < bytes; off += block.length) {
      block.writeUInt32BE(off >>> 20, 0);
      writeSync(fd, block, 0, Math.min(block.length, bytes - off), off);
    }
  } finally {
    closeSync(fd);
  }
}
