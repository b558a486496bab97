// Framing: cut a TCP byte stream into PDUs (RFC 7143 §11.2). Separate from decoding (pdu.ts):
// the framer knows only lengths, padding and digests. Input may arrive split anywhere (even
// inside the 48-byte header) or several PDUs per chunk. A PDU that lies inside one received
// chunk is returned as views into that chunk (no copy); only PDUs that straddle chunks are
// gathered into a fresh buffer.
//
// Pull model: push() bytes, then call next() until it returns null. The connection changes
// limits (digests, MaxRecvDataSegmentLength) between two next() calls, which is exactly where
// the login phase ends (§13.13: digests start with the first PDU after the final Login Response).
import { DecodeError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { BHS_LENGTH, padLength, type RawPdu } from './pdu.js';

export interface FramerLimits {
  headerDigest: boolean;
  dataDigest: boolean;
  /** Our MaxRecvDataSegmentLength: a longer data segment is a fatal protocol error. */
  maxDataSegmentLength: number;
}

export interface FramedPdu extends RawPdu {
  /** True when a data digest was negotiated and did not match: the data must not be used. */
  dataDigestError: boolean;
}

/** Thrown for errors after which the byte stream cannot be trusted (the connection must drop). */
export class FramingError extends DecodeError {}

export class PduFramer {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private buffered = 0;
  private limits: FramerLimits;

  constructor(limits: FramerLimits) {
    this.limits = { ...limits };
  }

  setLimits(limits: Partial<FramerLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }
  getLimits(): Readonly<FramerLimits> {
    return this.limits;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Byte at logical offset i of the buffered stream (i < buffered). */
  private byteAt(i: number): number {
    let off = this.head + i;
    for (const c of this.chunks) {
      if (off < c.length) return c[off]!;
      off -= c.length;
    }
    throw new Error('framer: byteAt beyond buffer');
  }

  /** Remove and return the next n bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const v = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      this.buffered -= n;
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, n - filled);
      c.copy(out, filled, this.head, this.head + k);
      filled += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    return out;
  }

  /**
   * The next complete PDU, or null when more bytes are needed. Throws FramingError when the
   * stream is unusable: a header digest mismatch, or a data segment longer than allowed.
   */
  next(): FramedPdu | null {
    if (this.buffered < BHS_LENGTH) return null;
    const ahsLen = this.byteAt(4) * 4;
    const dataLen = (this.byteAt(5) << 16) | (this.byteAt(6) << 8) | this.byteAt(7);
    if (dataLen > this.limits.maxDataSegmentLength) {
      throw new FramingError('E_ISCSI_DSL', 'DataSegmentLength', 5, `${dataLen} exceeds MaxRecvDataSegmentLength ${this.limits.maxDataSegmentLength}`);
    }
    const hd = this.limits.headerDigest ? 4 : 0;
    const dd = this.limits.dataDigest && dataLen > 0 ? 4 : 0;
    const padded = dataLen + padLength(dataLen);
    const total = BHS_LENGTH + ahsLen + hd + padded + dd;
    if (this.buffered < total) return null;

    const whole = this.take(total);
    const bhs = whole.subarray(0, BHS_LENGTH);
    const ahs = whole.subarray(BHS_LENGTH, BHS_LENGTH + ahsLen);
    if (hd) {
      const want = whole.readUInt32LE(BHS_LENGTH + ahsLen);
      const got = crc32c(whole, 0, 0, BHS_LENGTH + ahsLen);
      if (want !== got) {
        throw new FramingError('E_ISCSI_HDIGEST', 'HeaderDigest', BHS_LENGTH + ahsLen, 'header digest mismatch');
      }
    }
    const dataStart = BHS_LENGTH + ahsLen + hd;
    const data = whole.subarray(dataStart, dataStart + dataLen);
    let dataDigestError = false;
    if (dd) {
      const want = whole.readUInt32LE(dataStart + padded);
      const got = crc32c(whole, 0, dataStart, dataStart + padded);
      dataDigestError = want !== got;
    }
    return { bhs, ahs, data, dataDigestError };
  }
}
