// Issue #22 item 6: no fixed sleeps in tests. A test that waits for something waits on the condition
// with a deadline (`waitFor`, test/helpers/wait.ts) or moves an injected clock; a bare timer wait is
// allowed only where the delay itself is the input (test/README.md, "No fixed sleeps"), and says so
// in a `fixed delay: <why>` comment on its line or just above it. This test fails on any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = 'test';
const SELF = relative('.', new URL(import.meta.url).pathname);
const MARK = /fixed delay: \S.{10,}/;

/**
 * What counts as a bare wait: a promise that only a timer resolves (`new Promise((r) =>
 * setTimeout(r, n))`, with or without a block or a closure calling `r`), `node:timers/promises`,
 * a promisified setTimeout, and Atomics.wait (a blocking sleep). A timer inside a promise that
 * something else also resolves (a deadline guard with a waiter) is not matched.
 */
const BARE = [
  /new Promise\s*(?:<[^>]*>)?\(\s*\(?\s*(\w+)\s*\)?\s*=>\s*\{?\s*setTimeout\(\s*(?:\1\s*,|\(\)\s*=>\s*\1\(\s*\)\s*,)/g,
  /from\s+['"](?:node:)?timers\/promises['"]/g,
  /require\(\s*['"](?:node:)?timers\/promises['"]\s*\)/g,
  /promisify\(\s*setTimeout\s*\)/g,
  /Atomics\.wait\(/g,
];

interface Finding {
  line: number;
  text: string;
  reason: string | null;
}

/** Every bare wait in `source`, with the reason its `fixed delay:` comment gives (null: none). */
function bareWaits(source: string): Finding[] {
  const lines = source.split('\n');
  const found = new Map<number, Finding>();
  for (const re of BARE) {
    for (const m of source.matchAll(re)) {
      const line = source.slice(0, m.index).split('\n').length;
      // The comment on the line itself or on one of the two lines above it.
      const near = lines.slice(Math.max(0, line - 3), line).join('\n');
      found.set(line, { line, text: lines[line - 1]!.trim(), reason: MARK.exec(near)?.[0] ?? null });
    }
  }
  return [...found.values()].sort((a, b) => a.line - b.line);
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(?:ts|mts|cts|js|mjs|cjs)$/.test(name) && p !== SELF) out.push(p);
  }
  return out;
}

test('the detector finds the bare waits and reads their reason; a waiter with a deadline is not one', () => {
  const to = 'setTimeout';
  const src = [
    `await new Promise((r) => ${to}(r, 50));`,
    `await new Promise<void>((resolve) => { ${to}(resolve, 5); });`,
    `const t = new Promise((res) => ${to}(() => res(), 10));`,
    `import { ${to} as sleep } from 'node:timers/promises';`,
    `// fixed delay: the collection window the test counts in`,
    `await new Promise((r) => ${to}(r, 1500));`,
    `await new Promise<void>((r) => { const t = ${to}(r, left); waiters.push(() => { clearTimeout(t); r(); }); });`,
    `await new Promise((r) =>`,
    `  ${to}(r, 20),`,
    `);`,
  ].join('\n');
  assert.deepEqual(
    bareWaits(src).map((f) => [f.line, f.reason]),
    [
      [1, null],
      [2, null],
      [3, null],
      [4, null],
      [6, 'fixed delay: the collection window the test counts in'],
      [8, null],
    ],
  );
});

test('no fixed sleep in test/ without a `fixed delay:` reason (wait on the condition with waitFor instead)', () => {
  const bad: string[] = [];
  let allowed = 0;
  for (const f of sources(ROOT)) {
    for (const w of bareWaits(readFileSync(f, 'utf8'))) {
      if (w.reason === null) bad.push(`${f}:${w.line}: ${w.text}`);
      else allowed++;
    }
  }
  assert.deepEqual(bad, [], 'bare waits without a reason: use waitFor (test/helpers/wait.ts), or say why the delay is the input');
  assert.ok(allowed > 0, 'the scan saw the allowed ones (test/helpers/wait.ts has one)');
});

test('test/README.md lists every file that keeps a fixed delay', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## No fixed sleeps'));
  assert.ok(readme.includes('## No fixed sleeps'), 'the section exists');
  const missing = sources(ROOT).filter((f) => bareWaits(readFileSync(f, 'utf8')).some((w) => w.reason !== null) && !section.includes(f));
  assert.deepEqual(missing, [], 'files with a fixed delay that the README section does not name');
});
