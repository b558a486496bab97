import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, quantile, ratioLine, spread } from '../../bench/lib/stats.js';

test('median: odd and even counts, unsorted input left as it was; none is NaN', () => {
  const xs = [5, 1, 3];
  assert.equal(median(xs), 3);
  assert.deepEqual(xs, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('quantile: nearest rank, p99 of 100 values is the 99th, of 10 the largest', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(quantile(hundred, 0.99), 99);
  assert.equal(quantile(hundred, 0.5), 50);
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test("ratioLine: the README's line form, netroot over the peer, medians and spreads", () => {
  const line = ratioLine({
    measure: 'storm N=100 completion time',
    peer: 'dnsmasq+nginx+tgt',
    netroot: [8, 10, 9],
    other: [12, 10, 11],
    unit: 's',
    f: (v) => v.toFixed(1),
    better: 'lower',
    note: 'target ≤ 1.0',
  });
  assert.equal(
    line,
    'storm N=100 completion time (median of 3, spread netroot 8.0–10.0, dnsmasq+nginx+tgt 10.0–12.0): netroot 9.0 s, dnsmasq+nginx+tgt 11.0 s, ratio 0.82 (lower is better; target ≤ 1.0)',
  );
  assert.equal(spread([], String), 'none');
});

test('NaN is "no figure": left out of medians, quantiles, spreads and the count of a ratio line', () => {
  assert.equal(median([NaN, 3, 1]), 2);
  assert.equal(quantile([NaN, 5, 1], 0.99), 5);
  assert.equal(spread([NaN, 2, 4], String), '2–4');
  assert.ok(Number.isNaN(median([NaN])));
  const line = ratioLine({ measure: 'm', peer: 'p', netroot: [NaN, 2, 4], other: [1, 1, 1], unit: 's', f: String, better: 'lower' });
  assert.equal(line, 'm (median of 2, spread netroot 2–4, p 1–1): netroot 3 s, p 1 s, ratio 3.00 (lower is better)');
});

test('ratioLine with a name: both netroot sides named (bench:golden: clones against installs)', () => {
  const line = ratioLine({
    measure: 'provision 4 nodes',
    name: 'clones',
    peer: 'install each',
    netroot: [20],
    other: [100],
    unit: 's',
    f: String,
    better: 'lower',
    note: 'target ≤ 0.2',
  });
  assert.equal(
    line,
    'provision 4 nodes (median of 1, spread clones 20–20, install each 100–100): clones 20 s, install each 100 s, ratio 0.20 (lower is better; target ≤ 0.2)',
  );
});
