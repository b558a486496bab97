// MODE SENSE 6/10 and MODE SELECT 6/10 (SPC-4 §6.11-6.14; src/iscsi/scsi/mode.ts) on real
// sparse-file LUs: headers, short and long LBA block descriptors, every page for every page
// control value, the field checks, and MODE SELECT's parameter-list parsing, changeable-bit
// mask and all-or-nothing application (caching WCE, control D_SENSE).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBadField, assertCheck, cdbOf, doneResult, execPlan, openLu, plan, type TestLu } from '../helpers/scsi-lu.js';

let t: TestLu; // 8 MiB, 512-byte blocks: 0x4000 blocks
let huge: TestLu; // 2^32 + 1 blocks: the short block descriptor saturates

before(async () => {
  t = await openLu();
  huge = await openLu({ sizeBytes: 0x100000001 * 512 });
});
after(async () => {
  await t?.close();
  await huge?.close();
});

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const sense6 = (byte1: number, pcCode: number, subpage: number, alloc: number): Buffer => Buffer.from([0x1a, byte1, pcCode, subpage, alloc, 0]);
const sense10 = (byte1: number, pcCode: number, subpage: number, alloc: number): Buffer => cdbOf(10, 0x5a, { 1: byte1, 2: pcCode, 3: subpage, 7: [alloc, 2] });
const select6 = (byte1: number, len: number): Buffer => Buffer.from([0x15, byte1, 0, 0, len, 0]);
const select10 = (byte1: number, len: number): Buffer => cdbOf(10, 0x55, { 1: byte1, 7: [len, 2] });

// The pages as SPC-4 / SBC-3 lay them out (code, length, then the fields we report).
const errRecovery = hex('01 0a 00 00 00 00 00 00 00 00 00 00');
const caching = (wce: boolean): Buffer => Buffer.concat([hex(`08 12 ${wce ? '04' : '00'}`), Buffer.alloc(17)]);
const control = (dsense: boolean): Buffer => hex(`0a 0a ${dsense ? '04' : '00'} 10 00 40 00 00 ff ff 00 00`); // QAM 1, TAS, busy timeout unlimited
const controlChangeable = hex('0a 0a 04 00 00 00 00 00 00 00 00 00');
const infoExceptions = hex('1c 0a 00 00 00 00 00 00 00 00 00 00');
const shortDesc = hex('00004000 00 000200'); // NUMBER OF BLOCKS, reserved, BLOCK LENGTH

test('MODE SENSE(6): header, short block descriptor and each page (current values)', () => {
  const { lu } = t;
  const cases: Array<[number, Buffer]> = [
    [0x01, errRecovery],
    [0x08, caching(true)],
    [0x0a, control(false)],
    [0x1c, infoExceptions],
  ];
  for (const [code, page] of cases) {
    const body = Buffer.concat([shortDesc, page]);
    const want = Buffer.concat([Buffer.from([3 + body.length, 0, 0x10, 8]), body]); // DPOFUA, BLOCK DESCRIPTOR LENGTH 8
    assert.deepEqual(doneResult(plan(sense6(0, code, 0, 255), lu)), { status: 0, data: want }, `page 0x${code.toString(16)}`);
  }
  // All pages (3Fh), in page-code order; subpage FFh asks for all subpages too (we have none).
  const all = Buffer.concat([shortDesc, errRecovery, caching(true), control(false), infoExceptions]);
  const wantAll = Buffer.concat([Buffer.from([3 + all.length, 0, 0x10, 8]), all]);
  assert.deepEqual(doneResult(plan(sense6(0, 0x3f, 0, 255), lu)), { status: 0, data: wantAll });
  assert.deepEqual(doneResult(plan(sense6(0, 0x3f, 0xff, 255), lu)), { status: 0, data: wantAll });
  // DBD: no block descriptor. LLBAA (byte 1 bit 4) does not exist in MODE SENSE(6).
  assert.deepEqual(doneResult(plan(sense6(0x08, 0x01, 0, 255), lu)), { status: 0, data: Buffer.concat([hex('0f 00 10 00'), errRecovery]) });
  assert.deepEqual(doneResult(plan(sense6(0x10, 0x01, 0, 255), lu)), { status: 0, data: Buffer.concat([hex('17 00 10 08'), shortDesc, errRecovery]) });
  // ALLOCATION LENGTH (byte 4) cuts.
  assert.deepEqual(doneResult(plan(sense6(0, 0x3f, 0, 6), lu)), { status: 0, data: wantAll.subarray(0, 6) });
});

test('MODE SENSE(10): header, short and long LBA block descriptors, ALLOCATION LENGTH bytes 7-8', () => {
  const { lu } = t;
  const body = Buffer.concat([shortDesc, caching(true)]);
  assert.deepEqual(doneResult(plan(sense10(0, 0x08, 0, 0x1000), lu)), {
    status: 0,
    data: Buffer.concat([hex(`00 ${(6 + body.length).toString(16)} 00 10 00 00 00 08`), body]),
  });
  // LLBAA: a 16-byte descriptor (64-bit NUMBER OF BLOCKS), LONGLBA set in the header.
  const longDesc = hex('0000000000004000 00000000 00000200');
  const lbody = Buffer.concat([longDesc, caching(true)]);
  assert.deepEqual(doneResult(plan(sense10(0x10, 0x08, 0, 0x1000), lu)), {
    status: 0,
    data: Buffer.concat([hex(`00 ${(6 + lbody.length).toString(16)} 00 10 01 00 00 10`), lbody]),
  });
  // DBD (with or without LLBAA): no descriptor, LONGLBA clear.
  const bare = Buffer.concat([hex(`00 ${(6 + 20).toString(16)} 00 10 00 00 00 00`), caching(true)]);
  assert.deepEqual(doneResult(plan(sense10(0x08, 0x08, 0, 0x1000), lu)), { status: 0, data: bare });
  assert.deepEqual(doneResult(plan(sense10(0x18, 0x08, 0, 0x1000), lu)), { status: 0, data: bare });
  assert.deepEqual(doneResult(plan(sense10(0x08, 0x08, 0, 9), lu)), { status: 0, data: bare.subarray(0, 9) });
  assert.equal(doneResult(plan(sense10(0x08, 0x3f, 0, 0x1000), lu)).data?.readUInt16BE(0), 6 + 12 + 20 + 12 + 12);
});

test('MODE SENSE block descriptors of a LU above 2^32 blocks: short saturates at FFFFFFFFh, long holds the count', () => {
  const { lu } = huge;
  const short = doneResult(plan(sense6(0, 0x01, 0, 255), lu)).data!;
  assert.ok(short.subarray(4, 12).equals(hex('ffffffff 00 000200')));
  const long = doneResult(plan(sense10(0x10, 0x01, 0, 255), lu)).data!;
  assert.ok(long.subarray(8, 24).equals(hex('0000000100000001 00000000 00000200')));
});

test('MODE SENSE page control: changeable (01b) shows WCE and D_SENSE, default (10b) WCE=1 and D_SENSE=0, saved (11b) not supported', () => {
  const { lu } = t;
  const page = (pc: number, code: number): Buffer => doneResult(plan(sense6(0x08, (pc << 6) | code, 0, 255), lu)).data!.subarray(4);
  assert.ok(page(1, 0x08).equals(caching(true)), 'caching changeable: WCE');
  assert.ok(page(2, 0x08).equals(caching(true)), 'caching default: WCE=1');
  assert.ok(page(1, 0x0a).equals(controlChangeable), 'control changeable: D_SENSE only');
  assert.ok(page(2, 0x0a).equals(control(false)), 'control default');
  assert.ok(page(1, 0x01).equals(errRecovery));
  lu.writeCache = false;
  lu.descriptorSense = true;
  try {
    assert.ok(page(0, 0x08).equals(caching(false)), 'current WCE=0');
    assert.ok(page(1, 0x08).equals(caching(true)), 'changeable unchanged');
    assert.ok(page(2, 0x08).equals(caching(true)), 'default unchanged');
    assert.ok(page(0, 0x0a).equals(control(true)), 'current D_SENSE=1');
    assert.ok(page(1, 0x0a).equals(controlChangeable));
    assert.ok(page(2, 0x0a).equals(control(false)), 'default D_SENSE=0');
  } finally {
    lu.writeCache = true;
    lu.descriptorSense = false;
  }
  for (const c of [sense6(0, 0xc8, 0, 255), sense10(0, 0xc8, 0, 255), sense6(0, 0xff, 0xff, 255)])
    assertCheck(doneResult(plan(c, lu)), 5, 0x3900, { field: { cdb: true, byte: 2, bit: 7 } }, 'saved values');
});

test('MODE SENSE field checks: unknown page (byte 2 bit 5), subpages other than 3Fh/FFh (byte 3)', () => {
  const { lu } = t;
  for (const code of [0x00, 0x02, 0x09, 0x19, 0x3e]) {
    assertBadField(doneResult(plan(sense6(0, code, 0, 255), lu)), 2, 5, `page 0x${code.toString(16)}`);
    assertBadField(doneResult(plan(sense10(0, code, 0, 255), lu)), 2, 5, `page 0x${code.toString(16)}`);
  }
  assertBadField(doneResult(plan(sense6(0, 0x08, 0x01, 255), lu)), 3, undefined, 'subpage 1');
  assertBadField(doneResult(plan(sense6(0, 0x08, 0xff, 255), lu)), 3, undefined, 'subpage FFh of one page');
  assertBadField(doneResult(plan(sense6(0, 0x3f, 0x01, 255), lu)), 3, undefined, 'subpage 1 of all pages');
  assertBadField(doneResult(plan(sense10(0, 0x3f, 0xfe, 255), lu)), 3, undefined, 'subpage FEh of all pages');
});

test('MODE SELECT CDB checks: SP (saving) refused, length 0 is GOOD, PF required, a list shorter than the header', () => {
  const { lu } = t;
  assertCheck(doneResult(plan(select6(0x11, 0), lu)), 5, 0x3900, { field: { cdb: true, byte: 1, bit: 0 } }, 'SP, even with no list');
  assertCheck(doneResult(plan(select10(0x11, 24), lu)), 5, 0x3900, { field: { cdb: true, byte: 1, bit: 0 } });
  assert.deepEqual(doneResult(plan(select6(0x00, 0), lu)), { status: 0 }, 'empty list without PF');
  assert.deepEqual(doneResult(plan(select10(0x10, 0), lu)), { status: 0 });
  assertBadField(doneResult(plan(select6(0x00, 4), lu)), 1, 4, 'PF=0');
  assertBadField(doneResult(plan(select10(0x00, 8), lu)), 1, 4, 'PF=0');
  assertCheck(doneResult(plan(select6(0x10, 3), lu)), 5, 0x1a00, {}, '6: list of 3 < header 4');
  assertCheck(doneResult(plan(select10(0x10, 7), lu)), 5, 0x1a00, {}, '10: list of 7 < header 8');
  assert.equal(execPlan(plan(select6(0x10, 4), lu)).dataOutLength, 4);
  assert.equal(execPlan(plan(select10(0x10, 8), lu)).dataOutLength, 8);
  assert.equal(execPlan(plan(select10(0x10, 0x1234), lu)).dataOutLength, 0x1234, 'PARAMETER LIST LENGTH bytes 7-8');
  assert.equal(execPlan(plan(select6(0x10, 200), lu)).dataOutLength, 200, 'PARAMETER LIST LENGTH byte 4');
});

/** Run MODE SELECT(6 or 10) with this parameter list (in two segments when long enough). */
async function select(ten: boolean, list: Buffer, lu = t.lu) {
  const p = execPlan(plan(ten ? select10(0x10, list.length) : select6(0x10, list.length), lu));
  assert.equal(p.dataOutLength, list.length);
  return p.run(list.length > 3 ? [list.subarray(0, 3), list.subarray(3)] : [list]);
}
const hdr6 = (bdl: number): Buffer => Buffer.from([0, 0, 0, bdl]);
const hdr10 = (bdl: number, longLba = false): Buffer => hex(`0000 00 00 ${longLba ? '01' : '00'} 00 ${bdl.toString(16).padStart(4, '0')}`);

test('MODE SELECT: caching WCE and control D_SENSE change, applied together; WCE=0 flushes; MODE SENSE reports them', async () => {
  const { lu } = t;
  t.takeSyncs();
  assert.deepEqual(await select(false, Buffer.concat([hdr6(0), caching(false), control(true)])), { status: 0 });
  assert.equal(lu.writeCache, false, 'WCE cleared');
  assert.equal(lu.descriptorSense, true, 'D_SENSE set');
  assert.equal(t.takeSyncs(), 1, 'turning the write cache off syncs');
  assert.ok(
    doneResult(plan(sense6(0x08, 0x08, 0, 255), lu))
      .data!.subarray(4)
      .equals(caching(false)),
  );
  assert.deepEqual(await select(true, Buffer.concat([hdr10(0), control(false), caching(true)])), { status: 0 });
  assert.equal(lu.writeCache, true);
  assert.equal(lu.descriptorSense, false);
  assert.equal(t.takeSyncs(), 0, 'write cache on: nothing to flush');
  // Unchanged pages (and the pages without changeable bits) are accepted as they are.
  assert.deepEqual(await select(false, Buffer.concat([hdr6(0), errRecovery, infoExceptions, caching(true)])), { status: 0 });
  assert.equal(lu.writeCache, true);
  // A page without changeable bits touches neither setting.
  assert.deepEqual(await select(false, Buffer.concat([hdr6(0), caching(false), control(true)])), { status: 0 });
  for (const page of [errRecovery, infoExceptions]) {
    assert.deepEqual(await select(false, Buffer.concat([hdr6(0), page])), { status: 0 });
    assert.equal(lu.descriptorSense, true, `page 0x${page[0]!.toString(16)} leaves D_SENSE`);
    assert.equal(lu.writeCache, false, `page 0x${page[0]!.toString(16)} leaves WCE`);
  }
  assert.deepEqual(await select(false, Buffer.concat([hdr6(0), caching(true), control(false)])), { status: 0 });
  t.takeSyncs();
  // Header only: nothing to do.
  assert.deepEqual(await select(false, hdr6(0)), { status: 0 });
  assert.deepEqual(await select(true, hdr10(0)), { status: 0 });
});

test('MODE SELECT: a rejected list changes nothing, even when an earlier page was valid', async () => {
  const { lu } = t;
  const bad = Buffer.from(errRecovery);
  bad[2] = 0x80; // AWRE: not changeable
  const r = await select(false, Buffer.concat([hdr6(0), caching(false), control(true), bad]));
  assertCheck(r, 5, 0x2600, { field: { cdb: false, byte: 4 + 20 + 12 + 2 } });
  assert.equal(lu.writeCache, true, 'WCE unchanged');
  assert.equal(lu.descriptorSense, false, 'D_SENSE unchanged');
});

test('MODE SELECT: bits outside the changeable mask are INVALID FIELD IN PARAMETER LIST at their byte', async () => {
  const at = (page: Buffer, byte: number, value: number): Buffer => {
    const b = Buffer.from(page);
    b[byte] = value;
    return b;
  };
  const cases: Array<[string, Buffer, number]> = [
    ['caching RCD', at(caching(true), 2, 0x05), 2],
    ['caching byte 3', at(caching(true), 3, 0x01), 3],
    ['caching last byte', at(caching(true), 19, 0x80), 19],
    ['control QAM', at(control(false), 3, 0x00), 3],
    ['control D_SENSE plus GLTSD', at(control(false), 2, 0x06), 2],
    ['control busy timeout', at(control(false), 9, 0xfe), 9],
    ['control last byte', at(control(false), 11, 0x01), 11],
    ['error recovery byte 2', at(errRecovery, 2, 0x01), 2],
    ['informational exceptions byte 11', at(infoExceptions, 11, 0x01), 11],
  ];
  for (const [name, page, byte] of cases) {
    assertCheck(await select(false, Buffer.concat([hdr6(0), page])), 5, 0x2600, { field: { cdb: false, byte: 4 + byte } }, name);
    assertCheck(await select(true, Buffer.concat([hdr10(0), caching(true), page])), 5, 0x2600, { field: { cdb: false, byte: 8 + 20 + byte } }, `${name} (10)`);
  }
  assert.equal(t.lu.writeCache, true);
});

test('MODE SELECT page framing: SPF, unknown page, wrong PAGE LENGTH, truncated pages (PARAMETER LIST LENGTH ERROR)', async () => {
  const plle = (r: Awaited<ReturnType<typeof select>>, what: string): void => assertCheck(r, 5, 0x1a00, {}, what);
  const spf = Buffer.from(caching(true));
  spf[0] = 0x48;
  assertCheck(await select(false, Buffer.concat([hdr6(0), spf])), 5, 0x2600, { field: { cdb: false, byte: 4 } }, 'SPF');
  assertCheck(
    await select(false, Buffer.concat([hdr6(0), errRecovery, hex('02 0a'), Buffer.alloc(10)])),
    5,
    0x2600,
    { field: { cdb: false, byte: 16 } },
    'page 02h',
  );
  assertCheck(await select(false, Buffer.concat([hdr6(0), hex('08 11'), Buffer.alloc(17)])), 5, 0x2600, { field: { cdb: false, byte: 4 } }, 'PAGE LENGTH 17');
  assertCheck(await select(false, Buffer.concat([hdr6(0), hex('01 00')])), 5, 0x2600, { field: { cdb: false, byte: 4 } }, 'PAGE LENGTH 0 at the end');
  plle(await select(false, Buffer.concat([hdr6(0), errRecovery, hex('08')])), 'one byte of a page header');
  plle(await select(false, Buffer.concat([hdr6(0), caching(true).subarray(0, 19)])), 'page shorter than its PAGE LENGTH');
  plle(await select(true, Buffer.concat([hdr10(0), errRecovery.subarray(0, 11)])), 'page shorter than its PAGE LENGTH (10)');
  // The page code ignores the PS bit (byte 0 bit 7), as SPC-4 says it is reserved in MODE SELECT.
  const ps = Buffer.from(caching(false));
  ps[0] = 0x88;
  assert.deepEqual(await select(false, Buffer.concat([hdr6(0), ps])), { status: 0 });
  assert.equal(t.lu.writeCache, false);
  assert.deepEqual(await select(false, Buffer.concat([hdr6(0), caching(true)])), { status: 0 });
});

test('MODE SELECT block descriptors: BLOCK LENGTH 0 or the LU block size; another size is refused; BLOCK DESCRIPTOR LENGTH past the list', async () => {
  const desc = (bs: number, first = 0): Buffer => Buffer.from([first, 0, 0, 0, 0, (bs >> 16) & 0xff, (bs >> 8) & 0xff, bs & 0xff]);
  assert.deepEqual(await select(false, Buffer.concat([hdr6(8), desc(512)])), { status: 0 });
  assert.deepEqual(await select(false, Buffer.concat([hdr6(8), desc(0), caching(true)])), { status: 0 });
  assert.deepEqual(await select(false, Buffer.concat([hdr6(8), desc(512, 0x01)])), { status: 0 }, 'MODE SELECT(6) has no LONGLBA');
  assertCheck(await select(false, Buffer.concat([hdr6(8), desc(4096)])), 5, 0x2600, { field: { cdb: false, byte: 9 } }, '4096 on a 512 LU');
  assertCheck(await select(false, Buffer.concat([hdr6(8), desc(513), caching(true)])), 5, 0x2600, { field: { cdb: false, byte: 9 } });
  // Fewer than 8 bytes of descriptor: not a block descriptor, skipped.
  assert.deepEqual(await select(false, Buffer.concat([hdr6(7), desc(4096).subarray(0, 7)])), { status: 0 });
  assertCheck(await select(true, Buffer.concat([hdr10(8), desc(4096)])), 5, 0x2600, { field: { cdb: false, byte: 13 } }, '10, short descriptor');
  assert.deepEqual(await select(true, Buffer.concat([hdr10(8), desc(512)])), { status: 0 });
  // LONGLBA (MODE SELECT(10) byte 4 bit 0): 16-byte descriptor, BLOCK LENGTH in bytes 12-15.
  const longDesc = (bs: number): Buffer => Buffer.concat([hex('0000000000004000 00000000'), hex(bs.toString(16).padStart(8, '0'))]);
  assert.deepEqual(await select(true, Buffer.concat([hdr10(16, true), longDesc(512), caching(true)])), { status: 0 });
  assertCheck(await select(true, Buffer.concat([hdr10(16, true), longDesc(4096)])), 5, 0x2600, { field: { cdb: false, byte: 13 } }, 'long descriptor');
  // BLOCK DESCRIPTOR LENGTH beyond the list.
  assertCheck(await select(false, hdr6(8)), 5, 0x1a00);
  assertCheck(await select(false, Buffer.concat([hdr6(9), desc(512)])), 5, 0x1a00);
  assertCheck(await select(true, Buffer.concat([hdr10(16, true), longDesc(512).subarray(0, 15)])), 5, 0x1a00);
});
