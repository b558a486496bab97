// Golden files for initrd templates, kept beside these tests (test/initrd/golden/<name>);
// UPDATE_GOLDEN=1 rewrites them, as test/helpers/golden.ts does for test/golden.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function assertInitrdGolden(name: string, actual: string): void {
  const file = join('test', 'initrd', 'golden', name);
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
