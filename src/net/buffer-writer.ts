// Growable big-endian writer for building packets. Values out of range throw (RangeError from
// Buffer), so an encoder bug can never emit a silently truncated field.

export class BufferWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 512) {
    this.buf = Buffer.alloc(initial);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntBE(v, this.pos, 3);
    this.pos += 3;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  cstring(s: string, encoding: BufferEncoding = 'latin1'): this {
    const b = Buffer.from(s, encoding);
    return this.bytes(b).u8(0);
  }
  /** Overwrite a u32 already written at `at` (for length fields known only at the end). */
  patchU32(at: number, v: number): this {
    if (at < 0 || at + 4 > this.pos) throw new RangeError(`patchU32 at ${at} outside written ${this.pos}`);
    this.buf.writeUInt32BE(v, at);
    return this;
  }
  /** A copy of what was written. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
