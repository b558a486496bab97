// Data-In segmentation (data-in.ts): PDUs of at most MaxRecvDataSegmentLength, sequences of at
// most MaxBurstLength with the F bit on each sequence's last PDU, DataSN from 0, the status on
// the command's last PDU only. Hand-written splits, then every property checked over a grid of
// lengths and limits, including the ones that do not divide each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataInSplitter } from '../../src/iscsi/data-in.js';

interface Seg {
  offset: number;
  length: number;
  dataSN: number;
  final: boolean;
  last: boolean;
}

function walk(s: DataInSplitter, total: number): Seg[] {
  const out: Seg[] = [];
  s.start(total);
  while (s.next()) out.push({ offset: s.offset, length: s.length, dataSN: s.dataSN, final: s.final, last: s.last });
  return out;
}

test('a read shorter than one segment is one PDU with F and status', () => {
  const s = new DataInSplitter(8192, 262144);
  assert.deepEqual(walk(s, 512), [{ offset: 0, length: 512, dataSN: 0, final: true, last: true }]);
  assert.equal(s.count, 1);
});

test('segments of MaxRecvDataSegmentLength, F at each MaxBurstLength boundary and at the end', () => {
  const s = new DataInSplitter(8192, 16384);
  assert.deepEqual(walk(s, 40000), [
    { offset: 0, length: 8192, dataSN: 0, final: false, last: false },
    { offset: 8192, length: 8192, dataSN: 1, final: true, last: false },
    { offset: 16384, length: 8192, dataSN: 2, final: false, last: false },
    { offset: 24576, length: 8192, dataSN: 3, final: true, last: false },
    { offset: 32768, length: 7232, dataSN: 4, final: true, last: true },
  ]);
  assert.equal(s.count, 5);
});

test('a PDU never straddles a burst boundary when the segment length does not divide the burst', () => {
  const s = new DataInSplitter(3000, 8192);
  assert.deepEqual(walk(s, 10000), [
    { offset: 0, length: 3000, dataSN: 0, final: false, last: false },
    { offset: 3000, length: 3000, dataSN: 1, final: false, last: false },
    { offset: 6000, length: 2192, dataSN: 2, final: true, last: false },
    { offset: 8192, length: 1808, dataSN: 3, final: true, last: true },
  ]);
});

test('nothing to send: no PDU, count 0', () => {
  const s = new DataInSplitter(8192, 16384);
  assert.deepEqual(walk(s, 0), []);
  assert.equal(s.count, 0);
});

test('one splitter serves command after command (its state restarts with start)', () => {
  const s = new DataInSplitter(4096, 8192);
  assert.equal(walk(s, 20000).length, 5);
  assert.deepEqual(walk(s, 100), [{ offset: 0, length: 100, dataSN: 0, final: true, last: true }]);
  assert.equal(s.count, 1);
});

test('every split over a grid: contiguous, bounded, F exactly at burst ends and the end, DataSN in order', () => {
  for (const maxSegment of [512, 1000, 4096, 8192, 65536]) {
    for (const maxBurst of [512, 4096, 5000, 16384, 262144]) {
      const s = new DataInSplitter(maxSegment, maxBurst);
      for (const total of [1, 511, 512, 513, 4095, 4096, 5000, 16384, 16385, 100000, 1 << 20]) {
        const segs = walk(s, total);
        let off = 0;
        segs.forEach((g, i) => {
          const at = `segment ${maxSegment} burst ${maxBurst} total ${total} pdu ${i}`;
          assert.equal(g.offset, off, at);
          assert.equal(g.dataSN, i, at);
          assert.ok(g.length > 0 && g.length <= maxSegment, at);
          const end = g.offset + g.length;
          assert.equal(Math.floor(g.offset / maxBurst), Math.floor((end - 1) / maxBurst), `${at}: inside one burst`);
          assert.equal(g.last, end === total, at);
          assert.equal(g.final, end === total || end % maxBurst === 0, at);
          off = end;
        });
        assert.equal(off, total);
        assert.equal(s.count, segs.length);
      }
    }
  }
});
