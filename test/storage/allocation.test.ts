import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, pickStorageNode, volumeSizeFor, type StorageNode } from '../../src/storage/allocation.js';
import type { StorageBackend } from '../../src/storage/backend.js';
import { NetrootError } from '../../src/errors.js';

const GiB = 2 ** 30;

/** Only capacity() matters to the policy; the other methods are never called by it. */
function node(name: string, free: number | 'down', total = 1000 * GiB): StorageNode {
  const backend = {
    kind: 'embedded',
    capacity: async () => {
      if (free === 'down') throw new NetrootError('E_STORAGE_DOWN', `${name} refused the connection`);
      return { totalBytes: total, freeBytes: free };
    },
  } as unknown as StorageBackend;
  return { name, backend };
}

test('parseSize: binary suffixes, bytes, rounding up to 512, bad input', () => {
  assert.equal(parseSize('16G'), 16 * GiB);
  assert.equal(parseSize('16GiB'), 16 * GiB);
  assert.equal(parseSize('16 gb'), 16 * GiB);
  assert.equal(parseSize('1.5T'), 1.5 * 2 ** 40);
  assert.equal(parseSize('500M'), 500 * 2 ** 20);
  assert.equal(parseSize('1073741824'), GiB);
  assert.equal(parseSize('1000'), 1024);
  for (const bad of ['', 'G', '-1G', '1X', '0', '1e3', '99999999P']) assert.throws(() => parseSize(bad), { code: 'E_STORAGE_BAD_SIZE' }, bad);
});

test('volumeSizeFor: the attribute wins, else the default', () => {
  assert.equal(volumeSizeFor({ iscsi_volume_size: '40G' }, 16), 40 * GiB);
  assert.equal(volumeSizeFor({ iscsi_volume_size: ' ' }, 16), 16 * GiB);
  assert.equal(volumeSizeFor({}, 16), 16 * GiB);
  assert.throws(() => volumeSizeFor({ iscsi_volume_size: 'lots' }, 16), { code: 'E_STORAGE_BAD_SIZE' });
});

test('the node with the most free space that fits wins', async () => {
  const p = await pickStorageNode([node('s1', 100 * GiB), node('s2', 300 * GiB), node('s3', 200 * GiB)], 50 * GiB);
  assert.equal(p.node.name, 's2');
  assert.equal(p.capacity.freeBytes, 300 * GiB);
  assert.equal(p.considered.length, 3);
});

test('ties break by name, whatever the order given', async () => {
  for (const order of [
    ['b', 'a', 'c'],
    ['c', 'b', 'a'],
    ['a', 'c', 'b'],
  ]) {
    const p = await pickStorageNode(
      order.map((n) => node(n, 100 * GiB)),
      GiB,
    );
    assert.equal(p.node.name, 'a');
  }
});

test('a node that is down is skipped; all down is E_STORAGE_DOWN', async () => {
  const p = await pickStorageNode([node('s1', 'down'), node('s2', 10 * GiB)], GiB);
  assert.equal(p.node.name, 's2');
  assert.ok(p.considered.some((c) => 'error' in c && c.name === 's1' && /E_STORAGE_DOWN/.test(c.error)));
  await assert.rejects(
    pickStorageNode([node('s1', 'down'), node('s2', 'down')], GiB),
    (e: NetrootError) => e.code === 'E_STORAGE_DOWN' && /s1/.test(e.message) && /s2/.test(e.message),
  );
  await assert.rejects(pickStorageNode([], GiB), { code: 'E_STORAGE_DOWN' });
});

test('nothing fits is E_STORAGE_FULL (and says how many are down)', async () => {
  await assert.rejects(
    pickStorageNode([node('s1', GiB), node('s2', 2 * GiB)], 3 * GiB),
    (e: NetrootError) => e.code === 'E_STORAGE_FULL' && /largest free: 2147483648/.test(e.message),
  );
  await assert.rejects(
    pickStorageNode([node('s1', GiB), node('s2', 'down')], 3 * GiB),
    (e: NetrootError) => e.code === 'E_STORAGE_FULL' && /1 node\(s\) down/.test(e.message),
  );
  // Exactly fitting is fine.
  assert.equal((await pickStorageNode([node('s1', 3 * GiB)], 3 * GiB)).node.name, 's1');
});

test('duplicate node names are a configuration error', async () => {
  await assert.rejects(pickStorageNode([node('s1', GiB), node('s1', GiB)], 1), { code: 'E_STORAGE_BAD_SPEC' });
});
