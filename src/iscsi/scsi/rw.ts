// Block I/O commands (SBC-3): READ/WRITE 6/10/12/16, WRITE AND VERIFY 10/12/16,
// VERIFY 10/12/16, COMPARE AND WRITE, SYNCHRONIZE CACHE 10/16, PRE-FETCH 10/16.
// Every command checks LBA + length against the capacity before touching the file, with
// arithmetic that cannot overflow (64-bit LBAs are compared as bigint when they are large).
import { Asc, SenseKey, Status } from './sense.js';
import { GOOD, badField, check, concat, done, lbaOutOfRange, type CommandContext, type DataOut, type Plan } from './types.js';
import type { LogicalUnit } from './logical-unit.js';

/** Largest single transfer we accept (advertised in the Block Limits VPD page). */
export const MAX_TRANSFER_BYTES = 32 * 1024 * 1024;
/** MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD byte 5). */
export const MAX_COMPARE_AND_WRITE_BLOCKS = 255;

interface LbaRange {
  lba: number;
  count: number;
}

type Lu = LogicalUnit;
type Ctx = CommandContext & { lu: Lu };

/** LBA and TRANSFER LENGTH for the 6/10/12/16-byte layouts; LBAs beyond 2^53 become Infinity. */
export function lbaAndLength(cdb: Buffer): LbaRange {
  switch (cdb[0]! >> 5) {
    case 0: {
      // 6-byte: 21-bit LBA, 8-bit length where 0 means 256 (SBC-3 §5.15 READ(6)).
      const lba = ((cdb[1]! & 0x1f) << 16) | (cdb[2]! << 8) | cdb[3]!;
      return { lba, count: cdb[4]! === 0 ? 256 : cdb[4]! };
    }
    case 1:
    case 2:
      return { lba: cdb.readUInt32BE(2), count: cdb.readUInt16BE(7) };
    case 5:
      return { lba: cdb.readUInt32BE(2), count: cdb.readUInt32BE(6) };
    case 4: {
      const big = cdb.readBigUInt64BE(2);
      return { lba: big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(big), count: cdb.readUInt32BE(10) };
    }
    default:
      return { lba: Number.POSITIVE_INFINITY, count: 0 };
  }
}

/** LBA OUT OF RANGE when the range leaves the medium (a zero-length range may end at capacity). */
export function outOfRange(lu: Lu, r: LbaRange): boolean {
  return !(r.lba <= lu.blockCount && r.lba + r.count <= lu.blockCount);
}

function protectField(cdb: Buffer): boolean {
  // RDPROTECT/WRPROTECT/VRPROTECT (byte 1 bits 7-5) need protection information, which we
  // do not have (READ CAPACITY 16 reports PROT_EN=0): such commands are an invalid field.
  return (cdb[1]! & 0xe0) !== 0 && cdb[0]! >> 5 !== 0;
}

function tooLong(lu: Lu, count: number): boolean {
  return count * lu.blockSize > MAX_TRANSFER_BYTES;
}

/**
 * The TRANSFER LENGTH field's first byte, for the sense-key specific field pointer of a
 * transfer over the limit: bytes 7-8 (10-byte), 6-9 (12-byte), 10-13 (16-byte). A 6-byte CDB
 * (at most 256 blocks) is never over the limit.
 */
function lengthByte(cdb: Buffer): number {
  const group = cdb[0]! >> 5;
  return group === 4 ? 10 : group === 5 ? 6 : 7;
}

export function read(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  if (protectField(cdb)) return badField(1, 7);
  const r = lbaAndLength(cdb);
  if (outOfRange(lu, r)) return lbaOutOfRange();
  if (tooLong(lu, r.count)) return badField(lengthByte(cdb));
  if (r.count === 0) return done(GOOD);
  return {
    kind: 'exec',
    dataOutLength: 0,
    run: async () => {
      const { buf, release } = await lu.readPooled(r.lba, r.count);
      return { status: Status.Good, data: buf, release };
    },
  };
}

export function write(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  if (protectField(cdb)) return badField(1, 7);
  const r = lbaAndLength(cdb);
  if (outOfRange(lu, r)) return lbaOutOfRange();
  if (tooLong(lu, r.count)) return badField(lengthByte(cdb));
  if (r.count === 0) return done(GOOD);
  const fua = cdb[0]! >> 5 !== 0 && (cdb[1]! & 0x08) !== 0;
  return {
    kind: 'exec',
    dataOutLength: r.count * lu.blockSize,
    truncatable: lu.blockSize,
    run: async (d: DataOut) => {
      await lu.writeBlocks(r.lba, d, fua);
      return GOOD;
    },
  };
}

/** WRITE AND VERIFY: the data is written and made durable before status (the "verify"). */
export function writeAndVerify(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  if (protectField(cdb)) return badField(1, 7);
  const r = lbaAndLength(cdb);
  if (outOfRange(lu, r)) return lbaOutOfRange();
  if (tooLong(lu, r.count)) return badField(lengthByte(cdb));
  if (r.count === 0) return done(GOOD);
  return {
    kind: 'exec',
    dataOutLength: r.count * lu.blockSize,
    truncatable: lu.blockSize,
    run: async (d: DataOut) => {
      await lu.writeBlocks(r.lba, d, true);
      return GOOD;
    },
  };
}

function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** VERIFY: BYTCHK 0 = medium check only, 1 = compare with data-out, 3 = one block against each. */
export function verify(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  if (protectField(cdb)) return badField(1, 7);
  const bytchk = (cdb[1]! >> 1) & 3;
  if (bytchk === 2) return badField(1, 2);
  const r = lbaAndLength(cdb);
  if (outOfRange(lu, r)) return lbaOutOfRange();
  if (tooLong(lu, r.count)) return badField(lengthByte(cdb));
  if (r.count === 0 || bytchk === 0) return done(GOOD);
  const bs = lu.blockSize;
  return {
    kind: 'exec',
    dataOutLength: bytchk === 1 ? r.count * bs : bs,
    run: async (d: DataOut) => {
      const want = concat(d);
      const have = await lu.readBlocks(r.lba, r.count);
      let expected = want;
      if (bytchk === 3) {
        expected = Buffer.allocUnsafe(r.count * bs);
        for (let i = 0; i < r.count; i++) want.copy(expected, i * bs);
      }
      const at = firstDifference(have, expected);
      if (at < 0) return GOOD;
      return check(SenseKey.Miscompare, Asc.MiscompareDuringVerify, { info: at });
    },
  };
}

/** COMPARE AND WRITE (SBC-3 §5.2): atomic against every other command on the LU. */
export function compareAndWrite(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  if (protectField(cdb)) return badField(1, 7);
  const big = cdb.readBigUInt64BE(2);
  const lba = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(big);
  const count = cdb[13]!;
  if (count > MAX_COMPARE_AND_WRITE_BLOCKS) return badField(13);
  if (outOfRange(lu, { lba, count })) return lbaOutOfRange();
  if (count === 0) return { kind: 'exec', dataOutLength: 0, exactDataOut: true, run: async () => GOOD };
  const fua = (cdb[1]! & 0x08) !== 0;
  const len = count * lu.blockSize;
  return {
    kind: 'exec',
    dataOutLength: 2 * len,
    exclusive: true,
    exactDataOut: true,
    run: async (d: DataOut) => {
      const all = concat(d);
      const verifyPart = all.subarray(0, len);
      const writePart = all.subarray(len, 2 * len);
      const have = await lu.readBlocks(lba, count);
      const at = firstDifference(have, verifyPart);
      if (at >= 0) return check(SenseKey.Miscompare, Asc.MiscompareDuringVerify, { info: at });
      await lu.writeBlocks(lba, [writePart], fua);
      return GOOD;
    },
  };
}

/** SYNCHRONIZE CACHE 10/16: fdatasync, whatever the range (the page cache is per file). */
export function synchronizeCache(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  const r = lbaAndLength(cdb); // 10-byte (group 1) or 16-byte (group 4) layout
  if (outOfRange(lu, r)) return lbaOutOfRange();
  return {
    kind: 'exec',
    dataOutLength: 0,
    run: async () => {
      await lu.file.sync();
      return GOOD;
    },
  };
}

/** PRE-FETCH 10/16: range-checked; the page cache does the rest. */
export function prefetch(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  const r = lbaAndLength(cdb); // 10-byte (group 1) or 16-byte (group 4) layout
  if (outOfRange(lu, r)) return lbaOutOfRange();
  return done(GOOD);
}
