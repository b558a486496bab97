// bench:golden's helpers (bench/lib/golden-disk.ts, golden-storm-client.ts): what the storm reads
// and what the disk line counts. The bench itself needs root and QEMU and never runs in CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync, ftruncateSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { allocatedBytes, dataRanges } from '../../bench/lib/golden-disk.js';
import { readsOf } from '../../bench/lib/golden-storm-client.js';
import { tempStateDir } from '../helpers/tmp.js';

const K = 1024;

test('dataRanges: non-zero 64 KiB pieces, adjacent ones merged; holes and zero pieces are not read; from skips the start', () => {
  const dir = tempStateDir('nrt-golden-bench-');
  try {
    const f = join(dir, 'img');
    const fd = openSync(f, 'w');
    try {
      ftruncateSync(fd, 1024 * K);
      writeSync(fd, Buffer.from('a'), 0, 1, 0); // piece 0
      writeSync(fd, Buffer.from('b'), 0, 1, 64 * K + 10); // piece 1: merged with 0
      writeSync(fd, Buffer.alloc(64 * K), 0, 64 * K, 192 * K); // piece 3: written, but zeros
      writeSync(fd, Buffer.from('c'), 0, 1, 1024 * K - 1); // the last piece
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(dataRanges(f), [
      [0, 128 * K],
      [960 * K, 64 * K],
    ]);
    assert.deepEqual(dataRanges(f, { from: 64 * K }), [
      [64 * K, 64 * K],
      [960 * K, 64 * K],
    ]);
    assert.deepEqual(dataRanges(f, { grain: 512 * K }), [[0, 1024 * K]]);
    // du: a sparse file counts only what it allocated; a missing file counts nothing.
    const used = allocatedBytes([f, join(dir, 'missing')]);
    assert.ok(used >= 64 * K && used < 1024 * K, `allocated ${used} bytes of a sparse 1 MiB file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readsOf: ranges split into READ(10)s of at most 256 KiB as [lba, blocks]; a range not in whole blocks is refused', () => {
  assert.deepEqual(readsOf([[1024 * K, 600 * K]], 512, 256 * K), [
    [2048, 512],
    [2560, 512],
    [3072, 176],
  ]);
  assert.deepEqual(readsOf([], 512, 256 * K), []);
  assert.throws(() => readsOf([[100, 512]], 512, 256 * K), /whole 512-byte blocks/);
  assert.throws(() => readsOf([[0, 0]], 512, 256 * K), /whole 512-byte blocks/);
});
