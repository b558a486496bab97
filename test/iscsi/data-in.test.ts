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

/** A split written as `offset+length` per PDU, `F` for the F bit, `*` for the last PDU; DataSN counts from 0. */
function brief(s: DataInSplitter, total: number): string {
  return walk(s, total)
    .map((g, i) => {
      assert.equal(g.dataSN, i);
      return `${g.offset}+${g.length}${g.final ? 'F' : ''}${g.last ? '*' : ''}`;
    })
    .join(' ');
}

test('hand-written splits: segments of MaxRecvDataSegmentLength, F at each MaxBurstLength boundary and at the end', () => {
  const cases: Array<[maxSegment: number, maxBurst: number, total: number, want: string]> = [
    // shorter than a segment: one PDU with F and the status
    [8192, 262144, 512, '0+512F*'],
    [8192, 16384, 40000, '0+8192 8192+8192F 16384+8192 24576+8192F 32768+7232F*'],
    // a segment length that does not divide the burst: no PDU straddles a burst boundary
    [3000, 8192, 10000, '0+3000 3000+3000 6000+2192F 8192+1808F*'],
    // bursts shorter than a segment
    [8192, 4096, 10000, '0+4096F 4096+4096F 8192+1808F*'],
  ];
  for (const [maxSegment, maxBurst, total, want] of cases) {
    const s = new DataInSplitter(maxSegment, maxBurst);
    assert.equal(brief(s, total), want, `segment ${maxSegment} burst ${maxBurst} total ${total}`);
    assert.equal(s.count, want.split(' ').length);
  }
});

test('nothing to send: no PDU, count 0', () => {
  const s = new DataInSplitter(8192, 16384);
  assert.deepEqual(walk(s, 0), []);
  assert.equal(s.count, 0);
});

test('one splitter serves command after command (its state restarts with start)', () => {
  const s = new DataInSplitter(4096, 8192);
  assert.equal(walk(s, 20000).length, 5);
  assert.equal(brief(s, 100), '0+100F*');
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
