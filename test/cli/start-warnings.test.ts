// Issue #21: with several frontends on one store, a volume allocated on a frontend's own embedded
// target names that frontend as its portal, so its node depends on that one server. `netroot serve`
// says so at every start on a shared store; nothing is said on the embedded SQLite default or when
// the volumes live on storage nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { startWarnings } from '../../src/cli/serve.js';

function config(extra: Record<string, string>) {
  return loadConfig({ env: {}, overrides: { stateDir: '/nonexistent/netroot-state', ...extra } });
}

test('a shared store with storage.local: the start report names the portal and the fix', () => {
  const w = startWarnings(config({ 'store.url': 'postgres://netroot:pw@db/netroot', 'network.frontendAddress': '10.1.1.2' }));
  assert.equal(w.length, 1);
  assert.match(w[0]!, /^storage\.local is true on a shared store: .* iscsi_portal is 10\.1\.1\.2,/);
  assert.match(w[0]!, /set storage\.local=false and name storage nodes \(storage\.nodes/);
  assert.doesNotMatch(w[0]!, /pw/, 'the store URL (and its password) is not in the warning');
});

test('iscsi.portal (e.g. an address both frontends can carry) is the one named', () => {
  const w = startWarnings(config({ 'store.url': 'postgres://db/netroot', 'iscsi.portal': '10.1.1.250' }));
  assert.match(w[0]!, /iscsi_portal is 10\.1\.1\.250,/);
});

test('no warning on SQLite, with storage nodes, or with the target off', () => {
  assert.deepEqual(startWarnings(config({})), []);
  assert.deepEqual(startWarnings(config({ 'store.url': 'postgres://db/netroot', 'storage.local': 'false' })), []);
  assert.deepEqual(startWarnings(config({ 'store.url': 'postgres://db/netroot', 'iscsi.enabled': 'false' })), []);
});
