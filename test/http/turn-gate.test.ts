// TurnGate: jobs run one per event-loop turn, in order; I/O callbacks run between two of them; the
// queue and each source's share of it are bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TurnGate } from '../../src/http/turn-gate.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('jobs run in order, one per turn, and a timer due meanwhile runs between two of them', async () => {
  const gate = new TurnGate(16, 16);
  const order: string[] = [];
  const jobs = [1, 2, 3].map((n) =>
    gate.run('a', () => {
      order.push(`job${n}`);
      busy(20);
      return n;
    }),
  );
  // timed input, not a wait: a timer falling due while the jobs run (what the test orders).
  setTimeout(() => order.push('timer'), 1);
  const results = await Promise.all(jobs.map((j) => (typeof j === 'string' ? Promise.reject(new Error(j)) : j)));
  assert.deepEqual(results, [1, 2, 3]);
  assert.deepEqual(
    order.filter((o) => o.startsWith('job')),
    ['job1', 'job2', 'job3'],
  );
  assert.ok(order.indexOf('timer') < order.indexOf('job3'), `the timer waited for at most one job: ${order}`);
  assert.equal(gate.pending, 0);
});

test('beyond maxPending "busy", beyond the per-source share "source-busy"; a thrown job rejects and frees its place', async () => {
  const gate = new TurnGate(3, 2);
  const a1 = gate.run('a', () => 1);
  const a2 = gate.run('a', () => {
    throw new Error('bad document');
  });
  assert.equal(
    gate.run('a', () => 3),
    'source-busy',
  );
  const b1 = gate.run('b', () => 4);
  assert.equal(
    gate.run('c', () => 5),
    'busy',
  );
  assert.equal(await a1, 1);
  await assert.rejects(a2 as Promise<number>, /bad document/);
  assert.equal(await b1, 4);
  const again = gate.run('a', () => 6);
  assert.notEqual(typeof again, 'string');
  assert.equal(await again, 6);
});
