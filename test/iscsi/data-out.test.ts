// Data-Out sequencing (data-out.ts): immediate data, unsolicited Data-Out up to FirstBurstLength,
// R2Ts up to MaxBurstLength and MaxOutstandingR2T, the bytes kept in order without copies — and
// every way an initiator's Data-Out can break the sequence (DataSN, Buffer Offset, length, tag,
// after the F bit), each with the ASC the command then fails with. Also `dataOutNeed`: how much
// data-out a command uses, or the response it gets without it (EDTL mismatch, overflow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataOutSequencer, dataOutNeed, type DataOutSegment } from '../../src/iscsi/data-out.js';
import { Asc, SenseKey, Status } from '../../src/iscsi/scsi/sense.js';
import type { Plan } from '../../src/iscsi/scsi/types.js';

const UNSOLICITED = 0xffffffff;

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** A data segment as one received piece: the sequencer's (parts, length) arguments. */
function piece(b: Buffer): [Buffer[], number] {
  return [[b], b.length];
}

function seg(ttt: number, dataSN: number, bufferOffset: number, data: Buffer, final = false): DataOutSegment {
  return { ttt, dataSN, bufferOffset, segments: [data], dataLength: data.length, final };
}

test('immediate data covering the whole transfer: complete at once, kept as the same buffer', () => {
  const imm = bytes(1024, 1);
  const s = new DataOutSequencer(1024, 1024, ...piece(imm));
  assert.equal(s.unsolicitedDone, true);
  assert.equal(s.complete, true);
  assert.equal(s.received, 1024);
  assert.equal(s.segments.length, 1);
  assert.equal(s.segments[0], imm, 'a view, not a copy');
  assert.equal(s.canSolicit(1), false);
  assert.equal(s.r2tSN, 0);
});

test('immediate + unsolicited Data-Out, then R2Ts of MaxBurstLength for the rest', () => {
  const all = bytes(20000, 3);
  const s = new DataOutSequencer(20000, 8192, ...piece(all.subarray(0, 4096)));
  assert.equal(s.unsolicitedDone, false);
  assert.equal(s.dataOut(seg(UNSOLICITED, 0, 4096, all.subarray(4096, 8192), true)), undefined);
  assert.equal(s.unsolicitedDone, true);
  assert.equal(s.complete, false);
  assert.equal(s.missing, 20000 - 8192);

  assert.equal(s.canSolicit(1), true);
  const r1 = s.solicit(7, 8192);
  assert.deepEqual(r1, { ttt: 7, r2tSN: 0, offset: 8192, length: 8192, received: 0, dataSN: 0 });
  assert.equal(s.canSolicit(1), false, 'MaxOutstandingR2T 1: one at a time');
  assert.equal(s.dataOut(seg(7, 0, 8192, all.subarray(8192, 12288))), undefined);
  assert.equal(s.dataOut(seg(7, 1, 12288, all.subarray(12288, 16384), true)), undefined);
  assert.equal(s.canSolicit(1), true);
  const r2 = s.solicit(8, 8192);
  assert.deepEqual(r2, { ttt: 8, r2tSN: 1, offset: 16384, length: 3616, received: 0, dataSN: 0 });
  assert.equal(s.complete, false);
  assert.equal(s.dataOut(seg(8, 0, 16384, all.subarray(16384), true)), undefined);
  assert.equal(s.complete, true);
  assert.equal(s.canSolicit(1), false);
  assert.equal(s.r2tSN, 2, 'the ExpDataSN of the response: R2Ts sent');
  assert.deepEqual(Buffer.concat(s.segments), all);
  s.drop();
  assert.deepEqual(s.segments, []);
});

test('InitialR2T=Yes without immediate data: R2Ts from offset 0, several outstanding', () => {
  const all = bytes(3 * 4096, 5);
  const s = new DataOutSequencer(all.length, 0);
  assert.equal(s.unsolicitedDone, true);
  const opened = [];
  while (s.canSolicit(2)) opened.push(s.solicit(100 + opened.length, 4096));
  assert.deepEqual(
    opened.map((r) => [r.ttt, r.offset, r.length]),
    [
      [100, 0, 4096],
      [101, 4096, 4096],
    ],
  );
  assert.equal(s.dataOut(seg(100, 0, 0, all.subarray(0, 4096), true)), undefined);
  assert.equal(s.canSolicit(2), true);
  const third = s.solicit(102, 4096);
  assert.equal(third.offset, 8192);
  assert.equal(s.dataOut(seg(101, 0, 4096, all.subarray(4096, 8192), true)), undefined);
  assert.equal(s.dataOut(seg(102, 0, 8192, all.subarray(8192), true)), undefined);
  assert.equal(s.complete, true);
  assert.deepEqual(Buffer.concat(s.segments), all);
});

test('unsolicited data ends at FirstBurstLength even without the F bit', () => {
  const s = new DataOutSequencer(8192, 4096);
  assert.equal(s.dataOut(seg(UNSOLICITED, 0, 0, bytes(2048, 1))), undefined);
  assert.equal(s.unsolicitedDone, false);
  assert.equal(s.dataOut(seg(UNSOLICITED, 1, 2048, bytes(2048, 2))), undefined);
  assert.equal(s.unsolicitedDone, true);
  assert.equal(s.received, 4096);
});

test('data beyond what the command uses is checked but not kept (overflow cut to whole blocks)', () => {
  const imm = bytes(1500, 9);
  const s = new DataOutSequencer(1024, 1500, ...piece(imm));
  assert.equal(s.received, 1024);
  assert.equal(s.complete, true);
  assert.deepEqual(Buffer.concat(s.segments), imm.subarray(0, 1024));
  // A command answered without its data (need 0) still has its unsolicited data checked.
  const early = new DataOutSequencer(0, 4096);
  assert.equal(early.dataOut(seg(UNSOLICITED, 0, 0, bytes(4096, 1), true)), undefined);
  assert.equal(early.received, 0);
  assert.deepEqual(early.segments, []);
  assert.equal(early.dataOut(seg(UNSOLICITED, 1, 4096, bytes(1, 1), true))?.asc, Asc.DataPhaseError);
});

test('every broken unsolicited Data-Out: DATA PHASE ERROR', () => {
  const cases: Array<[string, DataOutSegment]> = [
    ['wrong DataSN', seg(UNSOLICITED, 1, 1024, bytes(512, 0))],
    ['offset behind', seg(UNSOLICITED, 0, 0, bytes(512, 0))],
    ['offset ahead', seg(UNSOLICITED, 0, 2048, bytes(512, 0))],
    ['past FirstBurstLength', seg(UNSOLICITED, 0, 1024, bytes(4096, 0))],
  ];
  for (const [why, pdu] of cases) {
    const s = new DataOutSequencer(8192, 4096, ...piece(bytes(1024, 0)));
    const err = s.dataOut(pdu);
    assert.equal(err?.asc, Asc.DataPhaseError, why);
    assert.match(err?.why ?? '', /unsolicited Data-Out out of sequence/, why);
    assert.equal(s.received, 1024, `${why}: nothing kept`);
  }
  // After the F bit, no more unsolicited data.
  const s = new DataOutSequencer(8192, 4096);
  assert.equal(s.dataOut(seg(UNSOLICITED, 0, 0, bytes(1024, 0), true)), undefined);
  assert.equal(s.dataOut(seg(UNSOLICITED, 1, 1024, bytes(1024, 0)))?.asc, Asc.DataPhaseError);
});

test('every broken solicited Data-Out: DATA PHASE ERROR, or DATA OFFSET ERROR out of order', () => {
  const fresh = (): DataOutSequencer => {
    const s = new DataOutSequencer(8192, 0);
    s.solicit(1, 4096);
    s.solicit(2, 4096);
    return s;
  };
  const phase: Array<[string, DataOutSegment]> = [
    ['unknown TTT', seg(9, 0, 0, bytes(512, 0))],
    ['wrong DataSN', seg(1, 1, 0, bytes(512, 0))],
    ['offset outside the R2T', seg(1, 0, 512, bytes(512, 0))],
    ['longer than the R2T', seg(1, 0, 0, bytes(4097, 0))],
  ];
  for (const [why, pdu] of phase) {
    const err = fresh().dataOut(pdu);
    assert.equal(err?.asc, Asc.DataPhaseError, why);
    assert.match(err?.why ?? '', /solicited Data-Out out of sequence/, why);
  }
  // The second R2T's data before the first's: each fits its R2T, but the data is out of order.
  const s = fresh();
  const err = s.dataOut(seg(2, 0, 4096, bytes(4096, 0), true));
  assert.equal(err?.asc, Asc.DataOffsetError);
  assert.match(err?.why ?? '', /offset out of order/);
  // A closed R2T takes nothing more.
  const t = fresh();
  assert.equal(t.dataOut(seg(1, 0, 0, bytes(4096, 0), true)), undefined);
  assert.equal(t.dataOut(seg(1, 1, 4096, bytes(1, 0)))?.asc, Asc.DataPhaseError);
});

const run = async (): Promise<never> => {
  throw new Error('not run');
};
function exec(dataOutLength: number, o: { exactDataOut?: boolean; truncatable?: number } = {}): Plan {
  return { kind: 'exec', dataOutLength, run, ...o };
}

test('dataOutNeed: the bytes used, or the response without them', () => {
  assert.equal(dataOutNeed(exec(4096), 4096), 4096);
  assert.equal(dataOutNeed(exec(0), 0), 0, 'a read');
  assert.equal(dataOutNeed(exec(1024), 4096), 1024, 'underflow: the command uses what it needs');
  const done: Plan = { kind: 'done', result: { status: Status.Good } };
  assert.deepEqual(dataOutNeed(done, 512), { result: { status: Status.Good } });
  assert.deepEqual(dataOutNeed(exec(1024, { exactDataOut: true }), 512), {
    result: { status: Status.CheckCondition, sense: { key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCdb } },
    residual: -512,
  });
  assert.equal(dataOutNeed(exec(4096, { truncatable: 512 }), 1500), 1024, 'overflow: whole blocks of EDTL');
  assert.deepEqual(dataOutNeed(exec(4096, { truncatable: 512 }), 100), { result: { status: Status.Good }, residual: 100 - 4096 });
  assert.deepEqual(dataOutNeed(exec(4096), 0), {
    result: { status: Status.CheckCondition, sense: { key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCommandInformationUnit } },
    residual: -4096,
  });
});

test('a data segment in several received pieces is kept as those pieces; the part beyond what the command uses is cut off without a copy', () => {
  const all = bytes(12288, 5);
  const pieces = [all.subarray(0, 1000), all.subarray(1000, 1000), all.subarray(1000, 5000), all.subarray(5000, 8192)];
  // Immediate data in four pieces (one empty), then a Data-Out in three pieces of which the
  // command uses only the first 2048 bytes (overflow cut to whole blocks: need 10240).
  const s = new DataOutSequencer(10240, 12288, pieces, 8192);
  assert.deepEqual(s.segments, [pieces[0], pieces[2], pieces[3]], 'the same views, the empty one dropped');
  const tail = [all.subarray(8192, 9000), all.subarray(9000, 11000), all.subarray(11000, 12288)];
  assert.equal(s.dataOut({ ttt: UNSOLICITED, dataSN: 0, bufferOffset: 8192, segments: tail, dataLength: 4096, final: true }), undefined);
  assert.equal(s.complete, true);
  assert.equal(s.received, 10240);
  const kept = s.segments;
  assert.equal(kept[3], tail[0], 'a whole piece is kept as is');
  assert.equal(kept[4]!.buffer, all.buffer, 'the cut piece is a view into the received bytes');
  assert.equal(kept[4]!.length, 1240);
  assert.equal(kept.length, 5);
  assert.ok(Buffer.concat(kept).equals(all.subarray(0, 10240)));
});
