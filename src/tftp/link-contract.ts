// The transfer link's contract: what transfer.ts asks of a link and what a link reports. A leaf of
// src/tftp (types only), so that link.ts (which picks a link) and the links it picks (dgram-link.ts,
// link-base.ts, data-phase.ts) import it without importing each other. The data phase's rules are
// in native/tftpio/tftpio.c's header and data-phase.ts.

export type LinkKind = 'native' | 'dgram';
export type LinkChoice = LinkKind | 'auto';

/** The data phase of one transfer, as transfer.ts asks for it (tftpio.c's header says what each does). */
export interface PhaseParams {
  /** The OACK to send first and re-send until ACK 0 (RFC 2347); null: DATA 1 at once. */
  oack: Buffer | null;
  size: number;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Timeouts in a row before the phase ends with end(false). */
  maxRetries: number;
}

/** What the data phase did. Block numbers are absolute (the wire's 16 bits roll over). */
export interface LinkState {
  /** The highest block acknowledged. */
  base: number;
  /** The last block sent. */
  sentTo: number;
  /** Windows sent on a full-window ACK (the normal path). */
  windows: number;
  /** ACKs of a block already acknowledged, ignored (no Sorcerer's Apprentice re-send). */
  duplicateAcks: number;
  /** Windows (or OACKs) re-sent after a timeout or a partial-window ACK (RFC 7440 go-back). */
  retransmits: number;
  timeouts: number;
  /** ACKs of a block never sent, or other than 0 while the OACK waits. */
  badAcks: number;
}

/** What a Transfer needs from its socket. */
export interface TransferLink {
  readonly kind: LinkKind;
  /** The server's port for this transfer (the TID). */
  readonly localPort: number;
  /**
   * The file's bytes from byte `offset`: the whole file (before start()), or a read-ahead chunk
   * after onNeed. The link keeps only the last buffer given; a window waiting for bytes inside it
   * goes out at once. The buffer must not change while the link holds it.
   */
  provide(offset: number, data: Buffer): void;
  /** Starts the data phase (once); throws E_TFTP_LINK (dgram) or E_TFTPIO (native) on bad parameters. */
  start(p: PhaseParams): void;
  /** The window from block `block` waits for bytes: answer with provide(). */
  onNeed: (block: number) => void;
  /** The phase ended: true on the ACK of the last block, false after maxRetries timeouts. */
  onEnd: (completed: boolean) => void;
  /** Each datagram from the client the phase does not take (ERROR, garbage). Valid during the call only. */
  onMessage: (msg: Buffer) => void;
  state(): LinkState;
  /** One datagram (ERROR), handed to the kernel before this returns (or queued when full). */
  send(packet: Buffer): void;
  /** Idempotent; ends the phase. */
  close(): void;
}

export type OpenLink = (localAddress: string, client: { address: string; port: number }, sendBufferBytes: number) => Promise<TransferLink>;

export interface LinkStats {
  /** Datagrams held back while a send buffer was full (native; dgram: libuv's own queue, not counted). */
  queued: number;
  /** Dropped because a socket's queue reached its bound (16 MiB; native). */
  dropped: number;
  /** Dropped from a queue because a new window replaced them (a re-send after timeout or go-back; native). */
  superseded: number;
  /** Sends the kernel refused (ECONNREFUSED: the client went away). */
  sendErrors: number;
  /** ICMP errors reported on a socket (port unreachable, fragmentation needed): cleared, the socket goes on. */
  socketErrors: number;
  /** ACKs a lone transfer read while polling instead of sleeping (the spin; native). */
  spunWindows: number;
}
