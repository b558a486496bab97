// netroot.reportStatus(token, state, facts): the node's CPU count and memory become its host
// attributes `cpus` and `memory_mb` (slurm.conf's CPUs and RealMemory), through the host service;
// every malformed facts value is a fault that stores nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { call, installingNodes } from './installing-node.js';
import type { XmlRpcValue } from '../../src/rpc/index.js';

const attrs = async (f: Awaited<ReturnType<typeof installingNodes>>['f'], host: string) =>
  Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: host })).map((a) => [a.name, a.value]));

test('reportStatus facts: cpus and memory_mb stored as host attributes, with an event', async () => {
  const { f, dir, port, tokens } = await installingNodes('nrt-facts-');
  try {
    const token = await tokens.issue('compute-0-0', '127.0.0.2');
    assert.equal(await call(port, 'netroot.reportStatus', [token, 'installing', { cpus: 8, memory_mb: 15_872 }]), true);
    const a = await attrs(f, 'compute-0-0');
    assert.equal(a['cpus'], '8');
    assert.equal(a['memory_mb'], '15872');
    const changed = await f.store.events.list({ kind: 'host.changed', host: 'compute-0-0' });
    assert.deepEqual(changed.at(-1)?.detail, { by: 'node', fields: [], attributes: ['cpus', 'memory_mb'] });
    // a second report replaces them; an empty struct changes nothing
    assert.equal(await call(port, 'netroot.reportStatus', [token, 'installing', { cpus: 4 }]), true);
    assert.equal(await call(port, 'netroot.reportStatus', [token, 'installing', {}]), true);
    assert.equal((await attrs(f, 'compute-0-0'))['cpus'], '4');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('reportStatus facts: malformed values are faults and store nothing', async () => {
  const { f, dir, port, tokens } = await installingNodes('nrt-facts-bad-');
  try {
    const token = await tokens.issue('compute-0-0', '127.0.0.2');
    const bad: Array<[XmlRpcValue, RegExp]> = [
      ['8', /facts must be a struct/],
      [[8], /facts must be a struct/],
      [{ cpus: '8' }, /facts\.cpus must be an int from 1 to 65536/],
      [{ cpus: 0 }, /facts\.cpus must be an int/],
      [{ cpus: -2 }, /facts\.cpus must be an int/],
      [{ cpus: 2.5 }, /facts\.cpus must be an int/],
      [{ cpus: 65_537 }, /facts\.cpus must be an int/],
      [{ memory_mb: 2 ** 31 - 1 }, /facts\.memory_mb must be an int from 1 to 1073741824/],
      [{ memory_mb: true }, /facts\.memory_mb must be an int/],
      [{ cpus: { n: 1 } }, /facts\.cpus must be an int/],
      [{ cpus: 2, slurm_client: 'true' }, /unknown member "slurm_client"/],
      [{ ['x'.repeat(5000)]: 1 }, /unknown member "x{40}"/],
    ];
    for (const [facts, why] of bad)
      await assert.rejects(call(port, 'netroot.reportStatus', [token, 'installing', facts]), why, JSON.stringify(facts).slice(0, 60));
    await assert.rejects(call(port, 'netroot.reportStatus', [token, 'installing', { cpus: 2 }, 'extra']), /params|arguments|expected/i);
    const a = await attrs(f, 'compute-0-0');
    assert.equal(a['cpus'], undefined);
    assert.equal(a['memory_mb'], undefined);
    // a spent token reports nothing
    await f.store.tokens.consume((await tokens.verify(token, '127.0.0.2')).hash);
    await assert.rejects(call(port, 'netroot.reportStatus', [token, 'installing', { cpus: 2 }]), /used/);
    assert.equal((await attrs(f, 'compute-0-0'))['cpus'], undefined);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
