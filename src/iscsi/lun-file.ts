// A logical unit backed by a sparse file. All I/O is positional on one open fd (fs.read /
// fs.writev with a position, callback API: the cheapest path through libuv), so independent
// commands run concurrently and nothing ever seeks. Every access is checked against the
// volume size here as well as in the SCSI layer: no read or write can leave the volume.
//
// Thin provisioning: the file is created with ftruncate (sparse). Deallocation (UNMAP, WRITE
// SAME with UNMAP) punches holes with util-linux `fallocate --punch-hole` (Node has no
// fallocate(2)); small ranges, or a system without the tool, are zero-filled instead. Either
// way a deallocated block reads back as zeros (we report LBPRZ=1).
// Durability: FUA writes and SYNCHRONIZE CACHE call fdatasync before status is returned.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { NetrootError } from '../errors.js';

export interface LunBackingOptions {
  path: string;
  sizeBytes: number;
  blockSize?: 512 | 4096;
}

/**
 * Ranges at least this long are punched; shorter ones are zero-filled. Punching costs a process
 * spawn (~5 ms, more on a busy host), writing 1 MiB of zeros well under that; libiscsi's
 * WRITE SAME / UNMAP tests issue hundreds of 1-256-block deallocations, which at 64 KiB made
 * them take seconds each.
 */
const PUNCH_MIN = 1024 * 1024;
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

function fsOpen(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((res, rej) => fs.open(path, flags, mode, (e, fd) => (e ? rej(e) : res(fd))));
}

export class LunFile {
  readonly path: string;
  readonly blockSize: 512 | 4096;
  readonly sizeBytes: number;
  readonly blocks: bigint;
  readonly blockCount: number;
  private fd: number;
  private closed = false;
  private punchTool: boolean | undefined;

  private constructor(path: string, fd: number, sizeBytes: number, blockSize: 512 | 4096) {
    this.path = path;
    this.fd = fd;
    this.blockSize = blockSize;
    this.sizeBytes = sizeBytes;
    this.blockCount = Math.floor(sizeBytes / blockSize);
    this.blocks = BigInt(this.blockCount);
  }

  /**
   * Open (creating a sparse file if missing) a volume of `sizeBytes`, rounded down to whole
   * blocks. A smaller existing file is extended (sparse); a larger one is used as is but only
   * its first `sizeBytes` are exposed. Without `sizeBytes` the file must exist.
   */
  static async open(opts: { path: string; sizeBytes?: number; blockSize?: 512 | 4096 }): Promise<LunFile> {
    const blockSize = opts.blockSize ?? 512;
    let st: fs.Stats | undefined;
    try {
      st = await fs.promises.stat(opts.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st && !st.isFile()) throw new NetrootError('E_ISCSI_LUN_PATH', `${opts.path} is not a regular file`);
    const size = opts.sizeBytes ?? st?.size;
    if (size === undefined) throw new NetrootError('E_ISCSI_LUN_SIZE', `${opts.path} does not exist and no size was given`);
    if (!Number.isSafeInteger(size) || size < blockSize) {
      throw new NetrootError('E_ISCSI_LUN_SIZE', `volume size ${size} is smaller than one ${blockSize}-byte block`);
    }
    if (!st) await fs.promises.mkdir(dirname(opts.path), { recursive: true });
    const fd = await fsOpen(opts.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    const usable = size - (size % blockSize);
    if (!st || st.size < usable) {
      await new Promise<void>((res, rej) => fs.ftruncate(fd, usable, (e) => (e ? rej(e) : res())));
    }
    return new LunFile(opts.path, fd, usable, blockSize);
  }

  private check(pos: number, len: number): void {
    if (this.closed) throw new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed');
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0 || pos + len > this.sizeBytes) {
      throw new NetrootError('E_ISCSI_LUN_RANGE', `I/O ${pos}+${len} outside the volume (${this.sizeBytes} bytes)`);
    }
  }

  /** Fill `buf[off, off+len)` from byte `pos` of the volume. */
  read(buf: Buffer, off: number, len: number, pos: number): Promise<void> {
    this.check(pos, len);
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done >= len) return resolve();
        fs.read(this.fd, buf, off + done, len - done, pos + done, (err, n) => {
          if (err) return reject(err);
          if (n === 0) {
            buf.fill(0, off + done, off + len); // past the file's end: sparse zeros
            return resolve();
          }
          step(done + n);
        });
      };
      step(0);
    });
  }

  /** Write `parts` contiguously at byte `pos`. */
  write(parts: readonly Buffer[], pos: number): Promise<void> {
    let len = 0;
    for (const p of parts) len += p.length;
    this.check(pos, len);
    return new Promise((resolve, reject) => {
      let list = parts.filter((p) => p.length > 0);
      let at = pos;
      const step = (): void => {
        if (list.length === 0) return resolve();
        const cb = (err: NodeJS.ErrnoException | null, n: number): void => {
          if (err) return reject(err);
          at += n;
          // Drop fully written buffers, trim a partially written one.
          const rest: Buffer[] = [];
          let skip = n;
          for (const b of list) {
            if (skip >= b.length) skip -= b.length;
            else {
              rest.push(skip > 0 ? b.subarray(skip) : b);
              skip = 0;
            }
          }
          list = rest;
          step();
        };
        if (list.length === 1) fs.write(this.fd, list[0]!, 0, list[0]!.length, at, cb);
        else fs.writev(this.fd, list, at, cb);
      };
      step();
    });
  }

  /** fdatasync: everything written so far is on stable storage when this resolves. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new NetrootError('E_ISCSI_LUN_CLOSED', 'volume is closed'));
    return new Promise((res, rej) => fs.fdatasync(this.fd, (e) => (e ? rej(e) : res())));
  }

  /** Write zeros over `[pos, pos+len)`. */
  async zero(pos: number, len: number): Promise<void> {
    this.check(pos, len);
    let done = 0;
    while (done < len) {
      const n = Math.min(ZERO_CHUNK.length, len - done);
      await this.write([ZERO_CHUNK.subarray(0, n)], pos + done);
      done += n;
    }
  }

  /** Deallocate `[pos, pos+len)`; reads return zeros afterwards. */
  async deallocate(pos: number, len: number): Promise<void> {
    this.check(pos, len);
    if (len === 0) return;
    if (len >= PUNCH_MIN && this.punchTool !== false) {
      const ok = await new Promise<boolean>((res) => {
        execFile(
          'fallocate',
          ['--punch-hole', '--keep-size', '--offset', String(pos), '--length', String(len), this.path],
          { timeout: 60_000 },
          (err) => res(!err),
        );
      });
      if (ok) {
        this.punchTool = true;
        return;
      }
      if (this.punchTool === undefined) this.punchTool = false;
    }
    await this.zero(pos, len);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fd = this.fd;
    this.fd = -1;
    await new Promise<void>((res) => fs.close(fd, () => res()));
  }
}
