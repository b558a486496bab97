// A transfer's own socket (its TID, RFC 1350 section 4), through native/tftpio: bound to the
// server's address, connected to the client, DATA windows sent with one sendmmsg, all
// datagrams that arrive in one event-loop iteration delivered in one call, and, for a file held
// in memory, in-order ACKs answered in the poll callback itself (stream()). node:dgram costs
// about 15 µs of user time per lockstep block here (buffer allocations, an address object and an
// emit per datagram, a SendWrap per send); native/tftpio/tftpio.c says what it does instead.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '../config/index.js';
import { NetrootError } from '../errors.js';

export interface StreamProgress {
  acked: number;
  sentTo: number;
  answered: number;
  /** Milliseconds since the stream last answered; -1 when it never did. */
  msAgo: number;
}

/** What a Transfer needs from its socket. */
export interface TransferLink {
  /** The server's port for this transfer (the TID). */
  readonly localPort: number;
  /**
   * DATA blocks first..first+count-1 (block numbers modulo 65536) from data[offset, offset+length):
   * block k carries the k-th blksize slice; the last may be short or empty.
   */
  sendBlocks(first: number, data: Buffer, offset: number, length: number, blksize: number, count: number): void;
  /**
   * The data phase of a transfer from memory, run by the link: while streaming, an ACK of
   * block `expect` (mod 65536) is answered at once with the next window (blocks expect+1 ..
   * min(expect+windowsize, last) of `file`) and `expect` moves to its last block; the stream
   * stops after block `last`. Such ACKs do not reach onMessage; everything else does.
   * `last` must be floor(file.length / blksize) + 1. Calling it again replaces the stream.
   */
  stream(expect: number, last: number, windowsize: number, blksize: number, file: Buffer): void;
  stopStream(): void;
  /** What the stream did: highest ACK answered, last block sent (absolute), windows sent, ms since. */
  progress(): StreamProgress;
  /** One datagram (OACK, ERROR), handed to the kernel before this returns (or queued when full). */
  send(packet: Buffer): void;
  /** Each datagram from the client. The buffer is only valid during the call. */
  onMessage: (msg: Buffer) => void;
  /** Idempotent. */
  close(): void;
}

interface TftpIo {
  init(receiver: (count: number) => void): { slab: Buffer; meta: Int32Array };
  open(local: string, remote: string, port: number, sendBufferBytes: number): [number, number];
  sendBlocks(id: number, first: number, buf: Buffer, offset: number, length: number, blksize: number, count: number): void;
  stream(id: number, expect?: number, last?: number, windowsize?: number, blksize?: number, file?: Buffer): void;
  progress(id: number): [number, number, number, number];
  send(id: number, buf: Buffer): void;
  close(id: number): void;
  stats(): LinkStats;
  SLOT_BYTES: number;
}

interface Loaded {
  io: TftpIo;
  slab: Buffer;
  meta: Int32Array;
  links: (NativeLink | undefined)[];
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const path = join(packageDir(), 'native', 'tftpio', 'build', 'Release', 'tftpio.node');
  if (!existsSync(path)) throw new NetrootError('E_TFTP_NATIVE', `the TFTP I/O helper is not built (${path}): run npm run build:native (needs g++ and make)`);
  const io = createRequire(import.meta.url)(path) as TftpIo;
  const links: (NativeLink | undefined)[] = [];
  const slot = io.SLOT_BYTES;
  const { slab, meta } = io.init((count) => {
    for (let i = 0; i < count; i++) {
      const id = meta[3 * i]!;
      const link = id >= 0 ? links[id] : undefined;
      if (!link) continue; // closed while its datagram waited in the batch
      const msg = slab.subarray(i * slot, i * slot + meta[3 * i + 1]!);
      try {
        link.onMessage(msg);
      } catch (e) {
        // A handler must not throw (Transfer.onMessage never does); if one does, the other
        // datagrams of the batch are still delivered and the error surfaces as uncaught.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  });
  loaded = { io, slab, meta, links };
  return loaded;
}

class NativeLink implements TransferLink {
  readonly localPort: number;
  onMessage: (msg: Buffer) => void = () => {};
  private open = true;

  constructor(
    private readonly l: Loaded,
    private readonly id: number,
    port: number,
  ) {
    this.localPort = port;
    l.links[id] = this;
  }

  sendBlocks(first: number, data: Buffer, offset: number, length: number, blksize: number, count: number): void {
    if (this.open) this.l.io.sendBlocks(this.id, first, data, offset, length, blksize, count);
  }

  stream(expect: number, last: number, windowsize: number, blksize: number, file: Buffer): void {
    if (this.open) this.l.io.stream(this.id, expect, last, windowsize, blksize, file);
  }

  stopStream(): void {
    if (this.open) this.l.io.stream(this.id);
  }

  progress(): StreamProgress {
    if (!this.open) return { acked: 0, sentTo: 0, answered: 0, msAgo: -1 };
    const [acked, sentTo, answered, msAgo] = this.l.io.progress(this.id);
    return { acked, sentTo, answered, msAgo };
  }

  send(packet: Buffer): void {
    if (this.open) this.l.io.send(this.id, packet);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.l.links[this.id] = undefined;
    this.l.io.close(this.id);
  }
}

/** SO_SNDBUF asked for by default: a window of 64 blocks of 65464 bytes (RFC 7440 + 2348 maxima). */
export const DEFAULT_SEND_BUFFER = 4 * 1024 * 1024;

/**
 * A socket bound to `localAddress` (an IPv4 literal; '0.0.0.0' lets routing pick) on a port the
 * kernel chooses, connected to the client, with SO_SNDBUF `sendBufferBytes` (the kernel caps it at
 * net.core.wmem_max; 0 keeps its default; what does not fit waits in the link's queue). Throws
 * NetrootError E_TFTP_LINK when the kernel refuses.
 */
export function openLink(localAddress: string, client: { address: string; port: number }, sendBufferBytes = DEFAULT_SEND_BUFFER): TransferLink {
  const l = load();
  let idPort: [number, number];
  try {
    idPort = l.io.open(localAddress, client.address, client.port, sendBufferBytes);
  } catch (e) {
    throw new NetrootError(
      'E_TFTP_LINK',
      `tftp: cannot open a transfer socket to ${client.address}:${client.port}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return new NativeLink(l, idPort[0], idPort[1]);
}

export interface LinkStats {
  /** Datagrams held back while a send buffer was full. */
  queued: number;
  /** Dropped because a socket's queue reached its bound (16 MiB). */
  dropped: number;
  /** Dropped from a queue because a new window replaced them (a re-send after timeout or go-back). */
  superseded: number;
  /** Sends the kernel refused (ECONNREFUSED: the client went away). */
  sendErrors: number;
  /** ICMP errors reported on a socket (port unreachable, fragmentation needed): cleared, the socket goes on. */
  socketErrors: number;
  /** Windows a lone stream answered while polling for the ACK instead of sleeping (the spin). */
  spunWindows: number;
}

/** Counters of all links of this process. */
export function linkStats(): LinkStats {
  return loaded ? loaded.io.stats() : { queued: 0, dropped: 0, superseded: 0, sendErrors: 0, socketErrors: 0, spunWindows: 0 };
}
