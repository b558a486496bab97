import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCond, passes } from '../../src/profile/index.js';
import { andFilters, attrValue, decodeXmlText, evaluateCondValue, filtersOf, noFilters, parseCond } from '../../src/profile/cond.js';

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

// Each syntax error names what is wrong and the 1-based column where it is (the column of the token,
// of the opening quote of an unterminated string, or one past the end for a missing token).
const SYNTAX: Array<[string, string]> = [
  ['', 'empty expression at column 1'],
  [' \t', 'empty expression at column 1'],
  ['a and', 'unexpected end at column 6'],
  ['a ==', 'unexpected end at column 5'],
  ['a is', 'unexpected end at column 5'],
  ['(a,', 'unexpected end at column 4'],
  ['(a', "expected ')' at column 3"],
  ['(a b', "expected ')' at column 4"],
  ['(a, b c)', "expected ',' or ')' at column 7"],
  ['(a, b', "expected ',' or ')' at column 6"],
  ['[a', "expected ',' or ']' at column 3"],
  ['[1 2]', "expected ',' or ']' at column 4"],
  ['[1, 2)', "expected ',' or ']' at column 6"],
  ['a b', 'unexpected "b" at column 3'],
  ['a not b', 'unexpected "not" at column 3'],
  ['a,b', 'unexpected "," at column 2'],
  [')', 'unexpected ")" at column 1'],
  ['a)', 'unexpected ")" at column 2'],
  [']', 'unexpected "]" at column 1'],
  ['-', 'unexpected "-" at column 1'],
  ['- a', 'unexpected "-" at column 1'],
  ['a - 1', 'unexpected "-" at column 3'],
  ['a == - b', 'unexpected "-" at column 6'],
  ['and', "unexpected 'and' at column 1"],
  ['a or or', "unexpected 'or' at column 6"],
  ['not in', "unexpected 'in' at column 5"],
  ['a == is', "unexpected 'is' at column 6"],
  ['"open', 'unterminated string at column 1'],
  ["x == 'ab", 'unterminated string at column 6'],
  ['"ab\\', 'unterminated string at column 1'],
  ['"a\\"', 'unterminated string at column 1'],
  ['\'a"', 'unterminated string at column 1'],
  ['"a" "b', 'unterminated string at column 5'],
  ['a ; b', 'unexpected character ";" at column 3'],
  ['a $', 'unexpected character "$" at column 3'],
  ['a = b', 'unexpected character "=" at column 3'],
  ['a ! b', 'unexpected character "!" at column 3'],
  ['a\fb', 'unexpected character "\\f" at column 2'],
  ['1abc', 'a name cannot start with a digit at column 1'],
  ['1_a', 'a name cannot start with a digit at column 1'],
  ['1e', 'a name cannot start with a digit at column 1'],
  ['a == 1x', 'a name cannot start with a digit at column 6'],
  ['1.5Z', 'a name cannot start with a digit at column 1'],
  ['1..2', 'unexpected ".2" at column 3'],
];

test('cond: each syntax error says what is wrong at which column', () => {
  for (const [bad, why] of SYNTAX) {
    assert.throws(() => parseCond(bad), { code: 'E_COND_SYNTAX', message: `bad cond ${JSON.stringify(bad)}: ${why}` }, bad);
  }
});

test('cond: bounds — 2048 characters and 64 levels of nesting (parentheses, lists, tuples, not) are accepted, one more is refused', () => {
  const longest = `${'a or '.repeat(409)}abc`;
  assert.equal(longest.length, 2048);
  assert.equal(evaluateCond(longest, { a: 'yes' }), true);
  assert.throws(() => parseCond(`${longest} `), { code: 'E_COND_SYNTAX', message: 'cond longer than 2048 characters' });
  const deep: Array<(n: number) => [string, number]> = [
    (n) => [`${'('.repeat(n)}a${')'.repeat(n)}`, n],
    (n) => [`${'['.repeat(n)}a${']'.repeat(n)}`, n],
    (n) => [`${'(a, '.repeat(n)}a${')'.repeat(n)}`, 4 * n - 3],
    (n) => [`${'not '.repeat(n)}a`, 4 * n - 3],
  ];
  for (const make of deep) {
    const [ok] = make(64);
    assert.doesNotThrow(() => parseCond(ok), ok.slice(0, 12));
    const [bad, column] = make(65);
    assert.throws(() => parseCond(bad), { code: 'E_COND_SYNTAX', message: `bad cond ${JSON.stringify(bad)}: nested too deeply at column ${column}` });
  }
  // Depth is the nesting, not the count: 100 groups side by side, each one level deep, are fine.
  for (const group of ['(a)', '[a]', '(a,)', '()', '[]', 'not a']) {
    const many = Array.from({ length: 100 }, () => group).join(' or ');
    assert.doesNotThrow(() => parseCond(many), group);
  }
  // A number is at most 64 characters and a name at most 256: a longer one is two tokens in a row.
  assert.equal(evaluateCond(`${'9'.repeat(64)} > 1`, {}), true);
  assert.throws(() => parseCond('9'.repeat(65)), { code: 'E_COND_SYNTAX', message: `bad cond "${'9'.repeat(65)}": unexpected "9" at column 65` });
  assert.equal(evaluateCondValue('x'.repeat(256), { ['x'.repeat(256)]: 'v' }), 'v');
  assert.throws(() => parseCond('x'.repeat(257)), { code: 'E_COND_SYNTAX', message: `bad cond "${'x'.repeat(257)}": unexpected "x" at column 257` });
});

test('cond: tokens — white space, names, numbers, strings with escapes, adjacent strings, literals', () => {
  const attrs = { 'a.b': 'dotted', _u: 'under', x86: 'digits', s: "it's", w: 'x' };
  const cases: Array<[string, unknown]> = [
    ['\tw\n==\r"x" ', true],
    ['a.b', 'dotted'],
    ['_u', 'under'],
    ['x86', 'digits'],
    ['toString', null],
    ['constructor is None', true],
    ['__proto__', null],
    ['0', 0],
    ['12', 12],
    ['007', 7],
    ['1.', 1],
    ['1.25', 1.25],
    ['.5', 0.5],
    ['.25', 0.25],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['1e-3', 0.001],
    ['1e10', 1e10],
    ['1.5e1', 15],
    ['.5e1', 5],
    ['.5E-1', 0.05],
    ['1.e3', 1000],
    ['-2', -2],
    ['-1.5e1', -15],
    ['- 3', -3],
    ['True', true],
    ['False', false],
    ['None', null],
    ['true', null],
    ['"a\\nb"', 'a\nb'],
    ['"a\\tb"', 'a\tb'],
    ['"a\\rb"', 'a\rb'],
    ['"a\\\\b"', 'a\\b'],
    ["'it\\'s'", "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    ['"a\\0b"', 'a\0b'],
    ['"a\\qb"', 'a\\qb'],
    ['"\'"', "'"],
    ["'\"'", '"'],
    ['""', ''],
    ["''", ''],
    ['"ab" \'cd\' "ef"', 'abcdef'],
    ['"(a, b) [c] == <>"', '(a, b) [c] == <>'],
    ['s == "it\\\'s"', true],
  ];
  for (const [expr, want] of cases) assert.deepEqual(evaluateCondValue(expr, attrs), want, expr);
});

test('cond: tuples and lists — empty, one item, trailing comma, nested; a parenthesised expression is not a tuple', () => {
  const attrs = { n: '8', name: 'compute' };
  const cases: Array<[string, unknown]> = [
    ['()', []],
    ['[]', []],
    ['(n,)', [8]],
    ['[n]', [8]],
    ['[n,]', [8]],
    ['(n)', 8],
    ['(n, name)', [8, 'compute']],
    ['(n, name,)', [8, 'compute']],
    ['[1, (2, "a"), []]', [1, [2, 'a'], []]],
    ['(n == 8, not n)', [true, false]],
    ['(1 or 2, 0 and 3)', [1, 0]],
  ];
  for (const [expr, want] of cases) assert.deepEqual(evaluateCondValue(expr, attrs), want, expr);
  for (const [expr, want] of [
    ['()', false],
    ['[]', false],
    ['(0,)', true],
    ['[None]', true],
  ] as const)
    assert.equal(evaluateCond(expr, attrs), want, expr);
});

test('cond: and/or return an operand, not returns a boolean, a comparison a boolean', () => {
  const attrs = { n: '8', name: 'compute', zero: '0', empty: '', on: 'on' };
  const cases: Array<[string, unknown]> = [
    ['name and n', 8],
    ['zero and name', 0],
    ['empty and name', ''],
    ['missing and name', null],
    ['name or n', 'compute'],
    ['zero or empty', ''],
    ['empty or zero', 0],
    ['zero or missing or name', 'compute'],
    ['n and name or zero', 'compute'],
    ['zero and name or n', 8],
    ['empty or n and name', 'compute'],
    ['on', true],
    ['not name', false],
    ['not empty', true],
    ['not not n', true],
    ['n == 8', true],
    ['n != 8', false],
    ['1 < n < 10 < 11', true],
    ['1 < n < 10 < 9', false],
    ['1 < 5 < 3', false],
    ['3 > 1 < 2', true],
    ['not n == 7', true],
    ['n in (8,) and name', 'compute'],
  ];
  for (const [expr, want] of cases) assert.deepEqual(evaluateCondValue(expr, attrs), want, expr);
});

test('cond: Python 2 comparisons — numbers and booleans, strings, None, sequences, ordering across types, NaN', () => {
  const attrs = { n: '8', t: 'yes', f: 'no', s: 'abc', nan: 'nan', inf: 'inf' };
  const cases: Array<[string, boolean]> = [
    // numbers, booleans as 0/1
    ['1 < 2', true],
    ['2 < 1', false],
    ['1 < 1', false],
    ['1 <= 1', true],
    ['2 <= 1', false],
    ['1 > 1', false],
    ['2 > 1', true],
    ['1 >= 1', true],
    ['1 >= 2', false],
    ['t == 1', true],
    ['f == 0', true],
    ['t == 2', false],
    ['t > f', true],
    ['t < 2', true],
    ['f < t', true],
    ['t >= 1', true],
    ['True == True', true],
    ['True != False', true],
    ['1 == 1.0', true],
    ['-1 < 0', true],
    ['inf > 1e300', true],
    // strings
    ['"a" < "b"', true],
    ['"b" < "a"', false],
    ['"b" > "a"', true],
    ['"a" > "b"', false],
    ['"a" <= "a"', true],
    ['"a" >= "a"', true],
    ['"a" < "a"', false],
    ['"ab" > "a"', true],
    ['"B" < "a"', true],
    ['s == "abc"', true],
    ['s != "abd"', true],
    // None
    ['None == None', true],
    ['None != None', false],
    ['None == 0', false],
    ['0 == None', false],
    ['None == ""', false],
    ['None == ()', false],
    ['None <= None', true],
    ['None >= None', true],
    ['None < None', false],
    ['None > None', false],
    // across types: None < numbers < strings < sequences; == across types is False
    ['None < -1e300', true],
    ['-1e300 > None', true],
    ['-1e300 <= None', false],
    ['None < f', true],
    ['1e300 < ""', true],
    ['"" > 1e300', true],
    ['t < "a"', true],
    ['"" < ()', true],
    ['"zzz" < []', true],
    ['() > "zzz"', true],
    ['() > None', true],
    ['[] > 1', true],
    ['1 >= ()', false],
    ['1 == "1"', false],
    ['"1" == 1', false],
    ['1 == (1,)', false],
    ['(1,) == 1', false],
    ['"a" == ("a",)', false],
    ['t == "True"', false],
    // sequences: element by element, then length
    ['() == ()', true],
    ['() == []', true],
    ['(1, 2) == (1, 2)', true],
    ['(1, 2) == [1, 2]', true],
    ['(1, 2) == (1, 3)', false],
    ['(1, 2) == (2, 2)', false],
    ['(1,) == (1, 2)', false],
    ['(1, 2) == (1,)', false],
    ['(1, 2) != (1, 2, 3)', true],
    ['[1, (2, "a")] == [1, (2, "a")]', true],
    ['[1, (2, "a")] == [1, (2, "b")]', false],
    ['(1, 2) < (1, 3)', true],
    ['(1, 3) < (1, 2)', false],
    ['(1, 3) > (1, 2)', true],
    ['(2,) > (1, 5)', true],
    ['(1, 5) < (2,)', true],
    ['(1, 2) < (1, 2, 0)', true],
    ['(1, 2, 0) > (1, 2)', true],
    ['(1, 2, 3) < (1, 2)', false],
    ['(1,) < (1, 2)', true],
    ['() < (None,)', true],
    ['(1, 2) <= (1, 2)', true],
    ['(1, 2) >= (1, 2)', true],
    ['(1, 2) < (1, 2)', false],
    ['(None,) < (0,)', true],
    ['("a",) > (9,)', true],
    // NaN: == is False and every ordering with another number is False; across types it still ranks as a number
    ['nan == nan', false],
    ['nan != nan', true],
    ['nan < 1', false],
    ['nan <= 1', false],
    ['nan > 1', false],
    ['nan >= 1', false],
    ['1 < nan', false],
    ['1 <= nan', false],
    ['1 > nan', false],
    ['1 >= nan', false],
    ['nan <= nan', false],
    ['nan >= nan', false],
    ['t >= nan', false],
    ['nan <= t', false],
    ['(nan,) <= (nan,)', false],
    ['(nan,) >= (1,)', false],
    ['(1, nan) < (2, 0)', true],
    ['None < nan', true],
    ['nan > None', true],
    ['nan < "a"', true],
    ['"a" > nan', true],
    ['nan < ()', true],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCond(expr, attrs), want, expr);
});

test('cond: is / is not (None, booleans and numbers kept apart) and in / not in (substring, membership, False where Python raises)', () => {
  const attrs = { n: '8', t: 'yes', s: 'abc', name: 'compute' };
  const cases: Array<[string, boolean]> = [
    ['None is None', true],
    ['missing is None', true],
    ['None is 0', false],
    ['0 is None', false],
    ['None is ""', false],
    ['"" is None', false],
    ['None is ()', false],
    ['() is None', false],
    ['None is False', false],
    ['t is True', true],
    ['True is True', true],
    ['False is False', true],
    ['True is False', false],
    ['True is 1', false],
    ['1 is True', false],
    ['False is 0', false],
    ['0 is False', false],
    ['n is 8', true],
    ['n is 9', false],
    ['1 is "1"', false],
    ['"1" is 1', false],
    ['"a" is "a"', true],
    ['"a" is "b"', false],
    ['n is not None', true],
    ['None is not None', false],
    ['True is not 1', true],
    ['n is not 8', false],
    ['n is not "8"', true],
    // in / not in
    ['"b" in s', true],
    ['"abc" in s', true],
    ['"" in s', true],
    ['"abcd" in s', false],
    ['"B" in s', false],
    ['"b" not in s', false],
    ['"x" not in s', true],
    ['n in (1, 8)', true],
    ['n in [8]', true],
    ['n in ()', false],
    ['9 in (1, 8)', false],
    ['t in (1,)', true],
    ['"8" in (8,)', false],
    ['(1, 2) in [(1, 2)]', true],
    ['n not in (1, 2)', true],
    ['n not in (8,)', false],
    ['n not in ()', true],
    // Python raises a TypeError: the comparison is False, with `in` and with `not in`
    ['1 in s', false],
    ['1 not in s', false],
    ['None in s', false],
    ['None not in s', false],
    ['(1,) in s', false],
    ['"a" in 5', false],
    ['"a" not in 5', false],
    ['"a" in None', false],
    ['"a" not in None', false],
    ['1 in t', false],
    ['1 not in t', false],
    ['"b" in s in "xabcx"', true],
    ['"b" in s in "xyz"', false],
    ['"b" in name not in "x"', false],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCond(expr, attrs), want, expr);
});

test('cond: a variable is an own attribute only (inherited Object properties are unset), read fresh each time', () => {
  assert.equal(evaluateCond('toString is None and constructor is None and hasOwnProperty is None', {}), true);
  assert.equal(evaluateCond('toString == "x"', { toString: 'x' }), true);
  // The parse is cached per expression; the attributes are not.
  assert.equal(evaluateCond('k == 1', { k: '1' }), true);
  assert.equal(evaluateCond('k == 1', { k: '2' }), false);
  assert.equal(evaluateCond('k == 1', {}), false);
});

test('attrValue: the edges of the number forms (signs, blanks, exponents, inf/nan in any case)', () => {
  const cases: Array<[string, unknown]> = [
    ['42', 42],
    ['123', 123],
    ['-0', -0],
    ['  8', 8],
    ['8  ', 8],
    ['\t8\n', 8],
    ['1.5', 1.5],
    ['12.5', 12.5],
    ['1.25', 1.25],
    ['-1.5', -1.5],
    ['+1.5', 1.5],
    ['  1.5  ', 1.5],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['1e-3', 0.001],
    ['1e10', 1e10],
    ['1.5e10', 1.5e10],
    ['.25', 0.25],
    ['-.5', -0.5],
    ['.5e1', 5],
    ['.5E+1', 5],
    ['.5e10', 5e9],
    ['inf', Infinity],
    ['INF', Infinity],
    ['Inf', Infinity],
    [' inf ', Infinity],
    ['-inf', -Infinity],
    ['infinity', Infinity],
    ['INFINITY', Infinity],
    ['+Infinity', Infinity],
    [' -infinity ', -Infinity],
    ['1 2', '1 2'],
    ['1.5 .5', '1.5 .5'],
    ['.', '.'],
    ['e3', 'e3'],
    ['.e3', '.e3'],
    ['1e3.5', '1e3.5'],
    ['inf1', 'inf1'],
    ['infinityy', 'infinityy'],
    ['1ee3', '1ee3'],
    ['1e++3', '1e++3'],
    ['+-1', '+-1'],
    ['1.5x', '1.5x'],
    ['x1.5', 'x1.5'],
    ['Y', true],
    ['TRUE', true],
    ['OFF', false],
    ['n', false],
    ['No', false],
    ['ye', 'ye'],
    ['o', 'o'],
  ];
  for (const [text, want] of cases) assert.deepEqual(attrValue(text), want, JSON.stringify(text));
  for (const t of ['nan', 'NAN', ' NaN ', '-nan', '+nan']) {
    const v = attrValue(t);
    assert.ok(typeof v === 'number' && Number.isNaN(v), JSON.stringify(t));
  }
});

test('filtersOf: the four filters and phase, each decoded; withPhase=false leaves phase out', () => {
  const attrs = { arch: 'x86_64', os: 'a&amp;b', release: '&#57;', cond: 'a &lt; 1', phase: 'post', other: 'x' };
  assert.deepEqual(filtersOf(attrs), { arch: 'x86_64', os: 'a&b', release: '9', cond: 'a < 1', phase: 'post' });
  assert.deepEqual(filtersOf(attrs, false), { arch: 'x86_64', os: 'a&b', release: '9', cond: 'a < 1' });
  assert.equal('phase' in filtersOf(attrs, false), false);
  assert.deepEqual(filtersOf({}), { arch: undefined, os: undefined, release: undefined, cond: undefined, phase: undefined });
});

test('passes: each filter alone decides; a meet with one side missing keeps the other; phase from either side', () => {
  const attrs = { arch: 'x86_64', os: 'linux', release: '9', gpu: 'yes' };
  for (const [f, want] of [
    [{ arch: 'aarch64' }, false],
    [{ arch: 'x86_64' }, true],
    [{ os: 'sunos' }, false],
    [{ os: 'linux' }, true],
    [{ release: '8' }, false],
    [{ release: '9' }, true],
    [{ phase: 'reconfigure' }, false],
    [{ phase: 'pre' }, true],
    [{ phase: 'reconfigure, pre' }, true],
    [{ cond: 'not gpu' }, false],
    [{ cond: 'gpu' }, true],
    [{ cond: '' }, true],
    [{ arch: 'x86_64', os: 'linux', release: '9', phase: 'post', cond: 'gpu' }, true],
    [{ arch: 'x86_64', os: 'linux', release: '9', phase: 'post', cond: 'not gpu' }, false],
    [{ arch: 'x86_64', os: 'linux', release: '9', phase: 'reconfigure', cond: 'gpu' }, false],
  ] as const)
    assert.equal(passes(f, attrs), want, JSON.stringify(f));
  assert.equal(passes({ os: 'linux' }, { os: 'linux ' }), false, 'the attribute is not trimmed');
  assert.equal(passes({ cond: 'missing == None' }, {}), true);
  assert.deepEqual(andFilters({ arch: 'x86_64', os: 'linux', release: '9', cond: 'a' }, {}), {
    arch: 'x86_64',
    os: 'linux',
    release: '9',
    cond: 'a',
  });
  assert.deepEqual(andFilters({}, { arch: 'x86_64', os: 'linux', release: '9', cond: 'b' }), {
    arch: 'x86_64',
    os: 'linux',
    release: '9',
    cond: 'b',
  });
  assert.deepEqual(andFilters({ phase: 'pre' }, {}), { arch: undefined, os: undefined, release: undefined, phase: 'pre', cond: undefined });
  assert.deepEqual(andFilters({ phase: 'pre' }, { phase: 'post' }), { arch: undefined, os: undefined, release: undefined, phase: '', cond: 'False' });
  assert.deepEqual(andFilters({ arch: ' a , b ,c' }, { arch: 'c,b' }).arch, 'b,c');
  assert.deepEqual(andFilters({ cond: '' }, { cond: 'b' }).cond, 'b');
  assert.deepEqual(andFilters({ cond: 'a' }, { cond: 'b', os: 'x' }).cond, '(a) and (b)');
  assert.deepEqual(andFilters({ cond: 'a', release: '8' }, { cond: 'b', release: '9' }).cond, '(a) and (b) and (False)');
  assert.deepEqual(andFilters({ arch: 'x' }, { arch: 'y' }).cond, 'False');
  assert.equal(noFilters(andFilters({}, {})), true);
});
