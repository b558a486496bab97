import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CpioWriter, readCpio, writeCpio, gzip, typeOf } from '../../src/initrd/index.js';
import { DecodeError } from '../../src/errors.js';

const hasCpio = spawnSync('cpio', ['--version'], { stdio: 'ignore' }).status === 0;
const skipCpio = hasCpio || process.env.CI === 'true' ? false : 'GNU cpio is not installed (Debian: cpio)';

function sample(): Buffer {
  return new CpioWriter({ mtime: 1_700_000_000 })
    .file('etc/netroot/node.conf', "NETROOT_HOSTNAME='compute-0-0'\n", { mode: 0o600 })
    .file('bin/tool', Buffer.from([0, 1, 2, 3, 4]), { mode: 0o755, uid: 1000, gid: 100 })
    .file('empty', Buffer.alloc(0))
    .symlink('bin/sh', '/bin/busybox')
    .dir('newroot', { mode: 0o700 })
    .device('dev/console', 'char', 5, 1, { mode: 0o600 })
    .device('dev/sda', 'block', 8, 0, { mode: 0o660 })
    .finish();
}

test('header layout matches the newc format byte for byte (fixture written by hand)', () => {
  const a = writeCpio([{ type: 'file', path: 'a', data: Buffer.from('hi'), mode: 0o644 }]);
  const expected =
    '070701' +
    '00000001' +
    '000081a4' +
    '00000000' +
    '00000000' +
    '00000001' +
    '00000000' +
    '00000002' +
    '00000000' +
    '00000000' +
    '00000000' +
    '00000000' +
    '00000002' +
    '00000000' +
    'a\0' +
    'hi\0\0';
  assert.equal(a.subarray(0, expected.length).toString('latin1'), expected);
  const trailer = a.subarray(expected.length).toString('latin1');
  assert.ok(trailer.startsWith('070701' + '00000000' + '00000000'), trailer);
  assert.ok(trailer.includes('TRAILER!!!\0'));
  assert.equal(a.length % 4, 0);
});

test('every entry starts 4-byte aligned; names and data are padded', () => {
  const buf = sample();
  assert.equal(buf.length % 4, 0);
  for (const r of readCpio(buf)) assert.equal(r.offset % 4, 0, r.name);
});

test('deterministic: inode numbers in order, mtime fixed, same bytes twice, gzip stable', () => {
  assert.deepEqual(sample(), sample());
  assert.deepEqual(gzip(sample()), gzip(sample()));
  const recs = readCpio(sample());
  assert.deepEqual(
    recs.map((r) => r.ino),
    recs.map((_r, i) => i + 1),
  );
  assert.ok(recs.every((r) => r.mtime === 1_700_000_000));
  assert.ok(readCpio(writeCpio([{ type: 'file', path: 'x', data: Buffer.from('y') }])).every((r) => r.mtime === 0));
});

test('parent directories are added before their children, once', () => {
  const recs = readCpio(sample());
  assert.deepEqual(
    recs.map((r) => `${typeOf(r.mode)} ${r.name}`),
    [
      'dir etc',
      'dir etc/netroot',
      'file etc/netroot/node.conf',
      'dir bin',
      'file bin/tool',
      'file empty',
      'symlink bin/sh',
      'dir newroot',
      'dir dev',
      'char dev/console',
      'block dev/sda',
    ],
  );
  const byName = new Map(recs.map((r) => [r.name, r]));
  assert.equal(byName.get('etc/netroot/node.conf')?.mode, 0o100600);
  assert.equal(byName.get('bin/tool')?.uid, 1000);
  assert.equal(byName.get('bin/sh')?.data.toString(), '/bin/busybox');
  assert.equal(byName.get('dev/console')?.rdevMajor, 5);
  assert.equal(byName.get('dev/sda')?.rdevMinor, 0);
  assert.equal(byName.get('newroot')?.mode, 0o040700);
});

test('writer refuses duplicates, unsafe paths and out-of-range fields', () => {
  const w = new CpioWriter().file('a/b', 'x');
  assert.throws(() => w.file('a/b', 'y'), { code: 'E_CPIO_DUPLICATE' });
  assert.throws(() => w.file('a/b/c', 'y'), { code: 'E_CPIO_ENTRY' }); // a/b is a file
  w.dir('a'); // an existing directory again is fine
  for (const p of ['', '/', '../etc/passwd', 'a/../b', 'a/./b', 'a//b', 'nul\0'])
    assert.throws(() => new CpioWriter().file(p, 'x'), { code: 'E_CPIO_ENTRY' }, p);
  assert.throws(() => new CpioWriter().file('x', 'x', { mode: 0o10000 }), { code: 'E_CPIO_ENTRY' });
  assert.throws(() => new CpioWriter().file('x', 'x', { uid: -1 }), { code: 'E_CPIO_ENTRY' });
  assert.throws(() => new CpioWriter().file('x', 'x', { mtime: 2 ** 32 }), { code: 'E_CPIO_ENTRY' });
  assert.throws(() => new CpioWriter().symlink('x', ''), { code: 'E_CPIO_ENTRY' });
  const done = new CpioWriter();
  done.finish();
  assert.throws(() => done.file('late', 'x'), { code: 'E_CPIO_ENTRY' });
  assert.equal(new CpioWriter().file('/abs/path', 'x').has('abs/path'), true);
});

test('Debian cpio lists and extracts what we write', { skip: skipCpio }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-cpio-'));
  try {
    const archive = new CpioWriter()
      .file('etc/netroot/node.conf', 'secret stuff\n', { mode: 0o600 })
      .file('bin/tool', Buffer.from([0, 1, 2, 255]), { mode: 0o755 })
      .file('odd name with spaces', 'x'.repeat(1001))
      .symlink('bin/sh', 'tool')
      .dir('newroot', { mode: 0o700 })
      .device('dev/console', 'char', 5, 1, { mode: 0o600 })
      .finish();
    const list = spawnSync('cpio', ['-t', '--quiet'], { input: archive });
    assert.equal(list.status, 0, list.stderr.toString());
    assert.deepEqual(list.stdout.toString().trim().split('\n'), [
      'etc',
      'etc/netroot',
      'etc/netroot/node.conf',
      'bin',
      'bin/tool',
      'odd name with spaces',
      'bin/sh',
      'newroot',
      'dev',
      'dev/console',
    ]);
    const verbose = spawnSync('cpio', ['-tv', '--quiet'], { input: gunzipSync(gzip(archive)) }).stdout.toString();
    assert.match(verbose, /^crw------- .* 5,\s+1 .* dev\/console$/m);
    assert.match(verbose, /^lrwxrwxrwx .* bin\/sh -> tool$/m);
    // Extract the regular entries (device nodes would need privileges unit tests must not assume).
    const out = spawnSync('cpio', ['-idv', '--quiet', '--no-absolute-filenames', 'etc/*', 'bin/*', 'odd*', 'newroot'], { input: archive, cwd: dir });
    assert.equal(out.status, 0, out.stderr.toString());
    assert.equal(readFileSync(join(dir, 'etc/netroot/node.conf'), 'utf8'), 'secret stuff\n');
    assert.equal(statSync(join(dir, 'etc/netroot/node.conf')).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(join(dir, 'bin/tool')), Buffer.from([0, 1, 2, 255]));
    assert.equal(statSync(join(dir, 'bin/tool')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(dir, 'odd name with spaces'), 'utf8'), 'x'.repeat(1001));
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'tool');
    assert.ok(statSync(join(dir, 'newroot')).isDirectory());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('our reader reads an archive written by Debian cpio -o -H newc (independent fixture)', { skip: skipCpio }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-cpio-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub/file.txt'), 'hello cpio\n');
    writeFileSync(join(dir, 'three'), 'abc');
    symlinkSync('sub/file.txt', join(dir, 'link'));
    const made = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], { input: 'sub\nsub/file.txt\nthree\nlink\n', cwd: dir });
    assert.equal(made.status, 0, made.stderr.toString());
    const recs = readCpio(made.stdout);
    assert.deepEqual(
      recs.map((r) => `${typeOf(r.mode)} ${r.name}`),
      ['dir sub', 'file sub/file.txt', 'file three', 'symlink link'],
    );
    assert.equal(recs[1]?.data.toString(), 'hello cpio\n');
    assert.equal(recs[2]?.data.toString(), 'abc');
    assert.equal(recs[3]?.data.toString(), 'sub/file.txt');
    // And two archives back to back, as the kernel gets base initrd + overlay.
    const both = readCpio(Buffer.concat([made.stdout, Buffer.alloc(512), sample()]), { concatenated: true });
    assert.equal(both.length, 4 + readCpio(sample()).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reader: round trip through gzip', () => {
  const recs = readCpio(gzip(sample()));
  assert.equal(recs.find((r) => r.name === 'bin/tool')?.data.toString('hex'), '0001020304');
});

function assertDecode(buf: Buffer, field: string, offset?: number) {
  assert.throws(
    () => readCpio(buf),
    (e: unknown) => {
      assert.ok(e instanceof DecodeError, String(e));
      assert.equal(e.code, 'E_CPIO_DECODE');
      assert.equal(e.field, field, e.message);
      if (offset !== undefined) assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}

test('reader: malformed archives are DecodeErrors naming field and offset', () => {
  const good = writeCpio([{ type: 'file', path: 'a', data: Buffer.from('hi') }]);
  assertDecode(Buffer.alloc(0), 'header', 0);
  assertDecode(good.subarray(0, 50), 'header', 0);
  const badMagic = Buffer.from(good);
  badMagic.write('070707', 0, 'latin1');
  assertDecode(badMagic, 'magic', 0);
  const badHex = Buffer.from(good);
  badHex.write('0000000g', 6 + 8, 'latin1');
  assertDecode(badHex, 'mode', 14);
  const zeroName = Buffer.from(good);
  zeroName.write('00000000', 6 + 11 * 8, 'latin1');
  assertDecode(zeroName, 'namesize');
  const hugeName = Buffer.from(good);
  hugeName.write('00100000', 6 + 11 * 8, 'latin1');
  assertDecode(hugeName, 'namesize');
  const longName = Buffer.from(good);
  longName.write('00000fff', 6 + 11 * 8, 'latin1');
  assertDecode(longName, 'name', 110);
  const noNul = Buffer.from(good);
  noNul.write('00000003', 6 + 11 * 8, 'latin1');
  assertDecode(noNul, 'name', 110);
  const hugeData = Buffer.from(good);
  hugeData.write('ffffffff', 6 + 6 * 8, 'latin1');
  assertDecode(hugeData, 'filesize');
  // The archive stops before its trailer.
  assertDecode(good.subarray(0, 116), 'header', 116);
  assertDecode(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]), 'gzip', 0);
  assert.throws(() => readCpio(gzip(Buffer.alloc(1 << 20)), { maxBytes: 1000 }), { code: 'E_CPIO_DECODE' });
});

// Edges of the newc reader found by mutation testing (docs/mutation.md): each refusal's field,
// offset and text, the namesize range 2..4096, every header field kept, gzip detection and its
// output limit, nothing read after the trailer unless concatenated.
test('readCpio edges: exact refusals, namesize 2..4096, all header fields, gzip magic and maxBytes, the trailer ends a single archive', () => {
  const pad4 = (n: number) => (4 - (n % 4)) % 4;
  const hex8 = (n: number) => n.toString(16).padStart(8, '0');
  const entry = (name: string, data = Buffer.alloc(0), f: Partial<Record<string, number>> = {}, namesize?: number) => {
    const ns = namesize ?? Buffer.byteLength(name) + 1;
    const fields = [
      f.ino ?? 1,
      f.mode ?? 0o100644,
      f.uid ?? 0,
      f.gid ?? 0,
      f.nlink ?? 1,
      f.mtime ?? 0,
      data.length,
      f.devmajor ?? 0,
      f.devminor ?? 0,
      f.rdevmajor ?? 0,
      f.rdevminor ?? 0,
      ns,
      0,
    ];
    const head = Buffer.from('070701' + fields.map(hex8).join(''), 'latin1');
    const nameBuf = Buffer.concat([Buffer.from(name, 'utf8'), Buffer.alloc(1)]);
    return Buffer.concat([head, nameBuf, Buffer.alloc(pad4(110 + nameBuf.length)), data, Buffer.alloc(pad4(data.length))]);
  };
  const trailer = entry('TRAILER!!!');
  const err = (buf: Buffer, opts = {}) => {
    try {
      readCpio(buf, opts);
    } catch (e) {
      if (e instanceof DecodeError) return `${e.field}@${e.offset}: ${e.message}`;
      throw e;
    }
    return 'read';
  };
  const one = entry('a', Buffer.from('xyz'), { gid: 5, nlink: 2, devmajor: 8, devminor: 1, rdevmajor: 3, rdevminor: 4, uid: 7, mtime: 9, ino: 11 });
  const [rec] = readCpio(Buffer.concat([one, trailer]));
  assert.deepEqual(
    rec && [
      rec.ino,
      rec.uid,
      rec.gid,
      rec.nlink,
      rec.mtime,
      rec.devMajor,
      rec.devMinor,
      rec.rdevMajor,
      rec.rdevMinor,
      rec.name,
      rec.data.toString(),
      rec.offset,
    ],
    [11, 7, 5, 2, 9, 8, 1, 3, 4, 'a', 'xyz', 0],
  );
  assert.equal(err(one.subarray(0, 109)), 'header@0: header at byte 0: truncated: 109 bytes left, a header needs 110');
  assert.equal(err(entry('a', Buffer.alloc(0), {}, 0).subarray(0, 110)), 'namesize@94: namesize at byte 94: 0 is outside 2..4096', 'a bare header is read');
  assert.equal(err(entry('a', Buffer.alloc(0), {}, 1)), 'namesize@94: namesize at byte 94: 1 is outside 2..4096');
  assert.equal(err(entry('a', Buffer.alloc(0), {}, 4097)), 'namesize@94: namesize at byte 94: 4097 is outside 2..4096');
  assert.equal(err(entry('a', Buffer.alloc(0), {}, 4096)), 'name@110: name at byte 110: name of 4096 bytes runs past the end');
  const long = 'n'.repeat(4095);
  assert.equal(readCpio(Buffer.concat([entry(long), trailer]))[0]?.name, long, 'a name of 4095 bytes + NUL');
  // the name exactly at the end of the buffer is read; its NUL is checked
  assert.equal(err(entry('ab').subarray(0, 113)), 'filesize@54: filesize at byte 54: data of 0 bytes runs past the end');
  assert.equal(err(entry('ab').subarray(0, 112)), 'name@110: name at byte 110: name of 3 bytes runs past the end');
  const noNul = Buffer.from(entry('ab'));
  noNul[112] = 0x41;
  assert.equal(err(noNul), 'name@110: name at byte 110: name is not NUL-terminated');
  const inner = Buffer.from(entry('ab'));
  inner[110] = 0;
  assert.equal(err(inner), 'name@110: name at byte 110: name contains NUL');
  assert.equal(err(one.subarray(0, one.length - 4)), 'filesize@54: filesize at byte 54: data of 3 bytes runs past the end');
  const badHex = Buffer.from(one);
  badHex.write('0000000g', 6 + 8, 'latin1');
  assert.equal(err(badHex), 'mode@14: mode at byte 14: not 8 hex digits: "0000000g"');
  badHex.write(' 0000001', 6 + 8, 'latin1');
  assert.equal(err(badHex), 'mode@14: mode at byte 14: not 8 hex digits: " 0000001"');
  const badMagic = Buffer.from(one);
  badMagic.write('070702', 0, 'latin1');
  assert.equal(err(badMagic), 'magic@0: magic at byte 0: expected "070701", found "070702"');
  // gzip: only 1f 8b starts it; its output is bounded by maxBytes
  assert.equal(err(Buffer.from([0x1f])), 'header@0: header at byte 0: truncated: 1 bytes left, a header needs 110');
  assert.equal(err(Buffer.from([0x1f, 0x00, 0x00])), 'header@0: header at byte 0: truncated: 3 bytes left, a header needs 110');
  assert.equal(err(Buffer.from([0x00, 0x8b, 0x00])), 'header@0: header at byte 0: truncated: 3 bytes left, a header needs 110');
  assert.match(err(Buffer.from([0x1f, 0x8b, 0x00])), /^gzip@0: /);
  const gz = gzip(Buffer.concat([entry('big', Buffer.alloc(4096, 1)), trailer]));
  assert.equal(readCpio(gz).length, 1);
  assert.match(err(gz, { maxBytes: 1000 }), /^gzip@0: /);
  // the gzip error's own text (zlib throws an Error; its message, not "Error: ...")
  assert.equal(err(Buffer.from([0x1f, 0x8b, 0x00])), 'gzip@0: gzip at byte 0: unexpected end of file');
  assert.equal(err(Buffer.from([0x1f, 0x8b])), 'gzip@0: gzip at byte 0: unexpected end of file', 'the two magic bytes alone');
  assert.equal(err(gz, { maxBytes: 1000 }), 'gzip@0: gzip at byte 0: Cannot create a Buffer larger than 1000 bytes');
  // hex fields: upper case read too; the last field (check) is checked and named like the others
  const upper = Buffer.from(one);
  upper.write('000081A4', 6 + 8, 'latin1');
  upper.write('0000000B', 6, 'latin1');
  assert.deepEqual(
    readCpio(Buffer.concat([upper, trailer])).map((r) => [r.mode, r.ino]),
    [[0o100644, 11]],
  );
  for (const [digits, value] of [
    ['ABCDEF09', 0xabcdef09],
    ['abcdef78', 0xabcdef78],
  ] as const) {
    const u = Buffer.from(one);
    u.write(digits, 6 + 2 * 8, 'latin1');
    assert.equal(readCpio(Buffer.concat([u, trailer]))[0]?.uid, value, digits);
  }
  const badCheck = Buffer.from(one);
  badCheck.write('0000000x', 6 + 12 * 8, 'latin1');
  assert.equal(err(badCheck), 'check@102: check at byte 102: not 8 hex digits: "0000000x"');
  // an entry whose data ends exactly at the end of the buffer is read; the missing trailer is the error
  assert.equal(err(entry('ab')), 'header@116: header at byte 116: truncated: 0 bytes left, a header needs 110');
  // after the trailer: ignored for one archive, read on with concatenated (NUL padding skipped)
  const two = Buffer.concat([one, trailer, Buffer.alloc(8), entry('b'), trailer]);
  assert.deepEqual(
    readCpio(two).map((r) => r.name),
    ['a'],
  );
  assert.deepEqual(
    readCpio(two, { concatenated: true }).map((r) => r.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    readCpio(Buffer.concat([one, trailer, Buffer.alloc(8)]), { concatenated: true }).map((r) => r.name),
    ['a'],
  );
});

// Edges of the writer found by mutation testing (docs/mutation/initrd-cpio.md): each refusal's
// exact text, the path, mode and u32 ranges, the default modes and link counts of each kind, what
// a finished or repeated entry does, the byte count, and gzip's fixed level.
test('CpioWriter edges: exact refusals, path and field ranges, default modes and nlink per kind, finish twice, length, gzip level 9', () => {
  const msg = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    return 'accepted';
  };
  const w = () => new CpioWriter();
  // paths: leading and trailing "/" dropped (any number), inner ones kept, each bad part refused
  const names = (p: string) => readCpio(w().file(p, 'x').finish()).map((r) => r.name);
  assert.deepEqual(names('//abs/x'), ['abs', 'abs/x']);
  assert.deepEqual(names('a/b//'), ['a', 'a/b']);
  assert.deepEqual(names('/a/'), ['a']);
  assert.equal(w().dir('d//').has('/d'), true);
  for (const p of ['', '/', '//', 'a//b', './a', 'a/.', 'a/..', '..']) {
    assert.equal(
      msg(() => w().file(p, 'x')),
      `E_CPIO_ENTRY: bad archive path ${JSON.stringify(p)}`,
      JSON.stringify(p),
    );
  }
  assert.equal(
    msg(() => w().file('nul\0x', 'x')),
    'E_CPIO_ENTRY: bad archive path "nul\\u0000x"',
  );
  // 4095 bytes is the longest path (with its NUL the 4096 the reader takes); counted in bytes, not characters
  assert.equal(readCpio(w().file('p'.repeat(4095), 'x').finish())[0]?.name.length, 4095);
  assert.equal(
    msg(() => w().file('p'.repeat(4096), 'x')),
    `E_CPIO_ENTRY: bad archive path ${JSON.stringify('p'.repeat(80))}`,
  );
  assert.equal(
    msg(() => w().file('é'.repeat(2048), 'x')),
    `E_CPIO_ENTRY: bad archive path ${JSON.stringify('é'.repeat(80))}`,
    '4096 bytes in 2048 characters',
  );
  assert.equal(
    msg(() => w().file('é'.repeat(2047), 'x')),
    'accepted',
    '4094 bytes',
  );
  // modes: 0..0o7777, an integer
  assert.equal(readCpio(w().file('x', 'x', { mode: 0o7777 }).finish())[0]?.mode, 0o107777);
  assert.equal(readCpio(w().file('x', 'x', { mode: 0 }).finish())[0]?.mode, 0o100000);
  for (const mode of [0o10000, -1, 1.5])
    assert.equal(
      msg(() => w().file('x', 'x', { mode })),
      `E_CPIO_ENTRY: mode ${mode} of x is not a permission mask`,
    );
  // u32 fields: 0..0xffffffff, integers
  const top = readCpio(w().file('x', 'x', { uid: 0xffffffff, gid: 0xffffffff, mtime: 0xffffffff }).finish())[0];
  assert.deepEqual([top?.uid, top?.gid, top?.mtime], [0xffffffff, 0xffffffff, 0xffffffff]);
  assert.equal(
    msg(() => w().file('x', 'x', { uid: -1 })),
    'E_CPIO_ENTRY: uid -1 does not fit a newc header',
  );
  assert.equal(
    msg(() => w().file('x', 'x', { gid: 2 ** 32 })),
    'E_CPIO_ENTRY: gid 4294967296 does not fit a newc header',
  );
  assert.equal(
    msg(() => w().file('x', 'x', { mtime: 0.5 })),
    'E_CPIO_ENTRY: mtime 0.5 does not fit a newc header',
  );
  assert.equal(
    msg(() => new CpioWriter({ mtime: -1 })),
    'E_CPIO_ENTRY: mtime -1 does not fit a newc header',
  );
  assert.equal(
    msg(() => w().device('c', 'char', 2 ** 32, 0)),
    'E_CPIO_ENTRY: major 4294967296 does not fit a newc header',
  );
  assert.equal(
    msg(() => w().device('c', 'block', 0, -1)),
    'E_CPIO_ENTRY: minor -1 does not fit a newc header',
  );
  const dev = readCpio(w().device('c', 'block', 0xffffffff, 0xffffffff).finish())[0];
  assert.deepEqual([dev?.rdevMajor, dev?.rdevMinor, dev?.devMajor, dev?.devMinor], [0xffffffff, 0xffffffff, 0, 0]);
  // per kind: type bits, default permissions, nlink (a directory 2, else 1), data
  const recs = readCpio(w().file('f', 'é').dir('d').symlink('l', 'f').device('c', 'char', 4, 64).device('b', 'block', 8, 1).finish());
  assert.deepEqual(
    recs.map((r) => [r.name, typeOf(r.mode), r.mode & 0o7777, r.nlink, r.data.toString('hex')]),
    [
      ['f', 'file', 0o644, 1, 'c3a9'],
      ['d', 'dir', 0o755, 2, ''],
      ['l', 'symlink', 0o777, 1, '66'],
      ['c', 'char', 0o644, 1, ''],
      ['b', 'block', 0o644, 1, ''],
    ],
  );
  assert.equal(typeOf(0o010644), 'other', 'a FIFO');
  assert.equal(typeOf(0), 'other');
  assert.equal(typeOf(0o140755), 'other', 'a socket');
  // implicit parents are 0755 directories with the writer's mtime
  const parent = readCpio(new CpioWriter({ mtime: 77 }).file('p/q', 'x', { mtime: 5 }).finish());
  assert.deepEqual(
    parent.map((r) => [r.name, r.mode, r.nlink, r.mtime]),
    [
      ['p', 0o40755, 2, 77],
      ['p/q', 0o100644, 1, 5],
    ],
  );
  // symlink targets: not empty, no NUL
  assert.equal(
    msg(() => w().symlink('l', '')),
    'E_CPIO_ENTRY: bad symlink target for l',
  );
  assert.equal(
    msg(() => w().symlink('l', 'a\0b')),
    'E_CPIO_ENTRY: bad symlink target for l',
  );
  // repeats: a directory twice is one entry; any other repeat is refused, naming the path
  const twice = w().dir('d').dir('/d/');
  assert.deepEqual(
    readCpio(twice.finish()).map((r) => r.name),
    ['d'],
  );
  assert.equal(
    msg(() => w().file('d', 'x').dir('d')),
    'E_CPIO_DUPLICATE: d is already in the archive',
  );
  assert.equal(
    msg(() => w().dir('d').file('d', 'x')),
    'E_CPIO_DUPLICATE: d is already in the archive',
  );
  assert.equal(
    msg(() => w().symlink('d', 'x').file('d/e', 'x')),
    'E_CPIO_ENTRY: d is a symlink, not a directory',
  );
  assert.equal(
    msg(() => w().dir('d').file('d/e', 'x')),
    'accepted',
  );
  // has(): normalised paths, implicit parents included
  const h = w().file('/a/b/c', 'x');
  assert.deepEqual(
    ['a', 'a/b', '/a/b/c/', 'a/b/c/d', 'b'].map((p) => h.has(p)),
    [true, true, true, false, false],
  );
  // length: the bytes so far; finish() appends the trailer once, a second finish() returns the same archive
  const fw = w();
  assert.equal(fw.length, 0);
  fw.file('abc', 'hello');
  assert.equal(fw.length, 116 + 8, 'header and "abc\\0" (110 + 4, padded to 116) + 5 data bytes padded to 8');
  fw.file('e', '');
  assert.equal(fw.length, 124 + 112, 'an empty file adds its header and name only (110 + 2)');
  const first = fw.finish();
  assert.equal(first.length, fw.length);
  assert.equal(first.length, 236 + 124, 'the trailer: 110 + "TRAILER!!!\\0" padded to 124');
  assert.deepEqual(fw.finish(), first);
  assert.equal(
    msg(() => fw.dir('late')),
    'E_CPIO_ENTRY: archive already finished',
  );
  // the data is copied at add(): a caller reusing its Buffer afterwards does not change the archive
  const reused = Buffer.from('abc');
  const aw = w().file('f', reused).add({ type: 'file', path: 'g', data: reused });
  reused.fill(0x7a);
  assert.deepEqual(
    readCpio(aw.finish()).map((r) => r.data.toString()),
    ['abc', 'abc'],
  );
  // a file of 2^32 bytes does not fit the 8-hex-digit filesize (allocUnsafe: 4 GiB of address space,
  // never written or read, as the size is refused before the data is touched)
  assert.equal(
    msg(() => w().file('huge', Buffer.allocUnsafe(2 ** 32))),
    'E_CPIO_ENTRY: file size 4294967296 does not fit a newc header',
  );
  // gzip at level 9: the header's XFL byte says "maximum compression" (RFC 1952 §2.3.1)
  const gz = gzip(first);
  assert.deepEqual([gz[0], gz[1], gz[8]], [0x1f, 0x8b, 2]);
  assert.deepEqual(gunzipSync(gz), first);
});
