// Prerequisite guards for tests that need a tool from .ci/debian-packages.txt. Outside CI a missing
// tool skips the test, saying what to install; under CI=true nothing skips: the test runs, its
// first assertion names the missing tool, and scripts/run-tests.mjs fails any skip anyway.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const underCi = process.env.CI === 'true';

/** Is `cmd` on PATH (or, with a `/`, an existing file)? */
export function haveTool(cmd: string): boolean {
  if (cmd.includes('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

/** [tool, Debian package] pairs → the `skip` option: a reason outside CI, false under CI or when all are present. */
export function skipUnless(tools: Array<[string, string]>): string | false {
  const missing = tools.filter(([t]) => !haveTool(t));
  if (missing.length === 0 || underCi) return false;
  return `needs ${missing.map(([t, p]) => `${t} (Debian: ${p})`).join(', ')}`;
}

/** First line of a guarded test: under CI a missing tool fails here, by name, not somewhere later. */
export function assertTools(tools: Array<[string, string]>): void {
  for (const [t, p] of tools) assert.ok(haveTool(t), `${t} is missing: Debian package ${p} (listed in .ci/debian-packages.txt)`);
}
