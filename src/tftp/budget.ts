// The bytes TFTP transfers hold, against one budget for the whole server (issue #14 item 2: an RRQ
// for blksize 65464 × windowsize 64 made the server hold 4 MiB per transfer, 1,024 of them 4 GiB).
//
// What a transfer is charged (payload bytes, fixed for its life when it starts):
//   - its window in flight, min(blksize × windowsize, size): the window sits in the kernel's send
//     buffer or in the link's queue, and native/tftpio drops the queue before each new window, so
//     one transfer never has more than one window there;
//   - for a file not in memory (no `bytes`), its read-ahead buffer, min(max(window, readChunk),
//     size): transfer.ts reads one chunk at a time and the link keeps only the last.
// A file in memory is not charged again: the file cache owns (and bounds) shared boot files, and
// rendered files are a few hundred bytes.
//
// Contracts:
//   - Before negotiation, windowCap() says how large a window the transfer may be granted: the
//     per-transfer cap, lowered to what is free when the whole file would not fit. Negotiation
//     (options.ts) answers a smaller windowsize/blksize to honour it (RFC 7440 / RFC 2348).
//   - After negotiation, plan() gives the charge and the read chunk (the full chunk when it fits,
//     else one window), or null when even that does not fit: then the request is refused "busy".
//   - held never exceeds total: a transfer takes its charge before it starts and gives it back
//     exactly once when it ends.

/** Bytes read at once from a file not in memory, when the budget allows. */
export const READ_CHUNK = 1 << 20;

export class BufferBudget {
  private heldBytes = 0;
  private peakBytes = 0;

  constructor(readonly total: number) {}

  get held(): number {
    return this.heldBytes;
  }
  /** The most ever held at once. */
  get peak(): number {
    return this.peakBytes;
  }
  get free(): number {
    return Math.max(0, this.total - this.heldBytes);
  }

  /** Takes `bytes` when they fit; false (and nothing taken) when they do not. */
  take(bytes: number): boolean {
    if (bytes > this.free) return false;
    this.heldBytes += bytes;
    if (this.heldBytes > this.peakBytes) this.peakBytes = this.heldBytes;
    return true;
  }

  give(bytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes);
  }
}

/** The largest window (blksize × windowsize) a transfer of `size` bytes may negotiate now. */
export function windowCap(size: number, inMemory: boolean, free: number, maxWindowBytes: number): number {
  const most = inMemory ? size : 2 * size; // the most such a transfer can ever be charged
  if (most <= free) return maxWindowBytes;
  return Math.min(maxWindowBytes, inMemory ? free : Math.floor(free / 2));
}

export interface Plan {
  /** What the transfer is charged while it runs. */
  bytes: number;
  /** Bytes per read for a file not in memory (0 when in memory). */
  readChunk: number;
}

/** The charge of a negotiated window, or null when it does not fit in `free`. */
export function plan(size: number, inMemory: boolean, windowBytes: number, free: number, readChunk = READ_CHUNK): Plan | null {
  const w = Math.min(windowBytes, size);
  if (inMemory) return w <= free ? { bytes: w, readChunk: 0 } : null;
  const full = w + Math.min(Math.max(windowBytes, readChunk), size);
  if (full <= free) return { bytes: full, readChunk };
  const lean = 2 * w; // one window read at a time
  return lean <= free ? { bytes: lean, readChunk: windowBytes } : null;
}
