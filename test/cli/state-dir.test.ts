// The state directory: --state-dir DIR beats NETROOT_STATE_DIR, which beats /var/lib/netroot; the
// database is created under the one chosen, and nowhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { tempStateDir } from '../helpers/tmp.js';

async function netroot(argv: string[], env: NodeJS.ProcessEnv) {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) }, env);
  return { code, out, err };
}

test('state dir: --state-dir > NETROOT_STATE_DIR > /var/lib/netroot', async () => {
  assert.equal(loadConfig({ env: {} }).stateDir, '/var/lib/netroot');
  const fromEnv = tempStateDir();
  const fromFlag = tempStateDir();
  try {
    let r = await netroot(['host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01'], { NETROOT_STATE_DIR: fromEnv });
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(fromEnv, 'netroot.db')));
    r = await netroot(['--state-dir', fromFlag, 'host', 'list', '--json'], { NETROOT_STATE_DIR: fromEnv });
    assert.deepEqual(JSON.parse(r.out), [], 'the flag wins: a different, empty database');
    assert.ok(existsSync(join(fromFlag, 'netroot.db')));
    r = await netroot(['host', 'list', '--json', `--state-dir=${fromEnv}`], {});
    assert.deepEqual(
      (JSON.parse(r.out) as Array<{ name: string }>).map((h) => h.name),
      ['compute-0-0'],
      'global flags anywhere on the line, --flag=value form',
    );
  } finally {
    rmSync(fromEnv, { recursive: true });
    rmSync(fromFlag, { recursive: true });
  }
});
