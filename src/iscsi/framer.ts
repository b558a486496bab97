// Framing: cut a TCP byte stream into PDUs (RFC 7143 §11.2). Separate from decoding (pdu.ts):
// the framer knows only lengths, padding and digests. Input may arrive split anywhere (even
// inside the 48-byte header) or several PDUs per chunk. The data segment is never copied: it is
// returned as views into the received chunks (`dataParts`, one view per chunk it spans, padding
// and digest cut off), which a write hands to pwritev as they are. Only the header (BHS + AHS +
// header digest, at most 1,072 bytes) and the padding/data digest (at most 7 bytes) are gathered
// into a fresh buffer when they straddle chunks.
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

const EMPTY = Buffer.alloc(0);

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

  /** Remove and return the next n bytes (a view when they lie in one chunk, else a copy). */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return this.takeView(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const v = this.takeView(n - filled);
      v.copy(out, filled);
      filled += v.length;
    }
    return out;
  }

  /** Remove the next n bytes as views into the chunks they lie in (no copy). */
  private takeParts(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const v = this.takeView(left);
      out.push(v);
      left -= v.length;
    }
    return out;
  }

  /** Remove and return up to n (> 0) bytes from the first chunk, as a view. */
  private takeView(n: number): Buffer {
    const c = this.chunks[0]!;
    const k = Math.min(c.length - this.head, n);
    const v = c.subarray(this.head, this.head + k);
    this.head += k;
    if (this.head === c.length) {
      this.chunks.shift();
      this.head = 0;
    }
    this.buffered -= k;
    return v;
  }

  /**
   * The next complete PDU, or null when more bytes are needed. Throws FramingError when the
   * stream is unusable: a header digest mismatch, or a data segment longer than allowed.
   * Nothing is consumed until the whole PDU (with padding and digests) is buffered.
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
    const pad = padLength(dataLen);
    const total = BHS_LENGTH + ahsLen + hd + dataLen + pad + dd;
    if (this.buffered < total) return null;

    const header = this.take(BHS_LENGTH + ahsLen + hd);
    const bhs = header.subarray(0, BHS_LENGTH);
    const ahs = header.subarray(BHS_LENGTH, BHS_LENGTH + ahsLen);
    if (hd) {
      const want = header.readUInt32LE(BHS_LENGTH + ahsLen);
      const got = crc32c(header, 0, 0, BHS_LENGTH + ahsLen);
      if (want !== got) {
        throw new FramingError('E_ISCSI_HDIGEST', 'HeaderDigest', BHS_LENGTH + ahsLen, 'header digest mismatch');
      }
    }
    const dataParts = dataLen > 0 ? this.takeParts(dataLen) : [];
    const tail = this.take(pad + dd); // padding, then the data digest
    let dataDigestError = false;
    if (dd) {
      // §12.1: the data digest covers the data segment and its padding.
      let crc = 0;
      for (const p of dataParts) crc = crc32c(p, crc);
      crc = crc32c(tail, crc, 0, pad);
      dataDigestError = tail.readUInt32LE(pad) !== crc;
    }
    return { bhs, ahs, dataParts, dataLength: dataLen, dataDigestError };
  }
}
