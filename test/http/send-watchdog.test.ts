// The send deadline's rule, driven by a fake clock over fake sockets: a response is cut only when
// bytes wait AND the kernel took none of them for stallMs; progress or an empty buffer restarts
// the count. (slots.test.ts proves the same over real sockets.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { SendWatchdog, type WatchdogClock } from '../../src/http/send-watchdog.js';

class FakeSocket {
  bytesWritten = 0;
  writableLength = 0;
  destroyed = false;
  resets = 0;
  resetAndDestroy(): void {
    this.destroyed = true;
    this.resets++;
  }
}

function fakeRes(socket: FakeSocket): ServerResponse & { socket: FakeSocket } {
  const res = new EventEmitter() as unknown as ServerResponse & { socket: FakeSocket };
  Object.defineProperty(res, 'socket', { value: socket });
  Object.defineProperty(res, 'writableLength', { get: () => socket.writableLength });
  return res;
}

function fakeClock(): WatchdogClock & { t: number; timers: number } {
  const c = {
    t: 0,
    timers: 0,
    now: () => c.t,
    every: () => {
      c.timers++;
      return { stop: () => void c.timers-- };
    },
  };
  return c;
}

test('a response is cut after stallMs without progress while bytes wait, not before', () => {
  const clock = fakeClock();
  const cut: ServerResponse[] = [];
  const w = new SendWatchdog(10_000, clock, (r) => cut.push(r));
  const s = new FakeSocket();
  const res = fakeRes(s);
  w.watch(res);
  assert.equal(clock.timers, 1, 'a sweep timer while something is watched');
  s.bytesWritten = 200_000; // handed to the socket...
  s.writableLength = 70_000; // ...130 000 of them taken by the kernel
  clock.t = 1000;
  w.sweep(); // progress since watch(): the count starts here
  clock.t = 10_999;
  w.sweep();
  assert.equal(s.resets, 0, 'not before the deadline');
  assert.equal(w.stalledFor(res), 9_999, 'stalled since the last progress');
  s.bytesWritten += 1; // progress not yet seen by a sweep counts at once
  assert.equal(w.stalledFor(res), 0);
  s.bytesWritten -= 1;
  clock.t = 11_000;
  w.sweep();
  assert.equal(s.resets, 1, 'reset at the deadline');
  assert.deepEqual(cut, [res]);
  assert.equal(w.size, 0);
  assert.equal(clock.timers, 0, 'no timer once nothing is watched');
});

test('a slow reader that makes progress, and a server still computing its answer, are never cut', () => {
  const clock = fakeClock();
  const w = new SendWatchdog(1000, clock);
  const slow = new FakeSocket();
  const computing = new FakeSocket();
  w.watch(fakeRes(slow));
  w.watch(fakeRes(computing));
  for (let i = 1; i <= 100; i++) {
    clock.t = i * 900;
    slow.bytesWritten += 1000; // the kernel took 1000 more bytes since the last sweep
    slow.writableLength = 16_384;
    computing.writableLength = 0; // nothing waits: the handler has not written yet
    w.sweep();
  }
  assert.equal(slow.resets + computing.resets, 0);
  assert.equal(w.size, 2);
});

test('finish and close stop the watch; a destroyed socket is forgotten', () => {
  const clock = fakeClock();
  const w = new SendWatchdog(1000, clock);
  const a = fakeRes(new FakeSocket());
  const b = fakeRes(new FakeSocket());
  const c = new FakeSocket();
  w.watch(a);
  w.watch(b);
  w.watch(fakeRes(c));
  a.emit('finish');
  b.emit('close');
  c.destroyed = true;
  w.sweep();
  assert.equal(w.size, 0);
  assert.equal(clock.timers, 0);
});
