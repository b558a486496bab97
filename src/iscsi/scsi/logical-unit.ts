// One logical unit: the backing file plus the SCSI state kept per LU (mode page settings,
// PREVENT state) and a shared/exclusive gate so COMPARE AND WRITE is atomic with respect to
// every other command on the LU while ordinary commands never wait for each other.
import { createHash } from 'node:crypto';
import { dataInPool } from '../buffer-pool.js';
import type { LunStore } from '../lun-store.js';

export interface LuIdentity {
  /** 8-byte NAA locally-assigned designator (NAA 3), stable for (target IQN, LUN). */
  naa: Buffer;
  serial: string;
  targetIqn: string;
}

export function luIdentity(targetIqn: string, lun: number, path: string): LuIdentity {
  const h = createHash('sha256').update(`${targetIqn}\0${lun}\0${path}`).digest();
  const naa = Buffer.from(h.subarray(0, 8));
  naa[0] = 0x30 | (naa[0]! & 0x0f); // NAA 3: locally assigned
  return { naa, serial: h.subarray(8, 16).toString('hex'), targetIqn };
}

export class LogicalUnit {
  /** Caching mode page WCE: false means every write is made durable before status. */
  writeCache = true;
  /** Control mode page D_SENSE: descriptor-format sense data. */
  descriptorSense = false;
  /** PREVENT ALLOW MEDIUM REMOVAL state (recorded; the medium is not removable). */
  prevent = 0;

  private shared = 0;
  private exclusive = false;
  private waiting: Array<() => void> = [];

  constructor(
    readonly number: number,
    readonly file: LunStore,
    readonly identity: LuIdentity,
  ) {}

  get blockSize(): number {
    return this.file.blockSize;
  }
  get blockCount(): number {
    return this.file.blockCount;
  }

  /** Run `fn` alongside other shared users; waits only while an exclusive user runs. */
  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await new Promise<void>((r) => this.waiting.push(r));
    this.shared++;
    try {
      return await fn();
    } finally {
      this.shared--;
      if (this.shared === 0) this.wake();
    }
  }

  /** Run `fn` with no other command of this LU in progress. */
  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive || this.shared > 0) await new Promise<void>((r) => this.waiting.push(r));
    this.exclusive = true;
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) r();
  }

  /** Write blocks; durable before return when `fua` or when the write cache is disabled. */
  async writeBlocks(lba: number, parts: readonly Buffer[], fua: boolean): Promise<void> {
    await this.file.write(parts, lba * this.blockSize);
    if (fua || !this.writeCache) await this.file.sync();
  }

  async readBlocks(lba: number, count: number): Promise<Buffer> {
    const len = count * this.blockSize;
    const buf = Buffer.allocUnsafe(len);
    await this.file.read(buf, 0, len, lba * this.blockSize);
    return buf;
  }

  /** Read into a pooled buffer; call `release` once the bytes are no longer needed. */
  async readPooled(lba: number, count: number): Promise<{ buf: Buffer; release: () => void }> {
    const len = count * this.blockSize;
    const r = dataInPool.take(len);
    try {
      await this.file.read(r.buf, 0, len, lba * this.blockSize);
    } catch (e) {
      r.release();
      throw e;
    }
    return r;
  }

  /** Reset (LUN RESET, TARGET WARM/COLD RESET): mode settings back to defaults (SAM-5 §6.3). */
  reset(): void {
    this.prevent = 0;
  }
}
