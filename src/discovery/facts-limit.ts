// How often one host's reported facts (netroot.reportStatus `cpus`, `memory_mb`) may CHANGE what is
// stored. Each change runs the plugins' `changed` hooks, and the slurm-conf plugin restarts
// slurmctld for it: a node (or whoever holds its secret, from its address) flipping its figures
// at every call would restart the controller at every call. A node reports once per boot, so a
// few changes an hour is generous; beyond it the report is refused and nothing is stored
// (E_TOO_MANY_FACT_CHANGES), and the node's next boot reports again. Reports that change nothing
// are not counted. Per process: with several servers each limits what it applies.
//
// Memory: at most `maxHosts` hosts are tracked; when full, hosts whose window has passed are
// dropped first, then the oldest (a limit on memory, not a way around the rate: an evicted host's
// next change is counted afresh).

const HOUR_MS = 3_600_000;

export class FactsChangeLimiter {
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly perHostPerHour: number,
    private readonly maxHosts = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one change of `host`'s facts when it is within the limit; false (nothing counted) when not. */
  take(host: string): boolean {
    const t = this.now();
    const kept = (this.seen.get(host) ?? []).filter((x) => t - x < HOUR_MS);
    if (kept.length >= this.perHostPerHour) {
      this.seen.set(host, kept);
      return false;
    }
    kept.push(t);
    this.seen.delete(host);
    this.seen.set(host, kept);
    if (this.seen.size > this.maxHosts) this.evict(t);
    return true;
  }

  private evict(t: number): void {
    for (const [h, times] of this.seen) if (times.every((x) => t - x >= HOUR_MS)) this.seen.delete(h);
    // Map order is insertion order and take() re-inserts: the first keys are the least recent.
    for (const h of this.seen.keys()) {
      if (this.seen.size <= this.maxHosts) break;
      this.seen.delete(h);
    }
  }

  /** Hosts tracked now (tests). */
  get size(): number {
    return this.seen.size;
  }
}
