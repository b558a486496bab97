// LunFile write gathering (lun-file.ts): many concurrent writes — adjacent, scattered, with
// several parts, across the IOV_MAX and size limits of one request — land exactly where they
// were addressed, on a real sparse file, and adjacent ones share pwritev requests. Every case
// runs twice: with the native helper (native/lunio: several writes per thread-pool request) and
// without it (one fs.write/fs.writev per run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LunFile } from '../../src/iscsi/lun-file.js';
import { lunIo, parseDirtyLow, writeNowTimed, type LunIo } from '../../src/iscsi/lun-io.js';

for (const native of [true, false]) {
  const how = native ? 'native helper' : 'fs only';

  async function withLun(sizeBytes: number, fn: (lun: LunFile, path: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'netroot-lun-gather-'));
    const path = join(dir, 'lun.img');
    const lun = await LunFile.open({ path, sizeBytes, native });
    try {
      await fn(lun, path);
    } finally {
      await lun.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Deterministic bytes for block `i` (so a misplaced block is detected). */
  function block(i: number, size: number): Buffer {
    const b = Buffer.alloc(size);
    for (let k = 0; k < size; k += 4) b.writeUInt32BE(((i + 1) * 2654435761 + k) >>> 0, k);
    return b;
  }

  test(`${how}: 256 concurrent adjacent 4 KiB writes land in place and are gathered into fewer requests`, async () => {
    await withLun(4 << 20, async (lun, path) => {
      const order = Array.from({ length: 256 }, (_, i) => (i * 97) % 256); // a permutation
      await Promise.all(order.map((i) => lun.write([block(i, 4096)], i * 4096)));
      const file = readFileSync(path);
      for (let i = 0; i < 256; i++) assert.ok(file.subarray(i * 4096, (i + 1) * 4096).equals(block(i, 4096)), `block ${i}`);
      assert.ok(
        file.subarray(256 * 4096).every((x) => x === 0),
        'nothing written past the last block',
      );
      assert.equal(lun.writeStats.writes, 256);
      assert.ok(lun.writeStats.requests < 256, `expected gathering, got ${lun.writeStats.requests} requests`);
    });
  });

  test(`${how}: scattered and multi-part writes, plus runs longer than IOV_MAX buffers, are exact`, async () => {
    await withLun(16 << 20, async (lun, path) => {
      const expected = Buffer.alloc(16 << 20);
      const jobs: Array<Promise<void>> = [];
      // 2,100 adjacent 512-byte writes in two parts each: one gathered run would need 4,200 iovecs.
      for (let i = 0; i < 2100; i++) {
        const b = block(i, 512);
        b.copy(expected, i * 512);
        jobs.push(lun.write([b.subarray(0, 100), b.subarray(100)], i * 512));
      }
      // Scattered 4 KiB writes far from the run, in no particular order.
      for (let j = 0; j < 300; j++) {
        const at = (8 << 20) + ((j * 7919) % 1024) * 8192;
        const b = block(10_000 + j, 4096);
        b.copy(expected, at);
        jobs.push(lun.write([b], at));
      }
      // Zero-length parts are ignored; an empty write resolves at once.
      jobs.push(lun.write([Buffer.alloc(0)], 0));
      await Promise.all(jobs);
      assert.ok(readFileSync(path).equals(expected));
    });
  });

  test(`${how}: 1 MiB writes and a 9 MiB one (over the 8 MiB gather cap) queued together stay exact, in several requests`, async () => {
    await withLun(32 << 20, async (lun, path) => {
      const expected = Buffer.alloc(32 << 20);
      const jobs: Array<Promise<void>> = [];
      for (let i = 0; i < 12; i++) {
        const b = block(i, 1 << 20);
        b.copy(expected, i << 20);
        jobs.push(lun.write([b], i << 20));
      }
      const big = block(99, 9 << 20);
      big.copy(expected, 12 << 20);
      jobs.push(lun.write([big], 12 << 20));
      await Promise.all(jobs);
      assert.ok(readFileSync(path).equals(expected));
      assert.equal(lun.writeStats.writes, 13);
      assert.ok(lun.writeStats.requests >= 3, `the cap splits the run: ${lun.writeStats.requests} requests`);
    });
  });

  test(`${how}: a gathered write resolves only once its own bytes are in the file (what FUA and SYNC CACHE build on)`, async () => {
    await withLun(2 << 20, async (lun, path) => {
      const fd = openSync(path, 'r');
      try {
        const seen: number[] = [];
        await Promise.all(
          Array.from({ length: 128 }, (_, i) =>
            lun.write([block(i, 8192)], i * 8192).then(() => {
              const got = Buffer.alloc(8192);
              readSync(fd, got, 0, 8192, i * 8192);
              assert.ok(got.equals(block(i, 8192)), `block ${i} not in the file when its write resolved`);
              seen.push(i);
            }),
          ),
        );
        assert.equal(seen.length, 128);
        await lun.sync();
      } finally {
        closeSync(fd);
      }
    });
  });

  test(`${how}: bounds are checked before anything is queued; writes on a closed volume are refused`, async () => {
    await withLun(1 << 20, async (lun) => {
      assert.throws(() => lun.write([Buffer.alloc(4096)], (1 << 20) - 2048), { code: 'E_ISCSI_LUN_RANGE' });
      assert.throws(() => lun.write([Buffer.alloc(1)], -1), { code: 'E_ISCSI_LUN_RANGE' });
      assert.equal(lun.writeStats.writes, 0);
      await lun.close();
      assert.throws(() => lun.write([Buffer.alloc(512)], 0), { code: 'E_ISCSI_LUN_CLOSED' });
    });
  });

  test(`${how}: close() waits for in-flight writes and refuses queued ones (never a write on a closed descriptor)`, async () => {
    await withLun(4 << 20, async (lun) => {
      // 64 KiB each: over what a lone write may do on the loop's thread, so the first one is in
      // the pool at once (a lone small write waits for the end of the task, see the next tests).
      const jobs = Array.from({ length: 64 }, (_, i) =>
        lun.write([block(i, 65536)], i * 65536).then(
          () => 'ok',
          (e: NodeJS.ErrnoException) => e.code ?? 'error',
        ),
      );
      await lun.close();
      const outcomes = await Promise.all(jobs);
      assert.equal(outcomes.length, 64);
      for (const o of outcomes) assert.ok(o === 'ok' || o === 'E_ISCSI_LUN_CLOSED', `unexpected outcome ${o}`);
      assert.ok(outcomes.includes('ok'), 'writes already in flight complete');
      assert.ok(outcomes.includes('E_ISCSI_LUN_CLOSED'), 'queued writes are refused');
    });
  });

  test(`${how}: reads return what was written, holes as zeros, at every alignment`, async () => {
    await withLun(4 << 20, async (lun) => {
      const data = block(7, 1 << 20);
      await lun.write([data], 1 << 20);
      for (const [pos, len] of [
        [1 << 20, 4096],
        [(1 << 20) + 513, 100_000],
        [(1 << 20) - 4096, 8192],
        [(2 << 20) - 10, 4096],
        [3 << 20, 65536],
      ] as const) {
        const got = Buffer.alloc(len + 8, 0xee);
        await lun.read(got, 4, len, pos);
        const want = Buffer.alloc(len);
        for (let i = 0; i < len; i++) {
          const at = pos + i;
          want[i] = at >= 1 << 20 && at < 2 << 20 ? data[at - (1 << 20)]! : 0;
        }
        assert.ok(got.subarray(4, 4 + len).equals(want), `read ${pos}+${len}`);
        assert.ok(got.subarray(0, 4).every((x) => x === 0xee) && got.subarray(4 + len).every((x) => x === 0xee), 'nothing outside the range touched');
      }
    });
  });

  test(`${how}: scattered 4 KiB writes queued together ${native ? 'share thread-pool requests' : 'take one request each'}`, async () => {
    await withLun(8 << 20, async (lun, path) => {
      // 1 + 63 writes, none adjacent: the first leaves at once, the others wait for the microtask.
      const at = (i: number): number => ((i * 37) % 64) * 131072;
      await Promise.all(Array.from({ length: 64 }, (_, i) => lun.write([block(i, 4096)], at(i))));
      const file = readFileSync(path);
      for (let i = 0; i < 64; i++) assert.ok(file.subarray(at(i), at(i) + 4096).equals(block(i, 4096)), `block ${i}`);
      assert.equal(lun.writeStats.requests, 64, 'scattered writes are not gathered into one pwritev');
      if (native) assert.ok(lun.writeStats.batches <= 16, `expected batches of several writes, got ${lun.writeStats.batches} requests`);
      else assert.equal(lun.writeStats.batches, 64);
    });
  });
}

test('the native helper is built (npm run build:native) and loads', () => {
  assert.ok(lunIo, 'native/lunio/build/Release/lunio.node');
});

test('native writeBatch: one errno per write, later writes still run; arguments are checked', async () => {
  const io = lunIo!;
  const dir = mkdtempSync(join(tmpdir(), 'netroot-lunio-'));
  try {
    const path = join(dir, 'f');
    writeFileSync(path, Buffer.alloc(8192));
    const ro = openSync(path, 'r');
    const rw = openSync(path, 'r+');
    try {
      const run = (fd: number, positions: number[], counts: number[], buffers: Buffer[]): Promise<number[]> =>
        new Promise((res) => io.writeBatch(fd, Float64Array.from(positions), Uint32Array.from(counts), buffers, (e) => res([...e])));
      // A descriptor opened read-only: EBADF for each write.
      assert.deepEqual(await run(ro, [0, 4096], [1, 1], [Buffer.alloc(10, 1), Buffer.alloc(10, 2)]), [9, 9]);
      // Two writes of two and one buffers; the second beyond the old end extends the file.
      assert.deepEqual(await run(rw, [100, 9000], [2, 1], [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('xyz')]), [0, 0]);
      const got = readFileSync(path);
      assert.equal(got.subarray(100, 104).toString(), 'abcd');
      assert.equal(got.subarray(9000, 9003).toString(), 'xyz');
      assert.equal(got.length, 9003);
      const one = [Buffer.alloc(1)];
      const cb = (): void => assert.fail('no callback after a refused call');
      assert.throws(() => io.writeBatch(rw, new Float64Array([0]), new Uint32Array([2]), one, cb), TypeError); // counts ≠ buffers
      assert.throws(() => io.writeBatch(rw, new Float64Array([-1]), new Uint32Array([1]), one, cb), TypeError);
      assert.throws(() => io.writeBatch(rw, new Float64Array([0.5]), new Uint32Array([1]), one, cb), TypeError);
      assert.throws(() => io.writeBatch(rw, new Float64Array([0]), new Uint32Array([1]), ['x' as unknown as Buffer], cb), TypeError);
      assert.throws(() => io.writeBatch(rw, new Float64Array(0), new Uint32Array(0), [], cb), TypeError);
      assert.throws(() => io.writeBatch(-1, new Float64Array([0]), new Uint32Array([1]), one, cb), TypeError);
      assert.throws(() => io.writeBatch(rw, new Float64Array([0]), new Uint32Array([1]), one, undefined as unknown as () => void), TypeError);
      // readCached: bytes read, 0 at the end, -errno; the range must lie inside the buffer.
      const buf = Buffer.alloc(16);
      assert.equal(io.readCached(rw, buf, 2, 4, 100), 4);
      assert.equal(buf.subarray(2, 6).toString(), 'abcd');
      assert.equal(io.readCached(rw, buf, 0, 16, 9003), 0);
      const wo = openSync(path, 'a');
      try {
        assert.equal(io.readCached(wo, buf, 0, 4, 0), -9, 'EBADF on a write-only descriptor');
      } finally {
        closeSync(wo);
      }
      assert.throws(() => io.readCached(rw, buf, 8, 9, 0), TypeError);
      assert.throws(() => io.readCached(rw, buf, 0, 4, -1), TypeError);
      assert.throws(() => io.readCached(rw, 'x' as unknown as Buffer, 0, 1, 0), TypeError);
    } finally {
      closeSync(ro);
      closeSync(rw);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Lone small writes on the loop's thread (lun-file.ts WRITE_NOW_MAX, native writeNow).
const VMSTAT = 'nr_free_pages 100\nnr_dirty 10\nnr_writeback 5\nnr_dirty_threshold 400\nnr_dirty_background_threshold 200\n';

test('parseDirtyLow: under the background threshold only; a missing or garbled field means no', () => {
  assert.equal(parseDirtyLow(VMSTAT), true);
  assert.equal(parseDirtyLow(VMSTAT.replace('nr_dirty 10', 'nr_dirty 195')), false, 'dirty + writeback = the threshold');
  assert.equal(parseDirtyLow(VMSTAT.replace('nr_writeback 5', 'nr_writeback 189')), true);
  assert.equal(parseDirtyLow(VMSTAT.replace('nr_writeback 5', 'nr_writeback 190')), false);
  assert.equal(parseDirtyLow(VMSTAT.replace('nr_dirty 10\n', '')), false);
  assert.equal(parseDirtyLow(VMSTAT.replace('nr_dirty_background_threshold 200', 'nr_dirty_background_threshold x')), false);
  assert.equal(parseDirtyLow(VMSTAT.replace('nr_writeback 5', 'nr_writeback_temp 5')), false, 'a prefix is not the field');
  assert.equal(parseDirtyLow(''), false);
  assert.equal(parseDirtyLow('\0\0garbage'), false);
});

async function withNativeLun(opts: { writeNow?: boolean }, fn: (lun: LunFile, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-lun-now-'));
  const path = join(dir, 'lun.img');
  const lun = await LunFile.open({ path, sizeBytes: 1 << 20, ...opts });
  try {
    await fn(lun, path);
  } finally {
    await lun.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('native helper: a lone small write goes on the loop thread, its bytes in the file when it resolves; a burst is gathered', {
  skip: !lunIo && 'native helper not built',
}, async () => {
  await withNativeLun({}, async (lun, path) => {
    const fd = openSync(path, 'r');
    try {
      // Lone writes one after the other, at page-aligned and odd (512-byte) positions, 1 part or 3.
      for (const [i, pos, len] of [
        [1, 0, 4096],
        [2, 8192 + 512, 1024],
        [3, 65536 - 512, 32768],
      ] as const) {
        const b = Buffer.alloc(len, i);
        const parts = len > 2048 ? [b.subarray(0, 100), b.subarray(100, 2000), b.subarray(2000)] : [b];
        await lun.write(parts, pos);
        const got = Buffer.alloc(len);
        readSync(fd, got, 0, len, pos);
        assert.ok(got.equals(b), `write ${i} in the file when it resolved`);
      }
      assert.equal(lun.writeStats.writes, 3);
      assert.ok(lun.writeStats.onLoop >= 1, `lone writes on the loop thread: ${JSON.stringify(lun.writeStats)}`);
      // 32 at once: gathered through the pool (none on the loop thread).
      const before = lun.writeStats.onLoop;
      await Promise.all(Array.from({ length: 32 }, (_, i) => lun.write([Buffer.alloc(4096, 100 + i)], 131072 + i * 4096)));
      assert.equal(lun.writeStats.onLoop, before, 'a burst is not written on the loop thread');
      const all = readFileSync(path);
      for (let i = 0; i < 32; i++) assert.ok(all.subarray(131072 + i * 4096, 131072 + (i + 1) * 4096).every((x) => x === 100 + i));
    } finally {
      closeSync(fd);
    }
  });
});

test('native helper: over 32 KiB, or writeNow: false, a lone write goes through the pool', { skip: !lunIo && 'native helper not built' }, async () => {
  await withNativeLun({}, async (lun) => {
    await lun.write([Buffer.alloc(32768 + 512, 1)], 0);
    assert.equal(lun.writeStats.onLoop, 0);
  });
  await withNativeLun({ writeNow: false }, async (lun, path) => {
    await lun.write([Buffer.alloc(4096, 9)], 4096);
    assert.equal(lun.writeStats.onLoop, 0);
    assert.ok(
      readFileSync(path)
        .subarray(4096, 8192)
        .every((x) => x === 9),
    );
  });
});

test('native writeNow: argument checks throw; a failed write returns -errno; a short write count is never returned', {
  skip: !lunIo && 'native helper not built',
}, () => {
  const io = lunIo!;
  const dir = mkdtempSync(join(tmpdir(), 'netroot-lun-now-'));
  try {
    const path = join(dir, 'f');
    writeFileSync(path, Buffer.alloc(8192));
    const ro = openSync(path, 'r');
    try {
      assert.ok(io.writeNow(ro, [Buffer.alloc(4096)], 0) < 0, 'EBADF on a read-only descriptor');
      assert.throws(() => io.writeNow(ro, [Buffer.alloc(1)], -1), TypeError);
      assert.throws(() => io.writeNow(ro, [Buffer.alloc(1)], 1.5), TypeError);
      assert.throws(() => io.writeNow(ro, ['x' as unknown as Buffer], 0), TypeError);
      assert.throws(() => io.writeNow(-1, [Buffer.alloc(1)], 0), TypeError);
      assert.equal(
        io.writeNow(
          ro,
          Array.from({ length: 65 }, () => Buffer.alloc(1)),
          0,
        ),
        -11,
        'too many buffers: EAGAIN, nothing written',
      );
    } finally {
      closeSync(ro);
    }
    const rw = openSync(path, 'r+');
    try {
      assert.equal(io.writeNow(rw, [Buffer.alloc(100, 1), Buffer.alloc(0), Buffer.alloc(412, 2)], 1000), 512);
      assert.equal(io.writeNow(rw, [], 0), 0);
      const f = readFileSync(path);
      assert.ok(f.subarray(1000, 1100).every((x) => x === 1) && f.subarray(1100, 1512).every((x) => x === 2));
      // `slept`: the voluntary context switches during the write (a cached page: none expected,
      // but a loaded machine may make the kernel yield; never negative once known).
      const slept = new Float64Array([42]);
      assert.equal(io.writeNow(rw, [Buffer.alloc(4096, 3)], 4096, slept), 4096);
      assert.ok(slept[0]! >= 0 && slept[0]! < 42, `slept is set: ${slept[0]}`);
      assert.ok(
        readFileSync(path)
          .subarray(4096, 8192)
          .every((x) => x === 3),
      );
      assert.throws(() => io.writeNow(rw, [Buffer.alloc(1)], 0, new Float64Array(0)), TypeError);
      assert.throws(() => io.writeNow(rw, [Buffer.alloc(1)], 0, new Int32Array(1) as unknown as Float64Array), TypeError);
      assert.throws(() => io.writeNow(rw, [Buffer.alloc(1)], 0, [0] as unknown as Float64Array), TypeError);
    } finally {
      closeSync(rw);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// writeNowTimed's decision (lun-file.ts pauses its loop path on `waited`), with a LunIo whose
// writeNow takes the time and reports the sleeps it is told to: only a write that was both slow
// and slept waited; one that was slow without sleeping was preempted, which says nothing of the file.
test('writeNowTimed: waited only when the write was slow and slept in the kernel (or cannot tell)', () => {
  const fake = (ms: number, switches: number): LunIo => ({
    writeBatch: () => assert.fail('not used'),
    readCached: () => assert.fail('not used'),
    writeNow: (_fd, buffers, _pos, slept) => {
      const end = performance.now() + ms;
      while (performance.now() < end); // busy: a write that takes `ms` of wall time
      if (slept) slept[0] = switches;
      return buffers.reduce((n, b) => n + b.length, 0);
    },
  });
  const b = [Buffer.alloc(4096)];
  assert.deepEqual({ ...writeNowTimed(fake(5, 0), 3, b, 0, 2) }, { r: 4096, waited: false }, 'slow, never slept: preempted');
  assert.deepEqual({ ...writeNowTimed(fake(5, 1), 3, b, 0, 2) }, { r: 4096, waited: true }, 'slow and slept');
  assert.deepEqual({ ...writeNowTimed(fake(5, -1), 3, b, 0, 2) }, { r: 4096, waited: true }, 'slow, sleeps unknown: counted as waited');
  assert.deepEqual({ ...writeNowTimed(fake(0, 3), 3, b, 0, 2) }, { r: 4096, waited: false }, 'slept briefly but fast');
});
