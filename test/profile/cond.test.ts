import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCond, passes } from '../../src/profile/index.js';

const A = { rocks: 'on', off: 'no', n: '8', name: 'compute', big: '10', ver: '7.9', empty: '' };

test('cond: booleans by Rocks words, numbers numerically, unknown names false', () => {
  const cases: Array<[string, boolean]> = [
    ['rocks', true], ['off', false], ['not off', true], ['missing', false], ['not missing', true], ['empty', false],
    ['n == 8', true], ['n > 10', false], ['big > n', true], ['n != "8"', false], ['name == "compute"', true], ["name == 'gpu'", false],
    ['rocks and n >= 8', true], ['off or name == "compute"', true], ['not (rocks and off)', true], ['(n < 9) and (big <= 10)', true],
    ['ver > 7.10', true], ['missing == None', true], ['rocks == True', true], ['missing > 3', false], ['name < "d"', true],
  ];
  for (const [expr, want] of cases) assert.equal(evaluateCond(expr, A), want, expr);
});

test('cond: malformed expressions are E_COND_SYNTAX naming the column', () => {
  for (const bad of ['', 'a and', '(a', 'a ==', 'a b', '"open', 'a === b', 'and', 'a ; rm -rf /', '__import__("os")', '('.repeat(70) + 'a' + ')'.repeat(70)]) {
    assert.throws(() => evaluateCond(bad, A), (e: Error & { code?: string }) => e.code === 'E_COND_SYNTAX', bad);
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
