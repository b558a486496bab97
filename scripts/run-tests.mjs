#!/usr/bin/env node
// Finds test files and runs them with node:test through tsx (TypeScript without a build step).
//   --unit  only test/**/*.test.ts outside test/e2e
//   --e2e   only test/e2e/**/*.test.ts
//   default both; e2e tests skip themselves (saying why) when not root, never under CI=true.
// Extra arguments that are paths select those files only.
// Files in SOLO run after all the others, by themselves: they time real machines against targets
// (systemctl reboot ≤ 15 s) and must not share the two cores with other tests. Each phase is one
// node:test run; the last line sums them: `tests: N passed, N failed, N skipped`.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const SOLO = ['test/e2e/real-os.test.ts'];

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
const solo = files.filter((f) => SOLO.includes(relative('.', f)));
const phases = [files.filter((f) => !solo.includes(f)), ...solo.map((f) => [f])].filter((p) => p.length > 0);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const tmp = mkdtempSync(join(tmpdir(), 'netroot-tests-'));
const totals = { pass: 0, fail: 0, skipped: 0 };
let status = 0;
for (const [i, phase] of phases.entries()) {
  const tap = join(tmp, `phase-${i}.tap`);
  const r = spawnSync(process.execPath, [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=tap', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...phase,
  ], { stdio: 'inherit' });
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
  let text = '';
  try {
    text = readFileSync(tap, 'utf8');
  } catch {
    status ||= 1;
  }
  for (const k of Object.keys(totals)) totals[k] += Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}
rmSync(tmp, { recursive: true, force: true });
console.log(`tests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(status);
