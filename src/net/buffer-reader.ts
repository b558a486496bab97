// Cursor reader over untrusted bytes. Every read is bounds-checked and a short read throws a
// DecodeError naming the field and the byte offset. No protocol knowledge lives here.
import { DecodeError } from '../errors.js';

export class BufferReader {
  private pos: number;
  readonly buf: Buffer;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) {
      throw new DecodeError('E_DECODE_RANGE', 'buffer', start, `bad window ${start}..${end} of ${buf.length}`);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError('E_DECODE_SHORT', field, this.pos, `needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(field: string): number {
    this.need(3, field);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A view (no copy) of the next n bytes. */
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
  /** Bytes up to (not including) the next NUL; the NUL is consumed. Throws when there is none. */
  cstring(field: string, encoding: BufferEncoding = 'latin1'): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) {
      throw new DecodeError('E_DECODE_NO_NUL', field, this.pos, 'string is not NUL-terminated');
    }
    const s = this.buf.toString(encoding, this.pos, nul);
    this.pos = nul + 1;
    return s;
  }
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}
