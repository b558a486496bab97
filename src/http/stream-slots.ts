// Admission of long-lived responses (the event stream): at most `max` open at once and at most
// `perSource` from one client address. take() answers a release function, or null when a cap is
// reached (the route answers 429); release is idempotent.
export class StreamSlots {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    readonly max: number,
    readonly perSource: number,
  ) {}

  get open(): number {
    return this.total;
  }

  take(source: string): (() => void) | null {
    const mine = this.bySource.get(source) ?? 0;
    if (this.total >= this.max || mine >= this.perSource) return null;
    this.total++;
    this.bySource.set(source, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.bySource.get(source) ?? 1) - 1;
      if (n <= 0) this.bySource.delete(source);
      else this.bySource.set(source, n);
    };
  }
}
