// Thin provisioning (SBC-3 §4.7): UNMAP, WRITE SAME 10/16 (with the UNMAP bit, or a zero
// pattern, both become hole punching), GET LBA STATUS. Deallocated blocks read as zeros
// (LBPRZ=1). GET LBA STATUS reports "mapped or unknown" (provisioning status 0): Node cannot
// lseek(SEEK_DATA/SEEK_HOLE), so we do not know where the holes are; that answer is allowed
// by SBC-3 and is what the LBA STATUS descriptor's status 0 means.
import { Asc, SenseKey } from './sense.js';
import { GOOD, badField, check, concat, data, done, lbaOutOfRange, type CommandContext, type DataOut, type Plan } from './types.js';
import { lbaAndLength, outOfRange } from './rw.js';
import type { LogicalUnit } from './logical-unit.js';

type Ctx = CommandContext & { lu: LogicalUnit };

/** Block Limits VPD: MAXIMUM UNMAP LBA COUNT and MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
export const MAX_UNMAP_LBA_COUNT = 0x100000; // libiscsi expects ≤ 1 Mi blocks per descriptor
export const MAX_UNMAP_DESCRIPTORS = 256;
/** MAXIMUM WRITE SAME LENGTH, in blocks (1 GiB of 512-byte blocks). */
export const MAX_WRITE_SAME_BLOCKS = 0x200000;
/** Non-zero patterns are written in chunks of this many bytes. */
const WS_CHUNK = 1024 * 1024;

export function unmap(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  if (cdb[1]! & 0x01) return badField(1, 0); // ANCHOR: anchored LBAs are not supported
  const plen = cdb.readUInt16BE(7);
  if (plen === 0) return done(GOOD);
  if (plen < 8) return done(check(SenseKey.IllegalRequest, Asc.ParameterListLengthError));
  return {
    kind: 'exec',
    dataOutLength: plen,
    run: async (d: DataOut) => {
      const p = concat(d);
      const bdLen = p.readUInt16BE(2);
      if (bdLen > p.length - 8 || bdLen % 16 !== 0) {
        return check(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
      }
      const n = bdLen / 16;
      if (n > MAX_UNMAP_DESCRIPTORS) return check(SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, { field: { cdb: false, byte: 2 } });
      const ranges: Array<{ lba: number; count: number }> = [];
      for (let i = 0; i < n; i++) {
        const off = 8 + i * 16;
        const big = p.readBigUInt64BE(off);
        const lba = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(big);
        const count = p.readUInt32BE(off + 8);
        if (outOfRange(lu, { lba, count })) return check(SenseKey.IllegalRequest, Asc.LbaOutOfRange);
        if (count > MAX_UNMAP_LBA_COUNT) {
          return check(SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, { field: { cdb: false, byte: off + 8 } });
        }
        if (count > 0) ranges.push({ lba, count });
      }
      const bs = lu.blockSize;
      await Promise.all(ranges.map((r) => lu.file.deallocate(r.lba * bs, r.count * bs)));
      return GOOD;
    },
  };
}

/** WRITE SAME 10/16: one block of data-out (or none with NDOB) repeated over the range. */
export function writeSame(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  const flags = cdb[1]!;
  if (flags & 0xe0) return badField(1, 7); // WRPROTECT without protection information
  if (flags & 0x10) return badField(1, 4); // ANCHOR
  const unmapBit = (flags & 0x08) !== 0;
  const ndob = cdb[0] === 0x93 && (flags & 0x01) !== 0;
  if (flags & 0x06) return badField(1, 2); // PBDATA/LBDATA: obsolete with SBC-3, not supported
  const r = lbaAndLength(cdb);
  if (outOfRange(lu, r)) return lbaOutOfRange();
  // NUMBER OF LOGICAL BLOCKS 0 (WSNZ=0): from LBA to the end of the medium.
  const count = r.count === 0 ? lu.blockCount - r.lba : r.count;
  if (count > MAX_WRITE_SAME_BLOCKS) return badField(cdb[0] === 0x93 ? 10 : 7);
  if (count === 0) return done(GOOD);
  const bs = lu.blockSize;
  const run = async (pattern: Buffer): Promise<ReturnType<typeof check> | typeof GOOD> => {
    // UNMAP=1: deallocate whatever the pattern (libiscsi's WriteSame*.Unmap* tests expect the
    // range to read back as zeros with LBPRZ=1). A zero pattern is a deallocation too: with
    // LBPRZ=1 the result is indistinguishable and the file stays thin.
    if (unmapBit || pattern.every((b) => b === 0)) {
      await lu.file.deallocate(r.lba * bs, count * bs);
      return GOOD;
    }
    const perChunk = Math.max(1, Math.floor(WS_CHUNK / bs));
    const chunk = Buffer.allocUnsafe(Math.min(perChunk, count) * bs);
    for (let i = 0; i * bs < chunk.length; i++) pattern.copy(chunk, i * bs);
    for (let done = 0; done < count; ) {
      const n = Math.min(perChunk, count - done);
      await lu.writeBlocks(r.lba + done, [chunk.subarray(0, n * bs)], false);
      done += n;
    }
    return GOOD;
  };
  if (ndob) return { kind: 'exec', dataOutLength: 0, run: () => run(Buffer.alloc(bs)) };
  return { kind: 'exec', dataOutLength: bs, exactDataOut: true, run: (d: DataOut) => run(concat(d)) };
}

/** GET LBA STATUS (SERVICE ACTION IN(16) 0x12). */
export function getLbaStatus(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  const big = cdb.readBigUInt64BE(2);
  const alloc = cdb.readUInt32BE(10);
  if (big >= BigInt(lu.blockCount)) return lbaOutOfRange();
  if (alloc === 0) return done(GOOD);
  const lba = Number(big);
  const out = Buffer.alloc(24);
  out.writeUInt32BE(20, 0); // PARAMETER DATA LENGTH (bytes after this field)
  out.writeBigUInt64BE(big, 8);
  out.writeUInt32BE(Math.min(lu.blockCount - lba, 0xffffffff), 16);
  out[20] = 0; // provisioning status: mapped or unknown
  return data(out, alloc);
}
