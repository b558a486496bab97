#!/usr/bin/env node
// Finds test files and runs them with node:test through tsx (TypeScript without a build step).
//   --unit  only test/**/*.test.ts outside test/e2e
//   --e2e   only test/e2e/**/*.test.ts
//   default both; e2e tests skip themselves (saying why) when not root, never under CI=true.
// Extra arguments that are paths select those files only.
// Files in SOLO run after all the others, by themselves: they time real machines against targets
// (systemctl reboot ≤ 15 s) and must not share the two cores with other tests. Each phase is one
// node:test run; the last line sums them: `tests: N passed, N failed, N skipped, N todo`.
// Under CI=true (.ci/run sets it) nothing may be left out silently: a skipped or todo test fails the
// run, each one listed with its reason (a missing tool goes into .ci/debian-packages.txt instead of
// a skip), a phase whose summary cannot be read fails it, and UPDATE_GOLDEN is refused (CI checks
// golden files, it never rewrites them).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const SOLO = ['test/e2e/real-os.test.ts'];

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const e2eOnly = args.includes('--e2e');
const explicit = args.filter((a) => !a.startsWith('--'));
const ci = process.env.CI === 'true';
if (ci && process.env.UPDATE_GOLDEN !== undefined && process.env.UPDATE_GOLDEN !== '') {
  console.error('run-tests: UPDATE_GOLDEN is refused under CI=true (golden files are checked in CI, never rewritten)');
  process.exit(2);
}

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
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
/** `ok N - name # SKIP reason` / `# TODO reason` lines (subtests indented), as `name — reason`. */
const leftOut = { skipped: [], todo: [] };
let status = 0;
for (const [i, phase] of phases.entries()) {
  const tap = join(tmp, `phase-${i}.tap`);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=tap',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...phase,
    ],
    { stdio: 'inherit' },
  );
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
  let text = '';
  try {
    text = readFileSync(tap, 'utf8');
  } catch {
    status ||= 1;
  }
  for (const k of Object.keys(totals)) {
    const m = new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text);
    if (m) totals[k] += Number(m[1]);
    else if (ci) {
      console.error(`run-tests: phase ${i + 1} reported no "# ${k}" count`);
      status ||= 1;
    }
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(?:not )?ok \d+ - (.*?) # (SKIP|TODO)\b ?(.*)$/i.exec(line);
    if (m) leftOut[m[2].toUpperCase() === 'SKIP' ? 'skipped' : 'todo'].push(`${m[1]} — ${m[3] || '(no reason given)'}`);
  }
}
rmSync(tmp, { recursive: true, force: true });
if (ci && totals.skipped + totals.todo > 0) {
  console.error(`run-tests: CI=true and ${totals.skipped} skipped, ${totals.todo} todo — under CI every test runs:`);
  for (const [kind, list] of Object.entries(leftOut)) for (const t of list) console.error(`  ${kind}: ${t}`);
  if (leftOut.skipped.length + leftOut.todo.length < totals.skipped + totals.todo) console.error('  (more than the TAP lines above named)');
  status ||= 1;
}
if (ci && totals.cancelled > 0) status ||= 1;
const extra = (totals.todo > 0 ? `, ${totals.todo} todo` : '') + (totals.cancelled > 0 ? `, ${totals.cancelled} cancelled` : '');
console.log(`tests: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped${extra}${ci ? ' (CI: skips and todos fail the run)' : ''}`);
process.exit(status);
