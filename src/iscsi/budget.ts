// The memory budget of a session: read data and solicited write data are held in memory while a
// command runs, so each command takes its bytes from the session's budget first. Many large
// commands at once then wait in line (FIFO) instead of exhausting memory. Pure.

/** Bytes of read data and solicited write data one session may hold at once. */
export const SESSION_BYTE_BUDGET = 64 * 1024 * 1024;

export class ByteBudget {
  private used = 0;
  private waiters: Array<{ n: number; go: () => void }> = [];
  constructor(private readonly cap: number) {}

  /**
   * Take `n` bytes (at most the whole cap, so one command larger than the budget still runs,
   * alone); resolves with what was taken, which the caller hands back to `release`. Waiters are
   * served in order: a small request never overtakes a large one.
   */
  acquire(n: number): Promise<number> {
    const want = Math.min(n, this.cap);
    if (this.waiters.length === 0 && this.used + want <= this.cap) {
      this.used += want;
      return Promise.resolve(want);
    }
    return new Promise((res) =>
      this.waiters.push({
        n: want,
        go: () => {
          this.used += want;
          res(want);
        },
      }),
    );
  }

  release(n: number): void {
    this.used -= n;
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.cap) this.waiters.shift()!.go();
  }
}
