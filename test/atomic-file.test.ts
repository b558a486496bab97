// src/atomic-file.ts: concurrent writers of one file never share a temporary (issue #14: parallel
// installComplete calls collided on `<overlay>.tmp-<pid>` and failed with ENOENT at the rename).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempNameFor, writeFileAtomic } from '../src/atomic-file.js';

test('parallel writers of one path all succeed and leave exactly the final file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-atomic-'));
  try {
    const path = join(dir, 'overlay-0123456789abcdef.img');
    const contents = Array.from({ length: 32 }, (_, i) => `content ${i}\n`.repeat(1000));
    await Promise.all(contents.map((c) => writeFileAtomic(path, c, { durable: true })));
    assert.deepEqual(readdirSync(dir), ['overlay-0123456789abcdef.img']);
    assert.ok(contents.includes(readFileSync(path, 'utf8')), "one writer's whole content, never a mix");
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('temporary names are unique, hidden and never look like the final name', () => {
  const names = new Set(Array.from({ length: 1000 }, () => tempNameFor('/x/overlay-0123456789abcdef.img')));
  assert.equal(names.size, 1000);
  for (const n of names) assert.match(n, /^\/x\/\.overlay-0123456789abcdef\.img\.\d+-\d+-[0-9a-f]{8}\.tmp$/);
});
