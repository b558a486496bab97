// Golden files, the one helper: compare output with <dir>/<name> (dir test/golden unless a test keeps
// its goldens beside it, e.g. test/initrd/golden); UPDATE_GOLDEN=1 rewrites them.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';

export function assertGolden(name: string, actual: string, dir = join('test', 'golden')): void {
  const file = join(dir, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    // CI checks golden files and never rewrites them (scripts/run-tests.mjs refuses it too).
    assert.notEqual(process.env.CI, 'true', 'UPDATE_GOLDEN is refused under CI=true');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden file ${file} is missing: run UPDATE_GOLDEN=1 npm test`);
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from ${file} (UPDATE_GOLDEN=1 to accept)`);
}
