import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCond, passes } from '../../src/profile/index.js';
import { filtersOf } from '../../src/profile/cond.js';

const A = { rocks: 'on', off: 'no', n: '8', name: 'compute', big: '10', ver: '7.9', empty: '' };

test('cond: booleans by Rocks words, numbers numerically, unknown names false', () => {
  const cases: Array<[string, boolean]> = [
    ['rocks', true],
    ['off', false],
    ['not off', true],
    ['missing', false],
    ['not missing', true],
    ['empty', false],
    ['n == 8', true],
    ['n > 10', false],
    ['big > n', true],
    ['n != "8"', true],
    ['name == "compute"', true],
    ["name == 'gpu'", false],
    ['rocks and n >= 8', true],
    ['off or name == "compute"', true],
    ['not (rocks and off)', true],
    ['(n < 9) and (big <= 10)', true],
    ['ver > 7.10', true],
    ['missing == None', true],
    ['rocks == True', true],
    ['missing > 3', false],
    ['name < "d"', true],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCond(expr, A), want, expr);
});

test('cond: malformed expressions are E_COND_SYNTAX naming the column', () => {
  for (const bad of ['', 'a and', '(a', 'a ==', 'a b', '"open', 'a === b', 'and', 'a ; rm -rf /', '__import__("os")', '('.repeat(70) + 'a' + ')'.repeat(70)]) {
    assert.throws(
      () => evaluateCond(bad, A),
      (e: Error & { code?: string }) => e.code === 'E_COND_SYNTAX',
      bad,
    );
  }
  assert.throws(() => evaluateCond('a or '.repeat(1000) + 'a', A), /longer than/);
});

test('filters: arch/os/release comma lists OR-ed inside, AND-ed with cond', () => {
  const attrs = { arch: 'x86_64', os: 'linux', release: '9', gpu: 'yes' };
  assert.equal(passes({ arch: 'x86_64,aarch64' }, attrs), true);
  assert.equal(passes({ arch: 'aarch64' }, attrs), false);
  assert.equal(passes({ os: 'linux', release: '8, 9' }, attrs), true);
  assert.equal(passes({ release: '8' }, attrs), false);
  assert.equal(passes({ arch: 'x86_64', cond: 'gpu' }, attrs), true);
  assert.equal(passes({ arch: 'x86_64', cond: 'not gpu' }, attrs), false);
  assert.equal(passes({}, attrs), true);
});

// Expected values computed with Python's eval() over Rocks' _CondEnv (rocks/cond.py), outside this repo.
const PY_ATTRS = {
  rocks: 'on',
  off: 'no',
  n: '8',
  name: 'compute',
  big: '10',
  ver: '7.9',
  empty: '',
  major: '7',
  arch: 'x86_64',
  zero: '0',
  f: '7.0',
  Bootloader: 'grub2',
  sp: ' 8 ',
  Y: 'Y',
};
const PY_CASES: Array<[string, boolean]> = [
  ['n == 8', true],
  ['n != "8"', true],
  ['n == "8"', false],
  ['major >= 7', true],
  ['f == 7', true],
  ['f >= 7 and major == 7', true],
  ['ver > 7.10', true],
  ['arch in ("x86_64", "i386")', true],
  ['arch not in ["aarch64"]', true],
  ['"86" in arch', true],
  ['"x" in name', false],
  ['missing is None', true],
  ['Bootloader is not None', true],
  ['Bootloader is None', false],
  ['rocks is True', true],
  ['off is False', true],
  ['n is 8', true],
  ['not missing', true],
  ['missing == None', true],
  ['missing != None', false],
  ['zero', false],
  ['not zero', true],
  ['empty or name', true],
  ['(empty or name) == "compute"', true],
  ['(rocks and name) == "compute"', true],
  ['1 < n < 10', true],
  ['1 < n < 5', false],
  ['sp == 8', true],
  ['Y', true],
  ['rocks_version_major == 5 and Bootloader is None', false],
  ['not (ver >= 8)', true],
  ["name == 'comp' 'ute'", true],
  ['-1 < zero', true],
  ['major == 7.0', true],
  ['rocks == 1', true],
  ['off == 0', true],
  ['big > n and n > zero', true],
];

test('cond: Python semantics as Rocks evaluates them (in, not in, is None, chained compares, and/or values, tuples, lists)', () => {
  for (const [expr, want] of PY_CASES) assert.equal(evaluateCond(expr, PY_ATTRS), want, expr);
  assert.equal(evaluateCond('n <> 9', PY_ATTRS), true, 'Python 2 <> is !=');
});

test('cond: a number and a string never compare as numbers (the old bug); order across types is Python 2 (None < numbers < strings)', () => {
  // Python 2: 8 == "8" is False; any number < any string; None < everything; 1 in "abc" raises (False here).
  const cases: Array<[string, boolean]> = [
    ['n == "8"', false],
    ['n < "7"', true],
    ['n > "9"', false],
    ['name > 5', true],
    ['name < 5', false],
    ['missing < 0', true],
    ['missing > ""', false],
    ['missing < "a"', true],
    ['1 in name', false],
    ['1 not in name', false],
    ['("a", 1) > "z"', true],
    ['major == "7"', false],
    ['ver == "7.9"', false],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCond(expr, PY_ATTRS), want, expr);
});

test('cond: filters decode XML entities of the attribute (cond="rocks_version_major &gt; 6")', () => {
  const f = filtersOf({ cond: 'rocks_version_major &gt;= 7 and name != &quot;x&quot; and a &lt; &#56;' });
  assert.equal(f.cond, 'rocks_version_major >= 7 and name != "x" and a < 8');
  assert.equal(passes(f, { rocks_version_major: '7', name: 'c', a: '1' }), true);
  assert.equal(passes(f, { rocks_version_major: '6', name: 'c', a: '1' }), false);
  assert.equal(passes(filtersOf({ cond: 'rocks_version_major &gt; 6' }), { rocks_version_major: '7' }), true);
  // An attribute entity is not decoded: a syntax error in a cond.
  assert.throws(() => passes(filtersOf({ cond: '&hostname; == "a"' }), {}), { code: 'E_COND_SYNTAX' });
});

test("cond: phase= keeps a section for a kickstart when it names pre or post (Rocks' default), not reconfigure alone", () => {
  assert.equal(passes(filtersOf({ phase: 'post,reconfigure' }), {}), true);
  assert.equal(passes(filtersOf({ phase: 'pre' }), {}), true);
  assert.equal(passes(filtersOf({ phase: 'reconfigure' }), {}), false);
  assert.equal(passes(filtersOf({}), {}), true);
});

test('cond: more malformed expressions are E_COND_SYNTAX (bounded: length, nesting)', () => {
  for (const bad of [
    'a is',
    'a not b',
    'a in',
    '(a,',
    '[a',
    'a ==== b',
    '1abc',
    'a <>',
    'not',
    'a == (',
    '"a" "b',
    'a,b',
    '[1 2]',
    '-',
    'a - 1',
    '['.repeat(70) + ']'.repeat(70),
    'not '.repeat(70) + 'a',
  ]) {
    assert.throws(
      () => evaluateCond(bad, PY_ATTRS),
      (e: Error & { code?: string }) => e.code === 'E_COND_SYNTAX',
      bad,
    );
  }
});
