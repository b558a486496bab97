// One read transfer on its own ephemeral socket (the server's TID, RFC 1350 section 4).
// The data phase (OACK until ACK 0, windows, go-back, duplicate ACKs, retransmission, the retry
// limit, the last ACK) is the link's: link.ts, native/tftpio/tftpio.c or data-phase.ts. This class
// owns the rest:
//  - the file's bytes: a file in memory is given to the link whole before it starts; a file not
//    in memory is read one chunk at a time when the link asks for a window it does not hold
//    (onNeed; never two reads at once, so a transfer holds at most one chunk, which the budget
//    counts). A read shorter than the window it was for means the file changed: ERROR 0.
//    With `file.readInto` every chunk is read into the same buffer, allocated once: the link
//    holds it, but after asking for a window (onNeed) it sends nothing from the bytes it holds
//    until the next provide (the link contract: every window it could still send lies beyond
//    them), so they may be overwritten then.
//  - the datagrams the link does not take: ERROR from the client ends the transfer; anything
//    else is counted (badTransferPackets) and dropped. The link is connected to the client, so
//    the kernel drops other TIDs' datagrams (no ERROR 5 is sent; RFC 1350 section 4 says
//    "should"): the transfer is not disturbed.
//  - the end: ERROR 0 "timed out" when the link gives up, the metrics (the link's counters are
//    added when the transfer ends), the file handle, and the server's callback.
import { decodeTftp, encodeTftp, TftpError } from './packet.js';
import type { TransferLink } from './link.js';
import type { TftpClient, TftpFile } from './source.js';
import type { TftpMetrics } from './metrics.js';
import type { Logger } from '../log/logger.js';
import { READ_CHUNK } from './budget.js';

export interface TransferParams {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  maxRetries: number;
  /** Options to acknowledge first; null → start with DATA 1. */
  oack: Map<string, string> | null;
  /**
   * Bytes read at once from a file not in memory (at least one window; default 1 MiB). The
   * transfer holds one such buffer: the server's byte budget (budget.ts) counts it.
   */
  readChunk?: number;
}

export class Transfer {
  /** A read of the file is under way. */
  private reading = false;
  /** The first block of the window the link waits for (0: none). */
  private wanted = 0;
  private done = false;
  /** The read-ahead buffer reused for every chunk (files with readInto). */
  private chunk: Buffer | undefined;
  readonly last: number;

  constructor(
    private readonly link: TransferLink,
    readonly client: TftpClient,
    private readonly file: TftpFile,
    private readonly p: TransferParams,
    private readonly metrics: TftpMetrics,
    private readonly logger: Logger,
    private readonly onEnd: (t: Transfer, completed: boolean) => void,
  ) {
    this.last = Math.floor(file.size / p.blksize) + 1;
  }

  get finished(): boolean {
    return this.done;
  }
  /** Nothing acknowledged yet (a repeated RRQ from the same client port is then a retransmission). */
  get starting(): boolean {
    return !this.done && this.link.state().base === 0;
  }

  start(): void {
    const l = this.link;
    l.onNeed = (block) => this.need(block);
    l.onEnd = (completed) => (completed ? this.end(true) : this.fail(TftpError.NOT_DEFINED, 'timed out'));
    l.onMessage = (msg) => this.onMessage(msg);
    const bytes = this.file.bytes;
    if (bytes && bytes.length === this.file.size) l.provide(0, bytes);
    const { blksize, windowsize, timeoutMs, maxRetries, oack } = this.p;
    l.start({ oack: oack ? encodeTftp({ op: 'OACK', options: oack }) : null, size: this.file.size, blksize, windowsize, timeoutMs, maxRetries });
  }

  /** The byte range of the window from block `from`. */
  private window(from: number): { start: number; end: number } {
    const to = Math.min(from - 1 + this.p.windowsize, this.last);
    return { start: (from - 1) * this.p.blksize, end: Math.min(this.file.size, to * this.p.blksize) };
  }

  /** The link waits for the window from `block`: read it (and what follows, up to readChunk). */
  private need(block: number): void {
    if (this.done) return;
    this.wanted = block;
    if (!this.reading) this.read(block);
  }

  private read(block: number): void {
    const { start, end } = this.window(block);
    this.reading = true;
    const length = Math.max(end - start, this.p.readChunk ?? READ_CHUNK);
    let read: Promise<Buffer>;
    try {
      read = this.file.readInto ? this.readReused(start, length) : this.file.read(start, length);
    } catch (e) {
      this.reading = false;
      this.readFailed(e);
      return;
    }
    read.then(
      (buf) => {
        this.reading = false;
        if (this.done) return;
        if (buf.length < end - start) {
          this.fail(TftpError.NOT_DEFINED, 'file changed during transfer');
          return;
        }
        // The link may have moved on (a go-back or a timeout) while this read ran: give it the
        // chunk when it holds the window now wanted, else read that one.
        const w = this.window(this.wanted);
        if (w.start >= start && w.end <= start + buf.length) {
          this.wanted = 0;
          this.link.provide(start, buf);
        } else this.read(this.wanted);
      },
      (e: unknown) => {
        this.reading = false;
        this.readFailed(e);
      },
    );
  }

  /** `length` bytes at `start` into the transfer's one chunk buffer (what the file has of them). */
  private async readReused(start: number, length: number): Promise<Buffer> {
    const want = Math.min(length, this.file.size - start);
    if (!this.chunk || this.chunk.length < want) this.chunk = Buffer.allocUnsafe(Math.min(length, this.file.size));
    const got = await this.file.readInto!(this.chunk.subarray(0, want), start);
    return this.chunk.subarray(0, got);
  }

  private readFailed(e: unknown): void {
    if (this.done) return;
    this.metrics.errors++;
    this.logger.warn('tftp read failed', { client: this.client.address, error: String(e) });
    this.fail(TftpError.NOT_DEFINED, 'read error');
  }

  /** A datagram the link's data phase did not take. Never throws. */
  onMessage(msg: Buffer): void {
    if (this.done) return;
    let op: string;
    try {
      op = decodeTftp(msg).op;
    } catch {
      this.metrics.badTransferPackets++;
      return;
    }
    if (op === 'ERROR') {
      this.metrics.clientErrors++;
      this.end(false);
      return;
    }
    this.metrics.badTransferPackets++;
  }

  /** Ends the transfer with an error packet to the client. */
  fail(code: number, message: string): void {
    if (this.done) return;
    this.metrics.errorsSent++;
    // Once send returns the datagram is in the kernel, and closing the link does not discard it
    // (only one held back by a full send buffer is dropped, like any lost datagram).
    this.link.send(encodeTftp({ op: 'ERROR', code, message }));
    this.end(false);
  }

  end(completed: boolean): void {
    if (this.done) return;
    this.done = true;
    const s = this.link.state();
    const m = this.metrics;
    m.streamedWindows += s.windows;
    m.duplicateAcks += s.duplicateAcks;
    m.retransmits += s.retransmits;
    m.timeouts += s.timeouts;
    m.badTransferPackets += s.badAcks;
    if (completed) m.completed++;
    else m.aborted++;
    m.bytesAcked += Math.min(this.file.size, s.base * this.p.blksize);
    this.link.close();
    void this.file.close?.().catch(() => {});
    this.onEnd(this, completed);
  }
}
