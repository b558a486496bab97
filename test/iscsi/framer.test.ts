// Framer: PDUs cut out of a byte stream that arrives in arbitrary pieces (byte by byte, across
// the header, several PDUs per chunk), with AHS, padding, header and data digests, and the two
// fatal conditions (header digest mismatch, data segment over MaxRecvDataSegmentLength).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PduFramer, FramingError, type FramedPdu } from '../../src/iscsi/framer.js';
import { crc32c } from '../../src/iscsi/crc32c.js';

/** A PDU on the wire built by hand: BHS with TotalAHSLength/DataSegmentLength, AHS, digests. */
function wirePdu(o: { op: number; ahs?: Buffer; data?: Buffer; hd?: boolean; dd?: boolean; badData?: boolean }): Buffer {
  const ahs = o.ahs ?? Buffer.alloc(0);
  const data = o.data ?? Buffer.alloc(0);
  const b = Buffer.alloc(48);
  b[0] = o.op;
  b[4] = ahs.length / 4;
  b[5] = (data.length >> 16) & 0xff;
  b[6] = (data.length >> 8) & 0xff;
  b[7] = data.length & 0xff;
  b.writeUInt32BE(0x1000 + o.op, 16);
  const parts = [b, ahs];
  if (o.hd) {
    const d = Buffer.alloc(4);
    d.writeUInt32LE(crc32c(Buffer.concat([b, ahs])));
    parts.push(d);
  }
  if (data.length) {
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    parts.push(data, pad);
    if (o.dd) {
      const d = Buffer.alloc(4);
      d.writeUInt32LE((crc32c(Buffer.concat([data, pad])) ^ (o.badData ? 1 : 0)) >>> 0);
      parts.push(d);
    }
  }
  return Buffer.concat(parts);
}

function drain(f: PduFramer): FramedPdu[] {
  const out: FramedPdu[] = [];
  for (let p = f.next(); p; p = f.next()) out.push(p);
  return out;
}

const limits = { headerDigest: false, dataDigest: false, maxDataSegmentLength: 8192 };

test('byte-by-byte feeding yields each PDU exactly when its last byte arrives', () => {
  const a = wirePdu({ op: 0x01, data: Buffer.from('hello') }); // padded to 8
  const b = wirePdu({ op: 0x00 });
  const c = wirePdu({ op: 0x05, ahs: Buffer.from('0001ff00', 'hex'), data: Buffer.alloc(13, 7) });
  const stream = Buffer.concat([a, b, c]);
  const f = new PduFramer(limits);
  const got: Array<{ at: number; p: FramedPdu }> = [];
  for (let i = 0; i < stream.length; i++) {
    f.push(stream.subarray(i, i + 1));
    for (const p of drain(f)) got.push({ at: i + 1, p });
  }
  assert.deepEqual(
    got.map((g) => g.at),
    [a.length, a.length + b.length, stream.length],
  );
  assert.equal(got[0]!.p.data.toString(), 'hello');
  assert.equal(got[1]!.p.data.length, 0);
  assert.equal(got[2]!.p.ahs.toString('hex'), '0001ff00');
  assert.deepEqual([...got[2]!.p.data], Array(13).fill(7));
  assert.equal(got[2]!.p.bhs.readUInt32BE(16), 0x1005);
  assert.equal(f.bufferedBytes, 0);
});

test('every split point of a three-PDU stream (with both digests) frames the same PDUs', () => {
  const dl = { headerDigest: true, dataDigest: true, maxDataSegmentLength: 8192 };
  const stream = Buffer.concat([
    wirePdu({ op: 0x01, data: Buffer.from('abc'), hd: true, dd: true }),
    wirePdu({ op: 0x06, hd: true, dd: true }), // no data: no data digest
    wirePdu({ op: 0x04, ahs: Buffer.alloc(8, 1), data: Buffer.alloc(100, 9), hd: true, dd: true }),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const cut2 of [cut, Math.min(stream.length, cut + 7)]) {
      const f = new PduFramer(dl);
      f.push(stream.subarray(0, cut));
      const ps = drain(f);
      f.push(stream.subarray(cut, cut2));
      ps.push(...drain(f));
      f.push(stream.subarray(cut2));
      ps.push(...drain(f));
      assert.deepEqual(
        ps.map((p) => p.bhs[0]),
        [0x01, 0x06, 0x04],
        `cut ${cut}/${cut2}`,
      );
      assert.equal(ps[0]!.data.toString(), 'abc');
      assert.equal(ps[2]!.ahs.length, 8);
      assert.ok(ps.every((p) => !p.dataDigestError));
    }
  }
});

test('a bad data digest is reported on the PDU (not fatal); a bad header digest is fatal', () => {
  const f = new PduFramer({ headerDigest: true, dataDigest: true, maxDataSegmentLength: 8192 });
  f.push(wirePdu({ op: 0x05, data: Buffer.alloc(16), hd: true, dd: true, badData: true }));
  const p = f.next();
  assert.ok(p);
  assert.equal(p.dataDigestError, true);
  const bad = wirePdu({ op: 0x05, hd: true });
  bad[bad.length - 1]! ^= 0xff;
  f.push(bad);
  assert.throws(
    () => f.next(),
    (e: unknown) => e instanceof FramingError && e.code === 'E_ISCSI_HDIGEST' && /HeaderDigest/.test(e.message),
  );
});

test('a data segment over MaxRecvDataSegmentLength is fatal as soon as the BHS is in, naming offset 5', () => {
  const f = new PduFramer(limits);
  const big = wirePdu({ op: 0x05, data: Buffer.alloc(8196) });
  f.push(big.subarray(0, 47));
  assert.equal(f.next(), null);
  f.push(big.subarray(47, 48));
  assert.throws(
    () => f.next(),
    (e: unknown) => e instanceof FramingError && e.code === 'E_ISCSI_DSL' && /DataSegmentLength/.test(e.message) && /5/.test(e.message),
  );
  // Exactly the limit is fine.
  const g = new PduFramer(limits);
  g.push(wirePdu({ op: 0x05, data: Buffer.alloc(8192) }));
  assert.equal(g.next()?.data.length, 8192);
});

test('setLimits between two next() calls switches digests for the following PDU only (§13.13)', () => {
  const f = new PduFramer(limits);
  f.push(Buffer.concat([wirePdu({ op: 0x03, data: Buffer.from('k=v\0') }), wirePdu({ op: 0x01, data: Buffer.from('xy'), hd: true, dd: true })]));
  assert.equal(f.next()?.bhs[0], 0x03);
  f.setLimits({ headerDigest: true, dataDigest: true });
  const p = f.next();
  assert.equal(p?.bhs[0], 0x01);
  assert.equal(p?.data.toString(), 'xy');
  assert.equal(p?.dataDigestError, false);
  assert.equal(f.next(), null);
});
