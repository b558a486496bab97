// The target's time source: every protocol deadline (login, discovery, dead-peer pings) reads the
// time and sets its timers through a Clock, so tests drive time with a manual clock instead of
// sleeping. Socket housekeeping (the 2 s destroy fallback after a close) stays on real timers.

/** Cancels a timer set with `Clock.after`; calling it after the timer ran does nothing. */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds on a monotonic-enough scale (only differences are used). */
  now(): number;
  /** Runs `fn` once, `ms` from now. The timer never keeps the process alive. */
  after(ms: number, fn: () => void): CancelTimer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
