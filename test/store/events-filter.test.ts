// The events log's filters: by host and kind, after an id, and the newest N (a tail, oldest first).
import assert from 'node:assert/strict';
import { forEachBackend } from '../helpers/store-backends.js';

forEachBackend('events list: host and kind filters, sinceId, and the last N oldest first', async (b) => {
  const store = await b.open();
  {
    for (let i = 0; i < 6; i++) await store.events.append({ kind: i % 2 ? 'host.added' : 'dhcp.discover', host: i < 3 ? 'a' : 'b', detail: { i } });
    const all = await store.events.list();
    assert.deepEqual(
      all.map((e) => e.detail['i']),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      (await store.events.list({ host: 'a' })).map((e) => e.detail['i']),
      [0, 1, 2],
    );
    assert.deepEqual(
      (await store.events.list({ host: 'b', kind: 'host.added' })).map((e) => e.detail['i']),
      [3, 5],
    );
    assert.deepEqual(
      (await store.events.list({ sinceId: all[3]!.id })).map((e) => e.detail['i']),
      [4, 5],
    );
    assert.deepEqual(
      (await store.events.list({ last: true, limit: 2 })).map((e) => e.detail['i']),
      [4, 5],
    );
    assert.deepEqual(
      (await store.events.list({ last: true, limit: 2, host: 'a' })).map((e) => e.detail['i']),
      [1, 2],
    );
    assert.deepEqual(await store.events.list({ limit: 0 }), []);
  }
});
