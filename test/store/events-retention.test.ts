// Issue #14: the events table grew without bound. The store keeps the newest events.maxRows rows,
// pruning as it appends (in the append's own transaction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { DEFAULT_MAX_EVENTS } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/store-backends.js';
import { loadConfig } from '../../src/config/index.js';
import { createFrontend } from '../../src/app/frontend.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';

forEachBackend('the events log keeps the newest maxRows rows, inside transactions too', async (b) => {
  const store = await b.open({ maxEvents: 5 });
  {
    for (let i = 0; i < 12; i++) await store.events.append({ kind: 'test.tick', detail: { i } });
    let rows = await store.events.list();
    assert.deepEqual(
      rows.map((r) => r.detail['i']),
      [7, 8, 9, 10, 11],
    );
    await store.transaction(async (tx) => {
      for (let i = 12; i < 15; i++) await tx.events.append({ kind: 'test.tick', detail: { i } });
    });
    rows = await store.events.list();
    assert.deepEqual(
      rows.map((r) => r.detail['i']),
      [10, 11, 12, 13, 14],
    );
    // sinceId readers (insert-ethers screens) keep working across pruning.
    assert.deepEqual(
      (await store.events.list({ sinceId: rows[2]!.id })).map((r) => r.detail['i']),
      [13, 14],
    );
  }
});

forEachBackend('a lowered bound drains a backlog over the next appends, a bounded batch at a time', async (b) => {
  const big = await b.open({ maxEvents: 10_000 });
  await big.transaction(async (tx) => {
    for (let i = 0; i < 2500; i++) await tx.events.append({ kind: 'test.tick' });
  });
  await big.close();
  const store = await b.open({ maxEvents: 100 });
  await store.events.append({ kind: 'test.tick' });
  assert.equal((await store.events.list({ limit: 10_000 })).length, 2501 - 1000, 'one append prunes at most 1000 rows');
  for (let i = 0; i < 3; i++) await store.events.append({ kind: 'test.tick' });
  assert.equal((await store.events.list({ limit: 10_000 })).length, 100);
});

test('events.maxRows: default, validation, and the frontend store honours it', async () => {
  const dir = tempStateDir('nrt-events-');
  try {
    assert.equal(loadConfig({ env: {}, overrides: { stateDir: dir } }).events.maxRows, DEFAULT_MAX_EVENTS);
    assert.equal(loadConfig({ env: { NETROOT_EVENTS_MAX_ROWS: '5000' }, overrides: { stateDir: dir } }).events.maxRows, 5000);
    assert.throws(() => loadConfig({ env: {}, overrides: { stateDir: dir, 'events.maxRows': '10' } }), { code: 'E_CONFIG_INVALID' });
    const config = loadConfig({ env: {}, overrides: { stateDir: dir, 'events.maxRows': '100', 'tftp.enabled': 'false', 'iscsi.enabled': 'false' } });
    const f = createFrontend(config, { logger: silentLogger });
    try {
      for (let i = 0; i < 130; i++) await f.store.events.append({ kind: 'test.tick', detail: { i } });
      const rows = await f.store.events.list({ limit: 10_000 });
      assert.equal(rows.length, 100);
      assert.equal(rows[0]!.detail['i'], 30);
    } finally {
      await f.stop();
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
