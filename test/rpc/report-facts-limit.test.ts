// Attack: a node (or whoever holds its secret, from its address) flips its reported CPUs at every
// call. Each change would rewrite slurm.conf and restart slurmctld; http.factsChangesPerHostPerHour
// bounds how many changes of one host are applied in any hour. Beyond it the report is refused
// (E_TOO_MANY_FACT_CHANGES, nothing stored, nothing applied), reports that change nothing still
// pass, and another host is not affected. FactsChangeLimiter's window and memory bound are checked
// on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyncKeys } from '../../src/sync/index.js';
import { FactsChangeLimiter } from '../../src/discovery/facts-limit.js';
import { fixtureHost, LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { call, fault } from './installing-node.js';

test('a node flipping its facts: at most http.factsChangesPerHostPerHour restarts, then refused; same figures and other hosts pass', async () => {
  const run = tempStateDir('nrt-facts-limit-run-');
  const apply = join(run, 'apply');
  writeFileSync(apply, `#!/bin/sh\necho x >> ${run}/applies\n`);
  chmodSync(apply, 0o755);
  const applies = () => (existsSync(join(run, 'applies')) ? readFileSync(join(run, 'applies'), 'utf8').trim().split('\n').length : 0);
  const lb = await loopbackFrontend({
    prefix: 'nrt-facts-limit-',
    overrides: {
      ...LOOPBACK_NETWORK,
      'slurm.enabled': 'true',
      'slurm.controller': 'fe',
      'slurm.restart': apply,
      'slurm.reconfigure': apply,
      'http.factsChangesPerHostPerHour': '3',
    },
    hosts: [fixtureHost(0, { appliance: 'compute-diskless', bootAction: 'os' }), fixtureHost(1, { appliance: 'compute-diskless', bootAction: 'os' })],
    seed: (f) => f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'slurm_client', value: 'true' }),
  });
  const keys = new SyncKeys(lb.dir);
  const cpus = async (host: string) => (await lb.f.store.attributes.list({ scope: 'host', target: host })).find((a) => a.name === 'cpus')?.value;
  try {
    const mine = keys.nodeSecret('compute-0-1');
    const report = (n: number, from = '127.0.0.3', secret = mine) => call(lb.port, 'netroot.reportStatus', [`sync:${secret}`, 'booted', { cpus: n }], from);
    const before = applies();
    for (let i = 1; i <= 3; i++) assert.equal(await report(i), true, `change ${i} is within the limit`);
    assert.equal(applies() - before, 3, 'three changes, three applies');
    const changed = (await lb.f.store.events.list({ kind: 'host.changed', host: 'compute-0-1' })).length;
    for (let i = 0; i < 20; i++) {
      const f = await fault(report(10 + i));
      assert.match(f.message, /E_TOO_MANY_FACT_CHANGES: compute-0-1: its reported facts changed more than 3 times in the last hour; not stored/);
      assert.ok(!f.message.includes(mine.slice(0, 16)), 'the fault carries no secret');
    }
    assert.equal(applies() - before, 3, 'the flood applied nothing');
    assert.equal(await cpus('compute-0-1'), '3', 'the last accepted figure stays');
    assert.equal((await lb.f.store.events.list({ kind: 'host.changed', host: 'compute-0-1' })).length, changed, 'and wrote no event');
    // The same figure as stored changes nothing, so it is not limited: a node rebooting as it was.
    assert.equal(await report(3), true);
    // Another node is not affected.
    assert.equal(await report(8, '127.0.0.2', keys.nodeSecret('compute-0-0')), true);
    assert.equal(await cpus('compute-0-0'), '8');
  } finally {
    await lb.close();
    rmSync(run, { recursive: true, force: true });
  }
});

test('FactsChangeLimiter: a sliding hour per host; memory bounded by maxHosts', () => {
  let now = 0;
  const l = new FactsChangeLimiter(2, 3, () => now);
  assert.equal(l.take('a'), true);
  now = 1_000_000;
  assert.equal(l.take('a'), true);
  assert.equal(l.take('a'), false, 'third change within the hour');
  now = 3_600_000;
  assert.equal(l.take('a'), true, 'the first change has left the window');
  assert.equal(l.take('a'), false);
  for (const h of ['b', 'c', 'd', 'e']) assert.equal(l.take(h), true);
  assert.equal(l.size, 3, 'never more than maxHosts tracked');
});
