// One read transfer on its own ephemeral socket (the server's TID, RFC 1350 section 4).
// Contracts:
//  - Blocks are numbered 1..last, last = floor(size/blksize)+1 (a file whose size is a multiple of
//    blksize ends with an empty block). On the wire the number is the low 16 bits: after 65535
//    comes 0 (rollover, as tftp-hpa, curl, iPXE and EDK2 expect).
//  - A window (RFC 7440) of `windowsize` blocks is sent, then the sender waits. An ACK for block k
//    inside the window moves the base to k and sends the next window from k+1 — a partial-window
//    ACK is the RFC 7440 "go back" to the last block received in order.
//  - An ACK for a block already acknowledged is ignored: only a timeout re-sends. This is the fix
//    for the Sorcerer's Apprentice bug (RFC 1123 section 4.2.3.1).
//  - A timeout re-sends the window from base+1 (or the OACK); after maxRetries timeouts in a row
//    the transfer ends with ERROR 0.
//  - The link (link.ts) is connected to the client, so the kernel delivers only the client's
//    datagrams. Datagrams from another TID are therefore dropped, not answered with ERROR 5
//    (RFC 1350 section 4 says "should"); a stray that still reaches onMessage is counted and
//    dropped. Either way the transfer is not disturbed.
//  - A window goes to the link as one call (one sendmmsg), its blocks straight from memory (the
//    file's cached bytes or the read-ahead chunk), without a copy. A file not in memory is read
//    one chunk at a time (never two reads at once), so a transfer holds at most one chunk.
//  - When the file is in memory (file.bytes), the in-order data phase runs in the link
//    (link.ts stream()): the ACK of a window's last block is answered there at once with the
//    next window, which is what onMessage would do for it. Everything else still comes here —
//    duplicate and partial ACKs, ERROR, garbage, the final ACK — and every path that acts first
//    reads the link's progress (sync), so base, sentTo and the retransmission deadline are as if
//    this class had sent those windows. After each window sent from here (first window,
//    go-back, timeout) the stream is re-armed from that window's last block.
import type { RemoteInfo } from 'node:dgram';
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
  private base = 0;
  private sentTo = 0;
  private oackPending: boolean;
  private retries = 0;
  private gen = 0;
  private timer: NodeJS.Timeout | undefined;
  private cache: { start: number; buf: Buffer } | null = null;
  /** A read of the file is under way; `wanted` is the first block of the window waiting for it (0: none). */
  private reading = false;
  private wanted = 0;
  /** The link runs the data phase (stream armed); `seen` is its window count already synced. */
  private streaming = false;
  private seen = 0;
  private done = false;
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
    this.oackPending = p.oack !== null;
  }

  get finished(): boolean {
    return this.done;
  }
  /** Nothing acknowledged yet (a repeated RRQ from the same client port is then a retransmission). */
  get starting(): boolean {
    this.sync(); // ACKs the link's stream answered count
    return this.base === 0;
  }

  /** (Re)arms the retransmission timer from now. */
  private deadline = 0;

  /**
   * (Re)arms the retransmission timeout from now. Hot path (once per window): only a deadline is
   * moved; one Node timer per transfer checks it when it fires and re-schedules itself for the rest.
   */
  private arm(): void {
    this.deadline = performance.now() + this.p.timeoutMs;
    if (!this.timer && !this.done) this.timer = setTimeout(this.tick, this.p.timeoutMs);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.done) return;
    this.sync();
    const left = this.deadline - performance.now();
    if (left > 1) this.timer = setTimeout(this.tick, left);
    else this.onTimeout();
  };

  start(): void {
    this.arm(); // a first read that never completes ends in a timeout, not a leak
    if (this.oackPending) this.sendOack();
    else this.sendWindow(1);
  }

  private sendOack(): void {
    this.link.send(encodeTftp({ op: 'OACK', options: this.p.oack! }));
    this.arm();
    this.streamFrom(0); // ACK 0 acknowledges the OACK (RFC 2347)
  }

  /** The bytes [a, b) when they are in memory (the hot path) or in the read-ahead buffer. */
  private inMemory(a: number, b: number): Buffer | undefined {
    const whole = this.file.bytes;
    if (whole) return whole.subarray(a, b);
    const c = this.cache;
    if (c && a >= c.start && b <= c.start + c.buf.length) return c.buf.subarray(a - c.start, b - c.start);
    return undefined;
  }

  /** The window that follows an ACK of block `after`: [from, to] and its byte range. */
  private windowAfter(after: number): { from: number; to: number; start: number; end: number } {
    const from = after + 1;
    const to = Math.min(after + this.p.windowsize, this.last);
    return { from, to, start: (from - 1) * this.p.blksize, end: Math.min(this.file.size, to * this.p.blksize) };
  }

  /** Hands the in-order data phase after ACK `after` to the link, when the file is in memory. */
  private streamFrom(after: number): void {
    const bytes = this.file.bytes;
    if (bytes && after < this.last && bytes.length === this.file.size) {
      this.link.stream(after, this.last, this.p.windowsize, this.p.blksize, bytes);
      this.streaming = true;
    } else if (this.streaming) {
      this.link.stopStream();
      this.streaming = false;
    }
  }

  /** Takes over what the link's stream sent since the last look. */
  private sync(): void {
    if (!this.streaming) return;
    const s = this.link.progress();
    if (s.answered === this.seen) return;
    this.metrics.streamedWindows += s.answered - this.seen;
    this.seen = s.answered;
    this.oackPending = false;
    this.base = s.acked;
    this.sentTo = s.sentTo;
    this.retries = 0;
    this.deadline = performance.now() - Math.max(0, s.msAgo) + this.p.timeoutMs;
    if (s.sentTo >= this.last) this.streaming = false; // the link stopped after the last block
  }

  private sendWindow(from: number): void {
    const gen = ++this.gen;
    const { to, start, end } = this.windowAfter(from - 1);
    const data = this.inMemory(start, end);
    if (data) {
      this.wanted = 0;
      this.emit(from, to, start, end, data);
      return;
    }
    // One read at a time, so a transfer never holds more than one read-ahead buffer (the budget
    // counts one): a window wanted while a read is under way is sent when that read completes.
    this.wanted = from;
    if (this.reading) return;
    this.reading = true;
    this.cache = null; // the window is not in it; let it go before the next chunk is allocated
    let read: Promise<Buffer>;
    try {
      read = this.file.read(start, Math.max(end - start, this.p.readChunk ?? READ_CHUNK));
    } catch (e) {
      this.reading = false;
      this.readFailed(e);
      return;
    }
    read.then(
      (buf) => {
        this.reading = false;
        if (this.done) return;
        this.cache = { start, buf };
        const next = this.wanted;
        this.wanted = 0;
        if (gen === this.gen) this.emit(from, to, start, end, buf.subarray(0, end - start));
        else if (next > 0) this.sendWindow(next);
      },
      (e: unknown) => {
        this.reading = false;
        this.readFailed(e);
      },
    );
  }

  private readFailed(e: unknown): void {
    this.metrics.errors++;
    this.logger.warn('tftp read failed', { client: this.client.address, error: String(e) });
    this.fail(TftpError.NOT_DEFINED, 'read error');
  }

  private emit(from: number, to: number, start: number, end: number, data: Buffer): void {
    if (data.length !== end - start) {
      this.fail(TftpError.NOT_DEFINED, 'file changed during transfer');
      return;
    }
    this.link.sendBlocks(from, data, 0, data.length, this.p.blksize, to - from + 1);
    this.sentTo = to;
    this.arm();
    this.streamFrom(to);
  }

  /** Handles one datagram on the transfer socket. Never throws. */
  onMessage(msg: Buffer, rinfo: RemoteInfo | TftpClient): void {
    if (this.done) return;
    if (rinfo.address !== this.client.address || rinfo.port !== this.client.port) {
      this.metrics.unknownTid++;
      return;
    }
    this.sync();
    let p;
    if (msg.length === 4 && msg[0] === 0 && msg[1] === 4) p = { op: 'ACK' as const, block: msg.readUInt16BE(2) };
    else {
      try {
        p = decodeTftp(msg);
      } catch {
        this.metrics.badTransferPackets++;
        return;
      }
    }
    if (p.op === 'ERROR') {
      this.metrics.clientErrors++;
      this.end(false);
      return;
    }
    if (p.op !== 'ACK') {
      this.metrics.badTransferPackets++;
      return;
    }
    if (this.oackPending) {
      if (p.block !== 0) {
        this.metrics.badTransferPackets++;
        return;
      }
      this.oackPending = false;
      this.retries = 0;
      this.sendWindow(1);
      return;
    }
    const delta = (p.block - (this.base & 0xffff)) & 0xffff;
    if (delta === 0) {
      this.metrics.duplicateAcks++;
      return;
    }
    const abs = this.base + delta;
    if (abs > this.sentTo) {
      this.metrics.badTransferPackets++;
      return;
    }
    this.base = abs;
    this.retries = 0;
    if (abs === this.last) {
      this.end(true);
      return;
    }
    // A partial-window ACK re-sends from abs+1: RFC 7440 go-back.
    if (abs < this.sentTo) this.metrics.retransmits++;
    this.sendWindow(abs + 1);
  }

  private readonly onTimeout = (): void => {
    if (this.done) return;
    this.metrics.timeouts++;
    if (++this.retries > this.p.maxRetries) {
      this.fail(TftpError.NOT_DEFINED, 'timed out');
      return;
    }
    this.metrics.retransmits++;
    if (this.oackPending) this.sendOack();
    else this.sendWindow(this.base + 1);
  };

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
    this.sync(); // blocks the link's stream had acknowledged count too
    this.done = true;
    this.gen++;
    clearTimeout(this.timer);
    if (completed) this.metrics.completed++;
    else this.metrics.aborted++;
    this.metrics.bytesAcked += Math.min(this.file.size, this.base * this.p.blksize);
    this.link.close();
    void this.file.close?.().catch(() => {});
    this.onEnd(this, completed);
  }
}
