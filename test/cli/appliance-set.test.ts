// `netroot appliance set NAME ...`: the given fields change, with `appliance add`'s checks (root node
// has a node file, graph exists); an unknown appliance, nothing to set, bad flags: exit 2, one
// message naming the argument, the state directory unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cli, cliOk, tempStateDir } from '../helpers/cli.js';
import { assertOperatorErrors } from '../helpers/operator-errors.js';

interface ApplianceRow {
  name: string;
  basename: string;
  graph: string;
  rootNode: string;
  discoverable: boolean;
}

test('appliance set changes basename, root node and discover; list shows it; the kickstart follows the root node', async () => {
  const dir = tempStateDir('nrt-appl-');
  try {
    const ok = cliOk(dir);
    await ok('appliance', 'add', 'gpu', '--root-node', 'compute');
    assert.equal(await ok('appliance', 'set', 'gpu', '--basename', 'gpunode', '--no-discover'), 'updated appliance gpu\n');
    const get = async () => (JSON.parse(await ok('appliance', 'list', '--json')) as ApplianceRow[]).find((a) => a.name === 'gpu');
    assert.deepEqual(await get(), { name: 'gpu', basename: 'gpunode', graph: 'default', rootNode: 'compute', discoverable: false });
    const j = JSON.parse(await ok('appliance', 'set', 'gpu', '--root-node', 'compute-diskless', '--discover', '--json')) as ApplianceRow;
    assert.deepEqual(j, { name: 'gpu', basename: 'gpunode', graph: 'default', rootNode: 'compute-diskless', discoverable: true });
    assert.match(await ok('appliance', 'list'), /^gpu\s+gpunode\s+default\s+compute-diskless\s+yes$/m);
    // The graph may be named again (it exists); the root node is checked against it.
    await ok('appliance', 'set', 'gpu', '--graph', 'default');
    // The kickstart follows the root node: compute-diskless needs the iSCSI attributes, compute does not.
    await ok('host', 'add', 'gpunode-0-0', '--appliance', 'gpu', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
    const ks = await cli(dir, 'kickstart', 'gpunode-0-0');
    assert.equal(ks.code, 2, ks.err);
    assert.match(ks.err, /diskless\.xml:\d+: undefined entity &iscsi_initiator;/);
    await ok('appliance', 'set', 'gpu', '--root-node', 'compute');
    assert.match(await ok('kickstart', 'gpunode-0-0'), /^# netroot kickstart for gpunode-0-0 /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('appliance set: bad input is exit 2 naming the argument, nothing changed', async () => {
  const dir = tempStateDir('nrt-appl-');
  try {
    await cliOk(dir)('appliance', 'add', 'gpu', '--root-node', 'compute');
    const cases: Array<[string[], RegExp]> = [
      [['appliance', 'set', 'nope', '--basename', 'x'], /^netroot: appliance: unknown appliance "nope"\n$/],
      [['appliance', 'set', 'gpu'], /^netroot: nothing to set: give --basename, --graph, --root-node, --discover or --no-discover\nusage: /],
      [['appliance', 'set'], /^netroot: missing argument\nusage: netroot appliance list/],
      [['appliance', 'set', 'gpu', 'compute', '--discover'], /^netroot: unexpected argument "compute"/],
      [['appliance', 'set', 'gpu', '--root-node', 'no-such-node'], /^netroot: root-node: root node "no-such-node" has no node file/],
      [['appliance', 'set', 'gpu', '--graph', 'nope'], /^netroot: graph: no graph "nope"/],
      [['appliance', 'set', 'gpu', '--basename', 'Bad_Name'], /Bad_Name/],
      [['appliance', 'set', 'gpu', '--discover', '--no-discover'], /^netroot: give --discover or --no-discover, not both/],
      [['appliance', 'set', 'gpu', '--frobnicate'], /^netroot: Unknown option '--frobnicate'/],
      [['appliance', 'set', 'gpu', '--graph'], /^netroot: Option '--graph <value>' argument missing/],
      [['appliance', 'set', 'gpu', '--discover=yes'], /--discover/],
    ];
    await assertOperatorErrors(dir, cases);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
