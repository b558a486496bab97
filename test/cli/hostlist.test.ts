import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandHostlist, expandHostlists, MAX_HOSTLIST } from '../../src/cli/hostlist.js';

test('hostlists expand ranges, comma lists, several groups (product, left to right) and zero padding', () => {
  assert.deepEqual(expandHostlist('compute-0-0'), ['compute-0-0']);
  assert.deepEqual(expandHostlist('compute-0-[0-3]'), ['compute-0-0', 'compute-0-1', 'compute-0-2', 'compute-0-3']);
  assert.equal(expandHostlist('compute-0-[0-15]').length, 16);
  assert.deepEqual(expandHostlist('compute-0-[1,3,5-7]'), ['compute-0-1', 'compute-0-3', 'compute-0-5', 'compute-0-6', 'compute-0-7']);
  assert.deepEqual(expandHostlist('compute-[0-1]-[0-1]'), ['compute-0-0', 'compute-0-1', 'compute-1-0', 'compute-1-1']);
  assert.deepEqual(expandHostlist('node[08-10]'), ['node08', 'node09', 'node10']);
  assert.deepEqual(expandHostlist('n[1-2]x'), ['n1x', 'n2x']);
  assert.deepEqual(expandHostlist('n[1,1,2]'), ['n1', 'n2'], 'each name once');
  assert.deepEqual(expandHostlists(['n[1-2]', 'n2', 'm']), ['n1', 'n2', 'm']);
});

test('a malformed or too-large hostlist is one UserError naming the argument', () => {
  const cases: Array<[string, RegExp]> = [
    ['compute-0-[0', /^host list "compute-0-\[0": "\[" without "\]"$/],
    ['compute-0-0]', /^host list "compute-0-0\]": "\]" without "\["$/],
    ['compute-0-[5-1]', /^host list "compute-0-\[5-1\]": range 5-1 runs backwards$/],
    ['compute-0-[]', /^host list "compute-0-\[\]": "" is not a number or a range N-M/],
    ['compute-0-[a-b]', /"a-b" is not a number or a range/],
    ['compute-0-[1,,2]', /"" is not a number/],
    ['compute-0-[[1]]', /brackets do not nest/],
    ['compute-0-[1234567]', /at most 6 digits/],
    ['compute-0-[0-99999]', /^host list "compute-0-\[0-99999\]": expands to more than 4096 names$/],
    ['c-[0-99]-[0-99]', /expands to more than 4096 names/],
  ];
  for (const [arg, re] of cases) {
    assert.throws(
      () => expandHostlist(arg),
      (e: Error & { code?: string; user?: boolean }) => {
        assert.equal(e.code, 'E_BAD_HOSTLIST', arg);
        assert.equal(e.user, true);
        assert.match(e.message, re, arg);
        return true;
      },
    );
  }
  assert.equal(expandHostlist(`n[1-${MAX_HOSTLIST}]`).length, MAX_HOSTLIST, 'the limit itself is allowed');
  assert.throws(() => expandHostlists(['a[1-4000]', 'b[1-200]']), /name more than 4096 hosts/);
});
