// Thin provisioning handlers (src/iscsi/scsi/provisioning.ts) on real sparse-file LUs: UNMAP
// (SBC-3 §5.28) parameter-list parsing and limits, WRITE SAME 10/16 (flags, NDOB, NUMBER OF
// LOGICAL BLOCKS 0 = to the end, the length limit, chunked pattern writes, deallocation that
// really punches the file) and GET LBA STATUS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { MAX_UNMAP_DESCRIPTORS, MAX_UNMAP_LBA_COUNT, MAX_WRITE_SAME_BLOCKS } from '../../../src/iscsi/scsi/provisioning.js';
import { assertBadField, assertCheck, cdbOf, doneResult, execPlan, fileAt, openLu, pattern, plan, putFile, type TestLu } from '../helpers/scsi-lu.js';

const BS = 512;
const BLOCKS = (8 << 20) / BS; // 16384
let t: TestLu;
/** 2 GiB (sparse), 0x400000 blocks: room above the UNMAP and WRITE SAME limits. */
let big: TestLu;
let huge: TestLu; // 2^32 + 1 blocks (GET LBA STATUS saturates its 32-bit count)
let k4: TestLu; // 4096-byte blocks

before(async () => {
  t = await openLu();
  big = await openLu({ sizeBytes: 2 * 1024 * 1024 * 1024 });
  huge = await openLu({ sizeBytes: 0x100000001 * 512 });
  k4 = await openLu({ blockSize: 4096, sizeBytes: 16 << 20 });
});
after(async () => {
  for (const l of [t, big, huge, k4]) await l?.close();
});

const LBA_OUT_OF_RANGE = 0x2100;
const PLLE = 0x1a00;
const INVALID_PARAM = 0x2600;

const unmapCdb = (plen: number, byte1 = 0): Buffer => cdbOf(10, 0x42, { 1: byte1, 7: [plen, 2] });
/** UNMAP parameter list: header (UNMAP DATA LENGTH, BLOCK DESCRIPTOR DATA LENGTH) and descriptors. */
function unmapList(descs: Array<[bigint, number]>, bdLen = descs.length * 16): Buffer {
  const b = Buffer.alloc(8 + descs.length * 16);
  b.writeUInt16BE(b.length - 2, 0);
  b.writeUInt16BE(bdLen, 2);
  for (const [i, [lba, n]] of descs.entries()) {
    b.writeBigUInt64BE(lba, 8 + i * 16);
    b.writeUInt32BE(n, 16 + i * 16);
  }
  return b;
}
async function unmap(lu: TestLu, list: Buffer) {
  const p = execPlan(plan(unmapCdb(list.length), lu.lu));
  assert.equal(p.dataOutLength, list.length);
  return p.run(list.length > 10 ? [list.subarray(0, 10), list.subarray(10)] : [list]);
}

test('UNMAP CDB: ANCHOR refused, PARAMETER LIST LENGTH 0 is GOOD, 1-7 is a length error, 8 runs', () => {
  assertBadField(doneResult(plan(unmapCdb(24, 0x01), t.lu)), 1, 0, 'ANCHOR');
  assert.deepEqual(doneResult(plan(unmapCdb(0), t.lu)), { status: 0 });
  assertCheck(doneResult(plan(unmapCdb(7), t.lu)), 5, PLLE);
  assertCheck(doneResult(plan(unmapCdb(1), t.lu)), 5, PLLE);
  assert.equal(execPlan(plan(unmapCdb(8), t.lu)).dataOutLength, 8);
  assert.equal(execPlan(plan(unmapCdb(0x1018), t.lu)).dataOutLength, 0x1018, 'PARAMETER LIST LENGTH bytes 7-8');
});

test('UNMAP deallocates every descriptor (reads back zeros); a zero-count descriptor is skipped', async () => {
  putFile(t.path, 100 * BS, pattern(40 * BS, 7));
  const r = await unmap(
    t,
    unmapList([
      [100n, 4],
      [110n, 2],
      [120n, 0],
    ]),
  );
  assert.deepEqual(r, { status: 0 });
  assert.ok(fileAt(t.path, 100 * BS, 4 * BS).equals(Buffer.alloc(4 * BS)), 'first range');
  assert.ok(fileAt(t.path, 104 * BS, 6 * BS).equals(pattern(40 * BS, 7).subarray(4 * BS, 10 * BS)), 'between the ranges');
  assert.ok(fileAt(t.path, 110 * BS, 2 * BS).equals(Buffer.alloc(2 * BS)), 'second range');
  assert.ok(fileAt(t.path, 112 * BS, 28 * BS).equals(pattern(40 * BS, 7).subarray(12 * BS)), 'after');
  // The last block, and a zero-count descriptor at the capacity, are in range.
  assert.deepEqual(await unmap(t, unmapList([[BigInt(BLOCKS - 1), 1]])), { status: 0 });
  assert.deepEqual(await unmap(t, unmapList([[BigInt(BLOCKS), 0]])), { status: 0 });
  // A header with no descriptors.
  assert.deepEqual(await unmap(t, unmapList([])), { status: 0 });
});

test('UNMAP parameter list: BLOCK DESCRIPTOR DATA LENGTH past the list or not a multiple of 16 (PARAMETER LIST LENGTH ERROR)', async () => {
  assertCheck(await unmap(t, unmapList([[0n, 1]], 32)), 5, PLLE, {}, 'longer than the list');
  assertCheck(await unmap(t, unmapList([[0n, 1]], 17)), 5, PLLE, {}, '17 bytes');
  assertCheck(await unmap(t, unmapList([[0n, 1]], 8)), 5, PLLE, {}, '8 bytes');
  assert.deepEqual(await unmap(t, unmapList([[0n, 1]], 16)), { status: 0 });
  // The descriptors the length covers are used, the rest of the list is ignored.
  putFile(t.path, 50 * BS, pattern(BS, 2));
  assert.deepEqual(
    await unmap(
      t,
      unmapList(
        [
          [40n, 1],
          [50n, 1],
        ],
        16,
      ),
    ),
    { status: 0 },
  );
  assert.ok(fileAt(t.path, 50 * BS, BS).equals(pattern(BS, 2)), 'descriptor past the BLOCK DESCRIPTOR DATA LENGTH ignored');
});

test('UNMAP limits: 256 descriptors, 1 Mi blocks each (Block Limits VPD); one more is INVALID FIELD IN PARAMETER LIST', async () => {
  assert.equal(MAX_UNMAP_DESCRIPTORS, 256);
  assert.equal(MAX_UNMAP_LBA_COUNT, 0x100000);
  const many = (n: number): Array<[bigint, number]> => Array.from({ length: n }, (_, i) => [BigInt(i * 2), 1]);
  assert.deepEqual(await unmap(t, unmapList(many(256))), { status: 0 });
  assertCheck(await unmap(t, unmapList(many(257))), 5, INVALID_PARAM, { field: { cdb: false, byte: 2 } });
  assert.deepEqual(await unmap(big, unmapList([[0n, MAX_UNMAP_LBA_COUNT]])), { status: 0 });
  assertCheck(await unmap(big, unmapList([[0n, MAX_UNMAP_LBA_COUNT + 1]])), 5, INVALID_PARAM, { field: { cdb: false, byte: 16 } });
  assertCheck(
    await unmap(
      big,
      unmapList([
        [0n, 1],
        [8n, MAX_UNMAP_LBA_COUNT + 1],
      ]),
    ),
    5,
    INVALID_PARAM,
    { field: { cdb: false, byte: 32 } },
    'second descriptor',
  );
});

test('UNMAP out of range: LBA OUT OF RANGE, and no descriptor of the list is applied', async () => {
  putFile(t.path, 60 * BS, pattern(BS, 4));
  const cases: Array<[string, bigint, number]> = [
    ['at the capacity', BigInt(BLOCKS), 1],
    ['straddling the end', BigInt(BLOCKS - 1), 2],
    ['zero blocks past the capacity', BigInt(BLOCKS + 1), 0],
    ['LBA 2^53', 0x20000000000000n, 1],
    ['LBA 2^64-1', 0xffffffffffffffffn, 1],
  ];
  for (const [name, lba, n] of cases) {
    assertCheck(
      await unmap(
        t,
        unmapList([
          [60n, 1],
          [lba, n],
        ]),
      ),
      5,
      LBA_OUT_OF_RANGE,
      {},
      name,
    );
    assert.ok(fileAt(t.path, 60 * BS, BS).equals(pattern(BS, 4)), `${name}: the valid descriptor before it was not applied`);
  }
});

const ws10 = (lba: number, n: number, byte1 = 0): Buffer => cdbOf(10, 0x41, { 1: byte1, 2: [lba, 4], 7: [n, 2] });
const ws16 = (lba: bigint, n: number, byte1 = 0): Buffer => cdbOf(16, 0x93, { 1: byte1, 2: lba, 10: [n, 4] });

test('WRITE SAME flags: WRPROTECT (bit 7), ANCHOR (bit 4), PBDATA/LBDATA (bits 2-1) refused, in that order', () => {
  for (const c of [ws10, (l: number, n: number, f = 0) => ws16(BigInt(l), n, f)]) {
    for (const f of [0x20, 0x40, 0x80, 0xff]) assertBadField(doneResult(plan(c(0, 1, f), t.lu)), 1, 7, `flags 0x${f.toString(16)}`);
    assertBadField(doneResult(plan(c(0, 1, 0x10), t.lu)), 1, 4, 'ANCHOR');
    assertBadField(doneResult(plan(c(0, 1, 0x1e), t.lu)), 1, 4, 'ANCHOR before PBDATA');
    assertBadField(doneResult(plan(c(0, 1, 0x02), t.lu)), 1, 2, 'LBDATA');
    assertBadField(doneResult(plan(c(0, 1, 0x04), t.lu)), 1, 2, 'PBDATA');
    assertBadField(doneResult(plan(c(BLOCKS + 1, 1, 0x04), t.lu)), 1, 2, 'flags before the range');
  }
});

test('WRITE SAME 10/16: one block of data-out (exact), repeated over the range; range checked', async () => {
  for (const [name, c, lba] of [
    ['10', ws10(400, 5), 400],
    ['16', ws16(BigInt(BLOCKS - 5), 5), BLOCKS - 5],
  ] as const) {
    const p = execPlan(plan(c, t.lu));
    assert.equal(p.dataOutLength, BS, name);
    assert.equal(p.exactDataOut, true, name);
    // A pattern with zero bytes in it is still a pattern, not a deallocation.
    const block = Buffer.alloc(BS);
    block[17] = 0x5a;
    block[BS - 1] = 1;
    assert.deepEqual(await p.run([block.subarray(0, 100), block.subarray(100)]), { status: 0 });
    assert.ok(fileAt(t.path, lba * BS, 5 * BS).equals(Buffer.concat(Array.from({ length: 5 }, () => block))), `WRITE SAME(${name}) repeated the block`);
  }
  assert.ok(fileAt(t.path, 405 * BS, BS).equals(Buffer.alloc(BS)), 'nothing past the range');
  assertCheck(doneResult(plan(ws10(BLOCKS - 1, 2), t.lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(ws16(BigInt(BLOCKS), 1), t.lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(ws16(0xffffffffffffffffn, 0), t.lu)), 5, LBA_OUT_OF_RANGE);
  // Bit 0 of WRITE SAME(10) byte 1 is not NDOB: one block of data-out is still needed.
  assert.equal(execPlan(plan(ws10(0, 1, 0x01), t.lu)).dataOutLength, BS);
});

test('WRITE SAME NUMBER OF LOGICAL BLOCKS 0 (WSNZ=0) means to the end of the medium; at the capacity it does nothing', async () => {
  const p = execPlan(plan(ws10(BLOCKS - 3, 0), t.lu));
  assert.deepEqual(await p.run([pattern(BS, 8)]), { status: 0 });
  assert.ok(fileAt(t.path, (BLOCKS - 3) * BS, 3 * BS).equals(Buffer.concat([pattern(BS, 8), pattern(BS, 8), pattern(BS, 8)])));
  assert.deepEqual(doneResult(plan(ws16(BigInt(BLOCKS), 0), t.lu)), { status: 0 });
  assert.deepEqual(doneResult(plan(ws10(BLOCKS, 0), t.lu)), { status: 0 });
});

test('WRITE SAME limit: MAXIMUM WRITE SAME LENGTH blocks accepted, one more refused at the NUMBER OF BLOCKS field', () => {
  assert.equal(MAX_WRITE_SAME_BLOCKS, 0x200000);
  assert.equal(plan(ws16(0n, MAX_WRITE_SAME_BLOCKS), big.lu).kind, 'exec');
  assertBadField(doneResult(plan(ws16(0n, MAX_WRITE_SAME_BLOCKS + 1), big.lu)), 10);
  // "To the end" counts too: 0x400000 blocks from LBA 0 is over the limit, from the middle it is not.
  assertBadField(doneResult(plan(ws10(0, 0), big.lu)), 7);
  assertBadField(doneResult(plan(ws16(0n, 0), big.lu)), 10);
  assert.equal(plan(ws10(0x200000, 0), big.lu).kind, 'exec');
  assertBadField(doneResult(plan(ws10(0x1fffff, 0), big.lu)), 7);
});

test('WRITE SAME writes a pattern in 1 MiB chunks: every block lands, one cached write per chunk', async () => {
  for (const [lu, bs, n] of [
    [big, 512, 2050],
    [k4, 4096, 300],
  ] as const) {
    const block = pattern(bs, 33);
    const before = lu.file.writeStats.writes;
    lu.takeSyncs();
    const p = execPlan(plan(ws16(7n, n), lu.lu));
    assert.deepEqual(await p.run([block]), { status: 0 });
    const perChunk = (1 << 20) / bs;
    assert.equal(lu.file.writeStats.writes - before, Math.ceil(n / perChunk), `${bs}-byte blocks: writes`);
    assert.equal(lu.takeSyncs(), 0, 'WRITE SAME has no FUA: written through the write cache');
    const got = fileAt(lu.path, 7 * bs, n * bs);
    for (let i = 0; i < n; i++) assert.ok(got.subarray(i * bs, (i + 1) * bs).equals(block), `${bs}: block ${i}`);
    assert.ok(fileAt(lu.path, (7 + n) * bs, bs).equals(Buffer.alloc(bs)), `${bs}: nothing after the range`);
    assert.ok(fileAt(lu.path, 6 * bs, bs).equals(Buffer.alloc(bs)), `${bs}: nothing before the range`);
  }
});

test('WRITE SAME deallocates with UNMAP=1 whatever the pattern, with a zero pattern, and with NDOB (16 only): the file is punched', async () => {
  const n = 4096; // 2 MiB: punched with fallocate
  const blocksAllocated = (): number => statSync(big.path).blocks;
  const fill = (): void => putFile(big.path, 1024 * BS, pattern(n * BS, 5));
  const cases: Array<[string, Buffer, Buffer[]]> = [
    ['16 UNMAP, non-zero pattern', ws16(1024n, n, 0x08), [pattern(BS, 1)]],
    ['10 UNMAP', ws10(1024, n, 0x08), [pattern(BS, 1)]],
    ['16 zero pattern', ws16(1024n, n), [Buffer.alloc(BS)]],
    ['16 NDOB', ws16(1024n, n, 0x01), []],
    ['16 NDOB + UNMAP', ws16(1024n, n, 0x09), []],
  ];
  for (const [name, c, d] of cases) {
    fill();
    const allocated = blocksAllocated();
    const p = execPlan(plan(c, big.lu));
    assert.equal(p.dataOutLength, d.length === 0 ? 0 : BS, `${name}: data-out`);
    assert.equal(p.exactDataOut, d.length === 0 ? undefined : true, `${name}: exact data-out`);
    assert.deepEqual(await p.run(d), { status: 0 }, name);
    assert.ok(fileAt(big.path, 1024 * BS, n * BS).equals(Buffer.alloc(n * BS)), `${name}: reads zeros`);
    assert.ok(blocksAllocated() <= allocated - (n * BS) / 512, `${name}: ${allocated} → ${blocksAllocated()} sectors: punched, not written`);
  }
});

test('GET LBA STATUS: one descriptor from the LBA to the end (mapped or unknown); range, ALLOCATION LENGTH 0 and cut', () => {
  const gls = (lba: bigint, alloc: number): Buffer => cdbOf(16, 0x9e, { 1: 0x12, 2: lba, 10: [alloc, 4] });
  const want = (lba: bigint, count: number): Buffer => {
    const b = Buffer.alloc(24);
    b.writeUInt32BE(20, 0);
    b.writeBigUInt64BE(lba, 8);
    b.writeUInt32BE(count, 16);
    return b;
  };
  assert.deepEqual(doneResult(plan(gls(0n, 24), t.lu)), { status: 0, data: want(0n, BLOCKS) });
  assert.deepEqual(doneResult(plan(gls(100n, 0x1000), t.lu)), { status: 0, data: want(100n, BLOCKS - 100) });
  assert.deepEqual(doneResult(plan(gls(BigInt(BLOCKS - 1), 24), t.lu)), { status: 0, data: want(BigInt(BLOCKS - 1), 1) });
  assertCheck(doneResult(plan(gls(BigInt(BLOCKS), 24), t.lu)), 5, LBA_OUT_OF_RANGE);
  assertCheck(doneResult(plan(gls(0xffffffffffffffffn, 24), t.lu)), 5, LBA_OUT_OF_RANGE);
  assert.deepEqual(doneResult(plan(gls(BigInt(BLOCKS), 0), t.lu)).status, 2, 'range before ALLOCATION LENGTH 0');
  assert.deepEqual(doneResult(plan(gls(0n, 0), t.lu)), { status: 0 });
  assert.deepEqual(doneResult(plan(gls(5n, 8), t.lu)), { status: 0, data: want(5n, BLOCKS - 5).subarray(0, 8) });
  // The 32-bit NUMBER OF LOGICAL BLOCKS saturates on a LU above 2^32 blocks.
  assert.deepEqual(doneResult(plan(gls(0n, 24), huge.lu)), { status: 0, data: want(0n, 0xffffffff) });
  assert.deepEqual(doneResult(plan(gls(3n, 24), huge.lu)), { status: 0, data: want(3n, 0xfffffffe) });
});
