// One logical unit (src/iscsi/scsi/logical-unit.ts) on a real sparse file: its stable identity
// (NAA 3 designator and serial number from the target IQN, LUN and path), the shared/exclusive
// gate that makes COMPARE AND WRITE atomic, block I/O with FUA and the write cache, pooled
// reads that return their buffer on failure, and reset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { dataInPool } from '../../../src/iscsi/buffer-pool.js';
import { LogicalUnit, luIdentity } from '../../../src/iscsi/scsi/logical-unit.js';
import { fileAt, openLu, pattern, putFile, type TestLu } from '../helpers/scsi-lu.js';

let t: TestLu;
before(async () => {
  t = await openLu({ lun: 2 });
});
after(async () => {
  await t?.close();
});

test('luIdentity: NAA 3 (locally assigned) and serial from SHA-256 of target IQN, LUN and path; stable, distinct per input', () => {
  const iqn = 'iqn.2026-12.local.netroot:node7';
  const id = luIdentity(iqn, 4, '/srv/luns/node7.img');
  const h = createHash('sha256').update(`${iqn}\u00004\u0000/srv/luns/node7.img`).digest();
  const naa = Buffer.from(h.subarray(0, 8));
  naa[0] = 0x30 | (naa[0]! & 0x0f);
  assert.deepEqual(id, { naa, serial: h.subarray(8, 16).toString('hex'), targetIqn: iqn });
  assert.equal(id.naa[0]! >> 4, 3, 'NAA 3');
  assert.match(id.serial, /^[0-9a-f]{16}$/);
  assert.deepEqual(luIdentity(iqn, 4, '/srv/luns/node7.img'), id, 'stable');
  const others = [luIdentity(`${iqn}x`, 4, '/srv/luns/node7.img'), luIdentity(iqn, 5, '/srv/luns/node7.img'), luIdentity(iqn, 4, '/srv/luns/node8.img')];
  for (const o of others) {
    assert.notDeepEqual(o.naa, id.naa);
    assert.notEqual(o.serial, id.serial);
  }
});

test('geometry comes from the file: blockSize, blockCount, number', async () => {
  assert.equal(t.lu.blockSize, 512);
  assert.equal(t.lu.blockCount, 16384);
  assert.equal(t.lu.number, 2);
  const k4 = await openLu({ blockSize: 4096, sizeBytes: 1 << 20 });
  try {
    assert.equal(k4.lu.blockSize, 4096);
    assert.equal(k4.lu.blockCount, 256);
  } finally {
    await k4.close();
  }
});

/** A promise and its resolve function. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
/** Let every pending promise job run (the gate uses only promises, no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

test('the gate: shared users run together; an exclusive user waits for them and runs alone; shared users wait for it', async () => {
  const lu = new LogicalUnit(0, t.file, t.lu.identity);
  const log: string[] = [];
  const a = deferred();
  const b = deferred();
  const e = deferred();
  const sa = lu.withShared(async () => {
    log.push('A');
    await a.promise;
    return 'a';
  });
  const sb = lu.withShared(async () => {
    log.push('B');
    await b.promise;
    return 'b';
  });
  await settle();
  assert.deepEqual(log, ['A', 'B'], 'two shared users at once');
  const ex = lu.withExclusive(async () => {
    log.push('E');
    await e.promise;
    return 'e';
  });
  await settle();
  assert.deepEqual(log, ['A', 'B'], 'exclusive waits while shared users run');
  a.resolve();
  assert.equal(await sa, 'a');
  await settle();
  assert.deepEqual(log, ['A', 'B'], 'still one shared user');
  b.resolve();
  assert.equal(await sb, 'b');
  await settle();
  assert.deepEqual(log, ['A', 'B', 'E'], 'exclusive runs once the last shared user is done');
  const sc = lu.withShared(async () => {
    log.push('C');
    return 'c';
  });
  const ex2 = lu.withExclusive(async () => {
    log.push('F');
    return 'f';
  });
  await settle();
  assert.deepEqual(log, ['A', 'B', 'E'], 'shared and exclusive users wait for the exclusive one');
  e.resolve();
  assert.equal(await ex, 'e');
  assert.equal(await sc, 'c');
  assert.equal(await ex2, 'f');
  assert.ok(log.indexOf('C') > log.indexOf('E') && log.indexOf('F') > log.indexOf('E'));
  // Afterwards the gate is open: a shared and an exclusive user run at once when alone.
  assert.equal(await lu.withShared(async () => 1), 1);
  assert.equal(await lu.withExclusive(async () => 2), 2);
});

test('the gate opens again after a user throws (shared or exclusive)', async () => {
  const lu = new LogicalUnit(0, t.file, t.lu.identity);
  await assert.rejects(
    lu.withShared(async () => {
      throw new Error('shared failed');
    }),
    /shared failed/,
  );
  assert.equal(await lu.withExclusive(async () => 'ex after shared error'), 'ex after shared error');
  await assert.rejects(
    lu.withExclusive(async () => {
      throw new Error('exclusive failed');
    }),
    /exclusive failed/,
  );
  assert.equal(await lu.withShared(async () => 'shared after exclusive error'), 'shared after exclusive error');
  assert.equal(await lu.withExclusive(async () => 'exclusive again'), 'exclusive again');
  // A waiter queued behind a failing exclusive user is woken.
  const gate = deferred();
  const failing = lu.withExclusive(async () => {
    await gate.promise;
    throw new Error('late failure');
  });
  const waiter = lu.withShared(async () => 'woken');
  gate.resolve();
  await assert.rejects(failing, /late failure/);
  assert.equal(await waiter, 'woken');
});

test('writeBlocks: at LBA × block size, several parts contiguous; synced with FUA or with the write cache off', async () => {
  const { lu } = t;
  t.takeSyncs();
  const d = pattern(3 * 512, 9);
  await lu.writeBlocks(10, [d.subarray(0, 512), d.subarray(512)], false);
  assert.ok(fileAt(t.path, 10 * 512, 3 * 512).equals(d));
  assert.equal(t.takeSyncs(), 0, 'cached');
  await lu.writeBlocks(20, [d], true);
  assert.equal(t.takeSyncs(), 1, 'FUA');
  lu.writeCache = false;
  try {
    await lu.writeBlocks(30, [d], false);
    assert.equal(t.takeSyncs(), 1, 'write cache off');
    await lu.writeBlocks(30, [d], true);
    assert.equal(t.takeSyncs(), 1, 'both: one sync');
  } finally {
    lu.writeCache = true;
  }
});

test('readBlocks and readPooled: count × block size bytes at LBA × block size', async () => {
  const { lu } = t;
  putFile(t.path, 40 * 512, pattern(4 * 512, 11));
  assert.ok((await lu.readBlocks(40, 4)).equals(pattern(4 * 512, 11)));
  assert.ok((await lu.readBlocks(41, 1)).equals(pattern(4 * 512, 11).subarray(512, 1024)));
  const r = await lu.readPooled(40, 4);
  assert.ok(r.buf.equals(pattern(4 * 512, 11)));
  r.release();
  // 128 blocks = 64 KiB: a pooled size.
  putFile(t.path, 1000 * 512, pattern(128 * 512, 12));
  const big = await lu.readPooled(1000, 128);
  assert.ok(big.buf.equals(pattern(128 * 512, 12)));
  big.release();
});

test('readPooled gives its pooled buffer back when the read fails', async () => {
  const { lu } = t;
  const n = 128 * 512; // a pooled size class
  const a = dataInPool.take(n);
  const backing = a.buf.buffer;
  a.release();
  // The failing read takes that buffer from the pool; it must return it.
  await assert.rejects(lu.readPooled(lu.blockCount - 1, 128), /outside the volume/);
  const b = dataInPool.take(n);
  assert.equal(b.buf.buffer, backing, 'the same pooled buffer is handed out again');
  b.release();
});
