// CRC32C against the known vectors of RFC 3720 appendix B.4 (the digest bytes as they travel,
// least-significant byte first) and the classic "123456789" check value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cOf } from '../../src/iscsi/crc32c.js';
import { digestBytes } from '../../src/iscsi/pdu.js';

const wire = (b: Buffer): string => digestBytes(crc32c(b)).toString('hex');

test('RFC 3720 B.4: 32 bytes of zeros → aa 36 91 8a', () => {
  assert.equal(wire(Buffer.alloc(32)), 'aa36918a');
});
test('RFC 3720 B.4: 32 bytes of 0xff → 43 ab a8 62', () => {
  assert.equal(wire(Buffer.alloc(32, 0xff)), '43aba862');
});
test('RFC 3720 B.4: 32 incrementing bytes → 4e 79 dd 46', () => {
  assert.equal(wire(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), '4e79dd46');
});
test('RFC 3720 B.4: 32 decrementing bytes → 5c db 3f 11', () => {
  assert.equal(wire(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), '5cdb3f11');
});
test('RFC 3720 B.4: an iSCSI READ command PDU → 56 3a 96 d9', () => {
  const pdu = Buffer.from('01c00000000000000000000000000000' + '14000000000004000000001400000018' + '28000000000000000200000000000000', 'hex');
  assert.equal(pdu.length, 48);
  assert.equal(wire(pdu), '563a96d9');
});
test('check value of "123456789" is 0xe3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});
test('ranges and continuation equal one pass over the whole (every split point, slicing-by-8 tail)', () => {
  const b = Buffer.from(Array.from({ length: 77 }, (_, i) => (i * 37 + 11) & 0xff));
  const whole = crc32c(b);
  for (let cut = 0; cut <= b.length; cut++) {
    assert.equal(crc32c(b, crc32c(b, 0, 0, cut), cut, b.length), whole, `cut ${cut}`);
    assert.equal(crc32cOf([b.subarray(0, cut), b.subarray(cut)]), whole, `cut ${cut}`);
  }
  assert.equal(crc32c(b, 0, 5, 5), 0);
});
