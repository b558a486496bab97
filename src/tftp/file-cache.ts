// Whole boot files held in memory and shared by every transfer of the same file. A boot storm is
// many nodes fetching the same few files (iPXE, a kernel, an initrd) at once; with the bytes in
// one Buffer each transfer's ACK → DATA path is a slice, with no read, no allocation and no
// per-transfer copy of the file.
//
// Contracts:
//  - An entry is the file as read once, keyed by device + inode and valid while size, mtime and
//    ctime are unchanged: a request after the file was replaced or rewritten loads it again.
//    A transfer keeps the snapshot it started with, so it never mixes two versions.
//  - A file larger than `maxFileBytes`, or one whose length changes while it is read, is not
//    cached (null): the caller reads it from disk as before.
//  - The entries together hold at most `maxBytes`; the least recently used go first. Transfers
//    still running keep their snapshot alive (it is only a Buffer reference).
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';

export interface FileCacheOptions {
  maxBytes?: number;
  maxFileBytes?: number;
}

interface Entry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  bytes: Buffer;
}

export class FileCache {
  readonly maxBytes: number;
  readonly maxFileBytes: number;
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Buffer | null>>();
  private held = 0;

  constructor(opts: FileCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.maxFileBytes = Math.min(opts.maxFileBytes ?? 64 * 1024 * 1024, this.maxBytes);
  }

  /** Bytes currently held. */
  get size(): number {
    return this.held;
  }

  /** The bytes of the open file `fh` whose stat is `st`, or null when it is not cached. */
  async get(fh: FileHandle, st: Stats): Promise<Buffer | null> {
    if (!st.isFile() || st.size > this.maxFileBytes) return null;
    const key = `${st.dev}:${st.ino}`;
    const e = this.entries.get(key);
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs) {
      this.entries.delete(key); // re-insert: most recently used last
      this.entries.set(key, e);
      return e.bytes;
    }
    const stamp = `${key}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    let p = this.loading.get(stamp);
    if (!p) {
      p = this.load(fh, st, key).finally(() => this.loading.delete(stamp));
      this.loading.set(stamp, p);
    }
    return p;
  }

  private async load(fh: FileHandle, st: Stats, key: string): Promise<Buffer | null> {
    const bytes = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(bytes, got, st.size - got, got);
      if (bytesRead === 0) return null; // shrank while read: not a snapshot
      got += bytesRead;
    }
    const after = await fh.stat();
    if (after.size !== st.size || after.mtimeMs !== st.mtimeMs || after.ctimeMs !== st.ctimeMs) return null; // written while read
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.held -= old.size;
    }
    this.entries.set(key, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, bytes });
    this.held += st.size;
    for (const [k, v] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(k);
      this.held -= v.size;
    }
    return bytes;
  }
}
