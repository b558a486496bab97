// Golden packets: the hex below is written by hand from RFC 1350/2347 layouts (and a capture of
// EDK2's RRQ), independently of the encoder under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTftp, encodeTftp, negotiate, type TftpPacket } from '../../src/tftp/index.js';
import { DecodeError } from '../../src/errors.js';
import { EDK2_RRQ } from '../fixtures/tftp/edk2-rrq.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

// iPXE: RRQ "undionly.kpxe" octet tsize 0 blksize 1432 (upper-case option name to test case folding)
const IPXE_RRQ = hex('0001 756e64696f6e6c792e6b70786500 6f6374657400 5453495a4500 3000 626c6b73697a6500 3134333200');
const WRQ = hex('0002 6600 4f4354455400');
const DATA = hex('0003 ffff 01020304');
const ACK = hex('0004 0102');
const ERROR = hex('0005 0001' + ascii('file not found') + '00');
const OACK = hex('0006' + ascii('blksize') + '00' + ascii('1432') + '00' + ascii('tsize') + '00' + ascii('12345') + '00');

test('decodes golden RRQs (EDK2 and iPXE): filename, mode, options in order, names case-folded', () => {
  const e = decodeTftp(EDK2_RRQ);
  assert.equal(e.op, 'RRQ');
  if (e.op !== 'RRQ') return;
  assert.equal(e.filename, 'ipxe.efi');
  assert.equal(e.mode, 'octet');
  assert.deepEqual(
    [...e.options],
    [
      ['blksize', '1468'],
      ['tsize', '0'],
      ['windowsize', '4'],
    ],
  );
  const i = decodeTftp(IPXE_RRQ);
  assert.equal(i.op, 'RRQ');
  if (i.op !== 'RRQ') return;
  assert.equal(i.filename, 'undionly.kpxe');
  assert.deepEqual(
    [...i.options],
    [
      ['tsize', '0'],
      ['blksize', '1432'],
    ],
  );
});

test('decodes golden WRQ, DATA, ACK, ERROR, OACK', () => {
  assert.deepEqual(decodeTftp(WRQ), { op: 'WRQ', filename: 'f', mode: 'octet', options: new Map() });
  const d = decodeTftp(DATA);
  assert.equal(d.op, 'DATA');
  if (d.op === 'DATA') {
    assert.equal(d.block, 65535);
    assert.equal(d.data.toString('hex'), '01020304');
  }
  assert.deepEqual(decodeTftp(ACK), { op: 'ACK', block: 0x0102 });
  assert.deepEqual(decodeTftp(ERROR), { op: 'ERROR', code: 1, message: 'file not found' });
  assert.deepEqual(decodeTftp(OACK), {
    op: 'OACK',
    options: new Map([
      ['blksize', '1432'],
      ['tsize', '12345'],
    ]),
  });
});

test('encodes to the golden bytes', () => {
  const cases: [TftpPacket, Buffer][] = [
    [
      {
        op: 'RRQ',
        filename: 'ipxe.efi',
        mode: 'octet',
        options: new Map([
          ['blksize', '1468'],
          ['tsize', '0'],
          ['windowsize', '4'],
        ]),
      },
      EDK2_RRQ,
    ],
    [{ op: 'DATA', block: 65535, data: hex('01020304') }, DATA],
    [{ op: 'DATA', block: 65536, data: hex('01020304') }, hex('0003 0000 01020304')],
    [{ op: 'ACK', block: 0x0102 }, ACK],
    [{ op: 'ERROR', code: 1, message: 'file not found' }, ERROR],
    [
      {
        op: 'OACK',
        options: new Map([
          ['blksize', '1432'],
          ['tsize', '12345'],
        ]),
      },
      OACK,
    ],
  ];
  for (const [p, want] of cases) assert.equal(encodeTftp(p).toString('hex'), want.toString('hex'), p.op);
});

test('malformed packets: DecodeError naming field and offset', () => {
  const bad: [string, Buffer, string, number][] = [
    ['empty', hex(''), 'opcode', 0],
    ['one byte', hex('00'), 'opcode', 0],
    ['unknown opcode', hex('0009'), 'opcode', 0],
    ['RRQ without NULs', hex('0001' + ascii('file') + ascii('octet')), 'filename', 2],
    ['RRQ without mode', hex('0001' + ascii('file') + '00'), 'mode', 7],
    ['unknown mode', hex('0001' + ascii('file') + '00' + ascii('binary') + '00'), 'mode', 7],
    ['unterminated option', hex('0001 6600' + ascii('octet') + '00' + ascii('blksize')), 'option name', 10],
    ['option without value', hex('0001 6600' + ascii('octet') + '00' + ascii('blksize') + '00' + ascii('512')), 'option "blksize" value', 18],
    ['short ACK', hex('0004 01'), 'block', 2],
    ['short DATA', hex('0003'), 'block', 2],
    ['oversized DATA', Buffer.concat([hex('0003 0001'), Buffer.alloc(65465)]), 'data', 4],
  ];
  for (const [name, buf, field, offset] of bad) {
    assert.throws(
      () => decodeTftp(buf),
      (e: unknown) => {
        assert.ok(e instanceof DecodeError, name);
        assert.equal(e.field, field, name);
        assert.equal(e.offset, offset, name);
        return true;
      },
      name,
    );
  }
});

test('tolerated input: NUL padding after the options, mode in capitals, ERROR without its NUL', () => {
  const p = decodeTftp(hex('0001 6600 4f6354657400 0000 0000'));
  assert.deepEqual(p, { op: 'RRQ', filename: 'f', mode: 'octet', options: new Map() });
  assert.deepEqual(decodeTftp(hex('0005 0002 6e6f')), { op: 'ERROR', code: 2, message: 'no' });
});

test('negotiation: blksize 8..65464, tsize answered, timeout 1..255, windowsize 1..65535 (0 and 70000 ignored)', () => {
  const lim = { maxBlksize: 65464, maxWindowsize: 64, defaultTimeoutMs: 1000 };
  const n = negotiate(
    new Map([
      ['blksize', '1432'],
      ['tsize', '0'],
      ['timeout', '3'],
      ['windowsize', '16'],
      ['multicast', ''],
    ]),
    5000,
    lim,
  );
  assert.deepEqual({ b: n.blksize, w: n.windowsize, t: n.timeoutMs }, { b: 1432, w: 16, t: 3000 });
  assert.deepEqual(
    [...n.oack],
    [
      ['blksize', '1432'],
      ['tsize', '5000'],
      ['timeout', '3'],
      ['windowsize', '16'],
    ],
  );
  for (const w of ['0', '70000', '-1', 'x', '']) {
    const m = negotiate(new Map([['windowsize', w]]), 1, lim);
    assert.equal(m.windowsize, 1, w);
    assert.equal(m.oack.size, 0, `windowsize ${w} not acknowledged`);
  }
  assert.equal(negotiate(new Map([['windowsize', '65535']]), 1, lim).oack.get('windowsize'), '64', 'server answers its smaller maximum');
  assert.equal(negotiate(new Map([['blksize', '7']]), 1, lim).oack.size, 0);
  assert.equal(negotiate(new Map([['tsize', '0']]), 0, lim).oack.size, 0, 'an empty file: tsize left out (curl refuses tsize 0)');
  assert.equal(negotiate(new Map([['blksize', '70000']]), 1, lim).blksize, 65464);
  assert.equal(negotiate(new Map([['blksize', '1468']]), 1, { ...lim, maxBlksize: 1432 }).oack.get('blksize'), '1432');
  assert.equal(negotiate(new Map([['timeout', '0']]), 1, lim).oack.size, 0);
  assert.equal(negotiate(new Map([['timeout', '256']]), 1, lim).timeoutMs, 1000);
});

// Each option's bounds exactly (RFC 2348 / 2349 / 7440), the number syntax (1..10 decimal digits,
// nothing around them) and the window cap's edges. Found by mutation testing (docs/mutation.md).
test('negotiation boundaries: each option at its min and max, number syntax, maxTimeoutS, no narrowing unless asked', () => {
  const lim = { maxBlksize: 65464, maxWindowsize: 65535, defaultTimeoutMs: 1000 };
  const one = (name: string, value: string, extra: Partial<typeof lim> & { maxTimeoutS?: number } = {}, size = 100) => {
    const n = negotiate(new Map([[name, value]]), size, { ...lim, ...extra });
    return { b: n.blksize, w: n.windowsize, t: n.timeoutMs, oack: Object.fromEntries(n.oack), narrowed: n.narrowed };
  };
  const plain = { b: 512, w: 1, t: 1000, oack: {}, narrowed: false };
  assert.deepEqual(one('blksize', '8'), { ...plain, b: 8, oack: { blksize: '8' } }, 'blksize 8 is the minimum');
  assert.deepEqual(one('blksize', '65464'), { ...plain, b: 65464, oack: { blksize: '65464' } });
  assert.deepEqual(one('timeout', '1'), { ...plain, t: 1000, oack: { timeout: '1' } }, 'timeout 1 is the minimum');
  assert.deepEqual(one('timeout', '255'), { ...plain, t: 255_000, oack: { timeout: '255' } }, 'timeout 255 is the maximum');
  assert.deepEqual(one('timeout', '5', { maxTimeoutS: 5 }), { ...plain, t: 5000, oack: { timeout: '5' } }, 'maxTimeoutS itself is accepted');
  assert.deepEqual(one('timeout', '6', { maxTimeoutS: 5 }), plain, 'above maxTimeoutS: ignored, the default stays');
  assert.deepEqual(one('timeout', '255', { maxTimeoutS: 300 }), { ...plain, t: 255_000, oack: { timeout: '255' } });
  assert.deepEqual(one('timeout', '256', { maxTimeoutS: 300 }), plain, 'maxTimeoutS never lifts the RFC maximum');
  assert.deepEqual(one('windowsize', '1'), { ...plain, oack: { windowsize: '1' } }, 'windowsize 1 is the minimum');
  assert.deepEqual(one('windowsize', '65535'), { ...plain, w: 65535, oack: { windowsize: '65535' } });
  assert.deepEqual(one('tsize', '0', {}, 1), { ...plain, oack: { tsize: '1' } }, 'a one-byte file: tsize 1');
  // numbers: 1..10 ASCII digits, anchored at both ends
  assert.deepEqual(one('windowsize', '0000000016'), { ...plain, w: 16, oack: { windowsize: '16' } }, 'ten digits');
  for (const bad of ['00000000016', '16x', 'x16', ' 16', '1e3', '0x10']) {
    assert.deepEqual(one('windowsize', bad), plain, `windowsize ${JSON.stringify(bad)}`);
    assert.deepEqual(one('blksize', bad), plain, `blksize ${JSON.stringify(bad)}`);
    assert.deepEqual(one('timeout', bad), plain, `timeout ${JSON.stringify(bad)}`);
    assert.deepEqual(one('tsize', bad), plain, `tsize ${JSON.stringify(bad)}`);
  }
});

test('negotiation under a window cap: exact edges (product equal to the cap, fractional caps, a small blksize alone)', () => {
  const lim = { maxBlksize: 65464, maxWindowsize: 64, defaultTimeoutMs: 1000 };
  const ask = (o: [string, string][], cap: number | undefined) => {
    const n = negotiate(new Map(o), 1 << 30, cap === undefined ? lim : { ...lim, maxWindowBytes: cap });
    return { b: n.blksize, w: n.windowsize, oack: Object.fromEntries(n.oack), narrowed: n.narrowed };
  };
  const big: [string, string][] = [
    ['blksize', '65464'],
    ['windowsize', '64'],
  ];
  assert.deepEqual(ask(big, undefined), { b: 65464, w: 64, oack: { blksize: '65464', windowsize: '64' }, narrowed: false }, 'no cap');
  // blksize × windowsize equal to the cap fits
  assert.deepEqual(
    ask(
      [
        ['blksize', '1024'],
        ['windowsize', '4'],
      ],
      4096,
    ),
    { b: 1024, w: 4, oack: { blksize: '1024', windowsize: '4' }, narrowed: false },
  );
  // one byte less: the windowsize shrinks to what fits (floor), the blksize stays
  assert.deepEqual(
    ask(
      [
        ['blksize', '1024'],
        ['windowsize', '4'],
      ],
      4095,
    ),
    { b: 1024, w: 3, oack: { blksize: '1024', windowsize: '3' }, narrowed: true },
  );
  assert.deepEqual(ask(big, 262_143.5), { b: 65464, w: 4, oack: { blksize: '65464', windowsize: '4' }, narrowed: true });
  // a blksize alone above the cap: cut to the (whole) cap; no windowsize is added to the OACK
  assert.deepEqual(ask([['blksize', '65464']], 4096.5), { b: 4096, w: 1, oack: { blksize: '4096' }, narrowed: true });
  // a blksize below 512 above the cap stays (never raised, never cut below what was asked)
  assert.deepEqual(ask([['blksize', '16']], 10), { b: 16, w: 1, oack: { blksize: '16' }, narrowed: false });
  // … also with windowsize 1 asked: nothing fits better, nothing is narrowed
  assert.deepEqual(
    ask(
      [
        ['blksize', '16'],
        ['windowsize', '1'],
      ],
      10,
    ),
    { b: 16, w: 1, oack: { blksize: '16', windowsize: '1' }, narrowed: false },
  );
  // above 512 it is cut to 512, not below
  assert.deepEqual(ask([['blksize', '1468']], 100), { b: 512, w: 1, oack: { blksize: '512' }, narrowed: true });
  // windowsize alone over the cap with the default 512 blocks
  assert.deepEqual(ask([['windowsize', '64']], 2048), { b: 512, w: 4, oack: { windowsize: '4' }, narrowed: true });
});

// RFC 2347 does not say which of two equal options counts; netroot takes the first, case-folded,
// so a request cannot smuggle a second value past whatever looked at the first.
test('duplicate and conflicting options: the first occurrence wins, names compared case-insensitively', () => {
  const rrq = (...pairs: string[]) => hex('0001 6600' + ascii('octet') + '00' + pairs.map((s) => ascii(s) + '00').join(''));
  const dup = decodeTftp(rrq('blksize', '512', 'blksize', '1468'));
  assert.equal(dup.op, 'RRQ');
  if (dup.op !== 'RRQ') return;
  assert.deepEqual([...dup.options], [['blksize', '512']]);
  const cased = decodeTftp(rrq('BlkSize', '1432', 'tsize', '0', 'BLKSIZE', '8', 'blksize', '65464'));
  if (cased.op !== 'RRQ') return assert.fail('not an RRQ');
  assert.deepEqual(
    [...cased.options],
    [
      ['blksize', '1432'],
      ['tsize', '0'],
    ],
  );
  // conflicting windowsize values: the first (valid) one is negotiated, the later invalid one ignored
  const w = decodeTftp(rrq('windowsize', '8', 'windowsize', '0'));
  if (w.op !== 'RRQ') return assert.fail('not an RRQ');
  assert.equal(w.options.get('windowsize'), '8');
  const lim = { maxBlksize: 65464, maxWindowsize: 64, defaultTimeoutMs: 1000 };
  assert.equal(negotiate(w.options, 1, lim).windowsize, 8);
  // an invalid first value is not rescued by a valid later one
  const first = decodeTftp(rrq('blksize', '7', 'blksize', '1432'));
  if (first.op !== 'RRQ') return assert.fail('not an RRQ');
  assert.equal(negotiate(first.options, 1, lim).oack.size, 0);
  // OACK uses the same rule
  assert.deepEqual(decodeTftp(hex('0006' + ascii('tsize') + '00' + ascii('1') + '00' + ascii('TSIZE') + '00' + ascii('2') + '00')), {
    op: 'OACK',
    options: new Map([['tsize', '1']]),
  });
  // a duplicate without its value is still malformed, not silently dropped
  assert.throws(() => decodeTftp(rrq('blksize', '512').subarray(0, -1)), DecodeError);
  assert.throws(() => decodeTftp(Buffer.concat([rrq('blksize', '512'), Buffer.from(ascii('blksize'), 'hex')])), DecodeError);
});

// Edges found by mutation testing (docs/mutation.md): each error's field and message, the largest
// DATA block both ways, an empty ERROR message, WRQ encoding, NULs refused by the encoder.
test('codec edges: error fields and messages, DATA of 65464 vs 65465 bytes, empty ERROR text, WRQ, latin1, NULs refused', () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (e instanceof DecodeError) return { code: e.code, field: e.field, message: e.message };
      throw e;
    }
    return assert.fail('no DecodeError');
  };
  const name40 = 'n'.repeat(40);
  // an option value without its NUL names the option (its first 32 characters)
  assert.equal(err(() => decodeTftp(hex('0001 6600 6f6374657400' + ascii(name40) + '00 31'))).field, `option "${'n'.repeat(32)}" value`);
  // an empty option name is refused, not stored
  assert.deepEqual(
    err(() => decodeTftp(hex('0001 6600 6f6374657400 00 3100'))),
    {
      code: 'E_TFTP_OPTION',
      field: 'option name',
      message: 'option name at byte 10: empty option name',
    },
  );
  const mode40 = 'm'.repeat(40);
  assert.equal(err(() => decodeTftp(hex('0001 6600' + ascii(mode40) + '00'))).message, `mode at byte 4: unknown transfer mode "${'m'.repeat(32)}"`);
  const max = Buffer.concat([hex('0003 0001'), Buffer.alloc(65464, 7)]);
  const data = decodeTftp(max);
  assert.equal(data.op === 'DATA' && data.data.length, 65464, 'the largest block');
  assert.deepEqual(
    err(() => decodeTftp(Buffer.concat([max, Buffer.from([7])]))),
    {
      code: 'E_TFTP_SIZE',
      field: 'data',
      message: 'data at byte 4: 65465 bytes exceed the largest block (65464)',
    },
  );
  assert.equal(err(() => decodeTftp(hex('0005 00'))).field, 'error code');
  assert.deepEqual(decodeTftp(hex('0005 0001 00 4100')), { op: 'ERROR', code: 1, message: '' }, 'text ends at the first NUL');
  assert.equal(err(() => decodeTftp(hex('0009 0000'))).message, 'opcode at byte 0: unknown opcode 9');
  // encoder
  const wrq = encodeTftp({ op: 'WRQ', filename: 'é', mode: 'octet', options: new Map([['blksize', '1432']]) });
  assert.equal(wrq.toString('hex'), '0002' + 'e900' + ascii('octet') + '00' + ascii('blksize') + '00' + ascii('1432') + '00');
  assert.deepEqual(decodeTftp(wrq), { op: 'WRQ', filename: 'é', mode: 'octet', options: new Map([['blksize', '1432']]) });
  const rrqOf = (filename: string, mode: string, options: Map<string, string>) => () => encodeTftp({ op: 'RRQ', filename, mode: mode as 'octet', options });
  assert.deepEqual(err(rrqOf('a\0b', 'octet', new Map())), { code: 'E_TFTP_ENCODE', field: 'filename', message: 'filename at byte 0: contains a NUL byte' });
  assert.equal(err(rrqOf('a', 'oc\0tet', new Map())).field, 'mode');
  assert.equal(err(rrqOf('a', 'octet', new Map([['bl\0ksize', '8']]))).field, 'option name');
  assert.equal(err(rrqOf('a', 'octet', new Map([['blksize', '8\0']]))).field, 'option blksize');
  assert.equal(err(() => encodeTftp({ op: 'ERROR', code: 0, message: 'a\0' })).field, 'message');
  assert.equal(encodeTftp({ op: 'DATA', block: 1, data: Buffer.alloc(65464) }).length, 65468);
  assert.deepEqual(
    err(() => encodeTftp({ op: 'DATA', block: 1, data: Buffer.alloc(65465) })),
    {
      code: 'E_TFTP_ENCODE',
      field: 'data',
      message: 'data at byte 4: block larger than 65464',
    },
  );
});
