// HostService.setFacts (what netroot.reportStatus stores: a node's CPUs and memory, at every boot)
// with the real hosts-file and slurm-conf plugins: a changed figure rewrites slurm.conf and applies
// it (slurm.restart: a node definition changed), an unchanged one runs nothing, a failed apply rolls
// the facts back (the previous file is back byte for byte, the attributes as they were, an event says
// so) and the next report tries again; two nodes reporting at once are applied one after the other.
// slurm.restart/reconfigure are a script that records each apply, fails once on demand, refuses to
// run twice at once, and can be held until the test lets it go (test/cluster/slurm-ctld.test.ts runs
// the same plugin against a real slurmctld).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { hostsFilePlugin } from '../../src/discovery/plugins/hosts-file.js';
import { slurmConfPath, slurmConfPlugin } from '../../src/discovery/plugins/slurm-conf.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

async function setup(prefix: string) {
  const dir = tempStateDir(prefix);
  const run = join(dir, 'run');
  mkdirSync(run);
  const apply = join(run, 'apply');
  // One line per apply: how it was called and the NodeName lines it was given. `hold` makes it wait
  // (bounded) for `release`; a second apply while one runs is refused ("overlap").
  writeFileSync(
    apply,
    `#!/bin/sh
R=${run}
mkdir "$R/lock" 2>/dev/null || { echo overlap >> "$R/applies"; echo "two applies at once" >&2; exit 1; }
trap 'rmdir "$R/lock"' EXIT
echo "$1 $(grep '^NodeName=' "$SLURM_CONF" | tr '\\n' ';')" >> "$R/applies"
if [ -e "$R/hold" ]; then
  i=0; until [ -e "$R/release" ]; do i=$((i + 1)); [ $i -gt 6000 ] && exit 1; sleep 0.01; done
fi
if [ -e "$R/fail-next" ]; then rm -f "$R/fail-next"; echo "injected failure" >&2; exit 1; fi
exit 0
`,
  );
  chmodSync(apply, 0o755);
  const slurm = {
    'slurm.enabled': 'true',
    'slurm.controller': 'fe',
    'slurm.restart': `${apply},restart`,
    'slurm.reconfigure': `${apply},reconfigure`,
    'slurm.applyTimeoutMs': '60000',
  };
  const config = loadConfig({
    env: {},
    overrides: { stateDir: dir, 'network.privateNetwork': '10.1.0.0/16', 'network.frontendAddress': '10.1.1.1', ...slurm },
  });
  const store = openStore(dir);
  const logs = captureLogs('info');
  const engine = new DiscoveryEngine(store, config, [hostsFilePlugin, slurmConfPlugin], logs.logger, 60_000);
  await store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'slurm_client', value: 'true' });
  for (const [i, name] of ['compute-0-0', 'compute-0-1'].entries())
    await engine.addHost({ name, appliance: 'compute-diskless', mac: `52:54:00:aa:00:0${i}`, ip: `10.1.255.${254 - i}` }, 'insert-ethers');
  const applies = () => (existsSync(join(run, 'applies')) ? readFileSync(join(run, 'applies'), 'utf8').trim().split('\n') : []);
  const attrs = async (host: string) =>
    Object.fromEntries((await store.attributes.list({ scope: 'host', target: host })).map((a) => [a.name, a.value] as [string, string]));
  return {
    dir,
    run,
    store,
    engine,
    logs,
    applies,
    attrs,
    conf: () => readFileSync(slurmConfPath(dir), 'utf8'),
    done: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('setFacts: new figures rewrite slurm.conf and restart slurmctld; the same figures again run nothing; a failed apply rolls them back and the next report applies them', async () => {
  const s = await setup('nrt-facts-slurm-');
  try {
    const before = s.applies().length;
    assert.match(s.conf(), /^NodeName=compute-0-0 NodeAddr=10\.1\.255\.254 State=UNKNOWN$/m, 'no figures yet: Slurm defaults');

    assert.equal(await s.engine.setFacts('compute-0-0', { cpus: '4', memory_mb: '2048' }), true);
    assert.match(s.conf(), /^NodeName=compute-0-0 NodeAddr=10\.1\.255\.254 CPUs=4 RealMemory=2048 State=UNKNOWN$/m);
    assert.deepEqual(s.applies().slice(before), [
      'restart NodeName=compute-0-0 NodeAddr=10.1.255.254 CPUs=4 RealMemory=2048 State=UNKNOWN;NodeName=compute-0-1 NodeAddr=10.1.255.253 State=UNKNOWN;',
    ]);
    assert.deepEqual(await s.attrs('compute-0-0'), { cpus: '4', memory_mb: '2048' });
    const changed = await s.store.events.list({ kind: 'host.changed', host: 'compute-0-0' });
    assert.deepEqual(changed.at(-1)?.detail, { by: 'node', fields: [], attributes: ['cpus', 'memory_mb'] });

    // The next boot reports the same: no event, no plugin, no apply.
    const events = (await s.store.events.list({})).length;
    const runs = s.logs.records.filter((r) => r['msg'] === 'plugin run').length;
    assert.equal(await s.engine.setFacts('compute-0-0', { cpus: '4', memory_mb: '2048' }), false);
    assert.equal((await s.store.events.list({})).length, events);
    assert.equal(s.logs.records.filter((r) => r['msg'] === 'plugin run').length, runs);
    assert.equal(s.applies().length, before + 1);

    // The memory changed (a DIMM out) and the apply fails: the previous file is back, byte for byte,
    // the attributes are as they were, and the failure says the facts were rolled back.
    const file = s.conf();
    writeFileSync(join(s.run, 'fail-next'), '');
    await assert.rejects(
      s.engine.setFacts('compute-0-0', { cpus: '4', memory_mb: '1024' }),
      (e: Error & { code?: string }) => e.code === 'E_PLUGIN_FAILED' && /reported facts were rolled back/.test(e.message) && /injected failure/.test(e.message),
    );
    assert.equal(s.conf(), file);
    assert.deepEqual(await s.attrs('compute-0-0'), { cpus: '4', memory_mb: '2048' });
    const rolled = await s.store.events.list({ kind: 'host.facts-rolled-back', host: 'compute-0-0' });
    assert.deepEqual(rolled.at(-1)?.detail, { by: 'node', attributes: ['memory_mb'] });
    // The failed restart, then the previous file applied again (the plugin's own rollback).
    assert.deepEqual(s.applies().slice(before + 1), [
      'restart NodeName=compute-0-0 NodeAddr=10.1.255.254 CPUs=4 RealMemory=1024 State=UNKNOWN;NodeName=compute-0-1 NodeAddr=10.1.255.253 State=UNKNOWN;',
      'restart NodeName=compute-0-0 NodeAddr=10.1.255.254 CPUs=4 RealMemory=2048 State=UNKNOWN;NodeName=compute-0-1 NodeAddr=10.1.255.253 State=UNKNOWN;',
    ]);
    // The values are never in the log (only the attribute names).
    assert.ok(!JSON.stringify(s.logs.records).includes('"1024"'));

    // Rolled back, so the next report is a change again, and this time it is applied.
    assert.equal(await s.engine.setFacts('compute-0-0', { cpus: '4', memory_mb: '1024' }), true);
    assert.match(s.conf(), /^NodeName=compute-0-0 NodeAddr=10\.1\.255\.254 CPUs=4 RealMemory=1024 State=UNKNOWN$/m);

    // A host that is not there, and an attribute name that is not one.
    await assert.rejects(s.engine.setFacts('compute-9-9', { cpus: '2' }), /E_HOST_NOT_FOUND|unknown host/);
    await assert.rejects(s.engine.setFacts('compute-0-0', { 'bad name': '2' }), /attribute/i);
  } finally {
    await s.done();
  }
});

test('setFacts: two nodes reporting at once are applied one after the other (never two restarts at once), and slurm.conf ends with both', async () => {
  const s = await setup('nrt-facts-slurm-two-');
  try {
    const before = s.applies().length;
    writeFileSync(join(s.run, 'hold'), '');
    const a = s.engine.setFacts('compute-0-0', { cpus: '2', memory_mb: '1993' });
    await waitFor(() => s.applies().length === before + 1, { what: "compute-0-0's apply to start", timeoutMs: 30_000 });
    // compute-0-0's apply is held: compute-0-1's report comes meanwhile and must wait for it.
    const b = s.engine.setFacts('compute-0-1', { cpus: '8', memory_mb: '7962' });
    await waitFor(
      () => s.logs.records.some((r) => r['msg'] === 'plugin run' && r['plugin'] === '50-hosts-file' && r['host'] === 'compute-0-1' && r['hook'] === 'changed'),
      {
        what: "compute-0-1's changed hooks to start",
        timeoutMs: 30_000,
      },
    );
    writeFileSync(join(s.run, 'release'), '');
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    const runs = s.applies().slice(before);
    assert.ok(!runs.includes('overlap'), runs.join('\n'));
    assert.equal(runs.length, 2, runs.join('\n'));
    assert.match(s.conf(), /^NodeName=compute-0-0 NodeAddr=10\.1\.255\.254 CPUs=2 RealMemory=1993 State=UNKNOWN$/m);
    assert.match(s.conf(), /^NodeName=compute-0-1 NodeAddr=10\.1\.255\.253 CPUs=8 RealMemory=7962 State=UNKNOWN$/m);
    assert.equal(
      runs.at(-1),
      `restart ${s
        .conf()
        .split('\n')
        .filter((l) => l.startsWith('NodeName='))
        .join(';')};`,
      'the last apply was of the final file',
    );
  } finally {
    await s.done();
  }
});
