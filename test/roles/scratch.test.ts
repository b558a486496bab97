// roles/cluster/scratch.xml's netroot-scratch (the script a node runs at every boot), read from the
// shipped node XML: its options and the attribute file the role writes are checked before any disk
// is looked at. The block-device scenarios (one disk, a stripe, fallback, foreign data, a failing
// disk) run in a QEMU guest: test/e2e/scratch-role.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roleFile } from './role-files.js';

const SCRIPT = roleFile('cluster', 'scratch', '/usr/local/sbin/netroot-scratch');

// Malformed input: the attribute values the role writes into scratch.conf, and options.
test('scratch: bad attribute values and options are refused (exit 2) before any disk is looked at; the file is data, never code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-scratch-conf-'));
  try {
    const script = join(dir, 'netroot-scratch');
    writeFileSync(script, SCRIPT, { mode: 0o755 });
    let n = 0;
    const conf = (text: string) => {
      const p = join(dir, `scratch-${n++}.conf`);
      writeFileSync(p, text);
      return p;
    };
    const go = (...args: string[]) => spawnSync('sh', [script, '--candidates', '', '--mount', join(dir, 'm'), ...args], { encoding: 'utf8' });
    const pwned = join(dir, 'pwned');
    const cases: Array<[string[], RegExp]> = [
      [['--config', conf(`SCRATCH_WIPE=$(touch ${pwned})\n`)], /scratch_wipe must be yes or no/],
      [['--config', conf('SCRATCH_FS=btrfs\n')], /file system must be ext4 or xfs/],
      [['--config', conf('SCRATCH_WIPE=yes\nSCRATCH_WIPE=yes; rm -rf /\n')], /scratch_wipe must be yes or no/],
      [['--fs', 'ext4;reboot'], /file system must be ext4 or xfs/],
      [['--vg', '../etc'], /bad volume group name/],
      [['--vg', '-ff'], /bad volume group name/],
      [['--mount', 'relative'], /absolute path/],
      [['--bogus', 'x'], /unknown option --bogus/],
      [['--wipe'], /--wipe needs a value/],
    ];
    for (const [args, why] of cases) {
      const r = go(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    assert.equal(existsSync(pwned), false, 'a value in scratch.conf was run as a command');
    // An unknown key is only a warning; the good values still apply (fallback: no candidates).
    const r = go('--config', conf('# comment\nSCRATCH_COLOUR=blue\nSCRATCH_WIPE=no\n'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /unknown key SCRATCH_COLOUR ignored/);
    assert.match(r.stderr, /<4>netroot-scratch: no local disk for scratch/);
    assert.equal(existsSync(join(dir, 'm')), true, 'the fallback directory was made');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
