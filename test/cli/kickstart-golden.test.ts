// `netroot kickstart` (the command itself) prints the golden kickstarts of test/golden/kickstart/ for
// a compute and a compute-diskless host set up through the CLI only. The CLI shows a preview token
// where the node's fetch carries a real one: the only difference allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { addGoldenHosts, cliOk, tempStateDir, PREVIEW_TOKEN as PREVIEW } from '../helpers/cli.js';

test('netroot kickstart prints the golden compute and compute-diskless kickstarts', async () => {
  const dir = tempStateDir();
  try {
    const ok = cliOk(dir);
    await addGoldenHosts(ok);
    const compute = await ok('kickstart', 'compute-0-0');
    const diskless = await ok('kickstart', 'compute-0-1');
    assert.ok(compute.includes(PREVIEW) && diskless.includes(PREVIEW), 'the preview token, never a real one');
    assert.equal(compute.replaceAll(PREVIEW, 'GOLDEN-TOKEN-compute'), readFileSync('test/golden/kickstart/compute.ks', 'utf8'));
    assert.equal(diskless.replaceAll(PREVIEW, 'GOLDEN-TOKEN-diskless'), readFileSync('test/golden/kickstart/compute-diskless.ks', 'utf8'));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
