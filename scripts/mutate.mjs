#!/usr/bin/env node
// `npm run mutate`: mutation testing of the codecs and pure policies with StrykerJS (tap runner over
// node:test), then one table of scores per module and overall. What is mutated and which test files
// may kill each module: MODULES in stryker.config.mjs. How to read the result and the list of
// equivalent survivors: docs/mutation.md.
//
//   node scripts/mutate.mjs                       every module
//   node scripts/mutate.mjs iscsi/text-keys tftp  the named modules (a folder name selects its modules)
//   node scripts/mutate.mjs --changed[=REV]       modules whose source or listed tests changed since REV
//                                                 (default: the commit recorded in docs/mutation.md),
//                                                 including uncommitted changes
//   node scripts/mutate.mjs --incremental         reuse reports/mutation/incremental/<module>.json:
//                                                 only mutants whose code or covering tests changed run
//   node scripts/mutate.mjs --ci                  --changed against the recorded commit, bounded by
//                                                 MUTATE_BUDGET_S (default 300 s) of estimated cost;
//                                                 the fixed CI_SAMPLE when nothing changed
//   --report         run nothing: print the table from the modules' last JSON reports
//   --survivors      list every surviving / uncovered mutant (file:line mutator → replacement)
//   --concurrency=N  test processes at once (default 1: two shared cores)
//
// Stryker runs once per module (its own sandbox, test list and incremental file), at nice 19.
// Exit status: 1 when a module scores below 75 % or (for a run of every module) the total is below
// 85 %, 2 on a usage error or when Stryker itself failed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { pathToFileURL } from 'node:url';

const MODULE_FLOOR = 75;
const TOTAL_FLOOR = 85;
const REPORT_DIR = 'reports/mutation';

const args = process.argv.slice(2);
const flag = (name) => args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const names = args.filter((a) => !a.startsWith('--'));

const known = new Set(['changed', 'incremental', 'ci', 'survivors', 'concurrency', 'report', 'help']);
const report = flag('report');
for (const a of args.filter((x) => x.startsWith('--'))) {
  if (!known.has(a.slice(2).split('=')[0])) usage(`unknown option ${a}`);
}
if (flag('help')) usage();

const config = await import(pathToFileURL('stryker.config.mjs').href);
const { MODULES, CI_SAMPLE, testFiles } = config;
const baseOptions = config.default;

try {
  // Children (the test processes) inherit the priority: mutation testing never starves other work.
  setPriority(19);
} catch {
  // not permitted: run at the current priority
}

function usage(problem) {
  if (problem) console.error(`mutate: ${problem}`);
  console.error('usage: node scripts/mutate.mjs [module|folder ...] [--changed[=REV]] [--incremental] [--ci] [--survivors] [--concurrency=N]');
  console.error(`modules: ${Object.keys(MODULES ?? {}).join(' ')}`);
  process.exit(problem ? 2 : 0);
}

/** The commit docs/mutation.md records as the last full run ("Recorded commit: `sha`"). */
function recordedCommit() {
  try {
    return /^Recorded commit: `([0-9a-f]{7,40})`/m.exec(readFileSync('docs/mutation.md', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Files changed since rev (committed or not); undefined when rev is unknown (e.g. a shallow clone). */
function changedFiles(rev) {
  try {
    const out = execFileSync('git', ['diff', '--name-only', rev, '--'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const untracked = execFileSync('git', ['ls-files', '--others', '--exclude-standard'], { encoding: 'utf8' });
    return new Set([...out.split('\n'), ...untracked.split('\n')].filter(Boolean));
  } catch {
    return undefined;
  }
}

/** Glob-free match: the config uses exact paths and `dir/*.ts` only. */
function matches(pattern, file) {
  if (!pattern.includes('*')) return pattern === file;
  const [dir, tail] = [pattern.slice(0, pattern.lastIndexOf('/') + 1), pattern.slice(pattern.lastIndexOf('/') + 1)];
  return file.startsWith(dir) && !file.slice(dir.length).includes('/') && file.endsWith(tail.replace('*', ''));
}

function modulesChangedSince(rev) {
  const files = changedFiles(rev);
  if (files === undefined) return undefined;
  const touched = [...files, 'stryker.config.mjs'].filter((f) => files.has(f));
  return Object.keys(MODULES).filter((m) =>
    touched.some((f) => f === 'stryker.config.mjs' || [...MODULES[m].mutate, ...MODULES[m].tests].some((p) => matches(p, f))),
  );
}

let selected;
let note = '';
if (flag('ci')) {
  const rev = recordedCommit();
  const changed = rev === undefined ? undefined : modulesChangedSince(rev);
  const budget = Number(process.env.MUTATE_BUDGET_S ?? 300);
  if (changed === undefined) {
    selected = CI_SAMPLE;
    note = `ci: recorded commit ${rev ?? '(none)'} not in this clone; fixed sample`;
  } else if (changed.length === 0) {
    selected = CI_SAMPLE;
    note = `ci: no module changed since ${rev}; fixed sample`;
  } else {
    // Cheapest first, while the estimated cost fits the budget; the rest are named, not run.
    const byCost = [...changed].sort((a, b) => (MODULES[a].seconds ?? 60) - (MODULES[b].seconds ?? 60));
    selected = [];
    let spent = 0;
    for (const m of byCost) {
      const cost = MODULES[m].seconds ?? 60;
      if (spent + cost > budget) continue;
      selected.push(m);
      spent += cost;
    }
    const left = byCost.filter((m) => !selected.includes(m));
    if (selected.length === 0) selected = CI_SAMPLE;
    note = `ci: changed since ${rev}: ${changed.join(' ')}${left.length ? `; over the ${budget} s budget, not run: ${left.join(' ')}` : ''}`;
  }
} else if (flag('changed')) {
  const rev = value('changed') ?? recordedCommit();
  if (rev === undefined) usage('--changed needs a REV (docs/mutation.md records none)');
  selected = modulesChangedSince(rev);
  if (selected === undefined) usage(`git does not know ${rev}`);
  note = `changed since ${rev}: ${selected.length ? selected.join(' ') : '(none)'}`;
} else if (names.length > 0) {
  selected = [];
  for (const n of names) {
    const hit = Object.keys(MODULES).filter((m) => m === n || m.startsWith(`${n.replace(/\/$/, '')}/`));
    if (hit.length === 0) usage(`no module ${n}`);
    selected.push(...hit.filter((m) => !selected.includes(m)));
  }
} else {
  selected = Object.keys(MODULES);
}
if (note) console.log(`mutate: ${note}`);
if (selected.length === 0) {
  console.log('mutate: nothing to mutate');
  process.exit(0);
}

const { Stryker } = report ? {} : await import('@stryker-mutator/core');
// CI mode runs two test processes at a time (its budget assumes it); elsewhere the config's 1.
const concurrency = Number(value('concurrency') ?? (flag('ci') ? 2 : (baseOptions.concurrency ?? 1)));
const incremental = flag('incremental');
const rows = [];
const survivors = [];
const started = Date.now();
let failed = false;
for (const m of selected) {
  if (report) {
    rowFor(m, 0);
    continue;
  }
  const slug = m.replaceAll('/', '-');
  const t0 = Date.now();
  console.log(`\nmutate: ${m} (${MODULES[m].mutate.join(' ')}; tests: ${MODULES[m].tests.join(' ')})`);
  try {
    // Merged by Stryker over stryker.config.mjs.
    await new Stryker({
      configFile: 'stryker.config.mjs',
      mutate: MODULES[m].mutate,
      tap: { ...baseOptions.tap, testFiles: testFiles(MODULES[m].tests) },
      concurrency,
      incremental,
      incrementalFile: `${REPORT_DIR}/incremental/${slug}.json`,
      jsonReporter: { fileName: `${REPORT_DIR}/${slug}.json` },
      reporters: ['json', 'progress'],
    }).runMutationTest();
  } catch (e) {
    console.error(`mutate: Stryker failed on ${m}: ${e instanceof Error ? e.message : e}`);
    failed = true;
    continue;
  }
  rowFor(m, Math.round((Date.now() - t0) / 1000));
}

/** One module's row, from the JSON report Stryker wrote for it (mutation-testing-elements schema). */
function rowFor(m, seconds) {
  const slug = m.replaceAll('/', '-');
  let report;
  try {
    report = JSON.parse(readFileSync(`${REPORT_DIR}/${slug}.json`, 'utf8'));
  } catch {
    console.error(`mutate: no report for ${m} (${REPORT_DIR}/${slug}.json)${report ? ': not run yet' : ''}`);
    if (!report) failed = true;
    return;
  }
  const results = Object.entries(report.files).flatMap(([file, f]) => f.mutants.map((x) => ({ ...x, file })));
  const count = (...st) => results.filter((r) => st.includes(r.status)).length;
  rows.push({
    module: m,
    mutants: results.length,
    killed: count('Killed'),
    timeout: count('Timeout'),
    survived: count('Survived'),
    noCoverage: count('NoCoverage'),
    errors: count('RuntimeError', 'CompileError'),
    ignored: count('Ignored'),
    seconds,
  });
  for (const r of results.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
    survivors.push({
      module: m,
      where: `${r.file}:${r.location.start.line}`,
      status: r.status,
      mutator: r.mutatorName,
      replacement: (r.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80),
    });
  }
}

const score = (r) => {
  const valid = r.killed + r.timeout + r.survived + r.noCoverage;
  return valid === 0 ? 100 : (100 * (r.killed + r.timeout)) / valid;
};
const total = rows.reduce(
  (a, r) => {
    for (const k of ['mutants', 'killed', 'timeout', 'survived', 'noCoverage', 'errors', 'ignored', 'seconds']) a[k] += r[k];
    return a;
  },
  { module: 'overall', mutants: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0, seconds: 0 },
);
total.seconds = Math.round((Date.now() - started) / 1000);

if (flag('survivors') && survivors.length > 0) {
  console.log('\nsurviving mutants (docs/mutation.md lists the equivalent ones):');
  for (const s of survivors) console.log(`  ${s.status === 'NoCoverage' ? 'no-cov ' : ''}${s.where} ${s.mutator} → ${s.replacement}`);
}

const head = ['module', 'score', 'mutants', 'killed', 'timeout', 'survived', 'no cov', 'errors', 'time'];
const line = (r) => [
  r.module,
  `${score(r).toFixed(1)} %`,
  String(r.mutants),
  String(r.killed),
  String(r.timeout),
  String(r.survived),
  String(r.noCoverage),
  String(r.errors),
  report ? '-' : `${r.seconds} s`,
];
const table = [head, ...rows.map(line), ...(rows.length > 1 ? [line(total)] : [])];
const widths = head.map((_, i) => Math.max(...table.map((t) => t[i].length)));
console.log('');
for (const [i, t] of table.entries()) {
  console.log(t.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  '));
  if (i === 0 || (rows.length > 1 && i === table.length - 2)) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

mkdirSync(REPORT_DIR, { recursive: true });
writeFileSync(
  `${REPORT_DIR}/summary.json`,
  `${JSON.stringify({ when: new Date().toISOString(), rows: rows.map((r) => ({ ...r, score: score(r) })), total: { ...total, score: score(total) }, survivors }, null, 2)}\n`,
);

const low = rows.filter((r) => score(r) < MODULE_FLOOR);
if (low.length > 0) console.log(`\nmutate: below ${MODULE_FLOOR} %: ${low.map((r) => r.module).join(' ')}`);
const everything = selected.length === Object.keys(MODULES).length;
if (everything && score(total) < TOTAL_FLOOR) console.log(`mutate: overall below ${TOTAL_FLOOR} %`);
process.exit(failed ? 2 : low.length > 0 || (everything && score(total) < TOTAL_FLOOR) ? 1 : 0);
