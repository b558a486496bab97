// What a logical unit needs from its backing store (a leaf: both backings implement it and the SCSI
// layer depends only on it). Byte positions and lengths; the SCSI layer passes whole logical blocks.
// Contracts every implementation keeps:
//   - no access leaves [0, sizeBytes): E_ISCSI_LUN_RANGE;
//   - write() resolves once the bytes are readable by read() and survive the process being killed
//     (they are in the kernel); sync() resolves once everything written before it is on stable
//     storage (FUA and SYNCHRONIZE CACHE call it before status is returned);
//   - zero() and deallocate() make the range read back as zeros (LBPRZ = 1);
//   - after close(), I/O fails with E_ISCSI_LUN_CLOSED.
export interface LunStore {
  readonly path: string;
  readonly blockSize: 512 | 4096;
  readonly sizeBytes: number;
  readonly blocks: bigint;
  readonly blockCount: number;
  /** write() calls, and the pwrite/pwritev requests they became (fewer when gathered). */
  readonly writeStats: { writes: number; requests: number };
  read(buf: Buffer, off: number, len: number, pos: number): Promise<void>;
  write(parts: readonly Buffer[], pos: number): Promise<void>;
  sync(): Promise<void>;
  zero(pos: number, len: number): Promise<void>;
  deallocate(pos: number, len: number): Promise<void>;
  close(): Promise<void>;
}
