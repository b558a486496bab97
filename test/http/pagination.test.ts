// pagination.ts: limit/cursor parsing (bounds, malformed input) and pages keyed by the last item,
// so a walk stays exact when rows are added or removed between pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCursor, encodeCursor, pageOf, pageRequest } from '../../src/http/pagination.js';
import { UserError } from '../../src/errors.js';

const refused = (fn: () => unknown, where: string) =>
  assert.throws(fn, (e: unknown) => e instanceof UserError && e.code === 'E_BAD_REQUEST' && e.where === where && e.message.startsWith(`${where}: `));

test('limit: default 100 (or the max when smaller), 1..max, digits only, once', () => {
  assert.deepEqual(pageRequest({}, 1000), { limit: 100, after: null });
  assert.equal(pageRequest({}, 10).limit, 10);
  assert.equal(pageRequest({ limit: '1000' }, 1000).limit, 1000);
  for (const bad of ['0', '1001', '-5', '1.5', '1e2', ' 7', '', '99999999999', 'abc']) refused(() => pageRequest({ limit: bad }, 1000), 'limit');
  refused(() => pageRequest({ limit: ['1', '2'] }, 1000), 'limit');
  refused(() => pageRequest({ limit: { a: '1' } }, 1000), 'limit');
});

test('cursor: round-trips strings and integers; anything else is refused', () => {
  assert.equal(decodeCursor(encodeCursor('compute-0-1')), 'compute-0-1');
  assert.equal(decodeCursor(encodeCursor(42)), 42);
  const enc = (v: string) => Buffer.from(v).toString('base64url');
  for (const bad of [
    '',
    '!!',
    'a'.repeat(513),
    enc('null'),
    enc('[]'),
    enc('{"k":1.5}'),
    enc('{"k":{"a":1}}'),
    enc('{"x":1}'),
    enc('{"k":'),
    enc(`{"k":${2 ** 60}}`),
  ])
    refused(() => decodeCursor(bad), 'cursor');
  refused(() => pageRequest({ cursor: ['a', 'b'] }, 10), 'cursor');
});

test('pages follow the key, not an offset: inserts and removals between pages neither repeat nor skip survivors', () => {
  let rows = ['a', 'c', 'e', 'g', 'i'];
  const p1 = pageOf(rows, (x) => x, { limit: 2, after: null });
  assert.deepEqual(p1.items, ['a', 'c']);
  rows = ['0', 'a', 'b', 'e', 'g', 'i']; // 'c' (the cursor's key) removed; '0' and 'b' added before it
  const p2 = pageOf(rows, (x) => x, { limit: 2, after: decodeCursor(p1.next!) });
  assert.deepEqual(p2.items, ['e', 'g']);
  const p3 = pageOf(rows, (x) => x, { limit: 2, after: decodeCursor(p2.next!) });
  assert.deepEqual(p3, { items: ['i'], next: null });
  assert.deepEqual(
    pageOf([], (x: string) => x, { limit: 5, after: null }),
    { items: [], next: null },
  );
  assert.deepEqual(
    pageOf([3, 1, 2], (x) => x, { limit: 3, after: null }),
    { items: [1, 2, 3], next: null },
    'a full last page has no next',
  );
});
