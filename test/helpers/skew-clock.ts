// Preloaded into a child process (`--import ./test/helpers/skew-clock.ts`) to make its own clock
// wrong: Date.now() and `new Date()` run NETROOT_TEST_CLOCK_SKEW_MS milliseconds off (a frontend
// whose clock drifted or was never synchronised). Dates built from a given time are unchanged.
const skew = Number(process.env['NETROOT_TEST_CLOCK_SKEW_MS'] ?? '0');
if (Number.isFinite(skew) && skew !== 0) {
  const Real = Date;
  class Skewed extends Real {
    constructor(...a: unknown[]) {
      if (a.length === 0) super(Real.now() + skew);
      else super(...(a as [string | number]));
    }
    static override now(): number {
      return Real.now() + skew;
    }
  }
  globalThis.Date = Skewed as DateConstructor;
}
