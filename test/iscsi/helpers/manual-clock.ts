// A Clock (src/iscsi/clock.ts) that moves only when a test says so: deadlines are tested by
// advancing it, never by sleeping. Timers run synchronously inside advance(), earliest first.
import type { CancelTimer, Clock } from '../../../src/iscsi/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private pending: Pending[] = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): CancelTimer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(p);
    return () => {
      this.pending = this.pending.filter((x) => x !== p);
    };
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way (and any they set). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.pending = this.pending.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
