// INQUIRY (SPC-4 §6.6), its VPD pages (SPC-4 §7.8, SBC-3 §6.6) and READ CAPACITY 10/16
// (src/iscsi/scsi/inquiry.ts), byte for byte, on real sparse-file LUs of 512- and 4096-byte
// blocks and of 2^32 - 1 and 2^32 + 1 blocks (the edge of READ CAPACITY(10)).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogicalUnit, luIdentity } from '../../../src/iscsi/scsi/logical-unit.js';
import { assertBadField, assertGood, cdbOf, doneResult, openLu, plan, TEST_IQN, type TestLu } from '../helpers/scsi-lu.js';

let lu512: TestLu;
let lu4k: TestLu;
let max10: TestLu; // 2^32 - 1 blocks: the last LBA 0xFFFFFFFE still fits READ CAPACITY(10)
let over10: TestLu; // 2^32 + 1 blocks: the last LBA does not

before(async () => {
  lu512 = await openLu({ lun: 3 });
  lu4k = await openLu({ blockSize: 4096, sizeBytes: 64 << 20 });
  max10 = await openLu({ sizeBytes: 0xffffffff * 512 });
  over10 = await openLu({ sizeBytes: 0x100000001 * 512 });
});
after(async () => {
  for (const l of [lu512, lu4k, max10, over10]) await l?.close();
});

const inq = (byte1: number, page: number, alloc: number): Buffer => cdbOf(6, 0x12, { 1: byte1, 2: page, 3: [alloc, 2] });
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string, len: number): Buffer => Buffer.from(s.padEnd(len, ' '), 'latin1');

function standardData(qualifierType: number): Buffer {
  const b = Buffer.alloc(74);
  hex(`${qualifierType.toString(16).padStart(2, '0')} 00 06 12 45 00 00 02`).copy(b, 0);
  text('NETROOT', 8).copy(b, 8);
  text('netroot disk', 16).copy(b, 16);
  text('0001', 4).copy(b, 32);
  hex('00a0 0960 0460 04c0').copy(b, 58); // SAM-5, iSCSI, SPC-4, SBC-3
  return b;
}

test('standard INQUIRY data (SPC-4 §6.6.2), byte for byte; without a LU: qualifier 011b, type 1Fh', () => {
  assert.deepEqual(doneResult(plan(inq(0, 0, 255), lu512.lu)), { status: 0, data: standardData(0x00) });
  assert.deepEqual(doneResult(plan(inq(0, 0, 255), undefined)), { status: 0, data: standardData(0x7f) });
});

test('INQUIRY ALLOCATION LENGTH (bytes 3-4) cuts the data, never an error', () => {
  const full = standardData(0);
  for (const alloc of [0, 1, 5, 73, 74, 75, 0x100, 0xffff]) {
    const r = doneResult(plan(inq(0, 0, alloc), lu512.lu));
    assertGood(r, `alloc ${alloc}`);
    assert.ok(r.data?.equals(full.subarray(0, Math.min(alloc, 74))), `alloc ${alloc}`);
  }
  const page = doneResult(plan(inq(1, 0x00, 6), lu512.lu));
  assert.ok(page.data?.equals(hex('00 00 00 06 00 80')), 'VPD page cut too');
});

test('INQUIRY field checks: CMDDT, PAGE CODE without EVPD, VPD without a LU, unknown pages (INVALID FIELD IN CDB)', () => {
  const lu = lu512.lu;
  assertBadField(doneResult(plan(inq(0x02, 0, 255), lu)), 1, 1, 'CMDDT');
  assertBadField(doneResult(plan(inq(0x03, 0x80, 255), lu)), 1, 1, 'CMDDT with EVPD');
  assertBadField(doneResult(plan(inq(0x00, 0x80, 255), lu)), 2, undefined, 'PAGE CODE with EVPD=0');
  assertBadField(doneResult(plan(inq(0x00, 0x01, 255), lu)), 2, undefined, 'PAGE CODE 1 with EVPD=0');
  assertBadField(doneResult(plan(inq(0x01, 0x00, 255), undefined)), 1, 0, 'VPD of a LUN without a LU');
  for (const p of [0x01, 0x7f, 0x81, 0x82, 0x86, 0xaf, 0xb3, 0xff])
    assertBadField(doneResult(plan(inq(0x01, p, 255), lu)), 2, undefined, `page 0x${p.toString(16)}`);
});

test('VPD 00h supported pages and 80h unit serial number (SPC-4 §7.8)', () => {
  const { lu } = lu512;
  assert.deepEqual(doneResult(plan(inq(1, 0x00, 255), lu)), { status: 0, data: hex('00 00 00 06  00 80 83 b0 b1 b2') });
  const serial = lu.identity.serial;
  assert.match(serial, /^[0-9a-f]{16}$/);
  assert.deepEqual(doneResult(plan(inq(1, 0x80, 255), lu)), { status: 0, data: Buffer.concat([hex('00 80 00 10'), Buffer.from(serial, 'ascii')]) });
});

test('VPD 83h device identification: NAA, T10 vendor ID, SCSI name string, relative port, port group', () => {
  const { lu } = lu512;
  const { naa, serial } = lu.identity;
  const iqn = Buffer.from(`${TEST_IQN}\0`, 'utf8');
  const iqnPadded = Buffer.alloc((iqn.length + 3) & ~3);
  iqn.copy(iqnPadded);
  assert.equal(iqnPadded.length % 4, 0);
  const body = Buffer.concat([
    hex('51 03 00 08'),
    naa,
    hex('52 01 00 18'),
    text('NETROOT', 8),
    Buffer.from(serial, 'ascii'),
    hex(`53 a8 00 ${iqnPadded.length.toString(16).padStart(2, '0')}`),
    iqnPadded,
    hex('51 94 00 04  00 00 00 01'),
    hex('51 95 00 04  00 00 00 01'),
  ]);
  const head = Buffer.alloc(4);
  head[1] = 0x83;
  head.writeUInt16BE(body.length, 2);
  assert.deepEqual(doneResult(plan(inq(1, 0x83, 0xffff), lu)), { status: 0, data: Buffer.concat([head, body]) });
});

test('VPD 83h: the SCSI name string is NUL-terminated and padded to a multiple of 4 for every IQN length', () => {
  // TEST_IQN plus 0..3 characters: each padding remainder once.
  for (let extra = 0; extra < 4; extra++) {
    const iqn = `${TEST_IQN}${'x'.repeat(extra)}`;
    const lu = new LogicalUnit(0, lu512.file, luIdentity(iqn, 0, lu512.path));
    const d = doneResult(plan(inq(1, 0x83, 0xffff), lu)).data!;
    // Third designator: after the NAA (4 + 8) and T10 (4 + 24) designators and the 4-byte page header.
    const at = 4 + 12 + 28;
    const len = d[at + 3]!;
    const want = Math.ceil((iqn.length + 1) / 4) * 4;
    assert.equal(len, want, `IQN of ${iqn.length} bytes`);
    assert.equal(d.toString('utf8', at + 4, at + 4 + iqn.length), iqn);
    assert.ok(
      d.subarray(at + 4 + iqn.length, at + 4 + len).every((x) => x === 0),
      'NUL and zero padding',
    );
  }
});

test('VPD B0h block limits (SBC-3 §6.6): transfer, unmap and WRITE SAME limits for 512- and 4096-byte blocks', () => {
  const want = (bs: number): Buffer =>
    Buffer.concat([
      hex('00 b0 00 3c'),
      hex('00 ff 00 01'), // WSNZ 0, MAXIMUM COMPARE AND WRITE LENGTH 255, OPTIMAL TRANSFER LENGTH GRANULARITY 1
      hex(((32 << 20) / bs).toString(16).padStart(8, '0')), // MAXIMUM TRANSFER LENGTH (32 MiB)
      hex(((1 << 20) / bs).toString(16).padStart(8, '0')), // OPTIMAL TRANSFER LENGTH (1 MiB)
      hex('00000000'), // MAXIMUM PREFETCH LENGTH
      hex('00100000'), // MAXIMUM UNMAP LBA COUNT
      hex('00000100'), // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
      hex('00000001'), // OPTIMAL UNMAP GRANULARITY
      hex('80000000'), // UGAVALID, UNMAP GRANULARITY ALIGNMENT 0
      hex('0000000000200000'), // MAXIMUM WRITE SAME LENGTH
      Buffer.alloc(20),
    ]);
  assert.deepEqual(doneResult(plan(inq(1, 0xb0, 255), lu512.lu)), { status: 0, data: want(512) });
  assert.deepEqual(doneResult(plan(inq(1, 0xb0, 255), lu4k.lu)), { status: 0, data: want(4096) });
});

test('VPD B1h block device characteristics (non-rotating) and B2h logical block provisioning (thin, LBPU/LBPWS/LBPWS10, LBPRZ)', () => {
  const b1 = Buffer.concat([hex('00 b1 00 3c  00 01'), Buffer.alloc(0x3a)]);
  assert.deepEqual(doneResult(plan(inq(1, 0xb1, 255), lu512.lu)), { status: 0, data: b1 });
  assert.deepEqual(doneResult(plan(inq(1, 0xb2, 255), lu512.lu)), { status: 0, data: hex('00 b2 00 04  00 e4 02 00') });
});

test('READ CAPACITY(10) (SBC-3 §5.16): last LBA and block length; PMI=0 needs LBA 0; 0xFFFFFFFF when the last LBA does not fit', () => {
  const rc10 = (lba: number, pmi: number): Buffer => cdbOf(10, 0x25, { 2: [lba, 4], 8: pmi });
  assert.deepEqual(doneResult(plan(rc10(0, 0), lu512.lu)), { status: 0, data: hex('00003fff 00000200') });
  assert.deepEqual(doneResult(plan(rc10(0, 0), lu4k.lu)), { status: 0, data: hex('00003fff 00001000') });
  assertBadField(doneResult(plan(rc10(1, 0), lu512.lu)), 2, undefined, 'PMI=0 with LBA 1');
  assertBadField(doneResult(plan(rc10(0x80000000, 0), lu512.lu)), 2, undefined, 'PMI=0 with LBA 2^31');
  assert.deepEqual(doneResult(plan(rc10(1234, 1), lu512.lu)), { status: 0, data: hex('00003fff 00000200') }, 'PMI=1: any LBA');
  assert.deepEqual(doneResult(plan(rc10(0, 0), max10.lu)), { status: 0, data: hex('fffffffe 00000200') }, '2^32 - 1 blocks');
  assert.deepEqual(doneResult(plan(rc10(0, 0), over10.lu)), { status: 0, data: hex('ffffffff 00000200') }, '2^32 + 1 blocks');
});

test('READ CAPACITY(16) (SBC-3 §5.17): 64-bit last LBA, block length, LBPME/LBPRZ; ALLOCATION LENGTH bytes 10-13', () => {
  const rc16 = (alloc: number): Buffer => cdbOf(16, 0x9e, { 1: 0x10, 10: [alloc, 4] });
  const full = (last: string, bs: string): Buffer => Buffer.concat([hex(last), hex(bs), hex('00 00 c0 00'), Buffer.alloc(16)]);
  assert.deepEqual(doneResult(plan(rc16(32), lu512.lu)), { status: 0, data: full('0000000000003fff', '00000200') });
  assert.deepEqual(doneResult(plan(rc16(32), lu4k.lu)), { status: 0, data: full('0000000000003fff', '00001000') });
  assert.deepEqual(doneResult(plan(rc16(32), over10.lu)), { status: 0, data: full('0000000100000000', '00000200') });
  assert.deepEqual(doneResult(plan(rc16(12), lu512.lu)), { status: 0, data: hex('0000000000003fff 00000200') });
  assert.deepEqual(doneResult(plan(rc16(0x10000), lu512.lu)).data?.length, 32);
  assert.deepEqual(doneResult(plan(rc16(0), lu512.lu)), { status: 0, data: Buffer.alloc(0) });
});
