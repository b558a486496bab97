// The send deadline: a response whose bytes wait for a client that reads none of them for
// `stallMs` is cut (its connection reset, which frees its slot through 'close'). Like nginx's
// send_timeout, it measures the time between two pieces of progress, not the whole transfer: a
// slow link that keeps reading is served however long the file, a server still computing its
// answer (a kickstart render, a long poll) is not a stall, since nothing is waiting to be sent.
//
// Progress is read off the socket (Node net.Socket): `bytesWritten` counts bytes handed to the
// socket (sent, in flight to libuv, or still queued in its buffer) and `writableLength` those not
// yet confirmed written to the kernel, so their difference grows exactly when the kernel took more
// bytes, which on a full send buffer happens only when the client reads. Bytes wait when the
// response or its socket holds unwritten data (`res.writableLength > 0`).
//
// One sweep timer serves every watched response; it runs only while something is watched and
// never holds the process open. Time comes from `clock` so tests drive it without sleeping.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface WatchdogClock {
  now(): number;
  every(ms: number, fn: () => void): { stop(): void };
}

export const realClock: WatchdogClock = {
  now: () => performance.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { stop: () => clearInterval(t) };
  },
};

interface Watched {
  socket: Socket;
  done: number;
  since: number;
}

export class SendWatchdog {
  private readonly watched = new Map<ServerResponse, Watched>();
  private timer: { stop(): void } | undefined;

  constructor(
    private readonly stallMs: number,
    private readonly clock: WatchdogClock = realClock,
    /** Called for each response cut, before its socket is destroyed (counting, logging). */
    private readonly onStall: (res: ServerResponse) => void = () => {},
  ) {}

  /** Watches `res` until it finishes or its connection closes. */
  watch(res: ServerResponse): void {
    const socket = res.socket;
    if (!socket || socket.destroyed || this.watched.has(res)) return;
    this.watched.set(res, { socket, done: progress(socket), since: this.clock.now() });
    const forget = () => this.forget(res);
    res.once('finish', forget);
    res.once('close', forget);
    // A sweep every quarter of the deadline: a stall is cut between stallMs and 1.25 × stallMs.
    this.timer ??= this.clock.every(Math.max(10, Math.min(1000, this.stallMs / 4)), () => this.sweep());
  }

  /**
   * How long `res` has had bytes waiting for its client with no progress, in ms: 0 when it is not
   * watched, progressed since the last sweep, or has nothing waiting.
   */
  stalledFor(res: ServerResponse): number {
    const w = this.watched.get(res);
    if (!w || w.socket.destroyed) return 0;
    const waiting = res.writableLength > 0 || w.socket.writableLength > 0;
    if (!waiting || progress(w.socket) !== w.done) return 0;
    return this.clock.now() - w.since;
  }

  /** How many responses are being watched (for tests and metrics). */
  get size(): number {
    return this.watched.size;
  }

  /** One pass over every watched response; the timer calls it, tests may too. */
  sweep(): void {
    const now = this.clock.now();
    for (const [res, w] of this.watched) {
      if (w.socket.destroyed) {
        this.forget(res);
        continue;
      }
      const done = progress(w.socket);
      const waiting = res.writableLength > 0 || w.socket.writableLength > 0;
      if (done !== w.done || !waiting) {
        w.done = done;
        w.since = now;
      } else if (now - w.since >= this.stallMs) {
        this.forget(res);
        this.onStall(res);
        // RST, not FIN: a FIN would queue behind the unsent bytes, and the kernel would keep the
        // orphaned connection (and its send buffer) for minutes probing a zero window.
        w.socket.resetAndDestroy();
      }
    }
  }

  private forget(res: ServerResponse): void {
    this.watched.delete(res);
    if (this.watched.size === 0 && this.timer) {
      this.timer.stop();
      this.timer = undefined;
    }
  }
}

/** Bytes the kernel has taken from this socket so far. */
function progress(socket: Socket): number {
  return (socket.bytesWritten ?? 0) - socket.writableLength;
}
