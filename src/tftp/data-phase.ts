// The data phase of one read transfer, in TypeScript: what native/tftpio/tftpio.c does in C for
// the native link, written once more for the node:dgram link (dgram-link.ts). The two are one
// contract, stated in full in tftpio.c's header; the tests run the same transfers through both
// links (test/tftp/links.ts), with this one as the reference. Keep them in step: a change here is
// a change there.
//
//  - Blocks are 1..last, last = floor(size/blksize)+1 (a file whose size is a multiple of blksize
//    ends with an empty block). On the wire the number is the low 16 bits: after 65535 comes 0
//    (rollover, as tftp-hpa, curl, iPXE and EDK2 expect).
//  - With an OACK it goes first and is re-sent on timeout until ACK 0 (RFC 2347).
//  - A window (RFC 7440) of `windowsize` blocks is sent, then the sender waits. An ACK for block k
//    inside the window moves the base to k and sends the next window from k+1: a partial-window
//    ACK is the RFC 7440 go-back to the last block received in order.
//  - An ACK for the block already acknowledged is ignored: only a timeout re-sends (the fix for
//    the Sorcerer's Apprentice bug, RFC 1123 section 4.2.3.1).
//  - A timeout re-sends the window from base+1 (or the OACK); after maxRetries timeouts in a row
//    the phase ends (`end(false)`). The ACK of the last block ends it (`end(true)`).
//  - The bytes come from what was provided (the whole file, or the last read-ahead chunk); a
//    window outside it waits, and `need(from)` asks for it. From then until the next provide
//    nothing is sent from the bytes held (a later window starts no earlier and ends no earlier,
//    a timeout re-sends the same one): transfer.ts reads the next chunk into the same buffer.
import type { LinkState, PhaseParams } from './link-contract.js';
import { NetrootError } from '../errors.js';

/** Where the phase's datagrams go. */
export interface PhaseOutput {
  /** DATA blocks first..first+count-1 from data[offset, offset+length), each blksize bytes but the last. */
  sendBlocks(first: number, data: Buffer, offset: number, length: number, blksize: number, count: number): void;
  send(packet: Buffer): void;
}

export interface PhaseEvents {
  need(block: number): void;
  end(completed: boolean): void;
}

const IDLE = 0;
const OACK = 1;
const DATA = 2;
const OVER = 3;

export class DataPhase {
  private phase = IDLE;
  private base = 0;
  private sentTo = 0;
  private last = 0;
  private p: PhaseParams = { oack: null, size: 0, blksize: 512, windowsize: 1, timeoutMs: 1000, maxRetries: 0 };
  private retries = 0;
  /** The first block of a window waiting for bytes (0: none). */
  private need = 0;
  private deadline = 0;
  private timer: NodeJS.Timeout | undefined;
  private data: Buffer | undefined;
  private dataOff = 0;
  private counters = { windows: 0, duplicateAcks: 0, retransmits: 0, timeouts: 0, badAcks: 0 };

  constructor(
    private readonly out: PhaseOutput,
    private readonly events: PhaseEvents,
  ) {}

  /** The file's bytes from `offset`; returns the block of the window still waiting (0: none). */
  provide(offset: number, data: Buffer): number {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new NetrootError('E_TFTP_LINK', 'provide: offset must be an integer >= 0');
    this.data = data;
    this.dataOff = offset;
    return this.phase === DATA && this.need > 0 ? this.sendWindow(this.need) : 0;
  }

  /** Starts the phase; returns the block of a window waiting for bytes (0: none). */
  start(p: PhaseParams): number {
    const { blksize: bs, windowsize: ws, size } = p;
    const int = (v: number) => Number.isSafeInteger(v) && v >= 0;
    if (!int(size) || !int(bs) || !int(ws) || !int(p.timeoutMs) || !int(p.maxRetries) || bs < 8 || bs > 65464 || ws < 1 || ws > 65535 || p.timeoutMs < 1)
      throw new NetrootError('E_TFTP_LINK', 'start: blksize, windowsize, timeout, size or OACK out of range');
    if (Math.floor(size / bs) + 1 > 0xffffffff || (p.oack && p.oack.length > 1500))
      throw new NetrootError('E_TFTP_LINK', 'start: blksize, windowsize, timeout, size or OACK out of range');
    if (this.phase !== IDLE) throw new NetrootError('E_TFTP_LINK', 'start: the data phase has already started');
    this.p = p;
    this.last = Math.floor(size / bs) + 1;
    if (p.oack) {
      this.phase = OACK;
      this.out.send(p.oack);
      this.arm();
      return 0;
    }
    this.phase = DATA;
    const need = this.sendWindow(1);
    if (need) this.arm(); // a first read that never completes ends in a timeout
    return need;
  }

  /**
   * A datagram from the client: true when the phase took it (an ACK while the phase runs; its
   * extra bytes are ignored, as packet.ts does), false when it is for the transfer to judge.
   */
  take(msg: Buffer): boolean {
    if ((this.phase !== OACK && this.phase !== DATA) || msg.length < 4 || msg[0] !== 0 || msg[1] !== 4) return false;
    const need = this.ack(msg.readUInt16BE(2));
    if (need) this.events.need(need);
    return true;
  }

  /** Returns the block of a window waiting for bytes (0: none); ends the phase on the last ACK. */
  private ack(wire: number): number {
    if (this.phase === OACK) {
      if (wire !== 0) {
        this.counters.badAcks++;
        return 0;
      }
      this.phase = DATA;
      this.retries = 0;
      return this.sendWindow(1);
    }
    const delta = (wire - (this.base & 0xffff)) & 0xffff;
    if (delta === 0) {
      this.counters.duplicateAcks++;
      return 0;
    }
    const abs = this.base + delta;
    if (abs > this.sentTo) {
      this.counters.badAcks++;
      return 0;
    }
    this.base = abs;
    this.retries = 0;
    if (abs === this.last) {
      this.stop();
      this.events.end(true);
      return 0;
    }
    if (abs < this.sentTo) this.counters.retransmits++;
    else this.counters.windows++;
    return this.sendWindow(abs + 1);
  }

  private sendWindow(from: number): number {
    const { blksize: bs, windowsize: ws, size } = this.p;
    const to = Math.min(from - 1 + ws, this.last);
    const start = (from - 1) * bs;
    const end = Math.min(to * bs, size);
    const d = this.data;
    if (!d || start < this.dataOff || end > this.dataOff + d.length) {
      this.need = from;
      return from;
    }
    this.need = 0;
    this.out.sendBlocks(from, d, start - this.dataOff, end - start, bs, to - from + 1);
    this.sentTo = to;
    this.arm();
    return 0;
  }

  /** (Re)arms the retransmission timeout from now: only a deadline moves (once per window). */
  private arm(): void {
    this.deadline = performance.now() + this.p.timeoutMs;
    this.timer ??= setTimeout(this.tick, this.p.timeoutMs);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.phase !== OACK && this.phase !== DATA) return;
    const left = this.deadline - performance.now();
    if (left > 1) {
      this.timer = setTimeout(this.tick, left);
      return;
    }
    this.counters.timeouts++;
    if (++this.retries > this.p.maxRetries) {
      this.stop();
      this.events.end(false);
      return;
    }
    this.counters.retransmits++;
    this.arm();
    if (this.phase === OACK) this.out.send(this.p.oack!);
    else {
      const need = this.sendWindow(this.base + 1);
      if (need) this.events.need(need);
    }
  };

  state(): LinkState {
    return { base: this.base, sentTo: this.sentTo, ...this.counters };
  }

  /** Ends the phase (idempotent): no more sends, the timer and the bytes let go. */
  stop(): void {
    this.phase = OVER;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.data = undefined;
  }
}
