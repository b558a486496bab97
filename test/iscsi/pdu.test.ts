// PDU codec against fixtures written by hand from RFC 7143 §11 (one hex line per 4-byte word,
// independent of the encoder under test): decoding every initiator PDU, encoding every target
// PDU byte for byte, AHS handling, and decode errors that name the field and offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BHS_LENGTH,
  RejectReason,
  TmfFunction,
  decodePdu,
  encodeDataIn,
  encodeLoginResponse,
  encodeLogoutResponse,
  encodeNopIn,
  encodeR2T,
  encodeReject,
  encodeScsiResponse,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  lunToNumber,
  numberToLun,
  opcodeOf,
  padLength,
  pduParts,
  type InitiatorPdu,
} from '../../src/iscsi/pdu.js';
import { crc32c } from '../../src/iscsi/crc32c.js';

/** 12 words of 8 hex digits (spaces ignored) → a 48-byte BHS. */
function bhs(words: string): Buffer {
  const hex = words.replace(/\s+/g, '');
  assert.equal(hex.length, 96, 'fixture must be 48 bytes');
  return Buffer.from(hex, 'hex');
}
function dec(words: string, data = Buffer.alloc(0), ahs = Buffer.alloc(0)): InitiatorPdu {
  return decodePdu({ bhs: bhs(words), ahs, dataParts: data.length ? [data] : [], dataLength: data.length });
}
const SEQ = { statSN: 0x11223344, expCmdSN: 0x55667788, maxCmdSN: 0x99aabbcc };

test('Login Request (§11.12): T, C, CSG/NSG, versions, ISID, TSIH, CID, CmdSN, ExpStatSN', () => {
  const p = dec(
    `43 87 00 00  00 00 00 0c  80 12 34 56  78 9a 00 00  00 00 00 2a  00 01 00 00
     00 00 00 07  00 00 00 01  00000000 00000000 00000000 00000000`,
    Buffer.from('InitiatorName=x\0'),
  );
  assert.equal(p.kind, 'login');
  if (p.kind !== 'login') return;
  assert.equal(p.immediate, true);
  assert.equal(p.final, true, 'F is T in a Login Request');
  assert.equal(p.transit, true);
  assert.equal(p.cont, false);
  assert.equal(p.csg, 1);
  assert.equal(p.nsg, 3);
  assert.equal(p.versionMax, 0);
  assert.equal(p.versionMin, 0);
  assert.equal(p.isid.toString('hex'), '80123456789a');
  assert.equal(p.tsih, 0);
  assert.equal(p.itt, 0x2a);
  assert.equal(p.cid, 1);
  assert.equal(p.cmdSN, 7);
  assert.equal(p.expStatSN, 1);
  assert.equal(p.data.toString(), 'InitiatorName=x\0');
});

test('SCSI Command (§11.3): F/R/W/ATTR, LUN, EDTL, CmdSN, CDB', () => {
  const p = dec(`01 c1 00 00  00 00 00 00  00 01 00 00  00 00 00 00  00 00 00 10  00 00 10 00
     00 00 00 05  00 00 00 03  28 00 00 00  01 00 00 00  08 00 00 00  00 00 00 00`);
  assert.equal(p.kind, 'scsi-command');
  if (p.kind !== 'scsi-command') return;
  assert.equal(p.immediate, false);
  assert.equal(p.final, true);
  assert.equal(p.read, true);
  assert.equal(p.write, false);
  assert.equal(p.attr, 1);
  assert.equal(lunToNumber(p.lun), 1);
  assert.equal(p.itt, 0x10);
  assert.equal(p.expectedDataTransferLength, 4096);
  assert.equal(p.cmdSN, 5);
  assert.equal(p.expStatSN, 3);
  assert.equal(p.cdb.length, 16);
  assert.equal(p.cdb.toString('hex'), '28000000010000000800000000000000');
  assert.equal(p.bidiReadLength, undefined);
});

test('SCSI Command with an Extended CDB AHS (§11.2.2.3) and a bidirectional read AHS (§11.2.2.4)', () => {
  // 32-byte CDB: 16 in the BHS, 16 in an AHS of type 1 (AHSLength 17 = reserved byte + 16).
  const ext = Buffer.from('00110100' + 'a1a2a3a4a5a6a7a8a9aaabacadaeafb0' + '000000', 'hex'); // 4+16 → pad to 20
  const bidi = Buffer.from('00050200' + '00002000' + '000000', 'hex');
  const ahs = Buffer.concat([ext.subarray(0, 20), bidi.subarray(0, 8)]);
  const p = dec(
    `01 e0 00 00  07 00 00 00  00000000 00000000  00 00 00 01  00 00 02 00
     00 00 00 01  00 00 00 01  7f 00 00 00  00 00 00 00  00 00 00 00  00 00 00 18`,
    Buffer.alloc(0),
    ahs,
  );
  assert.equal(p.kind, 'scsi-command');
  if (p.kind !== 'scsi-command') return;
  assert.equal(p.cdb.length, 32);
  assert.equal(p.cdb.subarray(16).toString('hex'), 'a1a2a3a4a5a6a7a8a9aaabacadaeafb0');
  assert.equal(p.bidiReadLength, 0x2000);
  assert.equal(p.read && p.write, true);
});

test('AHS errors name the field and the byte offset', () => {
  const cmd = `01 80 00 00  01 00 00 00  00000000 00000000 00000001 00000000 00000001 00000000
               00000000 00000000 00000000 00000000`;
  // TotalAHSLength 1 word, but AHSLength claims 40 bytes.
  assert.throws(
    () => dec(cmd, Buffer.alloc(0), Buffer.from('00280100', 'hex')),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_ISCSI_FIELD');
      assert.match(e.message, /AHSLength/);
      assert.match(e.message, /48/);
      return true;
    },
  );
  // Unknown AHS type 9, at offset 48+2.
  assert.throws(() => dec(cmd, Buffer.alloc(0), Buffer.from('00010900', 'hex')), { code: 'E_ISCSI_FIELD', message: /AHSType.*50|50.*AHSType/ });
  // A truncated AHS header (2 bytes).
  assert.throws(() => dec(cmd, Buffer.alloc(0), Buffer.from('0001', 'hex')), { code: 'E_ISCSI_FIELD' });
  // Zero-length AHS.
  assert.throws(() => dec(cmd, Buffer.alloc(0), Buffer.from('00000100', 'hex')), { code: 'E_ISCSI_FIELD' });
  // Bidirectional AHS with the wrong length.
  assert.throws(() => dec(cmd, Buffer.alloc(0), Buffer.from('0004020000000000', 'hex')), { code: 'E_ISCSI_FIELD' });
});

test('SCSI Data-Out (§11.7): F, LUN, ITT, TTT, ExpStatSN, DataSN, Buffer Offset', () => {
  const p = dec(
    `05 80 00 00  00 00 02 00  00 01 00 00 00 00 00 00  00 00 00 10  00 00 00 07
     00000000  00 00 00 04  00000000  00 00 00 02  00 00 04 00  00000000`,
    Buffer.alloc(512),
  );
  assert.equal(p.kind, 'data-out');
  if (p.kind !== 'data-out') return;
  assert.equal(p.final, true);
  assert.equal(p.itt, 0x10);
  assert.equal(p.ttt, 7);
  assert.equal(p.expStatSN, 4);
  assert.equal(p.dataSN, 2);
  assert.equal(p.bufferOffset, 1024);
  assert.equal(p.dataLength, 512);
  assert.equal(Buffer.concat(p.segments).length, 512);
});

test('NOP-Out (§11.18), Text Request (§11.10), Logout Request (§11.14), Task Management (§11.5), SNACK', () => {
  const nop = dec(`40 80 00 00  00000000 00000000 00000000  00 00 00 21  ff ff ff ff  00 00 00 09  00 00 00 02
     00000000 00000000 00000000 00000000`);
  assert.deepEqual([nop.kind, nop.immediate, nop.itt], ['nop-out', true, 0x21]);
  if (nop.kind === 'nop-out') assert.deepEqual([nop.ttt, nop.cmdSN, nop.expStatSN], [0xffffffff, 9, 2]);

  const text = dec(
    `04 c0 00 00  00 00 00 10  00000000 00000000  00 00 00 05  ff ff ff ff  00 00 00 03  00 00 00 02
     00000000 00000000 00000000 00000000`,
    Buffer.from('SendTargets=All\0'),
  );
  assert.equal(text.kind, 'text');
  if (text.kind === 'text') assert.deepEqual([text.final, text.cont, text.ttt, text.cmdSN], [true, true, 0xffffffff, 3]);

  const logout = dec(`46 82 00 00  00000000 00000000 00000000  00 00 00 30  00 05 00 00  00 00 00 0a  00 00 00 04
     00000000 00000000 00000000 00000000`);
  assert.equal(logout.kind, 'logout');
  if (logout.kind === 'logout') assert.deepEqual([logout.reason, logout.cid, logout.cmdSN, logout.expStatSN], [2, 5, 10, 4]);

  const tmf = dec(`42 81 00 00  00000000  00 01 00 00 00 00 00 00  00 00 00 40  00 00 00 10  00 00 00 0b  00 00 00 05
     00 00 00 08  00 00 00 00  00000000 00000000`);
  assert.equal(tmf.kind, 'task-mgmt');
  if (tmf.kind === 'task-mgmt') {
    assert.equal(tmf.fn, TmfFunction.AbortTask);
    assert.equal(lunToNumber(tmf.lun), 1);
    assert.deepEqual([tmf.itt, tmf.referencedTaskTag, tmf.cmdSN, tmf.refCmdSN], [0x40, 0x10, 0x0b, 8]);
  }
  const snack = dec(`10 81 00 00  00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000`);
  assert.equal(snack.kind, 'snack');
  if (snack.kind === 'snack') assert.equal(snack.type, 1);
});

test('target opcodes and unknown opcodes are refused with E_ISCSI_OPCODE; a short BHS with E_ISCSI_FIELD', () => {
  for (const op of [0x07, 0x1c, 0x20, 0x21, 0x25, 0x3f]) {
    const b = Buffer.alloc(48);
    b[0] = op;
    assert.throws(() => decodePdu({ bhs: b, ahs: Buffer.alloc(0), dataParts: [], dataLength: 0 }), { code: 'E_ISCSI_OPCODE' }, `opcode ${op}`);
  }
  assert.throws(() => decodePdu({ bhs: Buffer.alloc(47), ahs: Buffer.alloc(0), dataParts: [], dataLength: 0 }), { code: 'E_ISCSI_FIELD' });
});

test('Login Response (§11.13) byte for byte', () => {
  const got = encodeLoginResponse({
    transit: true,
    cont: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionActive: 0,
    isid: Buffer.from('80123456789a', 'hex'),
    tsih: 0x0102,
    itt: 0x2a,
    statusClass: 0,
    statusDetail: 0,
    dataLength: 0x1d,
    seq: SEQ,
  });
  assert.equal(
    got.toString('hex'),
    bhs(`23 87 00 00  00 00 00 1d  80 12 34 56  78 9a 01 02  00 00 00 2a  00 00 00 00
     11 22 33 44  55 66 77 88  99 aa bb cc  00 00 00 00  00000000 00000000`).toString('hex'),
  );
  const fail = encodeLoginResponse({
    transit: false,
    cont: false,
    csg: 0,
    nsg: 0,
    versionMax: 0,
    versionActive: 0,
    isid: Buffer.alloc(6),
    tsih: 0,
    itt: 1,
    statusClass: 2,
    statusDetail: 1,
    dataLength: 0,
    seq: SEQ,
  });
  assert.equal(fail[36], 2);
  assert.equal(fail[37], 1);
  assert.equal(fail[1], 0);
});

test('SCSI Response (§11.4): status, response, underflow/overflow residual, ExpDataSN', () => {
  const under = encodeScsiResponse({ itt: 0x10, response: 0, status: 0x02, residual: 512, dataLength: 20, expDataSN: 3, seq: SEQ });
  assert.equal(
    under.toString('hex'),
    bhs(`21 82 00 02  00 00 00 14  00000000 00000000  00 00 00 10  00 00 00 00
     11 22 33 44  55 66 77 88  99 aa bb cc  00 00 00 03  00000000  00 00 02 00`).toString('hex'),
  );
  const over = encodeScsiResponse({ itt: 1, response: 0, status: 0, residual: -4096, dataLength: 0, expDataSN: 0, seq: SEQ });
  assert.equal(over[1], 0x84);
  assert.equal(over.readUInt32BE(44), 4096);
  assert.equal(encodeScsiResponse({ itt: 1, response: 0, status: 0, residual: 0, dataLength: 0, expDataSN: 0, seq: SEQ })[1], 0x80);
});

test('Data-In (§11.7.1): plain and with status (S bit, phase collapse)', () => {
  const plain = encodeDataIn({ final: false, itt: 0x10, dataLength: 8192, dataSN: 1, bufferOffset: 8192, expCmdSN: 6, maxCmdSN: 0x85 });
  assert.equal(
    plain.toString('hex'),
    bhs(`25 00 00 00  00 00 20 00  00000000 00000000  00 00 00 10  ff ff ff ff
     00 00 00 00  00 00 00 06  00 00 00 85  00 00 00 01  00 00 20 00  00 00 00 00`).toString('hex'),
  );
  const last = encodeDataIn({
    final: true,
    itt: 0x10,
    dataLength: 512,
    dataSN: 2,
    bufferOffset: 16384,
    expCmdSN: 6,
    maxCmdSN: 0x85,
    status: { status: 0, statSN: 9, residual: 512 },
  });
  assert.equal(
    last.toString('hex'),
    bhs(`25 83 00 00  00 00 02 00  00000000 00000000  00 00 00 10  ff ff ff ff
     00 00 00 09  00 00 00 06  00 00 00 85  00 00 00 02  00 00 40 00  00 00 02 00`).toString('hex'),
  );
});

test('R2T (§11.8), NOP-In (§11.19), Text Response (§11.11), Logout Response (§11.15), TMF Response (§11.6), Reject (§11.17)', () => {
  const lun1 = numberToLun(1);
  assert.equal(
    encodeR2T({ lun: lun1, itt: 0x10, ttt: 0x77, r2tSN: 1, bufferOffset: 65536, desiredLength: 262144, seq: SEQ }).toString('hex'),
    bhs(`31 80 00 00  00 00 00 00  00 01 00 00 00 00 00 00  00 00 00 10  00 00 00 77
     11 22 33 44  55 66 77 88  99 aa bb cc  00 00 00 01  00 01 00 00  00 04 00 00`).toString('hex'),
  );
  assert.equal(
    encodeNopIn({ lun: Buffer.alloc(8), itt: 0x21, ttt: 0xffffffff, dataLength: 4, seq: SEQ }).toString('hex'),
    bhs(`20 80 00 00  00 00 00 04  00000000 00000000  00 00 00 21  ff ff ff ff
     11 22 33 44  55 66 77 88  99 aa bb cc  00000000 00000000 00000000`).toString('hex'),
  );
  assert.equal(
    encodeTextResponse({ final: true, cont: false, lun: Buffer.alloc(8), itt: 5, ttt: 0xffffffff, dataLength: 0x40, seq: SEQ }).toString('hex'),
    bhs(`24 80 00 00  00 00 00 40  00000000 00000000  00 00 00 05  ff ff ff ff
     11 22 33 44  55 66 77 88  99 aa bb cc  00000000 00000000 00000000`).toString('hex'),
  );
  assert.equal(
    encodeLogoutResponse({ itt: 0x30, response: 0, time2Wait: 2, time2Retain: 20, seq: SEQ }).toString('hex'),
    bhs(`26 80 00 00  00 00 00 00  00000000 00000000  00 00 00 30  00 00 00 00
     11 22 33 44  55 66 77 88  99 aa bb cc  00 00 00 00  00 02 00 14  00 00 00 00`).toString('hex'),
  );
  assert.equal(
    encodeTaskMgmtResponse({ itt: 0x40, response: 1, seq: SEQ }).toString('hex'),
    bhs(`22 80 01 00  00 00 00 00  00000000 00000000  00 00 00 40  00 00 00 00
     11 22 33 44  55 66 77 88  99 aa bb cc  00000000 00000000 00000000`).toString('hex'),
  );
  assert.equal(
    encodeReject({ reason: RejectReason.ProtocolError, seq: SEQ }).toString('hex'),
    bhs(`3f 80 04 00  00 00 00 30  00000000 00000000  ff ff ff ff  00 00 00 00
     11 22 33 44  55 66 77 88  99 aa bb cc  00000000 00000000 00000000`).toString('hex'),
  );
});

test('pduParts: padding to 4 bytes, header digest over the BHS, data digest over data + padding', () => {
  const h = Buffer.alloc(BHS_LENGTH, 1);
  const d = Buffer.from('abcde');
  const parts = pduParts(h, [d], { header: true, data: true });
  const wire = Buffer.concat(parts);
  assert.equal(wire.length, 48 + 4 + 5 + 3 + 4);
  assert.equal(wire.readUInt32LE(48), crc32c(h));
  assert.equal(wire.subarray(57, 60).toString('hex'), '000000');
  assert.equal(wire.readUInt32LE(60), crc32c(Buffer.from('abcde\0\0\0')));
  // No data: no padding, no data digest.
  assert.equal(Buffer.concat(pduParts(h, [], { header: false, data: true })).length, 48);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(padLength), [0, 3, 2, 1, 0, 3]);
});

test('LUN field (SAM-5 §4.7): peripheral and flat addressing round trip, others are -1', () => {
  assert.equal(lunToNumber(Buffer.from('0000000000000000', 'hex')), 0);
  assert.equal(lunToNumber(Buffer.from('0005000000000000', 'hex')), 5);
  assert.equal(lunToNumber(Buffer.from('4101000000000000', 'hex')), 257);
  assert.equal(lunToNumber(Buffer.from('0100000000000000', 'hex')), -1); // bus 1
  assert.equal(lunToNumber(Buffer.from('0001000000000001', 'hex')), -1); // second level
  assert.equal(lunToNumber(Buffer.from('c000000000000000', 'hex')), -1); // extended
  for (const n of [0, 1, 255, 256, 16383]) assert.equal(lunToNumber(numberToLun(n)), n);
});

// Edges found by mutation testing (docs/mutation/iscsi-pdu.md): the exact decode messages and byte
// offsets (also of a second AHS), flag bits clear as well as set, Data-In overflow/no residual
// with status, the Reject DataSN, and what pduParts leaves out (empty buffers, no padding, no digest).
test('decode errors: the exact message and byte offset, for the first and for a second AHS', () => {
  const cmd = `01 80 00 00  03 00 00 00  00000000 00000000 00000001 00000000 00000001 00000000
               00000000 00000000 00000000 00000000`;
  const msg = (ahs: string) => {
    try {
      dec(cmd, Buffer.alloc(0), Buffer.from(ahs, 'hex'));
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'E_ISCSI_FIELD', ahs);
      return (e as Error).message;
    }
    return 'decoded';
  };
  const bidi = '0005020000002000000000'.slice(0, 16); // a good bidirectional AHS: 8 bytes
  assert.equal(msg('0001'), 'AHSLength at byte 48: truncated AHS header');
  assert.equal(msg('000101'), 'AHSLength at byte 48: truncated AHS header');
  assert.equal(msg(`${bidi}0001`), 'AHSLength at byte 56: truncated AHS header');
  assert.equal(msg('00280100'), 'AHSLength at byte 48: AHS length 40 beyond TotalAHSLength');
  assert.equal(msg('00000100'), 'AHSLength at byte 48: AHS length 0 beyond TotalAHSLength');
  // The second AHS claims 5 bytes (4 + 1 past the end): beyond, even though 5 is the right length.
  assert.equal(msg(`${bidi}00050200`), 'AHSLength at byte 56: AHS length 5 beyond TotalAHSLength');
  assert.equal(msg(`${bidi}00050200000000`), 'AHSLength at byte 56: AHS length 5 beyond TotalAHSLength');
  assert.equal(msg(`${bidi}0004020000000000`), 'AHSLength at byte 56: bidirectional read AHS must be 5');
  assert.equal(msg('0004020000000000'), 'AHSLength at byte 48: bidirectional read AHS must be 5');
  assert.equal(msg(`${bidi}00010900`), 'AHSType at byte 58: unknown AHS type 9');
  assert.equal(msg('00010000'), 'AHSType at byte 50: unknown AHS type 0');
  // AHSLength 1 (only the reserved byte) is an Extended CDB of no extra bytes; two AHS decode.
  const two = dec(cmd, Buffer.alloc(0), Buffer.from(`00010100${bidi}`, 'hex'));
  assert.ok(two.kind === 'scsi-command');
  assert.deepEqual([two.cdb.length, two.bidiReadLength], [16, 0x2000]);
  assert.throws(() => decodePdu({ bhs: Buffer.alloc(47), ahs: Buffer.alloc(0), dataParts: [], dataLength: 0 }), {
    code: 'E_ISCSI_FIELD',
    message: 'BHS at byte 0: length 47, want 48',
  });
  assert.throws(() => decodePdu({ bhs: Buffer.alloc(49), ahs: Buffer.alloc(0), dataParts: [], dataLength: 0 }), {
    message: 'BHS at byte 0: length 49, want 48',
  });
  const op = (o: number) => {
    const b = Buffer.alloc(48);
    b[0] = o;
    return b;
  };
  assert.throws(() => decodePdu({ bhs: op(0x1c), ahs: Buffer.alloc(0), dataParts: [], dataLength: 0 }), {
    code: 'E_ISCSI_OPCODE',
    message: 'opcode at byte 0: opcode 0x1c is not an initiator opcode',
  });
  assert.throws(() => decodePdu({ bhs: op(0xe5), ahs: Buffer.alloc(0), dataParts: [], dataLength: 0 }), { message: /opcode 0x25 is not/ });
  // opcodeOf drops the immediate bit and the reserved top bit.
  assert.deepEqual(
    [0x00, 0x41, 0xc3, 0x3f, 0xff].map((o) => opcodeOf(op(o))),
    [0x00, 0x01, 0x03, 0x3f, 0x3f],
  );
});

test('flag bits read as clear when clear: F, R, W, T, C of commands, logins and texts', () => {
  // SCSI Command, write only, F=0.
  const w = dec(`01 20 00 00  00000000 00000000 00000000 00000001 00000200 00000001 00000000
     2a000000 00000000 00000000 00000000`);
  assert.ok(w.kind === 'scsi-command');
  assert.deepEqual([w.final, w.read, w.write, w.attr, w.immediate], [false, false, true, 0, false]);
  // Login Request with C=1, T=0, CSG 0, NSG 1 (the NSG field is carried even without T).
  const l = dec(`03 41 00 00  00000000 00023d00 00000000 00000001 00000000 00000001 00000000
     00000000 00000000 00000000 00000000`);
  assert.ok(l.kind === 'login');
  assert.deepEqual([l.final, l.transit, l.cont, l.csg, l.nsg, l.immediate], [false, false, true, 0, 1, false]);
  // Text Request with F=1, C=0; with F=0, C=1.
  const t1 = dec(`04 80 00 00  00000000 00000000 00000000 00000005 ffffffff 00000003 00000002
     00000000 00000000 00000000 00000000`);
  assert.ok(t1.kind === 'text');
  assert.deepEqual([t1.final, t1.cont], [true, false]);
  const t2 = dec(`04 40 00 00  00000000 00000000 00000000 00000005 ffffffff 00000003 00000002
     00000000 00000000 00000000 00000000`);
  assert.ok(t2.kind === 'text');
  assert.deepEqual([t2.final, t2.cont], [false, true]);
  // Data-Out with F=0.
  const d = dec(`05 00 00 00  00000000 00000000 00000000 00000010 00000007 00000000 00000004
     00000000 00000001 00000200 00000000`);
  assert.ok(d.kind === 'data-out');
  assert.deepEqual([d.final, d.dataSN, d.bufferOffset], [false, 1, 512]);
});

test('Data-In with status: overflow sets O, no residual sets neither; Reject carries its DataSN', () => {
  const withStatus = (residual: number) =>
    encodeDataIn({ final: true, itt: 1, dataLength: 512, dataSN: 0, bufferOffset: 0, expCmdSN: 1, maxCmdSN: 2, status: { status: 0, statSN: 3, residual } });
  const over = withStatus(-1024);
  assert.equal(over[1], 0x85);
  assert.equal(over.readUInt32BE(44), 1024);
  const exact = withStatus(0);
  assert.equal(exact[1], 0x81);
  assert.equal(exact.readUInt32BE(44), 0);
  assert.equal(withStatus(1)[1], 0x83);
  // With status the F bit is set even when the caller says not final.
  const s = encodeDataIn({
    final: false,
    itt: 1,
    dataLength: 0,
    dataSN: 0,
    bufferOffset: 0,
    expCmdSN: 1,
    maxCmdSN: 2,
    status: { status: 2, statSN: 3, residual: 0 },
  });
  assert.deepEqual([s[1], s[3]], [0x81, 2]);
  const r = encodeReject({ reason: RejectReason.DataDigestError, seq: SEQ, dataSN: 5 });
  assert.equal(r.readUInt32BE(36), 5);
  assert.equal(r[2], 0x02);
});

test('pduParts: no empty buffers, no padding buffer when aligned, no data digest unless asked', () => {
  const h = Buffer.alloc(BHS_LENGTH, 2);
  const a = Buffer.from('abcd');
  const b = Buffer.from('efgh');
  // Aligned data, no digests: exactly the BHS and the non-empty data buffers.
  const plain = pduParts(h, [Buffer.alloc(0), a, Buffer.alloc(0), b], { header: false, data: false });
  assert.deepEqual(plain, [h, a, b]);
  // Unaligned, no data digest: the padding but no digest.
  const padded = pduParts(h, [Buffer.from('abcde')], { header: false, data: false });
  assert.deepEqual(
    padded.map((x) => x.toString('hex')),
    [h.toString('hex'), Buffer.from('abcde').toString('hex'), '000000'],
  );
  // Aligned with a data digest over several buffers: no padding in it or before it.
  const dig = pduParts(h, [a, b], { header: false, data: true });
  assert.equal(dig.length, 4);
  assert.equal(dig[3]!.readUInt32LE(0), crc32c(Buffer.from('abcdefgh')));
  // Only empty data: nothing after the BHS (and its digest).
  const hd = pduParts(h, [Buffer.alloc(0)], { header: true, data: true });
  assert.equal(hd.length, 2);
  assert.equal(hd[1]!.readUInt32LE(0), crc32c(h));
});
