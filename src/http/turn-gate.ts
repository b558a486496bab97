// Runs synchronous, CPU-bound jobs (XML-RPC parses) one at a time, each in its own turn of the event
// loop: a job starts from setImmediate, and the next one is scheduled from there, so Node polls I/O
// between two jobs (an immediate queued while immediates run waits for the next loop iteration).
// Whatever else the process serves (other HTTP requests, TFTP, DHCP, iSCSI) waits at most one job,
// however many arrive together. Jobs that cannot wait are refused at once: at most `maxPending` in
// all and `maxPendingPerSource` per client address may be waiting or running.
export type GateRefusal = 'busy' | 'source-busy';

interface Job {
  source: string;
  run: () => void;
}

export class TurnGate {
  private readonly queue: Job[] = [];
  private readonly perSource = new Map<string, number>();
  private scheduled = false;

  constructor(
    private readonly maxPending: number,
    private readonly maxPendingPerSource: number,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues `job` for `source`; resolves with what it returns (or rejects with what it throws) once
   * it ran. Returns a refusal instead when the queue or the source's share of it is full.
   */
  run<T>(source: string, job: () => T): Promise<T> | GateRefusal {
    if (this.queue.length >= this.maxPending) return 'busy';
    const mine = this.perSource.get(source) ?? 0;
    if (mine >= this.maxPendingPerSource) return 'source-busy';
    this.perSource.set(source, mine + 1);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        source,
        run: () => {
          try {
            resolve(job());
          } catch (e) {
            reject(e);
          }
        },
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const job = this.queue[0];
      if (!job) return;
      try {
        job.run();
      } finally {
        this.queue.shift();
        const left = (this.perSource.get(job.source) ?? 1) - 1;
        if (left > 0) this.perSource.set(job.source, left);
        else this.perSource.delete(job.source);
        this.schedule();
      }
    });
  }
}
