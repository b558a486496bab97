// Block I/O handlers (src/iscsi/scsi/rw.ts) driven directly on a real sparse-file LU: the CDB
// layouts of READ/WRITE 6/10/12/16, the capacity check at its exact edges, the transfer limit,
// protection fields, FUA, WRITE AND VERIFY, VERIFY (BYTCHK 0/1/3), COMPARE AND WRITE,
// SYNCHRONIZE CACHE and PRE-FETCH (SBC-3).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_COMPARE_AND_WRITE_BLOCKS, MAX_TRANSFER_BYTES, lbaAndLength, outOfRange } from '../../../src/iscsi/scsi/rw.js';
import {
  assertBadField,
  assertCheck,
  assertGood,
  cdbOf,
  exec,
  execPlan,
  fileAt,
  doneResult,
  openLu,
  pattern,
  plan,
  putFile,
  type TestLu,
} from '../helpers/scsi-lu.js';

const BS = 512;
const BLOCKS = (8 << 20) / BS; // 16384
let small: TestLu;
/** 512 MiB (sparse): room for a transfer above the 32 MiB limit and for WRITE(6)'s 21-bit LBAs. */
let big: TestLu;
let k4: TestLu; // 64 MiB of 4096-byte blocks

before(async () => {
  small = await openLu();
  big = await openLu({ sizeBytes: 512 << 20 });
  k4 = await openLu({ sizeBytes: 64 << 20, blockSize: 4096 });
});
after(async () => {
  for (const l of [small, big, k4]) await l?.close();
});

const LBA_OUT_OF_RANGE = 0x2100;
const MISCOMPARE = 0x0e;
const MISCOMPARE_DURING_VERIFY = 0x1d00;

const rw10 = (op: number, lba: number, n: number, byte1 = 0): Buffer => cdbOf(10, op, { 1: byte1, 2: [lba, 4], 7: [n, 2] });
const rw12 = (op: number, lba: number, n: number, byte1 = 0): Buffer => cdbOf(12, op, { 1: byte1, 2: [lba, 4], 6: [n, 4] });
const rw16 = (op: number, lba: bigint, n: number, byte1 = 0): Buffer => cdbOf(16, op, { 1: byte1, 2: lba, 10: [n, 4] });
const rw6 = (op: number, lba: number, n: number): Buffer => Buffer.from([op, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, n & 0xff, 0]);

test('lbaAndLength: the LBA and TRANSFER LENGTH fields of each CDB group (SBC-3 READ/WRITE 6, 10, 12, 16)', () => {
  // 6-byte: 21-bit LBA (byte 1 bits 4-0, bytes 2-3); bits 7-5 of byte 1 are not LBA bits.
  assert.deepEqual(lbaAndLength(Buffer.from([0x08, 0xff, 0x12, 0x34, 7, 0])), { lba: 0x1f1234, count: 7 });
  // TRANSFER LENGTH 0 means 256 blocks in a 6-byte CDB; 255 is 255.
  assert.deepEqual(lbaAndLength(Buffer.from([0x0a, 0x00, 0x00, 0x05, 0, 0])), { lba: 5, count: 256 });
  assert.deepEqual(lbaAndLength(Buffer.from([0x0a, 0x00, 0x00, 0x05, 255, 0])), { lba: 5, count: 255 });
  // 10-byte (groups 1 and 2): LBA bytes 2-5, length bytes 7-8; byte 6 (group number) ignored.
  assert.deepEqual(lbaAndLength(cdbOf(10, 0x28, { 2: [0xfedcba98, 4], 6: 0x3f, 7: [0xabcd, 2] })), { lba: 0xfedcba98, count: 0xabcd });
  assert.deepEqual(lbaAndLength(cdbOf(10, 0x41, { 2: [77, 4], 7: [3, 2] })), { lba: 77, count: 3 });
  // 12-byte (group 5): length bytes 6-9.
  assert.deepEqual(lbaAndLength(cdbOf(12, 0xa8, { 2: [9, 4], 6: [0x12345678, 4] })), { lba: 9, count: 0x12345678 });
  // 16-byte (group 4): 64-bit LBA; up to 2^53-1 exact, anything above is Infinity (never in range).
  assert.deepEqual(lbaAndLength(cdbOf(16, 0x88, { 2: 0x1fffffffffffffn, 10: [4, 4] })), { lba: Number.MAX_SAFE_INTEGER, count: 4 });
  assert.deepEqual(lbaAndLength(cdbOf(16, 0x88, { 2: 0x20000000000000n, 10: [0xffffffff, 4] })), {
    lba: Number.POSITIVE_INFINITY,
    count: 0xffffffff,
  });
  // Groups 3, 6 and 7 have no LBA layout: never in range.
  for (const op of [0x7f, 0xc0, 0xe0]) assert.deepEqual(lbaAndLength(cdbOf(16, op, { 2: 1n, 10: [1, 4] })), { lba: Number.POSITIVE_INFINITY, count: 0 });
});

test('outOfRange: a range may end exactly at the capacity, not one block later', () => {
  const lu = small.lu;
  assert.equal(outOfRange(lu, { lba: 0, count: BLOCKS }), false, 'the whole medium');
  assert.equal(outOfRange(lu, { lba: 0, count: BLOCKS + 1 }), true, 'one block more');
  assert.equal(outOfRange(lu, { lba: BLOCKS - 1, count: 1 }), false, 'the last block');
  assert.equal(outOfRange(lu, { lba: BLOCKS - 1, count: 2 }), true, 'straddling the end');
  assert.equal(outOfRange(lu, { lba: BLOCKS, count: 0 }), false, 'zero blocks at the capacity');
  assert.equal(outOfRange(lu, { lba: BLOCKS, count: 1 }), true, 'one block at the capacity');
  assert.equal(outOfRange(lu, { lba: BLOCKS + 1, count: 0 }), true, 'zero blocks past the capacity');
  assert.equal(outOfRange(lu, { lba: Number.POSITIVE_INFINITY, count: 0 }), true);
});

test('READ 6/10/12/16: range, zero length, data from the file, pooled buffer', async () => {
  const lu = small.lu;
  putFile(small.path, 40 * BS, pattern(4 * BS, 3));
  for (const [name, c] of [
    ['READ(6)', rw6(0x08, 40, 4)],
    ['READ(10)', rw10(0x28, 40, 4)],
    ['READ(12)', rw12(0xa8, 40, 4)],
    ['READ(16)', rw16(0x88, 40n, 4)],
  ] as const) {
    const p = execPlan(plan(c, lu));
    assert.equal(p.dataOutLength, 0, `${name}: no data-out`);
    assert.equal(p.exclusive, undefined, `${name}: runs shared`);
    const r = await p.run([]);
    assertGood(r, name);
    assert.ok(r.data?.equals(pattern(4 * BS, 3)), `${name}: the file's blocks`);
    assert.equal(typeof r.release, 'function', `${name}: pooled buffer handed back with release`);
    r.release?.();
  }
  // The last block reads; one past it (or straddling) is LBA OUT OF RANGE.
  assertGood(await exec(rw10(0x28, BLOCKS - 1, 1), lu));
  assertCheck(doneResult(plan(rw10(0x28, BLOCKS, 1), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(rw10(0x28, BLOCKS - 1, 2), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(rw16(0x88, 0xffffffffffffffffn, 1), lu)), 5, LBA_OUT_OF_RANGE);
  // TRANSFER LENGTH 0: GOOD without data, also at the capacity.
  assert.deepEqual(doneResult(plan(rw10(0x28, BLOCKS, 0), lu)), { status: 0 });
  // READ(6) with TRANSFER LENGTH 0 reads 256 blocks.
  const r6 = await exec(rw6(0x08, 0, 0), lu);
  assert.equal(r6.data?.length, 256 * BS);
});

test('READ/WRITE/VERIFY with RDPROTECT/WRPROTECT/VRPROTECT set: INVALID FIELD IN CDB byte 1 bit 7, checked before the range', () => {
  for (const op of [0x28, 0x2a, 0x2e, 0x2f]) {
    for (const prot of [0x20, 0x40, 0x80]) assertBadField(doneResult(plan(rw10(op, BLOCKS + 5, 1, prot), small.lu)), 1, 7, `op 0x${op.toString(16)} ${prot}`);
  }
  for (const op of [0xa8, 0xaa, 0xae, 0xaf]) assertBadField(doneResult(plan(rw12(op, 0, 1, 0x20), small.lu)), 1, 7);
  for (const op of [0x88, 0x8a, 0x8e, 0x8f, 0x89]) assertBadField(doneResult(plan(rw16(op, 0n, 1, 0x20), small.lu)), 1, 7);
  // In a 6-byte CDB byte 1 bits 7-5 are not a protection field: READ(6)/WRITE(6) ignore them.
  assert.equal(plan(Buffer.from([0x08, 0xe0, 0, 1, 1, 0]), small.lu).kind, 'exec');
  assert.equal(plan(Buffer.from([0x0a, 0xe0, 0, 1, 1, 0]), small.lu).kind, 'exec');
});

test('transfer limit: 32 MiB is accepted, one block more is INVALID FIELD IN CDB at the TRANSFER LENGTH field', () => {
  const lu = big.lu;
  const max = MAX_TRANSFER_BYTES / BS; // 65536 blocks
  for (const op of [0x28, 0x2a, 0x2e, 0x2f]) {
    const byte1 = op === 0x2f ? 0x02 : 0; // VERIFY with BYTCHK=1 transfers data
    assert.equal(plan(rw10(op, 0, 0xffff, byte1), lu).kind, 'exec', `0x${op.toString(16)} 65535 blocks`);
  }
  for (const op of [0xa8, 0xaa, 0xae, 0xaf]) {
    assert.equal(plan(rw12(op, 0, max, op === 0xaf ? 0x02 : 0), lu).kind, 'exec', `0x${op.toString(16)} at the limit`);
    assertBadField(doneResult(plan(rw12(op, 0, max + 1), lu)), 6, undefined, `0x${op.toString(16)} over the limit`);
  }
  for (const op of [0x88, 0x8a, 0x8e, 0x8f]) {
    assert.equal(plan(rw16(op, 0n, max, op === 0x8f ? 0x02 : 0), lu).kind, 'exec', `0x${op.toString(16)} at the limit`);
    assertBadField(doneResult(plan(rw16(op, 0n, max + 1), lu)), 10, undefined, `0x${op.toString(16)} over the limit`);
  }
  assert.equal(execPlan(plan(rw16(0x8a, 0n, max), lu)).dataOutLength, MAX_TRANSFER_BYTES);
  // 10-byte CDBs reach the limit only with 4096-byte blocks: 8192 blocks is 32 MiB.
  for (const op of [0x28, 0x2a, 0x2e, 0x2f]) {
    const byte1 = op === 0x2f ? 0x02 : 0;
    assert.equal(plan(rw10(op, 0, 8192, byte1), k4.lu).kind, 'exec', `0x${op.toString(16)} 8192 × 4096`);
    assertBadField(doneResult(plan(rw10(op, 0, 8193, byte1), k4.lu)), 7, undefined, `0x${op.toString(16)} 8193 × 4096`);
  }
  // The range is checked before the length: far past the end is LBA OUT OF RANGE.
  assertCheck(doneResult(plan(rw16(0x88, 0n, 0xffffffff), lu)), 5, LBA_OUT_OF_RANGE);
});

test('WRITE 6/10/12/16: data-out length, whole-block truncation, data in the file, zero length, range', async () => {
  const lu = small.lu;
  const cases = [
    ['WRITE(6)', rw6(0x0a, 60, 2), 60],
    ['WRITE(10)', rw10(0x2a, 70, 2), 70],
    ['WRITE(12)', rw12(0xaa, 80, 2), 80],
    ['WRITE(16)', rw16(0x8a, BigInt(BLOCKS - 2), 2), BLOCKS - 2],
  ] as const;
  for (const [i, [name, c, lba]] of cases.entries()) {
    const p = execPlan(plan(c, lu));
    assert.equal(p.dataOutLength, 2 * BS, `${name}: SPDTL`);
    assert.equal(p.truncatable, BS, `${name}: may run on whole blocks of a short data-out`);
    assert.equal(p.exactDataOut, undefined);
    assert.equal(p.exclusive, undefined);
    const data = pattern(2 * BS, 10 + i);
    // Data-out in two segments: written contiguously.
    assert.deepEqual(await p.run([data.subarray(0, 100), data.subarray(100)]), { status: 0 });
    assert.ok(fileAt(small.path, lba * BS, 2 * BS).equals(data), `${name}: in the file at LBA ${lba}`);
  }
  assert.deepEqual(doneResult(plan(rw10(0x2a, BLOCKS, 0), lu)), { status: 0 }, 'zero blocks at the capacity: GOOD, no data phase');
  assertCheck(doneResult(plan(rw10(0x2a, BLOCKS, 1), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(rw12(0xaa, BLOCKS - 1, 2), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(rw16(0x8a, 0x100000000n, 1), lu)), 5, LBA_OUT_OF_RANGE);
  // WRITE(6) TRANSFER LENGTH 0 writes 256 blocks.
  assert.equal(execPlan(plan(rw6(0x0a, 0, 0), lu)).dataOutLength, 256 * BS);
});

test('WRITE FUA (byte 1 bit 3) syncs before status; WRITE(6) has no FUA bit; WCE=0 syncs every write', async () => {
  const { lu } = big;
  big.takeSyncs();
  await exec(rw10(0x2a, 1, 1, 0x08), lu, Buffer.alloc(BS, 1));
  assert.equal(big.takeSyncs(), 1, 'WRITE(10) FUA');
  await exec(rw16(0x8a, 2n, 1, 0x08), lu, Buffer.alloc(BS, 1));
  assert.equal(big.takeSyncs(), 1, 'WRITE(16) FUA');
  await exec(rw12(0xaa, 3, 1, 0x08), lu, Buffer.alloc(BS, 1));
  assert.equal(big.takeSyncs(), 1, 'WRITE(12) FUA');
  await exec(rw10(0x2a, 4, 1), lu, Buffer.alloc(BS, 1));
  assert.equal(big.takeSyncs(), 0, 'no FUA: cached');
  // WRITE(6) byte 1 bit 3 is LBA bit 19: LBA 0x80000, and no sync.
  const w6 = Buffer.from([0x0a, 0x08, 0x00, 0x00, 1, 0]);
  await exec(w6, lu, pattern(BS, 5));
  assert.equal(big.takeSyncs(), 0, 'WRITE(6): no FUA');
  assert.ok(fileAt(big.path, 0x80000 * BS, BS).equals(pattern(BS, 5)), 'WRITE(6) wrote at LBA 0x80000');
  lu.writeCache = false;
  try {
    await exec(rw10(0x2a, 5, 1), lu, Buffer.alloc(BS, 1));
    assert.equal(big.takeSyncs(), 1, 'WCE=0: durable before status');
  } finally {
    lu.writeCache = true;
  }
});

test('WRITE AND VERIFY 10/12/16: written and synced before status; range, length and protection checked', async () => {
  const lu = small.lu;
  small.takeSyncs();
  const cases = [
    ['10', rw10(0x2e, 90, 1), 90],
    ['12', rw12(0xae, 91, 1), 91],
    ['16', rw16(0x8e, 92n, 1), 92],
  ] as const;
  for (const [i, [name, c, lba]] of cases.entries()) {
    const p = execPlan(plan(c, lu));
    assert.equal(p.dataOutLength, BS, name);
    assert.equal(p.truncatable, BS, name);
    const d = pattern(BS, 40 + i);
    assert.deepEqual(await p.run([d]), { status: 0 });
    assert.equal(small.takeSyncs(), 1, `WRITE AND VERIFY(${name}) is durable`);
    assert.ok(fileAt(small.path, lba * BS, BS).equals(d));
  }
  assert.deepEqual(doneResult(plan(rw10(0x2e, 5, 0), lu)), { status: 0 });
  assertCheck(doneResult(plan(rw10(0x2e, BLOCKS, 1), lu)), 5, LBA_OUT_OF_RANGE);
  assertBadField(doneResult(plan(rw16(0x8e, 0n, MAX_TRANSFER_BYTES / BS + 1), big.lu)), 10);
});

test('VERIFY 10/12/16: BYTCHK 0 checks only the range, 1 compares every block, 3 one block against each, 2 is invalid', async () => {
  const lu = small.lu;
  const blocks = Buffer.concat([pattern(BS, 1), pattern(BS, 2), pattern(BS, 3)]);
  putFile(small.path, 200 * BS, blocks);
  // BYTCHK 0: GOOD without a data phase; the range is still checked.
  assert.deepEqual(doneResult(plan(rw10(0x2f, 200, 3), lu)), { status: 0 });
  assertCheck(doneResult(plan(rw10(0x2f, BLOCKS - 1, 2), lu)), 5, LBA_OUT_OF_RANGE);
  // BYTCHK 2 (byte 1 bits 2-1 = 10b) is reserved.
  assertBadField(doneResult(plan(rw10(0x2f, 200, 3, 0x04), lu)), 1, 2);
  // Zero blocks: GOOD, no data phase, whatever BYTCHK.
  assert.deepEqual(doneResult(plan(rw10(0x2f, 200, 0, 0x02), lu)), { status: 0 });
  // BYTCHK 1: one block of data-out per block.
  for (const c of [rw10(0x2f, 200, 3, 0x02), rw12(0xaf, 200, 3, 0x02), rw16(0x8f, 200n, 3, 0x02)]) {
    const p = execPlan(plan(c, lu));
    assert.equal(p.dataOutLength, 3 * BS);
    assert.deepEqual(await p.run([blocks.subarray(0, 700), blocks.subarray(700)]), { status: 0 });
    const wrong = Buffer.from(blocks);
    wrong[1000] = wrong[1000]! ^ 0xff;
    assertCheck(await p.run([wrong]), MISCOMPARE, MISCOMPARE_DURING_VERIFY, { info: 1000 }, 'miscompare at byte 1000');
    const first = Buffer.from(blocks);
    first[0] = first[0]! ^ 1;
    assertCheck(await p.run([first]), MISCOMPARE, MISCOMPARE_DURING_VERIFY, { info: 0 }, 'miscompare at byte 0');
    // A data-out shorter than the range (equal as far as it goes) miscompares where it ends.
    assertCheck(await p.run([blocks.subarray(0, BS)]), MISCOMPARE, MISCOMPARE_DURING_VERIFY, { info: BS }, 'short data-out');
  }
  // BYTCHK 3: one block compared with each block of the range.
  putFile(small.path, 300 * BS, Buffer.concat([pattern(BS, 9), pattern(BS, 9), pattern(BS, 9)]));
  const p3 = execPlan(plan(rw10(0x2f, 300, 3, 0x06), lu));
  assert.equal(p3.dataOutLength, BS, 'BYTCHK 3: one block of data-out');
  assert.deepEqual(await p3.run([pattern(BS, 9)]), { status: 0 });
  putFile(small.path, 302 * BS + 7, Buffer.from([0]));
  assertCheck(await p3.run([pattern(BS, 9)]), MISCOMPARE, MISCOMPARE_DURING_VERIFY, { info: 2 * BS + 7 }, 'third block differs');
});

test('COMPARE AND WRITE (SBC-3 §5.2): exclusive, exact data-out of 2 × NUMBER OF BLOCKS, miscompare offset, FUA', async () => {
  const lu = small.lu;
  const caw = (lba: bigint, n: number, byte1 = 0): Buffer => cdbOf(16, 0x89, { 1: byte1, 2: lba, 13: n });
  const old = pattern(2 * BS, 21);
  const neu = pattern(2 * BS, 22);
  putFile(small.path, 500 * BS, old);
  const p = execPlan(plan(caw(500n, 2), lu));
  assert.equal(p.dataOutLength, 4 * BS);
  assert.equal(p.exclusive, true);
  assert.equal(p.exactDataOut, true);
  // A miscompare at byte 600 of the verify data: MISCOMPARE with that offset; nothing written.
  const bad = Buffer.from(old);
  bad[600] = bad[600]! ^ 0x55;
  assertCheck(await p.run([Buffer.concat([bad, neu])]), MISCOMPARE, MISCOMPARE_DURING_VERIFY, { info: 600 });
  assert.ok(fileAt(small.path, 500 * BS, 2 * BS).equals(old), 'unchanged after the miscompare');
  // Match (data-out in three segments): the write half lands, without a sync.
  small.takeSyncs();
  const all = Buffer.concat([old, neu]);
  assert.deepEqual(await p.run([all.subarray(0, 300), all.subarray(300, 1500), all.subarray(1500)]), { status: 0 });
  assert.ok(fileAt(small.path, 500 * BS, 2 * BS).equals(neu), 'the write half');
  assert.ok(fileAt(small.path, 502 * BS, BS).equals(Buffer.alloc(BS)), 'nothing past the range');
  assert.equal(small.takeSyncs(), 0);
  // FUA: synced.
  const pf = execPlan(plan(caw(500n, 2, 0x08), lu));
  assert.deepEqual(await pf.run([Buffer.concat([neu, old])]), { status: 0 });
  assert.equal(small.takeSyncs(), 1, 'FUA');
  // The largest NUMBER OF BLOCKS is accepted; the last block is in range, the capacity is not.
  assert.equal(execPlan(plan(caw(0n, MAX_COMPARE_AND_WRITE_BLOCKS), lu)).dataOutLength, 2 * 255 * BS);
  assert.equal(plan(caw(BigInt(BLOCKS - 1), 1), lu).kind, 'exec');
  assertCheck(doneResult(plan(caw(BigInt(BLOCKS), 1), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(caw(BigInt(BLOCKS - 1), 2), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(caw(0x20000000000000n, 1), lu)), 5, LBA_OUT_OF_RANGE, {}, 'LBA 2^53');
  assertCheck(doneResult(plan(caw(0xffffffffffffffffn, 1), lu)), 5, LBA_OUT_OF_RANGE, {}, 'LBA 2^64-1');
  // NUMBER OF BLOCKS 0: nothing to transfer, GOOD; still an exact (empty) data-out.
  const p0 = execPlan(plan(caw(5n, 0), lu));
  assert.equal(p0.dataOutLength, 0);
  assert.equal(p0.exactDataOut, true);
  assert.equal(p0.exclusive, undefined, 'nothing to make atomic');
  assert.deepEqual(await p0.run([]), { status: 0 });
});

test('SYNCHRONIZE CACHE 10/16 sync the file after a range check; PRE-FETCH 10/16 only check the range', async () => {
  const lu = small.lu;
  small.takeSyncs();
  // 10-byte: LBA bytes 2-5, NUMBER OF BLOCKS bytes 7-8.
  const s10 = execPlan(plan(rw10(0x35, BLOCKS - 1, 1), lu));
  assert.equal(s10.dataOutLength, 0);
  assert.deepEqual(await s10.run([]), { status: 0 });
  assert.equal(small.takeSyncs(), 1);
  assertCheck(doneResult(plan(rw10(0x35, BLOCKS - 1, 2), lu)), 5, LBA_OUT_OF_RANGE);
  assert.equal(plan(rw10(0x35, BLOCKS, 0), lu).kind, 'exec', 'zero blocks at the capacity');
  // 16-byte: 64-bit LBA bytes 2-9, NUMBER OF BLOCKS bytes 10-13 (not the 10-byte layout).
  const s16 = execPlan(plan(rw16(0x91, BigInt(BLOCKS - 1), 1), lu));
  assert.deepEqual(await s16.run([]), { status: 0 });
  assert.equal(small.takeSyncs(), 1);
  assertCheck(doneResult(plan(rw16(0x91, BigInt(BLOCKS - 1), 2), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(rw16(0x91, 0x100000000n, 0), lu)), 5, LBA_OUT_OF_RANGE);
  // PRE-FETCH: GOOD at once (the page cache does the rest), range-checked the same way.
  assert.deepEqual(doneResult(plan(rw10(0x34, BLOCKS - 1, 1), lu)), { status: 0 });
  assertCheck(doneResult(plan(rw10(0x34, BLOCKS - 1, 2), lu)), 5, LBA_OUT_OF_RANGE);
  assert.deepEqual(doneResult(plan(rw16(0x90, BigInt(BLOCKS - 1), 1), lu)), { status: 0 });
  assertCheck(doneResult(plan(rw16(0x90, BigInt(BLOCKS - 1), 2), lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(rw16(0x90, 0x100000000n, 0), lu)), 5, LBA_OUT_OF_RANGE);
  assert.equal(small.takeSyncs(), 0);
});
