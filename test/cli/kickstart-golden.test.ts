// `netroot kickstart` (the command itself) prints the golden kickstarts of test/golden/kickstart/ for
// a compute and a compute-diskless host set up through the CLI only. The CLI shows a preview token
// where the node's fetch carries a real one: the only difference allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { cli, tempStateDir } from '../helpers/cli.js';

const PREVIEW = 'PREVIEW-token-is-issued-when-the-node-fetches-its-kickstart';
const ISCSI = {
  iscsi_initiator: 'iqn.2026-11.local.netroot:init:compute-0-1', iscsi_target: 'iqn.2026-11.local.netroot:compute-0-1',
  iscsi_portal: '10.1.1.1', iscsi_port: '3260', iscsi_lun: '0', iscsi_user: 'compute-0-1', iscsi_secret: 'GoldenSecret123',
};

test('netroot kickstart prints the golden compute and compute-diskless kickstarts', async () => {
  const dir = tempStateDir();
  try {
    const ok = async (...argv: string[]) => {
      const r = await cli(dir, ...argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
      return r.out;
    };
    await ok('host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
    await ok('host', 'add', 'compute-0-1', '--appliance', 'compute-diskless', '--mac', '52:54:00:aa:00:02', '--ip', '10.1.255.253');
    await ok('attr', 'set', 'Kickstart_Timezone', 'Asia/Tokyo', '--appliance', 'compute');
    for (const [k, v] of Object.entries(ISCSI)) await ok('attr', 'set', k, v, '--host', 'compute-0-1');
    const compute = await ok('kickstart', 'compute-0-0');
    const diskless = await ok('kickstart', 'compute-0-1');
    assert.ok(compute.includes(PREVIEW) && diskless.includes(PREVIEW), 'the preview token, never a real one');
    assert.equal(compute.replaceAll(PREVIEW, 'GOLDEN-TOKEN-compute'), readFileSync('test/golden/kickstart/compute.ks', 'utf8'));
    assert.equal(diskless.replaceAll(PREVIEW, 'GOLDEN-TOKEN-diskless'), readFileSync('test/golden/kickstart/compute-diskless.ks', 'utf8'));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
