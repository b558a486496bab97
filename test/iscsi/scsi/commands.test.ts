// The command table and dispatcher (src/iscsi/scsi/commands.ts): every opcode's name, CDB
// length and CDB USAGE DATA; dispatch of unknown opcodes, unknown service actions, short CDBs
// and LUNs without a logical unit; REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35) in each
// REPORTING OPTIONS mode, with and without command timeouts descriptors (RCTD).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandName, supportedCommands } from '../../../src/iscsi/scsi/commands.js';
import { assertBadField, assertCheck, cdbOf, doneResult, openLu, plan, type TestLu } from '../helpers/scsi-lu.js';

let t: TestLu;
before(async () => {
  t = await openLu();
});
after(async () => {
  await t?.close();
});

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Every command: opcode, service action, name, CDB USAGE DATA (SPC-4 §6.35: the bits the target looks at). */
const TABLE: Array<[number, number | undefined, string, string]> = [
  [0x00, undefined, 'TEST UNIT READY', '00 00 00 00 00 07'],
  [0x03, undefined, 'REQUEST SENSE', '03 01 00 00 ff 07'],
  [0x08, undefined, 'READ(6)', '08 1f ff ff ff 07'],
  [0x0a, undefined, 'WRITE(6)', '0a 1f ff ff ff 07'],
  [0x12, undefined, 'INQUIRY', '12 01 ff ff ff 07'],
  [0x15, undefined, 'MODE SELECT(6)', '15 11 00 00 ff 07'],
  [0x1a, undefined, 'MODE SENSE(6)', '1a 08 ff ff ff 07'],
  [0x1b, undefined, 'START STOP UNIT', '1b 01 00 0f f7 07'],
  [0x1e, undefined, 'PREVENT ALLOW MEDIUM REMOVAL', '1e 00 00 00 03 07'],
  [0x25, undefined, 'READ CAPACITY(10)', '25 00 ff ff ff ff 00 00 01 07'],
  [0x28, undefined, 'READ(10)', '28 fa ff ff ff ff 3f ff ff 07'],
  [0x2a, undefined, 'WRITE(10)', '2a fa ff ff ff ff 3f ff ff 07'],
  [0x2e, undefined, 'WRITE AND VERIFY(10)', '2e f2 ff ff ff ff 3f ff ff 07'],
  [0x2f, undefined, 'VERIFY(10)', '2f f6 ff ff ff ff 3f ff ff 07'],
  [0x34, undefined, 'PRE-FETCH(10)', '34 02 ff ff ff ff 3f ff ff 07'],
  [0x35, undefined, 'SYNCHRONIZE CACHE(10)', '35 02 ff ff ff ff 3f ff ff 07'],
  [0x41, undefined, 'WRITE SAME(10)', '41 e8 ff ff ff ff 3f ff ff 07'],
  [0x42, undefined, 'UNMAP', '42 01 00 00 00 00 3f ff ff 07'],
  [0x55, undefined, 'MODE SELECT(10)', '55 11 00 00 00 00 00 ff ff 07'],
  [0x5a, undefined, 'MODE SENSE(10)', '5a 18 ff ff 00 00 00 ff ff 07'],
  [0x88, undefined, 'READ(16)', '88 fa ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x89, undefined, 'COMPARE AND WRITE', '89 f8 ff ff ff ff ff ff ff ff 00 00 00 ff 3f 07'],
  [0x8a, undefined, 'WRITE(16)', '8a fa ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x8e, undefined, 'WRITE AND VERIFY(16)', '8e f2 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x8f, undefined, 'VERIFY(16)', '8f f6 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x90, undefined, 'PRE-FETCH(16)', '90 02 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x91, undefined, 'SYNCHRONIZE CACHE(16)', '91 02 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x93, undefined, 'WRITE SAME(16)', '93 e9 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07'],
  [0x9e, 0x10, 'READ CAPACITY(16)', '9e 10 00 00 00 00 00 00 00 00 ff ff ff ff 00 07'],
  [0x9e, 0x12, 'GET LBA STATUS', '9e 12 ff ff ff ff ff ff ff ff ff ff ff ff 00 07'],
  [0xa0, undefined, 'REPORT LUNS', 'a0 00 ff 00 00 00 ff ff ff ff 00 07'],
  [0xa3, 0x0c, 'REPORT SUPPORTED OPERATION CODES', 'a3 0c 87 ff ff ff ff ff ff ff 00 07'],
  [0xa8, undefined, 'READ(12)', 'a8 fa ff ff ff ff ff ff ff ff 3f 07'],
  [0xaa, undefined, 'WRITE(12)', 'aa fa ff ff ff ff ff ff ff ff 3f 07'],
  [0xae, undefined, 'WRITE AND VERIFY(12)', 'ae f2 ff ff ff ff ff ff ff ff 3f 07'],
  [0xaf, undefined, 'VERIFY(12)', 'af f6 ff ff ff ff ff ff ff ff 3f 07'],
];

/** CDB length from the opcode's group code (SPC-4 CDB formats): 000b 6, 001b/010b 10, 100b 16, 101b 12. */
function cdbLength(op: number): number {
  return [6, 10, 10, 0, 16, 12][op >> 5]!;
}

const rsoc = (options: number, op = 0, sa = 0, alloc = 0x10000, rctd = false): Buffer =>
  cdbOf(12, 0xa3, { 1: 0x0c, 2: (rctd ? 0x80 : 0) | options, 3: op, 4: [sa, 2], 6: [alloc, 4] });
const TIMEOUTS = hex('000a 0000 00000000 0000001e'); // descriptor length 10, nominal 0 (unknown), recommended 30 s

test('supportedCommands and commandName: every opcode and service action by name', () => {
  assert.deepEqual(
    supportedCommands(),
    TABLE.map(([op, sa, name]) => (sa === undefined ? { op, name } : { op, sa, name })),
  );
  for (const [op, sa, name] of TABLE) {
    const cdb = Buffer.alloc(16);
    cdb[0] = op;
    cdb[1] = 0xe0 | (sa ?? 0); // the service action is byte 1 bits 4-0 only
    assert.equal(commandName(cdb), name);
  }
  assert.equal(commandName(Buffer.from([0xd7, 0])), 'opcode 0xd7');
  assert.equal(commandName(Buffer.from([0x9e, 0x11])), 'opcode 0x9e', 'SERVICE ACTION IN(16) with an unknown action');
  assert.equal(commandName(Buffer.from([0x28, 0x10])), 'READ(10)', 'byte 1 is not a service action for READ(10)');
});

test('dispatch: unknown opcode is INVALID COMMAND OPERATION CODE at byte 0; an unknown service action is byte 1 bit 4', () => {
  const invalidOpcode = (r: ReturnType<typeof doneResult>, what: string): void => assertCheck(r, 5, 0x2000, { field: { cdb: true, byte: 0 } }, what);
  for (const op of [0x01, 0x04, 0x16, 0x2b, 0x3b, 0x48, 0x7f, 0x83, 0x9f, 0xa2, 0xc0, 0xd7, 0xff])
    invalidOpcode(doneResult(plan(cdbOf(16, op), t.lu)), `0x${op.toString(16)}`);
  invalidOpcode(doneResult(plan(cdbOf(16, 0xd7), undefined)), 'no LU');
  assertBadField(doneResult(plan(cdbOf(16, 0x9e, { 1: 0x11 }), t.lu)), 1, 4, 'SERVICE ACTION IN 11h');
  assertBadField(doneResult(plan(cdbOf(16, 0xa3, { 1: 0x0d }), t.lu)), 1, 4, 'MAINTENANCE IN 0Dh');
  assertBadField(doneResult(plan(cdbOf(16, 0x9e, { 1: 0x00 }), undefined)), 1, 4, 'service action 0');
});

test('dispatch: a CDB shorter than its command is INVALID COMMAND OPERATION CODE; the exact length and longer are fine', () => {
  for (const [op, sa] of TABLE) {
    const len = cdbLength(op);
    const short = cdbOf(len - 1, op, { 1: sa ?? 0 });
    assertCheck(doneResult(plan(short, t.lu)), 5, 0x2000, { field: { cdb: true, byte: 0 } }, `0x${op.toString(16)} in ${len - 1} bytes`);
    for (const n of [len, 16]) {
      const p = plan(cdbOf(n, op, { 1: sa ?? 0 }), t.lu);
      if (p.kind === 'done') assert.notEqual(p.result.sense?.asc, 0x2000, `0x${op.toString(16)} in ${n} bytes`);
    }
  }
});

test('dispatch without a logical unit: INQUIRY, REQUEST SENSE, REPORT LUNS, REPORT SUPPORTED OPERATION CODES answer; the rest LOGICAL UNIT NOT SUPPORTED', () => {
  const noLu = new Set([0x03, 0x12, 0xa0, 0xa3]);
  for (const [op, sa] of TABLE) {
    const cdb = cdbOf(16, op, { 1: sa ?? 0 });
    if (op === 0xa0) cdb.writeUInt32BE(16, 6);
    const r = doneResult(plan(cdb, undefined));
    if (noLu.has(op)) assert.equal(r.status, 0, `0x${op.toString(16)} works without a LU`);
    else assert.deepEqual(r, { status: 2, sense: { key: 5, asc: 0x2500 } }, `0x${op.toString(16)}`);
  }
});

test('REPORT SUPPORTED OPERATION CODES, all commands (options 000b): one 8-byte descriptor each, SERVACTV, CDB LENGTH', () => {
  const want = (rctd: boolean): Buffer => {
    const parts: Buffer[] = [Buffer.alloc(4)];
    for (const [op, sa] of TABLE) {
      const d = Buffer.alloc(8);
      d[0] = op;
      d.writeUInt16BE(sa ?? 0, 2);
      d[5] = (rctd ? 0x02 : 0) | (sa === undefined ? 0 : 0x01); // CTDP, SERVACTV
      d.writeUInt16BE(cdbLength(op), 6);
      parts.push(d);
      if (rctd) parts.push(TIMEOUTS);
    }
    const b = Buffer.concat(parts);
    b.writeUInt32BE(b.length - 4, 0);
    return b;
  };
  assert.deepEqual(doneResult(plan(rsoc(0), t.lu)), { status: 0, data: want(false) });
  assert.deepEqual(doneResult(plan(rsoc(0, 0, 0, 0x10000, true), t.lu)), { status: 0, data: want(true) });
  assert.equal(want(false).length, 4 + 8 * TABLE.length);
  assert.equal(want(true).length, 4 + 20 * TABLE.length);
  // ALLOCATION LENGTH (bytes 6-9) cuts; the requested opcode is ignored in this mode.
  assert.deepEqual(doneResult(plan(rsoc(0, 0x28, 0, 10), t.lu)), { status: 0, data: want(false).subarray(0, 10) });
  assert.deepEqual(doneResult(plan(rsoc(0, 0, 0, 0), undefined)), { status: 0, data: Buffer.alloc(0) });
});

test('REPORT SUPPORTED OPERATION CODES, one command (options 001b/010b/011b): CDB USAGE DATA of every command', () => {
  for (const [op, sa, name, usage] of TABLE) {
    const u = hex(usage);
    assert.equal(u.length, cdbLength(op), `${name}: usage as long as the CDB`);
    const want = Buffer.concat([hex(`00 03 00 ${u.length.toString(16).padStart(2, '0')}`), u]); // SUPPORT 011b
    const wantT = Buffer.concat([hex(`00 83 00 ${u.length.toString(16).padStart(2, '0')}`), u, TIMEOUTS]); // CTDP
    assert.deepEqual(doneResult(plan(rsoc(3, op, sa ?? 0), t.lu)), { status: 0, data: want }, `${name} (011b)`);
    assert.deepEqual(doneResult(plan(rsoc(3, op, sa ?? 0, 0x10000, true), t.lu)), { status: 0, data: wantT }, `${name} (011b, RCTD)`);
    if (sa === undefined) {
      assert.deepEqual(doneResult(plan(rsoc(1, op, 0x1234), t.lu)), { status: 0, data: want }, `${name} (001b)`);
      assertBadField(doneResult(plan(rsoc(2, op, 0), t.lu)), 2, 2, `${name}: 010b needs a command with service actions`);
    } else {
      assert.deepEqual(doneResult(plan(rsoc(2, op, sa), t.lu)), { status: 0, data: want }, `${name} (010b)`);
      assertBadField(doneResult(plan(rsoc(1, op, 0), t.lu)), 2, 2, `${name}: 001b is for commands without service actions`);
    }
  }
  // ALLOCATION LENGTH cuts the one-command form too.
  assert.deepEqual(doneResult(plan(rsoc(1, 0x28, 0, 6), t.lu)), { status: 0, data: hex('00 03 00 0a 28 fa') });
});

test('REPORT SUPPORTED OPERATION CODES: unsupported commands are SUPPORT 001b; reserved REPORTING OPTIONS refused', () => {
  const unsupported = { status: 0, data: hex('00 01 00 00') };
  assert.deepEqual(doneResult(plan(rsoc(1, 0xd7), t.lu)), unsupported, '001b unknown opcode');
  assert.deepEqual(doneResult(plan(rsoc(2, 0x9e, 0x11), t.lu)), unsupported, '010b unknown service action');
  assert.deepEqual(doneResult(plan(rsoc(2, 0x9e, 0x0110), t.lu)), unsupported, '010b: REQUESTED SERVICE ACTION is 16 bits');
  assert.deepEqual(doneResult(plan(rsoc(3, 0xd7), t.lu)), unsupported, '011b unknown opcode');
  assert.deepEqual(doneResult(plan(rsoc(3, 0x9e, 0x13), t.lu)), unsupported, '011b unknown service action');
  assert.deepEqual(doneResult(plan(rsoc(3, 0x28, 0x10), t.lu)).data?.subarray(0, 2), hex('00 03'), '011b ignores the service action of a plain command');
  assert.deepEqual(doneResult(plan(rsoc(1, 0xd7, 0, 2), t.lu)), { status: 0, data: hex('00 01') });
  for (const o of [4, 5, 6, 7]) assertBadField(doneResult(plan(rsoc(o, 0x28), t.lu)), 2, 2, `options ${o}`);
});
