// netroot.reportStatus('sync:<secret>', 'booted', {cpus, memory_mb}): what every installed node — a
// golden clone too, which never fetches a kickstart — sends at every boot (roles/sync
// netroot-report.service). On a frontend with the slurm-conf plugin on: the node's own secret from
// its own address stores the figures and slurm.conf follows (a NodeName change: slurm.restart);
// the same secret from another address, or bad figures, are refused and change nothing; a failed
// apply is the fault E_FACTS_NOT_APPLIED (which tells the node nothing of the plugin's output), the
// figures are rolled back, the operator's event says why. The secret is never in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyncKeys } from '../../src/sync/index.js';
import type { XmlRpcValue } from '../../src/rpc/index.js';
import { slurmConfPath } from '../../src/discovery/plugins/slurm-conf.js';
import { captureLogs } from '../helpers/log-capture.js';
import { fixtureHost, LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { call, fault } from './installing-node.js';

test("reportStatus facts with the node's sync secret: slurm.conf gets the node's CPUs and memory; another address, bad figures and a failed apply change nothing", async () => {
  const run = tempStateDir('nrt-facts-secret-run-');
  const apply = join(run, 'apply');
  // slurm.restart/reconfigure: records the NodeName lines it applies; fails once on demand.
  writeFileSync(
    apply,
    `#!/bin/sh
grep '^NodeName=' "$SLURM_CONF" | tr '\\n' ';' >> ${run}/applies; echo >> ${run}/applies
if [ -e ${run}/fail-next ]; then rm -f ${run}/fail-next; echo "injected failure at /secret/path" >&2; exit 1; fi
`,
  );
  chmodSync(apply, 0o755);
  const logs = captureLogs('info');
  const lb = await loopbackFrontend({
    prefix: 'nrt-facts-secret-',
    logger: logs.logger,
    overrides: { ...LOOPBACK_NETWORK, 'slurm.enabled': 'true', 'slurm.controller': 'fe', 'slurm.restart': apply, 'slurm.reconfigure': apply },
    hosts: [fixtureHost(0, { appliance: 'compute-diskless', bootAction: 'os' }), fixtureHost(1, { appliance: 'compute-diskless', bootAction: 'os' })],
    seed: (f) => f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'slurm_client', value: 'true' }),
  });
  const keys = new SyncKeys(lb.dir);
  const conf = () => (existsSync(slurmConfPath(lb.dir)) ? readFileSync(slurmConfPath(lb.dir), 'utf8') : '');
  const applies = () => (existsSync(join(run, 'applies')) ? readFileSync(join(run, 'applies'), 'utf8').trim().split('\n') : []);
  // The reported ones (the frontend gives the hosts their iSCSI attributes too).
  const attrs = async (host: string) =>
    Object.fromEntries(
      (await lb.f.store.attributes.list({ scope: 'host', target: host }))
        .filter((a) => a.name === 'cpus' || a.name === 'memory_mb')
        .map((a) => [a.name, a.value]),
    );
  try {
    const mine = keys.nodeSecret('compute-0-1');
    // compute-0-1 (127.0.0.3), e.g. a golden clone at its first boot, reports with its own secret.
    assert.equal(await call(lb.port, 'netroot.reportStatus', [`sync:${mine}`, 'booted', { cpus: 2, memory_mb: 1993 }], '127.0.0.3'), true);
    assert.match(conf(), /^NodeName=compute-0-1 NodeAddr=127\.0\.0\.3 CPUs=2 RealMemory=1993 State=UNKNOWN$/m);
    assert.match(applies().at(-1) ?? '', /NodeName=compute-0-1 NodeAddr=127\.0\.0\.3 CPUs=2 RealMemory=1993 State=UNKNOWN;/, 'slurmctld was given it');
    assert.deepEqual(await attrs('compute-0-1'), { cpus: '2', memory_mb: '1993' });
    assert.equal((await lb.f.store.hosts.get('compute-0-1'))?.state, 'booted');
    const ev = (await lb.f.store.events.list({ kind: 'host.status', host: 'compute-0-1' })).at(-1);
    assert.deepEqual(ev?.detail, { state: 'booted', from: '127.0.0.3', via: 'sync-secret', facts: { cpus: '2', memory_mb: '1993' } });
    // The next boot, the same figures: nothing applied again.
    const n = applies().length;
    assert.equal(await call(lb.port, 'netroot.reportStatus', [`sync:${mine}`, 'booted', { cpus: 2, memory_mb: 1993 }], '127.0.0.3'), true);
    assert.equal(applies().length, n);

    // Refused, nothing stored: its secret from another node's address or an unknown one, and figures
    // that are not ints in range (a node that lies about its hardware cannot break slurm.conf).
    const file = conf();
    const statuses = (await lb.f.store.events.list({ kind: 'host.status' })).length;
    const cases: Array<[string, XmlRpcValue[], string, RegExp]> = [
      ['from the other node', [`sync:${mine}`, 'booted', { cpus: 64 }], '127.0.0.2', /E_NODE_SECRET: node secret is not valid from this address/],
      ['from an unknown address', [`sync:${mine}`, 'booted', { cpus: 64 }], '127.0.0.99', /E_NODE_SECRET/],
      ['cpus 0', [`sync:${mine}`, 'booted', { cpus: 0 }], '127.0.0.3', /facts\.cpus must be an int from 1 to 65536/],
      ['cpus too many', [`sync:${mine}`, 'booted', { cpus: 65_537 }], '127.0.0.3', /facts\.cpus must be an int from 1 to 65536/],
      ['cpus negative', [`sync:${mine}`, 'booted', { cpus: -4 }], '127.0.0.3', /facts\.cpus/],
      ['cpus a string', [`sync:${mine}`, 'booted', { cpus: '4' }], '127.0.0.3', /facts\.cpus must be an int/],
      ['cpus a double', [`sync:${mine}`, 'booted', { cpus: 1.5 }], '127.0.0.3', /facts\.cpus must be an int/],
      ['memory too much', [`sync:${mine}`, 'booted', { memory_mb: 2 ** 31 - 1 }], '127.0.0.3', /facts\.memory_mb must be an int from 1 to 1073741824/],
      ['memory a boolean', [`sync:${mine}`, 'booted', { memory_mb: true }], '127.0.0.3', /facts\.memory_mb must be an int/],
      ['memory a struct', [`sync:${mine}`, 'booted', { memory_mb: { mb: 1 } }], '127.0.0.3', /facts\.memory_mb must be an int/],
      ['an unknown fact', [`sync:${mine}`, 'booted', { cpus: 2, gres: 'gpu:8' }], '127.0.0.3', /unknown member "gres"/],
      ['facts not a struct', [`sync:${mine}`, 'booted', [2, 1993]], '127.0.0.3', /facts must be a struct/],
    ];
    for (const [name, params, from, why] of cases) {
      const f = await fault(call(lb.port, 'netroot.reportStatus', params, from));
      assert.match(f.message, why, name);
      assert.ok(!f.message.includes(mine.slice(0, 16)), `${name}: the fault carries the secret`);
    }
    assert.equal(conf(), file, 'slurm.conf unchanged');
    assert.deepEqual(await attrs('compute-0-1'), { cpus: '2', memory_mb: '1993' });
    assert.deepEqual(await attrs('compute-0-0'), {});
    assert.equal((await lb.f.store.events.list({ kind: 'host.status' })).length, statuses, 'no refused call left an event');

    // The apply fails: a fault that says only that; the figures and the file as they were; the
    // operator's event has the reason.
    writeFileSync(join(run, 'fail-next'), '');
    const f = await fault(call(lb.port, 'netroot.reportStatus', [`sync:${mine}`, 'booted', { cpus: 4, memory_mb: 1993 }], '127.0.0.3'));
    assert.match(f.message, /E_FACTS_NOT_APPLIED: the frontend could not apply these facts; they were not stored/);
    assert.doesNotMatch(f.message, /injected|secret\/path|slurm/i, 'the plugin output is not told to the node');
    assert.equal(conf(), file, 'the previous slurm.conf is back');
    assert.deepEqual(await attrs('compute-0-1'), { cpus: '2', memory_mb: '1993' });
    const failed = (await lb.f.store.events.list({ kind: 'host.plugin-failed', host: 'compute-0-1' })).at(-1);
    assert.match(String((failed?.detail as { error?: string } | undefined)?.error), /injected failure/);
    assert.equal((await lb.f.store.events.list({ kind: 'host.status' })).length, statuses, 'a refused report records no status');
    // The next boot tries again and gets through.
    assert.equal(await call(lb.port, 'netroot.reportStatus', [`sync:${mine}`, 'booted', { cpus: 4, memory_mb: 1993 }], '127.0.0.3'), true);
    assert.match(conf(), /^NodeName=compute-0-1 NodeAddr=127\.0\.0\.3 CPUs=4 RealMemory=1993 State=UNKNOWN$/m);

    const text = logs.pretty.join('\n') + JSON.stringify(logs.records);
    assert.ok(!text.includes(mine), 'the secret is never logged');
  } finally {
    await lb.close();
    rmSync(run, { recursive: true, force: true });
  }
});
