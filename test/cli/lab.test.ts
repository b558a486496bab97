// `netroot lab` argument handling and `lab down` without a running lab (no namespaces, no QEMU:
// the full flow is test/e2e/lifecycle.test.ts, on the same driver src/lab/full.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';

test('netroot lab: unknown verb, bad --nodes or --power and extra arguments are usage errors (exit 2)', async () => {
  const dir = tempStateDir('nrt-labcli-');
  try {
    for (const argv of [
      ['lab'],
      ['lab', 'sideways'],
      ['lab', 'up', 'extra'],
      ['lab', 'down', '--nodes', '2'],
      ['lab', 'down', '--power', 'ipmi'],
      ['lab', 'down', '--golden'],
    ]) {
      const r = await cli(dir, ...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, /usage: netroot lab up/);
    }
    if (process.getuid?.() === 0) {
      for (const n of ['0', '9', 'two']) {
        const r = await cli(dir, 'lab', 'up', '--nodes', n, '--dir', join(dir, 'lab'));
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, /--nodes: expected a whole number from 1 to 8/);
      }
      let r = await cli(dir, 'lab', 'up', '--power', 'wol', '--dir', join(dir, 'lab'));
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /--power "wol": ipmi or redfish/);
      // --golden: at least 2 nodes (one installs, the rest are its clones); the busybox lab only.
      r = await cli(dir, 'lab', 'up', '--golden', '--nodes', '1', '--dir', join(dir, 'lab'));
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /--nodes: expected a whole number from 2 to 8/);
      for (const extra of [
        ['--image', 'x'],
        ['--power', 'ipmi'],
      ]) {
        r = await cli(dir, 'lab', 'up', '--golden', ...extra, '--dir', join(dir, 'lab'));
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, /--golden runs the busybox lab: not with --image or --power/);
      }
    } else {
      const r = await cli(dir, 'lab', 'up');
      assert.equal(r.code, 2);
      assert.match(r.err, /needs root/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot lab down: no lab running, and a stale pid file of a dead process is removed', async () => {
  const dir = tempStateDir('nrt-labcli-');
  try {
    const lab = join(dir, 'lab');
    let r = await cli(dir, 'lab', 'down', '--dir', lab);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /no lab running/);
    mkdirSync(lab, { recursive: true });
    // A pid that cannot be alive (above Linux's pid_max limit of 2^22).
    writeFileSync(join(lab, 'lab.pid'), '4194305\n');
    r = await cli(dir, 'lab', 'down', '--dir', lab);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /no lab running/);
    assert.equal(existsSync(join(lab, 'lab.pid')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
