// A small pool of large buffers for Data-In. A 128 KiB read allocates a fresh buffer per
// command otherwise, and at 10k+ commands/s the allocations and the garbage collector cost
// several percent of the one thread that also runs the protocol. A buffer returns to the
// pool only when the socket has taken its bytes (the write callback), never earlier.

const MIN = 64 * 1024;
const MAX = 1024 * 1024;
const PER_SIZE = 64;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();

  private static classOf(n: number): number {
    let c = MIN;
    while (c < n) c *= 2;
    return c;
  }

  /** A buffer of exactly `n` bytes (a view of a pooled one when n is large enough). */
  take(n: number): { buf: Buffer; release: () => void } {
    if (n < MIN / 2 || n > MAX) return { buf: Buffer.allocUnsafe(n), release: () => {} };
    const c = BufferPool.classOf(n);
    const list = this.free.get(c);
    const backing = list?.pop() ?? Buffer.allocUnsafeSlow(c);
    let done = false;
    return {
      buf: backing.subarray(0, n),
      release: () => {
        if (done) return;
        done = true;
        let l = this.free.get(c);
        if (!l) this.free.set(c, (l = []));
        if (l.length < PER_SIZE) l.push(backing);
      },
    };
  }
}

export const dataInPool = new BufferPool();
