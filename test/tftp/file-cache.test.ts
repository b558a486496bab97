// FileCache (src/tftp/file-cache.ts) with real files: one shared Buffer per unchanged file, a reload
// after the file is rewritten, no caching for files too big or changed while read, LRU eviction
// bounded by maxBytes, one load shared by concurrent requests; and rootResolver's snapshot and
// positional-read sides of it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync, rmSync, utimesSync, statSync, truncateSync, appendFileSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FileCache, rootResolver } from '../../src/tftp/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempStateDir('nrt-fcache-');

after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(bytes: Buffer): string {
  const p = join(dir, `f${n++}.bin`);
  writeFileSync(p, bytes);
  return p;
}

/** What a resolver does: open, stat, ask the cache, close. */
async function get(cache: FileCache, path: string): Promise<Buffer | null> {
  const fh = await open(path, 'r');
  try {
    return await cache.get(fh, await fh.stat());
  } finally {
    await fh.close();
  }
}

const client = { address: '127.0.0.1', port: 1 };

/**
 * Waits until a file changed now gets a timestamp later than `ms`: the kernel stamps files from its
 * coarse clock (a tick, not the wall clock), so a change right after a stat may carry the same time.
 */
async function fileClockPast(ms: number): Promise<void> {
  const probe = join(dir, 'clock-probe');
  await waitFor(
    () => {
      writeFileSync(probe, '');
      return statSync(probe).ctimeMs > ms;
    },
    { what: `the file system's clock to pass ${ms}`, intervalMs: 2 },
  );
}

test('two gets of an unchanged file return the same Buffer, equal to the file', async () => {
  const data = randomBytes(100_000);
  const p = file(data);
  const cache = new FileCache();
  const a = await get(cache, p);
  const b = await get(cache, p);
  assert.ok(a);
  assert.ok(a.equals(data));
  assert.equal(b, a, 'the second get is the same object, not a reload');
  assert.equal(cache.size, data.length);
});

test('a file rewritten with new content of the same size (mtime changed) is loaded again', async () => {
  const first = randomBytes(50_000);
  const second = randomBytes(50_000);
  const p = file(first);
  const cache = new FileCache();
  const a = await get(cache, p);
  assert.ok(a);
  assert.ok(a.equals(first));
  const m0 = statSync(p).mtimeMs;
  writeFileSync(p, second); // same inode (truncate + write), same size
  utimesSync(p, new Date(), new Date(m0 + 5000)); // a different mtime even on coarse clocks
  assert.notEqual(statSync(p).mtimeMs, m0);
  const b = await get(cache, p);
  assert.ok(b, 'still cacheable');
  assert.notEqual(b, a);
  assert.ok(b.equals(second), 'the new bytes, not the stale entry');
  assert.equal(cache.size, second.length, 'the old entry of the same inode was replaced, not added');
  assert.equal(await get(cache, p), b);
  // The transfer that got the old snapshot still holds the old bytes.
  assert.ok(a.equals(first));
});

test('same size and the same mtime restored: the changed ctime still forces a reload', async () => {
  const first = randomBytes(20_000);
  const second = randomBytes(20_000);
  const p = file(first);
  utimesSync(p, 1_700_000_000, 1_700_000_000); // whole seconds: restorable exactly below
  const st0 = statSync(p);
  const cache = new FileCache();
  const a = await get(cache, p);
  assert.ok(a?.equals(first));
  await fileClockPast(st0.ctimeMs);
  writeFileSync(p, second);
  utimesSync(p, 1_700_000_000, 1_700_000_000); // mtime back to the cached one; ctime moves on
  const st1 = statSync(p);
  assert.equal(st1.mtimeMs, st0.mtimeMs);
  assert.equal(st1.size, st0.size);
  assert.notEqual(st1.ctimeMs, st0.ctimeMs);
  const b = await get(cache, p);
  assert.ok(b?.equals(second), 'a rewrite that hides behind the old mtime is still seen');
});

test('a file replaced by rename (a new inode) is a new entry with the new bytes', async () => {
  const first = randomBytes(10_000);
  const second = randomBytes(10_000);
  const p = file(first);
  const cache = new FileCache();
  const a = await get(cache, p);
  const tmp = join(dir, 'replacement.tmp');
  writeFileSync(tmp, second);
  renameSync(tmp, p);
  const b = await get(cache, p);
  assert.ok(a?.equals(first));
  assert.ok(b?.equals(second));
});

test('a file larger than maxFileBytes is not cached (null); one of exactly maxFileBytes is', async () => {
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 4096 });
  assert.equal(await get(cache, file(randomBytes(4097))), null);
  assert.equal(cache.size, 0);
  const edge = randomBytes(4096);
  const got = await get(cache, file(edge));
  assert.ok(got?.equals(edge));
  assert.equal(cache.size, 4096);
  // maxFileBytes is capped by maxBytes.
  const small = new FileCache({ maxBytes: 1000, maxFileBytes: 1 << 20 });
  assert.equal(small.maxFileBytes, 1000);
  assert.equal(await get(small, file(randomBytes(1001))), null);
  // maxFileBytes 0: nothing with content is cached.
  assert.equal(await get(new FileCache({ maxFileBytes: 0 }), file(randomBytes(1))), null);
});

test('LRU: room for two of three files; the least recently used is evicted', async () => {
  const [da, db, dc] = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
  const [pa, pb, pc] = [file(da), file(db), file(dc)];
  const cache = new FileCache({ maxBytes: 2500, maxFileBytes: 2500 });
  const a = await get(cache, pa);
  const b = await get(cache, pb);
  assert.equal(await get(cache, pa), a, 'A used again: B is now the least recently used');
  const c = await get(cache, pc);
  assert.ok(c?.equals(dc));
  assert.ok(cache.size <= cache.maxBytes, `${cache.size} ≤ ${cache.maxBytes}`);
  assert.equal(cache.size, 2000);
  assert.equal(await get(cache, pa), a, 'the recently used A survived');
  assert.equal(await get(cache, pc), c, 'the newest C survived');
  const b2 = await get(cache, pb);
  assert.notEqual(b2, b, 'B was evicted: a re-get loads a new Buffer');
  assert.ok(b2?.equals(db));
  assert.ok(cache.size <= cache.maxBytes);
  // Loading B evicted the least recently used of A and C, which is A (C was got after A).
  assert.equal(await get(cache, pc), c);
  assert.notEqual(await get(cache, pa), a);
});

test('concurrent gets of the same file while it loads share one load', async () => {
  const data = randomBytes(8 * 1024 * 1024);
  const p = file(data);
  const cache = new FileCache();
  // Separate handles, as separate transfers have.
  const got = await Promise.all(Array.from({ length: 8 }, () => get(cache, p)));
  assert.ok(got[0]?.equals(data));
  for (const g of got) assert.equal(g, got[0], 'one Buffer for all');
  assert.equal(cache.size, data.length, 'held once');
});

test('a file that grows or shrinks after its stat (while loading) is not cached', async () => {
  for (const change of [(p: string) => appendFileSync(p, 'more'), (p: string) => truncateSync(p, 100)]) {
    const cache = new FileCache();
    const p = file(randomBytes(64 * 1024));
    const fh = await open(p, 'r');
    try {
      const st = await fh.stat();
      await fileClockPast(Math.max(st.mtimeMs, st.ctimeMs)); // so the change moves mtime
      change(p);
      assert.equal(await cache.get(fh, st), null);
    } finally {
      await fh.close();
    }
    assert.equal(cache.size, 0);
    // Asked again with a fresh stat, the file as it now is gets cached.
    const now = await get(cache, p);
    assert.ok(now);
    assert.ok(now.equals(readFileSync(p)));
    assert.equal(cache.size, now.length);
  }
});

test('rootResolver: a cached file is a snapshot that survives a rewrite; the next resolve sees the new bytes', async () => {
  const root = join(dir, 'root');
  mkdirSync(root);
  const first = randomBytes(30_000);
  const second = randomBytes(30_000);
  writeFileSync(join(root, 'k.bin'), first);
  const resolve = rootResolver(root, new FileCache());
  const f1 = await resolve('k.bin', client);
  assert.ok(f1?.bytes);
  assert.ok(f1.bytes.equals(first));
  assert.equal(f1.size, first.length);
  assert.equal((await resolve('k.bin', client))?.bytes, f1.bytes, 'shared by transfers of the same file');
  const m0 = statSync(join(root, 'k.bin')).mtimeMs;
  writeFileSync(join(root, 'k.bin'), second);
  utimesSync(join(root, 'k.bin'), new Date(), new Date(m0 + 5000));
  assert.ok(f1.bytes.equals(first), 'the running transfer keeps its version');
  assert.ok((await f1.read(100, 200)).equals(first.subarray(100, 300)));
  const f2 = await resolve('k.bin', client);
  assert.ok(f2?.bytes?.equals(second));
});

test('rootResolver with maxFileBytes 0: no bytes, positional reads of the file, short read only at the end', async () => {
  const root = join(dir, 'root-uncached');
  mkdirSync(root);
  const data = randomBytes(3 * 1024 * 1024 + 5);
  writeFileSync(join(root, 'big.bin'), data);
  const resolve = rootResolver(root, new FileCache({ maxFileBytes: 0 }));
  const f = await resolve('big.bin', client);
  assert.ok(f);
  try {
    assert.equal(f.bytes, undefined);
    assert.equal(f.size, data.length);
    assert.ok((await f.read(0, 1 << 20)).equals(data.subarray(0, 1 << 20)));
    assert.ok((await f.read(1_000_001, 1432)).equals(data.subarray(1_000_001, 1_000_001 + 1432)));
    const tail = await f.read(data.length - 3, 1 << 20);
    assert.ok(tail.equals(data.subarray(data.length - 3)));
    assert.equal((await f.read(data.length, 10)).length, 0);
    // readInto: one buffer reused for every chunk (transfer.ts), filled from the offset.
    assert.ok(f.readInto);
    const chunk = Buffer.alloc(1 << 20, 0xee);
    assert.equal(await f.readInto(chunk, 1 << 20), 1 << 20);
    assert.ok(chunk.equals(data.subarray(1 << 20, 2 << 20)));
    assert.equal(await f.readInto(chunk, data.length - 3), 3, 'short only at the end');
    assert.ok(chunk.subarray(0, 3).equals(data.subarray(data.length - 3)));
    assert.ok(chunk.subarray(3).equals(data.subarray((1 << 20) + 3, 2 << 20)), 'nothing past the bytes read is touched');
    assert.equal(await f.readInto(chunk, data.length), 0);
  } finally {
    await f.close?.();
  }
  await assert.rejects(f.read(0, 10), 'closed: the handle was really released');
});
