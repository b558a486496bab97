// Admission limits for what an unauthenticated client can hold on the portal (issue #14 item 1):
// connections still in login phase, and discovery sessions (SessionType=Discovery needs no CHAP,
// §4.3). Each kind is counted per source address and in total; a client over either cap is turned
// away before it costs more than a counter lookup. Normal sessions are not counted here: they
// passed the ACL (and CHAP, when the target has secrets) and have their own cap (maxSessions), so
// no number of discovery sessions or idle connections can starve a node's root-disk login.
// Pure bookkeeping, no sockets and no time: target.ts takes and releases, connection.ts enforces
// the deadlines.

/** Why a take() failed: the source's own cap, or the cap over all sources. */
export type Refusal = 'per-source' | 'total';

export class SourceLimiter {
  private readonly bySource = new Map<string, number>();
  private count = 0;

  constructor(
    /** At most this many held by one source address. */
    readonly perSource: number,
    /** At most this many held over all sources. */
    readonly total: number,
  ) {}

  /** Counts one more for `source`, or says which cap it would exceed (and counts nothing). */
  take(source: string): Refusal | undefined {
    if (this.count >= this.total) return 'total';
    const n = this.bySource.get(source) ?? 0;
    if (n >= this.perSource) return 'per-source';
    this.bySource.set(source, n + 1);
    this.count++;
    return undefined;
  }

  /** Gives back one taken for `source` (each successful take() is released exactly once). */
  release(source: string): void {
    const n = this.bySource.get(source);
    if (n === undefined) return;
    if (n <= 1) this.bySource.delete(source);
    else this.bySource.set(source, n - 1);
    this.count--;
  }

  get size(): number {
    return this.count;
  }

  heldBy(source: string): number {
    return this.bySource.get(source) ?? 0;
  }
}
