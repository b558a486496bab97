// Issue #14: the state directory and the files holding secrets were world-readable (netroot.db 0644
// holds CHAP secrets in clear). They must be created private — the directory 0700, the database and
// its -wal/-shm, the API token and the storage state 0600 — at creation, not chmod-fixed afterwards.
// The umask is 0 here, so a file created with the default mode would show 0666/0777.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { loadConfig } from '../../src/config/index.js';
import { ensureApiToken } from '../../src/app/api-token.js';
import { writeJsonFile } from '../../src/storage/util.js';
import { writeFileAtomic } from '../../src/atomic-file.js';

const mode = (p: string) => statSync(p).mode & 0o777;

function withUmask0(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const old = process.umask(0);
    try {
      await fn();
    } finally {
      process.umask(old);
    }
  };
}

test(
  'the store creates the state directory 0700 and netroot.db, -wal, -shm 0600',
  withUmask0(async () => {
    const root = mkdtempSync(join(tmpdir(), 'nrt-modes-'));
    const stateDir = join(root, 'state', 'nested');
    try {
      const store = openStore(stateDir);
      try {
        await store.events.append({ kind: 'test.tick' });
        assert.equal(mode(join(root, 'state')), 0o700);
        assert.equal(mode(stateDir), 0o700);
        for (const f of ['netroot.db', 'netroot.db-wal', 'netroot.db-shm']) {
          assert.ok(existsSync(join(stateDir, f)), f);
          assert.equal(mode(join(stateDir, f)).toString(8), '600', f);
        }
      } finally {
        await store.close();
      }
      // An existing database is opened as it is (nobody chmods an operator's file).
      const again = openStore(stateDir);
      await again.close();
    } finally {
      rmSync(root, { recursive: true });
    }
  }),
);

test(
  'the API token, the storage state file and atomic writes are 0600 from creation, their directories 0700',
  withUmask0(async () => {
    const root = mkdtempSync(join(tmpdir(), 'nrt-modes-'));
    try {
      const stateDir = join(root, 'state');
      const config = loadConfig({ env: {}, overrides: { stateDir } });
      ensureApiToken(config);
      assert.equal(mode(stateDir), 0o700, 'the state directory, when the token creates it');
      assert.equal(mode(join(stateDir, 'api-token')).toString(8), '600');
      const exports = join(root, 'storage', 'tgt-exports.json');
      await writeJsonFile(exports, { secret: 'x' });
      assert.equal(mode(join(root, 'storage')), 0o700);
      assert.equal(mode(exports).toString(8), '600');
      const plain = join(root, 'plain.img');
      await writeFileAtomic(plain, 'data');
      assert.equal(mode(plain).toString(8), '600', 'the default is private');
      await writeFileAtomic(plain, 'data', { mode: 0o644 });
      assert.equal(mode(plain).toString(8), '644', 'a given mode is the mode at creation');
    } finally {
      rmSync(root, { recursive: true });
    }
  }),
);
