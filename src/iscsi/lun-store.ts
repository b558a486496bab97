// What a logical unit needs from its backing store (a leaf: both backings implement it and the SCSI
// layer depends only on it). Byte positions and lengths; the SCSI layer passes whole logical blocks.
// Contracts every implementation keeps:
//   - no access leaves [0, sizeBytes): E_ISCSI_LUN_RANGE;
//   - write() resolves once the bytes are readable by read() and survive the process being killed
//     (they are in the kernel); sync() resolves once everything written before it is on stable
//     storage (FUA and SYNCHRONIZE CACHE call it before status is returned);
//   - zero() and deallocate() make the range read back as zeros (LBPRZ = 1);
//   - after close(), I/O fails with E_ISCSI_LUN_CLOSED.
export interface WriteStats {
  writes: number;
  requests: number;
  onLoop: number;
  slowPauses: number;
}

export interface LunStore {
  readonly path: string;
  readonly blockSize: 512 | 4096;
  readonly sizeBytes: number;
  readonly blocks: bigint;
  readonly blockCount: number;
  /**
   * write() calls, the pwrite/pwritev requests they became (fewer when gathered), and those of
   * them written on the event loop's thread (lun-file.ts WRITE_NOW_MAX; for a clone, its delta's);
   * `slowPauses`: how often a slow write there sent lone writes back to the thread pool for a while.
   */
  readonly writeStats: WriteStats;
  read(buf: Buffer, off: number, len: number, pos: number): Promise<void>;
  write(parts: readonly Buffer[], pos: number): Promise<void>;
  sync(): Promise<void>;
  zero(pos: number, len: number): Promise<void>;
  deallocate(pos: number, len: number): Promise<void>;
  close(): Promise<void>;
}
