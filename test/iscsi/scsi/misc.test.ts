// Small commands (src/iscsi/scsi/misc.ts) and sense data (src/iscsi/scsi/sense.ts): TEST UNIT
// READY, REQUEST SENSE (SPC-4), REPORT LUNS (SPC-4 §6.33), START STOP UNIT and PREVENT
// ALLOW MEDIUM REMOVAL (SBC-3), and fixed / descriptor format sense data (SPC-4 §4.5) byte for byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSense } from '../../../src/iscsi/scsi/sense.js';
import { assertBadField, assertCheck, cdbOf, doneResult, plan, openLu, type TestLu } from '../helpers/scsi-lu.js';

let t: TestLu;
before(async () => {
  t = await openLu();
});
after(async () => {
  await t?.close();
});

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('fixed-format sense data (70h/F0h, SPC-4 §4.5.3): key, ASC/ASCQ, INFORMATION with VALID, field pointer', () => {
  assert.deepEqual(buildSense({ key: 0, asc: 0 }, false), hex('70 00 00 00000000 0a 00000000 00 00 00 00 0000'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x2100 }, false), hex('70 00 05 00000000 0a 00000000 21 00 00 00 0000'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x5302 }, false), hex('70 00 05 00000000 0a 00000000 53 02 00 00 0000'));
  // INFORMATION: VALID (byte 0 bit 7) and bytes 3-6; a 0 offset is still valid.
  assert.deepEqual(buildSense({ key: 0x0e, asc: 0x1d00, info: 1000 }, false), hex('f0 00 0e 000003e8 0a 00000000 1d 00 00 00 0000'));
  assert.deepEqual(buildSense({ key: 0x0e, asc: 0x1d00, info: 0 }, false), hex('f0 00 0e 00000000 0a 00000000 1d 00 00 00 0000'));
  // Sense-key specific: SKSV, C/D, BPV + BIT POINTER, FIELD POINTER.
  assert.deepEqual(buildSense({ key: 5, asc: 0x2400, field: { cdb: true, byte: 2, bit: 5 } }, false), hex('70 00 05 00000000 0a 00000000 24 00 00 cd 0002'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x2400, field: { cdb: true, byte: 1, bit: 0 } }, false), hex('70 00 05 00000000 0a 00000000 24 00 00 c8 0001'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x2400, field: { cdb: true, byte: 10 } }, false), hex('70 00 05 00000000 0a 00000000 24 00 00 c0 000a'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x2600, field: { cdb: false, byte: 0x123 } }, false), hex('70 00 05 00000000 0a 00000000 26 00 00 80 0123'));
});

test('descriptor-format sense data (72h, SPC-4 §4.5.2): information and sense-key specific descriptors, ADDITIONAL SENSE LENGTH', () => {
  assert.deepEqual(buildSense({ key: 0, asc: 0 }, true), hex('72 00 00 00 000000 00'));
  assert.deepEqual(buildSense({ key: 6, asc: 0x2900 }, true), hex('72 06 29 00 000000 00'));
  assert.deepEqual(buildSense({ key: 0x0e, asc: 0x1d00, info: 0x12345 }, true), hex('72 0e 1d 00 000000 0c  00 0a 80 00 0000000000012345'));
  assert.deepEqual(buildSense({ key: 0x0e, asc: 0x1d00, info: 0 }, true), hex('72 0e 1d 00 000000 0c  00 0a 80 00 0000000000000000'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x2400, field: { cdb: true, byte: 2, bit: 7 } }, true), hex('72 05 24 00 000000 08  02 06 00 00 cf 0002 00'));
  assert.deepEqual(buildSense({ key: 5, asc: 0x2600, field: { cdb: false, byte: 0x204 } }, true), hex('72 05 26 00 000000 08  02 06 00 00 80 0204 00'));
  assert.deepEqual(
    buildSense({ key: 5, asc: 0x2401, info: 7, field: { cdb: true, byte: 4 } }, true),
    hex('72 05 24 01 000000 14  00 0a 80 00 0000000000000007  02 06 00 00 c0 0004 00'),
  );
});

test('TEST UNIT READY: GOOD, always (the medium is fixed and ready)', () => {
  assert.deepEqual(doneResult(plan([0, 0, 0, 0, 0, 0], t.lu)), { status: 0 });
});

test('REQUEST SENSE (SPC-4): NO SENSE on a LU, LOGICAL UNIT NOT SUPPORTED without one; DESC selects the format; ALLOCATION LENGTH cuts', () => {
  const rs = (desc: number, alloc: number): Buffer => Buffer.from([0x03, desc, 0, 0, alloc, 0]);
  assert.deepEqual(doneResult(plan(rs(0, 252), t.lu)), { status: 0, data: buildSense({ key: 0, asc: 0 }, false) });
  assert.deepEqual(doneResult(plan(rs(1, 252), t.lu)), { status: 0, data: hex('72 00 00 00 000000 00') });
  assert.deepEqual(doneResult(plan(rs(0, 252), undefined)), { status: 0, data: hex('70 00 05 00000000 0a 00000000 25 00 00 00 0000') });
  assert.deepEqual(doneResult(plan(rs(1, 252), undefined)), { status: 0, data: hex('72 05 25 00 000000 00') });
  assert.deepEqual(doneResult(plan(rs(0, 8), undefined)), { status: 0, data: hex('70 00 05 00000000 0a') });
  assert.deepEqual(doneResult(plan(rs(0, 0), t.lu)), { status: 0, data: Buffer.alloc(0) });
});

test('REPORT LUNS (SPC-4 §6.33): sorted LUN list in SAM format, SELECT REPORT values, ALLOCATION LENGTH at least 16', () => {
  const rl = (select: number, alloc: number): Buffer => cdbOf(12, 0xa0, { 2: select, 6: [alloc, 4] });
  const luns = [300, 3, 0, 1];
  const list = hex('00000020 00000000  0000000000000000 0001000000000000 0003000000000000 412c000000000000');
  for (const s of [0x00, 0x02, 0x10]) assert.deepEqual(doneResult(plan(rl(s, 256), t.lu, luns)), { status: 0, data: list }, `select ${s}`);
  const empty = hex('00000000 00000000');
  for (const s of [0x01, 0x11, 0x12]) assert.deepEqual(doneResult(plan(rl(s, 256), t.lu, luns)), { status: 0, data: empty }, `select ${s}: no such LUs`);
  for (const s of [0x03, 0x0f, 0x13, 0x40, 0xff]) assertBadField(doneResult(plan(rl(s, 256), t.lu, luns)), 2, undefined, `select 0x${s.toString(16)}`);
  assertBadField(doneResult(plan(rl(0, 15), t.lu, luns)), 6, undefined, 'ALLOCATION LENGTH 15');
  assertBadField(doneResult(plan(rl(0, 0), t.lu, luns)), 6, undefined, 'ALLOCATION LENGTH 0');
  assert.deepEqual(doneResult(plan(rl(0, 16), t.lu, luns)), { status: 0, data: list.subarray(0, 16) });
  // Without a logical unit at the addressed LUN (SPC-4: REPORT LUNS works on any LUN).
  assert.deepEqual(doneResult(plan(rl(0, 256), undefined, [0])), { status: 0, data: hex('00000008 00000000 0000000000000000') });
  assert.deepEqual(luns, [300, 3, 0, 1], 'the target list is not reordered in place');
});

test('START STOP UNIT: accepted power conditions; LOEJ refused only while removal is prevented', () => {
  const ssu = (byte4: number): Buffer => Buffer.from([0x1b, 0, 0, 0, byte4, 0]);
  const { lu } = t;
  for (const pc of [0x0, 0x1, 0x2, 0x3, 0x7, 0xa, 0xb]) assert.deepEqual(doneResult(plan(ssu((pc << 4) | 0x01), lu)), { status: 0 }, `POWER CONDITION ${pc}`);
  for (const pc of [0x4, 0x5, 0x6, 0x8, 0x9, 0xc, 0xd, 0xe, 0xf]) assertBadField(doneResult(plan(ssu(pc << 4), lu)), 4, 7, `POWER CONDITION ${pc}`);
  assert.deepEqual(doneResult(plan(ssu(0x02), lu)), { status: 0 }, 'LOEJ, nothing prevented');
  lu.prevent = 1;
  try {
    assertCheck(doneResult(plan(ssu(0x02), lu)), 5, 0x5302, {}, 'LOEJ while prevented: MEDIUM REMOVAL PREVENTED');
    assertCheck(doneResult(plan(ssu(0x03), lu)), 5, 0x5302, {}, 'LOEJ + START while prevented');
    assert.deepEqual(doneResult(plan(ssu(0x01), lu)), { status: 0 }, 'START without LOEJ');
    assert.deepEqual(doneResult(plan(ssu(0x12), lu)), { status: 0 }, 'LOEJ is ignored with a power condition');
    lu.prevent = 2;
    assertCheck(doneResult(plan(ssu(0x02), lu)), 5, 0x5302);
  } finally {
    lu.prevent = 0;
  }
});

test('PREVENT ALLOW MEDIUM REMOVAL records PREVENT (byte 4 bits 1-0); a LU reset clears it', () => {
  const { lu } = t;
  for (const [byte4, want] of [
    [0x01, 1],
    [0x02, 2],
    [0x03, 3],
    [0xfd, 1],
    [0x00, 0],
  ] as const) {
    assert.deepEqual(doneResult(plan([0x1e, 0, 0, 0, byte4, 0], lu)), { status: 0 });
    assert.equal(lu.prevent, want, `byte 4 = 0x${byte4.toString(16)}`);
  }
  plan([0x1e, 0, 0, 0, 3, 0], lu);
  lu.reset();
  assert.equal(lu.prevent, 0);
});
