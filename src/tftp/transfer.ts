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
//  - Packets from another address/port get ERROR 5 (unknown TID) and change nothing.
import type { Socket, RemoteInfo } from 'node:dgram';
import { dataHeader, decodeTftp, encodeTftp, TftpError } from './packet.js';
import type { TftpClient, TftpFile } from './source.js';
import type { TftpMetrics } from './metrics.js';
import type { Logger } from '../log/logger.js';

export interface TransferParams {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  maxRetries: number;
  /** Options to acknowledge first; null → start with DATA 1. */
  oack: Map<string, string> | null;
}

const READ_CHUNK = 1 << 20;

export class Transfer {
  private base = 0;
  private sentTo = 0;
  private oackPending: boolean;
  private retries = 0;
  private gen = 0;
  private timer: NodeJS.Timeout | undefined;
  private cache: { start: number; buf: Buffer } | null = null;
  private done = false;
  readonly last: number;

  constructor(
    private readonly socket: Socket,
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
    return this.base === 0;
  }

  /** (Re)arms the retransmission timer from now. */
  private arm(): void {
    clearTimeout(this.timer);
    if (!this.done) this.timer = setTimeout(this.onTimeout, this.p.timeoutMs);
  }

  start(): void {
    if (this.oackPending) this.sendOack();
    else void this.sendWindow(1);
  }

  private sendOack(): void {
    this.socket.send(encodeTftp({ op: 'OACK', options: this.p.oack! }), this.client.port, this.client.address);
    this.arm();
  }

  private async range(a: number, b: number): Promise<Buffer> {
    const c = this.cache;
    if (c && a >= c.start && b <= c.start + c.buf.length) return c.buf.subarray(a - c.start, b - c.start);
    const buf = await this.file.read(a, Math.max(b - a, READ_CHUNK));
    this.cache = { start: a, buf };
    return buf.subarray(0, b - a);
  }

  private async sendWindow(from: number): Promise<void> {
    const gen = ++this.gen;
    const to = Math.min(from + this.p.windowsize - 1, this.last);
    const bs = this.p.blksize;
    const start = (from - 1) * bs;
    const end = Math.min(this.file.size, to * bs);
    let data: Buffer;
    try {
      data = await this.range(start, end);
    } catch (e) {
      this.metrics.errors++;
      this.logger.warn('tftp read failed', { client: this.client.address, error: String(e) });
      this.fail(TftpError.NOT_DEFINED, 'read error');
      return;
    }
    if (gen !== this.gen || this.done) return;
    if (data.length !== end - start) {
      this.fail(TftpError.NOT_DEFINED, 'file changed during transfer');
      return;
    }
    for (let b = from; b <= to; b++) {
      const off = (b - 1) * bs - start;
      const payload = data.subarray(off, Math.min(off + bs, data.length));
      this.socket.send([dataHeader(b), payload], this.client.port, this.client.address);
    }
    this.sentTo = to;
    this.arm();
  }

  /** Handles one datagram on the transfer socket. Never throws. */
  onMessage(msg: Buffer, rinfo: RemoteInfo | TftpClient): void {
    if (this.done) return;
    if (rinfo.address !== this.client.address || rinfo.port !== this.client.port) {
      this.metrics.unknownTid++;
      this.metrics.errorsSent++;
      this.socket.send(encodeTftp({ op: 'ERROR', code: TftpError.UNKNOWN_TID, message: 'unknown transfer ID' }), rinfo.port, rinfo.address);
      return;
    }
    let p;
    try {
      p = decodeTftp(msg);
    } catch {
      this.metrics.badTransferPackets++;
      return;
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
      void this.sendWindow(1);
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
    void this.sendWindow(abs + 1);
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
    else void this.sendWindow(this.base + 1);
  };

  /** Ends the transfer with an error packet to the client. */
  fail(code: number, message: string): void {
    if (this.done) return;
    this.metrics.errorsSent++;
    try {
      this.socket.send(encodeTftp({ op: 'ERROR', code, message }), this.client.port, this.client.address, () => this.end(false));
    } catch {
      this.end(false);
    }
  }

  end(completed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.gen++;
    clearTimeout(this.timer);
    if (completed) this.metrics.completed++;
    else this.metrics.aborted++;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    void this.file.close?.().catch(() => {});
    this.onEnd(this, completed);
  }
}
