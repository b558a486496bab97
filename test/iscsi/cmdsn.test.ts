// CmdSN ordering (cmdsn.ts, RFC 7143 §4.2.2.1): in-order commands run, a command ahead of
// ExpCmdSN waits for the gap, one outside [ExpCmdSN, MaxCmdSN] or a second one for a held CmdSN
// is dropped; immediate commands skip the line; the window shrinks with active tasks and never
// moves back; serial arithmetic across 2^32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CMD_WINDOW, CommandWindow, snInWindow, snLess } from '../../src/iscsi/cmdsn.js';

test('serial arithmetic wraps at 2^32', () => {
  assert.equal(snLess(1, 2), true);
  assert.equal(snLess(2, 1), false);
  assert.equal(snLess(5, 5), false);
  assert.equal(snLess(0xffffffff, 0), true);
  assert.equal(snLess(0, 0xffffffff), false);
  assert.equal(snInWindow(0xfffffffe, 0xfffffffe, 3), true);
  assert.equal(snInWindow(1, 0xfffffffe, 3), true);
  assert.equal(snInWindow(4, 0xfffffffe, 3), false);
  assert.equal(snInWindow(0xfffffffd, 0xfffffffe, 3), false);
});

test('commands run in CmdSN order: one ahead waits for the gap, then runs with those after it', () => {
  const w = new CommandWindow(10, () => 0);
  const ran: string[] = [];
  assert.equal(
    w.ordered(false, 12, () => ran.push('c')),
    'held',
  );
  assert.equal(
    w.ordered(false, 11, () => ran.push('b')),
    'held',
  );
  assert.equal(ran.length, 0, 'both wait for CmdSN 10');
  assert.equal(w.expCmdSN, 10);
  assert.equal(
    w.ordered(false, 10, () => ran.push('a')),
    'ran',
  );
  assert.deepEqual(ran, ['a', 'b', 'c']);
  assert.equal(w.expCmdSN, 13);
});

test('immediate commands run at once and do not advance ExpCmdSN', () => {
  const w = new CommandWindow(7, () => 0);
  let n = 0;
  assert.equal(
    w.ordered(true, 7, () => n++),
    'ran',
  );
  assert.equal(
    w.ordered(true, 99999, () => n++),
    'ran',
  );
  assert.equal(n, 2);
  assert.equal(w.expCmdSN, 7);
});

test('outside the window, behind it, or a second PDU for a held CmdSN: dropped, never run', () => {
  const w = new CommandWindow(100, () => 0);
  const never = (): void => assert.fail('must not run');
  assert.equal(w.maxCmdSN, 100 + CMD_WINDOW - 1);
  assert.equal(w.ordered(false, 100 + CMD_WINDOW, never), 'dropped', 'past MaxCmdSN');
  assert.equal(w.ordered(false, 99, never), 'dropped', 'behind ExpCmdSN');
  let held = 0;
  assert.equal(
    w.ordered(false, 101, () => held++),
    'held',
  );
  assert.equal(w.ordered(false, 101, never), 'dropped', 'same CmdSN again');
  w.ordered(false, 100, () => undefined);
  assert.equal(held, 1);
  assert.equal(w.expCmdSN, 102);
});

test('MaxCmdSN shrinks while tasks are active and never moves backwards', () => {
  let active = 0;
  const w = new CommandWindow(0, () => active);
  for (let sn = 0; sn < 10; sn++) w.ordered(false, sn, () => undefined);
  assert.equal(w.maxCmdSN, 10 + CMD_WINDOW - 1);
  active = CMD_WINDOW + 5; // more tasks than the window: one slot stays open
  assert.equal(w.maxCmdSN, 10 + CMD_WINDOW - 1, 'never backwards');
  for (let sn = 10; sn < 200; sn++) w.ordered(false, sn, () => undefined);
  assert.equal(w.expCmdSN, 200);
  assert.equal(w.maxCmdSN, 200, 'one slot while the task table is full');
  assert.equal(
    w.ordered(false, 201, () => assert.fail('must not run')),
    'dropped',
    'beyond the shrunken window',
  );
  active = 0;
  assert.equal(w.maxCmdSN, 200 + CMD_WINDOW - 1);
});

test('across 2^32, and restart (connection reinstatement) clears what was held', () => {
  const w = new CommandWindow(0xffffffff, () => 0);
  const ran: number[] = [];
  assert.equal(
    w.ordered(false, 0, () => ran.push(0)),
    'held',
  );
  w.ordered(false, 0xffffffff, () => ran.push(-1));
  assert.deepEqual(ran, [-1, 0]);
  assert.equal(w.expCmdSN, 1);
  assert.equal(
    w.ordered(false, 3, () => ran.push(3)),
    'held',
  );
  w.restart(50);
  assert.equal(w.expCmdSN, 50);
  assert.equal(w.maxCmdSN, 50 + CMD_WINDOW - 1);
  w.ordered(false, 50, () => ran.push(50));
  assert.deepEqual(ran, [-1, 0, 50], 'the held command of the old connection never runs');
  w.ordered(false, 52, () => ran.push(52));
  w.clear();
  w.ordered(false, 51, () => ran.push(51));
  assert.deepEqual(ran, [-1, 0, 50, 51]);
});
