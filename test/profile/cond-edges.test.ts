// Edges of profile/cond.ts that mutation testing found unpinned (docs/mutation/profile-cond.md):
// each assertion here fails on one planted change of cond.ts that cond.test.ts let pass. Kept
// apart from cond.test.ts: with the tap runner a test is a whole file, so an `--incremental` run
// re-tests every mutant a changed file covers, while a new file re-tests only the survivors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { andFilters, evaluateCond, evaluateCondValue, parseCond } from '../../src/profile/cond.js';

test('cond edges: an operator or keyword where an operand belongs is a syntax error at its column', () => {
  const cases: Array<[string, string]> = [
    ['== 1', 'unexpected "==" at column 1'],
    ['< 1', 'unexpected "<" at column 1'],
    ['a == <= 1', 'unexpected "<=" at column 6'],
    ['a == not b', "unexpected 'not' at column 6"],
    ['(not)', 'unexpected ")" at column 5'],
    // Only "-" makes a negative number: a name or another operator before a number is not one.
    ['a 1', 'unexpected "1" at column 3'],
    [') 1', 'unexpected ")" at column 1'],
  ];
  for (const [bad, why] of cases) {
    assert.throws(() => parseCond(bad), { code: 'E_COND_SYNTAX', message: `bad cond ${JSON.stringify(bad)}: ${why}` }, bad);
  }
});

test('cond edges: is, ==, in on sequences and strings where JavaScript coercion would differ from Python', () => {
  const attrs = { s: 'abc' };
  const cases: Array<[string, boolean]> = [
    // Python 2: the empty tuple is one object.
    ['() is ()', true],
    ['("a",) == "a"', false],
    ['"a" == ("a",)', false],
    // A non-string is never in a string, even where its JavaScript text is (`"a1".includes(1)`).
    ['1 in "a1"', false],
    ['None in "null"', false],
    ['True in "true"', false],
    ['(1,) in "1"', false],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCond(expr, attrs), want, expr);
});

test('andFilters edges: empty list items never meet (an empty intersection is False)', () => {
  assert.deepEqual(andFilters({ arch: 'a,' }, { arch: ',b' }), { arch: '', os: undefined, release: undefined, cond: 'False' });
  assert.deepEqual(andFilters({ os: ',x' }, { os: 'x,' }).os, 'x');
});

test('cond edges: numbers with several digits before the point or in the exponent are one token', () => {
  const cases: Array<[string, number]> = [
    ['12.5', 12.5],
    ['123.25', 123.25],
    ['10.', 10],
    ['.5e10', 5e9],
    ['.5e-10', 5e-11],
    ['1.5e12', 1.5e12],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCondValue(expr, {}), want, expr);
});

test('cond edges: True, False and None are literals; an attribute of that name does not shadow them', () => {
  const attrs = { None: 'x', True: 'no', False: 'yes' };
  assert.equal(evaluateCondValue('None', attrs), null);
  assert.equal(evaluateCondValue('True', attrs), true);
  assert.equal(evaluateCondValue('False', attrs), false);
  assert.equal(evaluateCond('None is None and True and not False', attrs), true);
});
