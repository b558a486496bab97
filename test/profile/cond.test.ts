import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCond, passes } from '../../src/profile/index.js';
import { andFilters, attrValue, decodeXmlText, filtersOf, noFilters } from '../../src/profile/cond.js';

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

// Edges found by mutation testing (docs/mutation.md): which character references XML allows (the
// Char production, XML 1.0 §2.2), how an attribute's text becomes a value, when filters are "none".
test('decodeXmlText: character references at each edge of the XML Char ranges; the five entities; others kept', () => {
  const allowed = [0x9, 0xa, 0xd, 0x20, 0xd7ff, 0xe000, 0xfffd, 0x10000, 0x10ffff];
  const refused = [0x0, 0x8, 0xb, 0xc, 0xe, 0x1f, 0xd800, 0xdfff, 0xfffe, 0xffff, 0x110000];
  for (const cp of allowed) {
    assert.equal(decodeXmlText(`a&#x${cp.toString(16)};b`), `a${String.fromCodePoint(cp)}b`, `&#x${cp.toString(16)};`);
    assert.equal(decodeXmlText(`&#${cp};`), String.fromCodePoint(cp), `&#${cp};`);
  }
  for (const cp of refused) {
    assert.equal(decodeXmlText(`&#x${cp.toString(16)};`), `&#x${cp.toString(16)};`, `&#x${cp.toString(16)}; kept`);
    assert.equal(decodeXmlText(`&#${cp};`), `&#${cp};`, `&#${cp}; kept`);
  }
  assert.equal(decodeXmlText('&amp;&lt;&gt;&quot;&apos;'), '&<>"\'');
  assert.equal(decodeXmlText('&AMP;&nbsp;&name;&#x;&#;&#x1234567;&#12345678;'), '&AMP;&nbsp;&name;&#x;&#;&#x1234567;&#12345678;');
  assert.equal(decodeXmlText('&#X41;'), '&#X41;', 'the x is lower case');
  assert.equal(decodeXmlText('&#x41;&#x4a;&#x4A;'), 'AJJ');
  assert.equal(decodeXmlText('no entities'), 'no entities');
});

test('attrValue: Rocks words, ints, floats (inf, nan, exponents), everything else a string', () => {
  for (const t of ['on', 'ON', 'true', 'Yes', 'y']) assert.equal(attrValue(t), true, t);
  for (const f of ['off', 'False', 'no', 'N']) assert.equal(attrValue(f), false, f);
  assert.equal(attrValue(undefined), null);
  assert.equal(attrValue(' 42 '), 42);
  assert.equal(attrValue('-7'), -7);
  assert.equal(attrValue('+7'), 7);
  assert.equal(attrValue('7.5'), 7.5);
  assert.equal(attrValue(' 1e3 '), 1000);
  assert.equal(attrValue('.5'), 0.5);
  assert.equal(attrValue('5.'), 5);
  assert.equal(attrValue('1.5E-1'), 0.15);
  assert.equal(attrValue('inf'), Infinity);
  assert.equal(attrValue('-Infinity'), -Infinity);
  assert.equal(attrValue('+inf'), Infinity);
  assert.ok(Number.isNaN(attrValue('NaN')));
  for (const s of ['7a', 'a7', '1e', '--1', '1.2.3', 'infinite', 'xinf', 'nan1', '0x10', '', ' ', 'yess', 'onn']) {
    assert.equal(attrValue(s), s, JSON.stringify(s));
  }
});

test('noFilters and andFilters: what counts as no filter; lists intersected, conds AND-ed, an empty meet never passes', () => {
  assert.equal(noFilters({}), true);
  assert.equal(noFilters({ cond: '  ' }), true, 'a blank cond is no cond');
  for (const f of [{ arch: 'x86_64' }, { os: 'linux' }, { release: '9' }, { phase: 'post' }, { cond: 'a' }])
    assert.equal(noFilters(f), false, JSON.stringify(f));
  assert.deepEqual(andFilters({}, {}), { arch: undefined, os: undefined, release: undefined, cond: undefined });
  assert.deepEqual(andFilters({ arch: 'x86_64, aarch64', cond: 'a' }, { arch: 'aarch64,ppc', cond: ' ' }), {
    arch: 'aarch64',
    os: undefined,
    release: undefined,
    cond: 'a',
  });
  assert.deepEqual(andFilters({ os: 'linux' }, { os: 'sunos', cond: 'b' }), { arch: undefined, os: '', release: undefined, cond: '(b) and (False)' });
  assert.deepEqual(andFilters({ release: '8,,9' }, { release: '9', phase: 'post' }), {
    arch: undefined,
    os: undefined,
    release: '9',
    phase: 'post',
    cond: undefined,
  });
  assert.deepEqual(andFilters({ cond: 'a' }, { cond: 'b' }).cond, '(a) and (b)');
  assert.deepEqual(andFilters({ phase: 'pre,post' }, { phase: 'post' }).phase, 'post');
  assert.equal(passes(andFilters({ os: 'linux' }, { os: 'sunos' }), { os: 'linux' }), false);
  assert.equal(passes({ arch: 'x86_64 , aarch64' }, { arch: 'aarch64' }), true, 'list items are trimmed');
  assert.equal(passes({ arch: 'x86_64' }, {}), false, 'a list never matches a missing attribute');
  assert.equal(passes({ arch: ',x86_64' }, {}), true, 'an empty list item matches a missing attribute');
  assert.equal(passes({ phase: ' post ' }, {}), true);
  assert.equal(passes({ phase: 'reconfigure' }, {}), false);
  assert.equal(passes({ cond: ' ' }, {}), true);
});
