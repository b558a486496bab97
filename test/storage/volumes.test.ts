import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileVolumes } from '../../src/storage/volumes.js';
import { validateVolumeName } from '../../src/storage/spec.js';
import { tempDir } from './helpers.js';

const MiB = 1 << 20;

test('volume names: good ones pass, traversal and separators are refused', () => {
  for (const n of ['compute-0-0', 'a', 'node_1.root', 'A9']) assert.equal(validateVolumeName(n), n);
  for (const n of ['', '..', '../x', 'a/b', 'a\\b', '.hidden', '-x', 'a..b', 'x'.repeat(65), 'a b', 'a\0b', 'é']) {
    assert.throws(() => validateVolumeName(n), { code: 'E_STORAGE_BAD_NAME' }, JSON.stringify(n));
  }
  assert.throws(() => validateVolumeName(42), { code: 'E_STORAGE_BAD_NAME' });
});

test('create is sparse and idempotent; another size is refused; resize grows only', async () => {
  const t = tempDir();
  try {
    const v = new FileVolumes({ dir: join(t.dir, 'volumes') });
    const a = await v.create({ name: 'compute-0-0', sizeBytes: 256 * MiB });
    assert.equal(a.sizeBytes, 256 * MiB);
    assert.ok(a.allocatedBytes < MiB, `sparse: ${a.allocatedBytes} bytes allocated`);
    assert.equal(a.path, join(t.dir, 'volumes', 'compute-0-0.img'));
    assert.deepEqual(await v.create({ name: 'compute-0-0', sizeBytes: 256 * MiB }), a);
    await assert.rejects(v.create({ name: 'compute-0-0', sizeBytes: 128 * MiB }), { code: 'E_STORAGE_EXISTS' });
    await assert.rejects(v.resize('compute-0-0', 128 * MiB), { code: 'E_STORAGE_SHRINK' });
    assert.equal((await v.resize('compute-0-0', 512 * MiB)).sizeBytes, 512 * MiB);
    assert.equal((await v.resize('compute-0-0', 512 * MiB)).sizeBytes, 512 * MiB);
    await assert.rejects(v.resize('nope', 512 * MiB), { code: 'E_STORAGE_NOT_FOUND' });
    for (const bad of [0, -512, 1000, 1.5, Number.NaN, 2 ** 60]) {
      await assert.rejects(v.create({ name: 'x', sizeBytes: bad }), { code: 'E_STORAGE_BAD_SIZE' }, String(bad));
    }
    assert.deepEqual(
      (await v.list()).map((x) => x.name),
      ['compute-0-0'],
    );
    await v.delete('compute-0-0');
    await v.delete('compute-0-0');
    assert.deepEqual(await v.list(), []);
  } finally {
    t.cleanup();
  }
});

test('no write outside the volumes directory: names and planted symlinks', async () => {
  const t = tempDir();
  try {
    const dir = join(t.dir, 'volumes');
    mkdirSync(dir);
    const v = new FileVolumes({ dir });
    for (const n of ['../escape', '../../tmp/x', '/etc/passwd', 'a/../../b']) {
      await assert.rejects(v.create({ name: n, sizeBytes: MiB }), { code: 'E_STORAGE_BAD_NAME' });
      await assert.rejects(v.delete(n), { code: 'E_STORAGE_BAD_NAME' });
    }
    assert.deepEqual(readdirSync(t.dir), ['volumes']);
    // A symlink planted where a volume would go is not followed.
    const victim = join(t.dir, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(dir, 'evil.img'));
    await assert.rejects(v.create({ name: 'evil', sizeBytes: MiB }), { code: 'E_STORAGE_NOT_FILE' });
    await assert.rejects(v.resize('evil', 2 * MiB), { code: 'E_STORAGE_NOT_FILE' });
    assert.equal(readFileSync(victim, 'utf8'), 'keep');
    assert.deepEqual(
      (await v.list()).map((x) => x.name),
      [],
      'symlinks are not listed as volumes',
    );
    assert.equal(v.nameOf(join(dir, 'a.img')), 'a');
    assert.equal(v.nameOf(join(t.dir, 'a.img')), null);
    assert.equal(v.nameOf(join(dir, 'a.raw')), null);
  } finally {
    t.cleanup();
  }
});

test('capacity: a provisioning limit counts promised sizes; full is E_STORAGE_FULL', async () => {
  const t = tempDir();
  try {
    const v = new FileVolumes({ dir: join(t.dir, 'v'), limitBytes: 100 * MiB });
    assert.deepEqual(await v.capacity(), { totalBytes: 100 * MiB, freeBytes: 100 * MiB });
    await v.create({ name: 'a', sizeBytes: 60 * MiB });
    assert.deepEqual(await v.capacity(), { totalBytes: 100 * MiB, freeBytes: 40 * MiB });
    await assert.rejects(v.create({ name: 'b', sizeBytes: 41 * MiB }), { code: 'E_STORAGE_FULL' });
    await assert.rejects(v.resize('a', 101 * MiB), { code: 'E_STORAGE_FULL' });
    assert.equal(existsSync(join(t.dir, 'v', 'b.img')), false);
    await v.create({ name: 'b', sizeBytes: 40 * MiB });
    assert.equal((await v.capacity()).freeBytes, 0);
    // Without a limit, the file system answers, less what sparse volumes were promised.
    const fsv = new FileVolumes({ dir: join(t.dir, 'fs') });
    const c0 = await fsv.capacity();
    assert.ok(c0.totalBytes > 0 && c0.freeBytes > 0 && c0.freeBytes <= c0.totalBytes);
    await fsv.create({ name: 'big', sizeBytes: 64 * MiB });
    const c1 = await fsv.capacity();
    assert.ok(c0.freeBytes - c1.freeBytes >= 63 * MiB, 'the promised 64 MiB are no longer free');
    await assert.rejects(fsv.create({ name: 'huge', sizeBytes: Math.floor((c1.freeBytes + 512 * MiB) / 512) * 512 }), { code: 'E_STORAGE_FULL' });
  } finally {
    t.cleanup();
  }
});

test('capacity is read once per capacityCacheMs: own creates are added at once, a delete reads again, 0 reads every time', async () => {
  const t = tempDir();
  try {
    const dir = join(t.dir, 'v');
    const v = new FileVolumes({ dir, limitBytes: 100 * MiB, capacityCacheMs: 60_000 });
    const other = new FileVolumes({ dir, limitBytes: 100 * MiB, capacityCacheMs: 0 });
    assert.equal((await v.capacity()).freeBytes, 100 * MiB);
    await other.create({ name: 'x', sizeBytes: 10 * MiB });
    assert.equal((await other.capacity()).freeBytes, 90 * MiB, 'capacityCacheMs 0: every call reads the directory');
    assert.equal((await v.capacity()).freeBytes, 100 * MiB, "another instance's volume shows only after the window");
    await v.create({ name: 'a', sizeBytes: 20 * MiB });
    assert.equal((await v.capacity()).freeBytes, 80 * MiB, 'its own create is added to the reading at once');
    await v.delete('a');
    assert.equal((await v.capacity()).freeBytes, 90 * MiB, 'a delete drops the reading: x is counted now');
    // Callers at once share one reading, and a full node is refused from the adjusted reading.
    const all = await Promise.all([v.capacity(), v.capacity(), v.capacity()]);
    assert.ok(all.every((c) => c.freeBytes === 90 * MiB));
    await v.create({ name: 'b', sizeBytes: 90 * MiB });
    await assert.rejects(v.create({ name: 'c', sizeBytes: 1 * MiB }), { code: 'E_STORAGE_FULL' });
  } finally {
    t.cleanup();
  }
});
