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

/** The data segment of a framed PDU in one buffer (the framer hands it out as views). */
function dataOf(p: FramedPdu): Buffer {
  const d = Buffer.concat(p.dataParts as Buffer[]);
  assert.equal(d.length, p.dataLength, 'dataLength is the sum of dataParts');
  return d;
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
  assert.equal(dataOf(got[0]!.p).toString(), 'hello');
  assert.equal(got[1]!.p.dataLength, 0);
  assert.equal(got[1]!.p.dataParts.length, 0);
  assert.equal(got[2]!.p.ahs.toString('hex'), '0001ff00');
  assert.deepEqual([...dataOf(got[2]!.p)], Array(13).fill(7));
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
      assert.equal(dataOf(ps[0]!).toString(), 'abc');
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
  assert.equal(g.next()?.dataLength, 8192);
});

test('setLimits between two next() calls switches digests for the following PDU only (§13.13)', () => {
  const f = new PduFramer(limits);
  f.push(Buffer.concat([wirePdu({ op: 0x03, data: Buffer.from('k=v\0') }), wirePdu({ op: 0x01, data: Buffer.from('xy'), hd: true, dd: true })]));
  assert.equal(f.next()?.bhs[0], 0x03);
  f.setLimits({ headerDigest: true, dataDigest: true });
  const p = f.next();
  assert.equal(p?.bhs[0], 0x01);
  assert.equal(p && dataOf(p).toString(), 'xy');
  assert.equal(p?.dataDigestError, false);
  assert.equal(f.next(), null);
});

/** Where each byte of `whole` lands when it is cut at `cuts` (chunk index, offset in it). */
function chunked(whole: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, whole.length]) {
    // A fresh buffer per chunk, as a socket delivers them.
    out.push(Buffer.from(whole.subarray(at, c)));
    at = c;
  }
  return out;
}

test('a data segment spanning several chunks is handed out as views into those chunks, not copied', () => {
  const data = Buffer.alloc(131072 + 3); // 3 bytes of padding follow
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  for (const digests of [false, true]) {
    const wire = wirePdu({ op: 0x05, data, hd: digests, dd: digests });
    const hdr = 48 + (digests ? 4 : 0);
    // Chunks of 64 KiB as a socket reads them, then cuts inside the padding and the digest.
    const cuts = [30, hdr + 65536 - 30, hdr + 2 * 65536, hdr + data.length + 1, ...(digests ? [wire.length - 2] : [])];
    const chunks = chunked(wire, cuts);
    const f = new PduFramer({ headerDigest: digests, dataDigest: digests, maxDataSegmentLength: 262144 });
    for (const c of chunks) f.push(c);
    const p = f.next();
    assert.ok(p);
    assert.equal(p.dataDigestError, false);
    assert.equal(p.dataLength, data.length);
    assert.ok(dataOf(p).equals(data));
    // Every piece is a view into one of the chunks pushed (same memory), none a fresh copy.
    assert.ok(p.dataParts.length >= 3);
    for (const part of p.dataParts) {
      assert.ok(
        chunks.some((c) => c.buffer === part.buffer && part.byteOffset >= c.byteOffset && part.byteOffset + part.length <= c.byteOffset + c.length),
        'a part lies inside a received chunk',
      );
    }
    assert.equal(f.next(), null);
    assert.equal(f.bufferedBytes, 0);
  }
});

test('a split PDU with a wrong data digest, a flipped data byte or a flipped pad byte is reported; nothing is consumed early', () => {
  const data = Buffer.alloc(70001, 0x5a); // 3 bytes of padding
  const good = wirePdu({ op: 0x05, data, hd: true, dd: true });
  const dataStart = 52;
  const variants: Array<[string, Buffer]> = [
    ['digest', wirePdu({ op: 0x05, data, hd: true, dd: true, badData: true })],
    ['data byte in the second chunk', Buffer.from(good)],
    ['pad byte', Buffer.from(good)],
  ];
  variants[1]![1][dataStart + 65536 + 5]! ^= 1;
  variants[2]![1][dataStart + data.length + 1]! ^= 1; // the digest covers the padding (§12.1)
  for (const [what, wire] of variants) {
    const f = new PduFramer({ headerDigest: true, dataDigest: true, maxDataSegmentLength: 262144 });
    const chunks = chunked(wire, [100, 65536, wire.length - 1]);
    for (const c of chunks.slice(0, -1)) f.push(c);
    // One byte (of the digest) missing: no PDU yet, and every byte is still buffered.
    assert.equal(f.next(), null, what);
    assert.equal(f.bufferedBytes, wire.length - 1, what);
    f.push(chunks.at(-1)!);
    const p = f.next();
    assert.equal(p?.dataDigestError, true, what);
  }
});

test('malformed split headers: a data length over the limit is fatal before its data arrives; a bad header digest split across chunks is fatal', () => {
  const f = new PduFramer({ headerDigest: false, dataDigest: false, maxDataSegmentLength: 65536 });
  const big = wirePdu({ op: 0x05, data: Buffer.alloc(65537) });
  f.push(big.subarray(0, 5));
  assert.equal(f.next(), null);
  f.push(big.subarray(5, 48)); // the length bytes arrive in a second chunk
  assert.throws(
    () => f.next(),
    (e: unknown) => e instanceof FramingError && e.code === 'E_ISCSI_DSL',
  );

  const wire = wirePdu({ op: 0x05, data: Buffer.alloc(4096, 1), hd: true });
  wire[49]! ^= 0x40; // inside the header digest
  const g = new PduFramer({ headerDigest: true, dataDigest: false, maxDataSegmentLength: 65536 });
  for (const c of chunked(wire, [20, 50, 1000])) g.push(c);
  assert.throws(
    () => g.next(),
    (e: unknown) => e instanceof FramingError && e.code === 'E_ISCSI_HDIGEST',
  );
});

test('several PDUs whose data segments straddle chunk boundaries at every offset frame the same bytes', () => {
  const datas = [Buffer.alloc(1, 1), Buffer.alloc(4, 2), Buffer.alloc(4097, 3), Buffer.alloc(0), Buffer.alloc(7, 4)];
  const stream = Buffer.concat(datas.map((d) => wirePdu({ op: 0x05, data: d, hd: true, dd: true })));
  for (let step = 1; step <= 97; step += 8) {
    const f = new PduFramer({ headerDigest: true, dataDigest: true, maxDataSegmentLength: 8192 });
    const got: FramedPdu[] = [];
    for (let at = 0; at < stream.length; at += step) {
      f.push(Buffer.from(stream.subarray(at, at + step)));
      got.push(...drain(f));
    }
    assert.equal(got.length, datas.length, `step ${step}`);
    got.forEach((p, i) => {
      assert.ok(dataOf(p).equals(datas[i]!), `step ${step} pdu ${i}`);
      assert.equal(p.dataDigestError, false);
    });
  }
});
