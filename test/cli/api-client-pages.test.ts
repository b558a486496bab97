// ApiClient.listAll against a running frontend: follows `next` to the last page, every item once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startFrontend } from '../helpers/frontend.js';
import { ApiClient } from '../../src/cli/api-client.js';
import type { Host } from '../../src/store/index.js';

test('listAll walks every page of /api/v1/hosts', async () => {
  const fe = await startFrontend();
  try {
    for (let i = 0; i < 5; i++)
      await fe.f.store.hosts.add({
        name: `walk-0-${i}`,
        appliance: 'compute',
        rack: 0,
        rank: i,
        interfaces: [{ mac: `52:54:00:ab:00:0${i}`, ip: null, subnet: null, device: 'eth0' }],
      });
    const api = new ApiClient({ ...fe.f.config, http: { ...fe.f.config.http, port: fe.f.httpPort() } });
    const { items, last } = await api.listAll<Host>('/api/v1/hosts?appliance=compute', 2);
    assert.deepEqual(
      items.map((h) => h.name),
      (await fe.f.store.hosts.list({ appliance: 'compute' })).map((h) => h.name).sort(),
    );
    assert.equal(items.length, 5);
    assert.equal(last.next, null);
  } finally {
    await fe.f.stop();
    rmSync(fe.dir, { recursive: true, force: true });
  }
});
