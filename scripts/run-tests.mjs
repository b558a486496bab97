#!/usr/bin/env node
// Finds test files and runs them with node:test through tsx (TypeScript without a build step).
//   --unit  only test/**/*.test.ts outside test/e2e
//   --e2e   only test/e2e/**/*.test.ts
//   default both; e2e tests skip themselves (saying why) when not root, never under CI=true.
// Extra arguments that are paths select those files only.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const e2eOnly = args.includes('--e2e');
const explicit = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = explicit.length > 0 ? explicit : walk('test', []);
if (unitOnly) files = files.filter((f) => !relative('test', f).startsWith('e2e'));
if (e2eOnly) files = files.filter((f) => relative('test', f).startsWith('e2e'));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
