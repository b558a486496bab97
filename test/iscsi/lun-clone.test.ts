// The copy-on-write clone backing (src/iscsi/lun-clone.ts): reads fall through to the golden file,
// writes land in the delta, the golden file is never written; every operation against a model
// buffer; the map survives close and reopen; a kill -9 during writes loses no acknowledged write;
// a changed golden file, a damaged map and bad I/O are refused with their codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { LunClone } from '../../src/iscsi/lun-clone.js';
import { lunIo } from '../../src/iscsi/lun-io.js';
import { tempStateDir } from '../helpers/tmp.js';
import { cloneBlockContent } from '../fixtures/iscsi/clone-content.js';
import { prng } from '../helpers/prng.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(c: LunClone): Promise<Buffer> {
  const b = Buffer.alloc(c.sizeBytes);
  await c.read(b, 0, b.length, 0);
  return b;
}

describe('LunClone', () => {
  let dir: string;
  let golden: string;
  let goldenData: Buffer;
  let n = 0;
  const paths = () => {
    n++;
    return { golden, delta: join(dir, `c${n}.delta`), map: join(dir, `c${n}.map`) };
  };

  before(() => {
    dir = tempStateDir('nrt-clone-');
    golden = join(dir, 'golden.img');
    goldenData = randomBytes(256 * 1024);
    writeFileSync(golden, goldenData, { mode: 0o444 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a new clone reads as its golden volume; writes land in the delta; the golden file is never written', async () => {
    const p = paths();
    const c = await LunClone.create(p);
    try {
      assert.equal(c.sizeBytes, goldenData.length);
      assert.equal(c.blockCount, goldenData.length / 512);
      assert.deepEqual(await readAll(c), goldenData);
      assert.equal(c.allocatedBlocks, 0);
      const data = Buffer.alloc(3 * 512, 0xab);
      await c.write([data.subarray(0, 512), data.subarray(512)], 10 * 512);
      assert.equal(c.allocatedBlocks, 3);
      const want = Buffer.from(goldenData);
      data.copy(want, 10 * 512);
      assert.deepEqual(await readAll(c), want);
      // A read spanning golden, delta, golden: three runs stitched at the right offsets.
      const part = Buffer.alloc(7 * 512);
      await c.read(part, 0, part.length, 8 * 512);
      assert.deepEqual(part, want.subarray(8 * 512, 15 * 512));
      // A read into the middle of a larger buffer leaves the rest of it alone.
      const big = Buffer.alloc(4 * 512, 0x11);
      await c.read(big, 512, 2 * 512, 9 * 512);
      assert.deepEqual(big.subarray(0, 512), Buffer.alloc(512, 0x11));
      assert.deepEqual(big.subarray(512, 1536), want.subarray(9 * 512, 11 * 512));
      assert.deepEqual(big.subarray(1536), Buffer.alloc(512, 0x11));
    } finally {
      await c.close();
    }
    assert.equal(sha(readFileSync(golden)), sha(goldenData), 'golden file unchanged');
    assert.ok(statSync(p.delta).blocks * 512 < goldenData.length, 'the delta is sparse: only what was written');
  });

  for (const blockSize of [512, 4096] as const) {
    test(`every operation against a model (block size ${blockSize}, clone larger than its golden volume): write, zero, deallocate, read, sync, reopen`, async () => {
      const p = paths();
      const size = goldenData.length + 16 * 4096; // the tail past the golden file reads as zeros
      let c = await LunClone.create({ ...p, sizeBytes: size, blockSize });
      const model = Buffer.concat([goldenData, Buffer.alloc(size - goldenData.length)]);
      const blocks = size / blockSize;
      const next = prng(blockSize);
      const pick = (max: number) => Math.floor(next() * max);
      try {
        for (let i = 0; i < 300; i++) {
          const first = pick(blocks);
          const count = 1 + pick(Math.min(24, blocks - first));
          const pos = first * blockSize;
          const len = count * blockSize;
          const op = pick(10);
          if (op < 5) {
            const data = randomBytes(len);
            const cut = blockSize * pick(count); // two parts, as the SCSI layer may pass
            await c.write([data.subarray(0, cut), data.subarray(cut)], pos);
            data.copy(model, pos);
          } else if (op === 5) {
            await c.zero(pos, len);
            model.fill(0, pos, pos + len);
          } else if (op === 6) {
            await c.deallocate(pos, len);
            model.fill(0, pos, pos + len);
          } else if (op === 7) {
            await c.sync();
          } else if (op === 8 && i % 4 === 0) {
            await c.close();
            c = await LunClone.open(p);
          } else {
            const got = Buffer.alloc(len);
            await c.read(got, 0, len, pos);
            assert.deepEqual(got, model.subarray(pos, pos + len), `op ${i}: read ${first}+${count}`);
          }
        }
        assert.deepEqual(await readAll(c), model);
        // A deallocated range of more than the punch threshold reads as zeros too, not as the golden data.
        await c.deallocate(0, goldenData.length);
        model.fill(0, 0, goldenData.length);
        assert.deepEqual(await readAll(c), model);
        await c.close();
        c = await LunClone.open(p);
        assert.deepEqual(await readAll(c), model, 'after reopening');
      } finally {
        await c.close();
      }
      assert.equal(sha(readFileSync(golden)), sha(goldenData));
    });
  }

  test('concurrent writes to blocks that share a map byte: every bit reaches the map file', async () => {
    const p = paths();
    const c = await LunClone.create(p);
    await Promise.all(Array.from({ length: 64 }, (_, b) => c.write([Buffer.alloc(512, b + 1)], b * 512)));
    await c.close();
    const map = readFileSync(p.map);
    assert.deepEqual(map.subarray(64, 64 + 8), Buffer.alloc(8, 0xff), 'blocks 0-63 allocated in the file');
    assert.equal(
      map.subarray(72).some((x) => x !== 0),
      false,
      'and nothing else',
    );
    const r = await LunClone.open(p);
    try {
      for (let b = 0; b < 64; b++) {
        const got = Buffer.alloc(512);
        await r.read(got, 0, 512, b * 512);
        assert.deepEqual(got, Buffer.alloc(512, b + 1), `block ${b}`);
      }
    } finally {
      await r.close();
    }
  });

  test('writes resolved together share one map write; reads mixing golden and delta runs come back whole', async () => {
    assert.ok(lunIo, 'native/lunio/build/Release/lunio.node (npm test builds it)');
    const p = paths();
    const c = await LunClone.create(p);
    // 32 writes, each in its own map byte (every 16th block): none of them adjacent in the delta.
    const blocks = Array.from({ length: 32 }, (_, i) => i * 16);
    await Promise.all(blocks.map((b) => c.write([Buffer.alloc(512, (b % 250) + 1)], b * 512)));
    assert.ok(c.mapStats.writes < blocks.length / 2, `${c.mapStats.writes} map writes for ${blocks.length} writes`);
    const want = Buffer.from(goldenData.subarray(0, 32 * 16 * 512));
    for (const b of blocks) want.fill((b % 250) + 1, b * 512, (b + 1) * 512);
    const got = Buffer.alloc(want.length);
    await c.read(got, 0, got.length, 0); // 64 runs: delta, golden, delta, …
    assert.deepEqual(got, want);
    await c.read(got, 0, got.length, 0); // again, now from the page cache (readCached)
    assert.deepEqual(got, want);
    await c.close();
    const r = await LunClone.open(p);
    try {
      assert.equal(r.allocatedBlocks, blocks.length, 'every bit reached the map file');
      const again = Buffer.alloc(want.length);
      await r.read(again, 0, again.length, 0);
      assert.deepEqual(again, want);
    } finally {
      await r.close();
    }
  });

  test('kill -9 during writes: every acknowledged write is intact after reopening, the rest reads as the golden or the new data', async () => {
    const p = paths();
    await (await LunClone.create(p)).close();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/iscsi/clone-writer.ts', p.golden, p.delta, p.map, '4'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const acked = new Set<number>();
    let durable = 0;
    const lines = createInterface({ input: child.stdout });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`the writer acknowledged only ${acked.size} writes in 60 s: ${err}`)), 60_000);
      lines.on('line', (l) => {
        const m = /^ack (\d+)( durable)?$/.exec(l);
        if (!m) return;
        acked.add(Number(m[1]));
        if (m[2]) durable++;
        if (acked.size === 150) {
          child.kill('SIGKILL');
          clearTimeout(deadline);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(deadline);
        if (acked.size < 150) reject(new Error(`the writer exited (${code}) after ${acked.size} writes: ${err}`));
      });
    });
    await exited;
    assert.ok(durable > 0, 'some writes were acknowledged as durable (after a sync)');
    const c = await LunClone.open(p);
    try {
      const all = await readAll(c);
      let fresh = 0;
      for (let b = 0; b < c.blockCount; b++) {
        const got = all.subarray(b * 512, (b + 1) * 512);
        const written = cloneBlockContent(b, 512);
        if (acked.has(b)) assert.deepEqual(got, written, `acknowledged block ${b}`);
        else if (got.equals(written)) fresh++;
        else assert.deepEqual(got, goldenData.subarray(b * 512, (b + 1) * 512), `unacknowledged block ${b}: golden or new, nothing else`);
      }
      assert.ok(fresh <= 4, `at most one write per writer was in flight (${fresh} unacknowledged blocks hold new data)`);
    } finally {
      await c.close();
    }
  });

  test('a golden file changed under its clones: the clone is refused (E_ISCSI_CLONE_GOLDEN), not served over other data', async () => {
    const own = join(dir, 'own-golden.img');
    writeFileSync(own, randomBytes(64 * 1024));
    const p = { golden: own, delta: join(dir, 'g.delta'), map: join(dir, 'g.map') };
    await (await LunClone.create(p)).close();
    await (await LunClone.open(p)).close();
    const later = new Date(Date.now() + 5000);
    utimesSync(own, later, later);
    await assert.rejects(LunClone.open(p), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_ISCSI_CLONE_GOLDEN');
      assert.match(e.message, /golden volume .*own-golden\.img changed since clone .*g\.delta was made/);
      return true;
    });
    writeFileSync(own, randomBytes(32 * 1024)); // rewritten: another size
    await assert.rejects(LunClone.open(p), { code: 'E_ISCSI_CLONE_GOLDEN' });
  });

  test('a damaged or missing map or delta is E_ISCSI_CLONE_BAD naming the file; a clone is never created over an existing one', async () => {
    const p = paths();
    await (await LunClone.create(p)).close();
    await assert.rejects(LunClone.create(p), { code: 'EEXIST' });
    const good = readFileSync(p.map);
    const refused = async (content: Buffer, re: RegExp) => {
      writeFileSync(p.map, content);
      await assert.rejects(LunClone.open(p), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_ISCSI_CLONE_BAD');
        assert.match(e.message, re);
        return true;
      });
    };
    await refused(Buffer.alloc(10), /is not a clone map/);
    await refused(Buffer.concat([Buffer.from('NRCLONE2'), good.subarray(8)]), /is not a clone map/);
    const v2 = Buffer.from(good);
    v2.writeUInt32LE(2, 8);
    await refused(v2, /clone map version 2 is not 1/);
    const bs = Buffer.from(good);
    bs.writeUInt32LE(1024, 12);
    await refused(bs, /block size 1024 is not 512 or 4096/);
    const sz = Buffer.from(good);
    sz.writeBigUInt64LE(1000n, 16);
    await refused(sz, /volume size 1000 is not whole blocks/);
    await refused(good.subarray(0, good.length - 1), /63 bitmap bytes for 512 blocks \(want 64\)/);
    writeFileSync(p.map, good);
    rmSync(p.delta);
    await assert.rejects(LunClone.open(p), { code: 'E_ISCSI_CLONE_BAD', message: /clone delta .* is missing/ });
    rmSync(p.map);
    await assert.rejects(LunClone.open(p), { code: 'E_ISCSI_CLONE_BAD', message: /clone map .* does not exist/ });
    const q = paths();
    writeFileSync(q.delta, 'stale');
    await assert.rejects(LunClone.create(q), { code: 'E_ISCSI_CLONE_BAD', message: /already exists: a new clone starts with an empty delta/ });
    await assert.rejects(LunClone.create({ ...paths(), sizeBytes: 1024 }), { code: 'E_ISCSI_LUN_SIZE', message: /at least the golden volume's 262144 bytes/ });
    await assert.rejects(LunClone.create({ ...paths(), sizeBytes: goldenData.length + 100 }), { code: 'E_ISCSI_LUN_SIZE' });
  });

  test('I/O outside the volume or not in whole blocks is E_ISCSI_LUN_RANGE; after close, E_ISCSI_LUN_CLOSED', async () => {
    const c = await LunClone.create(paths());
    const b = Buffer.alloc(1024);
    await assert.rejects(c.read(b, 0, 512, c.sizeBytes), { code: 'E_ISCSI_LUN_RANGE' });
    await assert.rejects(c.read(b, 0, 1024, c.sizeBytes - 512), { code: 'E_ISCSI_LUN_RANGE' });
    await assert.rejects(c.read(b, 0, 512, -512), { code: 'E_ISCSI_LUN_RANGE' });
    await assert.rejects(c.write([b.subarray(0, 100)], 0), { code: 'E_ISCSI_LUN_RANGE', message: /not whole 512-byte blocks/ });
    await assert.rejects(c.write([b.subarray(0, 512)], 100), { code: 'E_ISCSI_LUN_RANGE' });
    await assert.rejects(c.zero(c.sizeBytes, 512), { code: 'E_ISCSI_LUN_RANGE' });
    await assert.rejects(c.deallocate(0, c.sizeBytes + 512), { code: 'E_ISCSI_LUN_RANGE' });
    assert.equal(c.allocatedBlocks, 0, 'nothing refused reached the map');
    await c.write([], 0); // an empty write is nothing
    await c.close();
    await c.close(); // twice is fine
    await assert.rejects(c.read(b, 0, 512, 0), { code: 'E_ISCSI_LUN_CLOSED' });
    await assert.rejects(c.write([b.subarray(0, 512)], 0), { code: 'E_ISCSI_LUN_CLOSED' });
    await assert.rejects(c.sync(), { code: 'E_ISCSI_LUN_CLOSED' });
  });

  test('flatten: the clone as it reads, in one plain file, sparse where zeros; never over an existing file; a changed golden refused', async () => {
    const p = paths();
    const c = await LunClone.create({ ...p, sizeBytes: goldenData.length + 256 * 1024 });
    const mine = Buffer.alloc(4 * 512, 0x3c);
    await c.write([mine], 7 * 512);
    await c.deallocate(20 * 512, 2 * 512);
    await c.write([Buffer.alloc(512, 0x77)], goldenData.length + 100 * 512);
    const want = await readAll(c);
    await c.close();
    const out = join(dir, `flat${n}.img`);
    assert.deepEqual(await LunClone.flatten({ ...p, out, chunkBytes: 100_000 }), { sizeBytes: want.length });
    assert.deepEqual(readFileSync(out), want);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    // The 192 KiB of zeros between the golden end and the one written block stay (mostly) a hole.
    assert.ok(statSync(out).blocks * 512 < want.length, `${statSync(out).blocks} blocks for ${want.length} bytes`);
    // The clone itself is unchanged and still opens.
    const again = await LunClone.open(p);
    assert.deepEqual(await readAll(again), want);
    await again.close();
    await assert.rejects(LunClone.flatten({ ...p, out }), { code: 'EEXIST' });
    assert.deepEqual(readFileSync(out), want, 'an existing file is never overwritten');
    // A golden file changed under the clone: refused, and no output is left behind.
    const q = paths();
    const other = join(dir, `golden-other${n}.img`);
    writeFileSync(other, goldenData);
    await (await LunClone.create({ ...q, golden: other })).close();
    utimesSync(other, new Date(0), new Date(1000));
    const out2 = join(dir, `flat-refused${n}.img`);
    await assert.rejects(LunClone.flatten({ ...q, golden: other, out: out2 }), { code: 'E_ISCSI_CLONE_GOLDEN' });
    assert.throws(() => statSync(out2), { code: 'ENOENT' });
  });
});

// A map write that fails (ENOSPC: the map file lives on a full 64 KiB tmpfs; its bitmap is sparse,
// so a bit in a page not yet allocated needs space): the write is not acknowledged, its map bytes
// stay dirty and are retried by the next sync, and close() reports a failure instead of losing it.
test('a failed map write leaves its bytes dirty: the next sync writes them, and close() reports a failure', {
  skip: process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (mounts a tiny tmpfs for the map)',
}, async () => {
  const dir = tempStateDir('nrt-clone-full-');
  const small = join(dir, 'small');
  mkdirSync(small);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { encoding: 'utf8' });
  assert.equal(mount.status, 0, mount.stderr);
  try {
    const golden = join(dir, 'golden.img');
    writeFileSync(golden, randomBytes(64 * 1024), { mode: 0o444 });
    const p = { golden, delta: join(dir, 'c.delta'), map: join(small, 'c.map') };
    // 32 MiB: 65536 blocks, an 8 KiB bitmap after the 64-byte header, over three 4 KiB pages.
    const c = await LunClone.create({ ...p, sizeBytes: 32 << 20 });
    const fill = join(small, 'filler');
    const fillUp = () => {
      const fd = openSync(fill, 'a');
      try {
        for (;;) writeSync(fd, Buffer.alloc(4096, 1));
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
    };
    const mapByte = (block: number) => readFileSync(p.map)[64 + (block >> 3)]!;
    const data = Buffer.alloc(512, 0xa5);
    fillUp();
    // Block 40000's bit is in the bitmap's second page: no room for it.
    await assert.rejects(c.write([data], 40000 * 512), { code: 'ENOSPC' });
    assert.equal(c.allocatedBlocks, 1, 'the bit is set in memory (dirty)');
    assert.equal(mapByte(40000), 0, 'and not in the map file');
    rmSync(fill);
    await c.sync(); // retries the dirty bytes
    assert.equal(mapByte(40000), 1 << (40000 & 7));
    // Block 65100's bit is in the third page: fill up again; the write fails and so does close().
    fillUp();
    await assert.rejects(c.write([data], 65100 * 512), { code: 'ENOSPC' });
    await assert.rejects(c.close(), { code: 'ENOSPC' });
    assert.equal(mapByte(65100), 0);
    rmSync(fill);
    // The acknowledged write survived; the unacknowledged one reads as the golden volume did (zeros past its end).
    const again = await LunClone.open(p);
    const b = Buffer.alloc(512);
    await again.read(b, 0, 512, 40000 * 512);
    assert.deepEqual(b, data);
    await again.read(b, 0, 512, 65100 * 512);
    assert.deepEqual(b, Buffer.alloc(512));
    await again.close();
  } finally {
    spawnSync('umount', [small]);
    rmSync(dir, { recursive: true, force: true });
  }
});
