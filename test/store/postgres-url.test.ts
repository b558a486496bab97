// store.url handling without a server: which backend a URL selects, the masked forms messages use
// (never the password, also for malformed input), and a server that accepts TCP but never answers
// is E_STORE_UNREACHABLE after store.connectTimeoutMs, not a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { PostgresStore, safeUrl, storeUrlKind } from '../../src/store/index.js';
import { maskPassword, unreachable, whereOf } from '../../src/store/postgres-errors.js';

test('storeUrlKind: empty is SQLite, postgres(ql):// PostgreSQL, anything else E_STORE_URL without the value', () => {
  assert.equal(storeUrlKind(''), 'sqlite');
  assert.equal(storeUrlKind('postgres://h/db'), 'postgres');
  assert.equal(storeUrlKind('PostgreSQL://u:p@h:5433/db'), 'postgres');
  for (const bad of ['mysql://u:hunter2@h/db', 'postgres:/hunter2', 'hunter2', 'postgres://u:hunter2@[::1/db', ' postgres://h']) {
    assert.throws(
      () => storeUrlKind(bad),
      (e: Error & { code?: string }) => e.code === 'E_STORE_URL' && !e.message.includes('hunter2'),
      bad,
    );
  }
});

test('safeUrl, whereOf, maskPassword: the password masked, malformed input never echoed', () => {
  assert.equal(safeUrl('postgres://netroot:hunter2@db.example:5433/netroot'), 'postgres://netroot:********@db.example:5433/netroot');
  assert.equal(safeUrl('postgres://netroot@db/netroot'), 'postgres://netroot@db/netroot');
  assert.equal(safeUrl('postgres://db/n?password=hunter2&sslmode=require'), 'postgres://db/n?password=********&sslmode=require');
  assert.equal(safeUrl('postgres://u:hunter2@[::1/db'), 'postgres://…');
  assert.equal(whereOf('postgres://u:hunter2@db.example/netroot'), 'db.example:5432/netroot');
  assert.equal(whereOf('postgres://u:hunter2@10.0.0.5:6000'), '10.0.0.5:6000');
  assert.equal(whereOf('postgres:///netroot?host=/run/postgresql'), '/run/postgresql:5432/netroot');
  assert.equal(whereOf('not a url hunter2'), 'postgres://…');
  assert.equal(maskPassword('login hunter2 refused', 'postgres://u:hunter2@h/db'), 'login ******** refused');
  assert.equal(maskPassword('login p%w refused', 'postgres://u:p%25w@h/db'), 'login ******** refused');
  assert.equal(maskPassword('as is', 'garbage'), 'as is');
  const e = unreachable('postgres://u:hunter2@h:1/db', new Error('password "hunter2" for u refused'));
  assert.equal(e.code, 'E_STORE_UNREACHABLE');
  assert.equal(e.message, 'cannot reach PostgreSQL at h:1/db: password "********" for u refused');
});

test('a server that accepts and never answers: E_STORE_UNREACHABLE after connectTimeoutMs, every call, no hang', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const port = (silent.address() as { port: number }).port;
  const store = new PostgresStore(`postgres://u:hunter2@127.0.0.1:${port}/db`, { connectTimeoutMs: 300 });
  try {
    const t0 = performance.now();
    await assert.rejects(store.ready(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_STORE_UNREACHABLE');
      assert.match(e.message, new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/db: .*timeout`, 'i'));
      assert.ok(!e.message.includes('hunter2'));
      return true;
    });
    assert.ok(performance.now() - t0 < 5000, 'gave up after the connect timeout');
    // A later call tries again (the server may be back) and fails the same way.
    await assert.rejects(store.hosts.list(), { code: 'E_STORE_UNREACHABLE' });
  } finally {
    await store.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});
