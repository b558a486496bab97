// renderSlurmConf (src/cluster/slurm-conf.ts): what a slurm.conf from the host database holds, and
// every value that would break its syntax refused. The file is checked by a real slurmctld in
// test/cluster/slurm-ctld.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeDefinitionsOf, parseCount, renderSlurmConf, SlurmConfError, type SlurmConfInput } from '../../src/cluster/slurm-conf.js';

const BASE: SlurmConfInput = {
  clusterName: 'netroot',
  controller: { name: 'frontend', address: '10.1.1.1' },
  nodes: [
    { name: 'compute-0-10', address: '10.1.255.244', appliance: 'compute-diskless', cpus: 8, memoryMb: 15872 },
    { name: 'compute-0-2', address: '10.1.255.252', appliance: 'compute-diskless' },
    { name: 'gpu-0-0', address: '10.1.254.254', appliance: 'gpu', cpus: 32, memoryMb: 257000 },
  ],
};

test('slurm.conf: controller on the frontend, configless, one NodeName per host with its reported CPUs and memory, a partition per appliance', () => {
  const c = renderSlurmConf(BASE);
  assert.match(c, /^ClusterName=netroot$/m);
  assert.match(c, /^SlurmctldHost=frontend\(10\.1\.1\.1\)$/m);
  assert.match(c, /^SlurmctldParameters=enable_configless$/m);
  assert.match(c, /^AuthType=auth\/munge$/m);
  const nodes = c.split('\n').filter((l) => l.startsWith('NodeName='));
  assert.deepEqual(nodes, [
    'NodeName=compute-0-2 NodeAddr=10.1.255.252 State=UNKNOWN',
    'NodeName=compute-0-10 NodeAddr=10.1.255.244 CPUs=8 RealMemory=15872 State=UNKNOWN',
    'NodeName=gpu-0-0 NodeAddr=10.1.254.254 CPUs=32 RealMemory=257000 State=UNKNOWN',
  ]);
  assert.match(c, /^PartitionName=compute-diskless Nodes=compute-0-2,compute-0-10 Default=YES MaxTime=INFINITE State=UP$/m);
  assert.match(c, /^PartitionName=gpu Nodes=gpu-0-0 MaxTime=INFINITE State=UP$/m);
  assert.ok(c.endsWith('\n'));
  assert.equal(nodeDefinitionsOf(c), [...nodes].sort().join('\n'));
  assert.equal(nodeDefinitionsOf(renderSlurmConf({ ...BASE, settings: { SlurmUser: 'root' } })), nodeDefinitionsOf(c), 'a setting is not a node change');
});

test('slurm.conf: site settings replace a default of the same key and add new ones; no nodes → no partition', () => {
  const c = renderSlurmConf({ ...BASE, nodes: [], settings: { SlurmUser: 'root', SlurmctldPort: '16817' } });
  assert.match(c, /^SlurmUser=root$/m);
  assert.doesNotMatch(c, /^SlurmUser=slurm$/m);
  assert.match(c, /^SlurmctldPort=16817$/m);
  assert.doesNotMatch(c, /^(NodeName|PartitionName)=/m);
  assert.equal(nodeDefinitionsOf(c), '');
});

test('slurm.conf: names, addresses and settings that would break the file are refused, naming where', () => {
  const bad: Array<[Partial<SlurmConfInput>, RegExp, string]> = [
    [{ clusterName: 'Net Root' }, /not a name/, 'slurm.clusterName'],
    [{ clusterName: 'NetRoot' }, /lower-case/, 'slurm.clusterName'],
    [{ controller: { name: 'front end', address: '10.1.1.1' } }, /not a name/, 'slurm.controller'],
    [{ controller: { name: 'frontend', address: '10.1.1.300' } }, /not an IPv4 address/, 'network.frontendAddress'],
    [{ nodes: [{ name: 'a#b', address: '10.1.1.2', appliance: 'x' }] }, /not a name/, 'host a#b'],
    [{ nodes: [{ name: 'a\nNodeName=evil', address: '10.1.1.2', appliance: 'x' }] }, /not a name/, 'host a\nNodeName=evil'],
    [{ nodes: [{ name: 'a', address: '10.1.1.2 CPUs=999', appliance: 'x' }] }, /not an IPv4 address/, 'host a'],
    [{ nodes: [{ name: 'a', address: '10.1.1.2', appliance: 'x y' }] }, /not a name/, 'host a'],
    [
      {
        nodes: [
          { name: 'a', address: '10.1.1.2', appliance: 'x' },
          { name: 'a', address: '10.1.1.3', appliance: 'x' },
        ],
      },
      /listed twice/,
      'host a',
    ],
    [{ settings: { NodeName: 'evil' } }, /cannot be set here/, 'slurm.settings.NodeName'],
    [{ settings: { Include: '/etc/passwd' } }, /cannot be set here/, 'slurm.settings.Include'],
    [{ settings: { 'Bad Key': 'x' } }, /cannot be set here/, 'slurm.settings.Bad Key'],
    [{ settings: { SlurmUser: 'root\nNodeName=evil' } }, /without white space/, 'slurm.settings.SlurmUser'],
    [{ settings: { SlurmUser: 'root #x' } }, /without white space/, 'slurm.settings.SlurmUser'],
    [{ settings: { SlurmUser: '' } }, /without white space/, 'slurm.settings.SlurmUser'],
  ];
  for (const [change, why, where] of bad) {
    assert.throws(
      () => renderSlurmConf({ ...BASE, ...change }),
      (e: unknown) => e instanceof SlurmConfError && why.test(e.message) && e.where === where,
      JSON.stringify(change),
    );
  }
});

test('parseCount: the reported cpus/memory_mb attribute is a whole number in range, else refused', () => {
  assert.equal(parseCount(undefined, 10, 'x'), undefined);
  assert.equal(parseCount('8', 10, 'x'), 8);
  assert.equal(parseCount('10', 10, 'x'), 10);
  for (const v of ['', '0', '08', '-1', '1.5', ' 8', '8 ', '1e3', '11', 'eight', '99999999999', '8\n'])
    assert.throws(() => parseCount(v, 10, 'h cpus'), SlurmConfError, JSON.stringify(v));
});

test('packaging/slurmctld-netroot.conf points slurmctld at the file the plugin writes under the default state directory', async () => {
  const { readFileSync } = await import('node:fs');
  const { slurmConfPath } = await import('../../src/discovery/plugins/slurm-conf.js');
  const { loadConfig } = await import('../../src/config/index.js');
  const stateDir = loadConfig({ env: { NETROOT_SYSTEM_CONFIG: '' } }).stateDir;
  const dropIn = readFileSync('packaging/slurmctld-netroot.conf', 'utf8');
  assert.match(dropIn, /^\[Service\]$/m);
  assert.ok(dropIn.includes(`\nEnvironment=SLURM_CONF=${slurmConfPath(stateDir)}\n`), dropIn);
});
