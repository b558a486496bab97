// The node:dgram transfer link: the same contract as the native one (link.ts), with the data
// phase of data-phase.ts, for a machine where native/tftpio is not built (no C toolchain). It is
// the reference the tests run the native link against. What it does not have: the native link's
// bounded send queue that drops stale copies (here libuv queues a send the kernel refuses, and a
// re-send after a timeout adds to it) and the spin; it costs more CPU per block (link.ts).
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { NetrootError } from '../errors.js';
import { DataPhase } from './data-phase.js';
import type { LinkState, LinkStats, PhaseParams, TransferLink } from './link-contract.js';
import { LinkBase } from './link-base.js';

/** What native/tftpio cuts a datagram to (one Ethernet MTU): the same here, so both links deliver the same bytes. */
const SLOT_BYTES = 1500;

/** Counters of this process's dgram links (linkStats() adds them to the native ones). */
export const dgramStats: LinkStats = { queued: 0, dropped: 0, superseded: 0, sendErrors: 0, socketErrors: 0, spunWindows: 0 };

class DgramLink extends LinkBase {
  readonly kind = 'dgram' as const;
  private readonly phase: DataPhase;

  constructor(private readonly socket: Socket) {
    super(socket.address().port);
    this.phase = new DataPhase(
      {
        sendBlocks: (first, data, offset, length, bs, count) => {
          for (let k = 0; k < count; k++) {
            const block = (first + k) & 0xffff;
            const a = offset + k * bs;
            const b = Math.min(offset + length, a + bs);
            this.datagram([Buffer.from([0, 3, block >> 8, block & 0xff]), data.subarray(a, b)]);
          }
        },
        send: (packet) => this.datagram([packet]),
      },
      { need: (block) => this.onNeed(block), end: (completed) => this.onEnd(completed) },
    );
    socket.on('message', (msg) => {
      if (!this.open || this.phase.take(msg)) return;
      this.onMessage(msg.length > SLOT_BYTES ? msg.subarray(0, SLOT_BYTES) : msg);
    });
    // A connected socket reports ICMP errors (port unreachable: the client went away) and refused
    // sends as 'error'. The socket goes on; the retry limit ends a transfer nobody answers.
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.syscall === 'send') dgramStats.sendErrors++;
      else dgramStats.socketErrors++;
    });
  }

  private datagram(parts: Buffer[]): void {
    if (!this.open) return;
    try {
      this.socket.send(parts);
    } catch {
      dgramStats.sendErrors++; // the socket is closing
    }
  }

  protected provideBytes(offset: number, data: Buffer): number {
    return this.phase.provide(offset, data);
  }

  protected startPhase(p: PhaseParams): number {
    return this.phase.start(p);
  }

  state(): LinkState {
    return this.phase.state();
  }

  send(packet: Buffer): void {
    if (packet.length > 65535) throw new NetrootError('E_TFTP_LINK', 'send: datagram too long');
    this.datagram([packet]);
  }

  protected shut(): void {
    this.phase.stop();
    // Node sends on a connected socket synchronously when the kernel takes them (uv_udp_try_send),
    // so an ERROR sent just before is already out; only one the kernel held back is lost.
    this.socket.close();
  }
}

/** The dgram link (link.ts `OpenLink`): bound to `localAddress`, connected to the client. */
export async function openDgramLink(localAddress: string, client: { address: string; port: number }, sendBufferBytes: number): Promise<TransferLink> {
  const refuse = (why: string) => new NetrootError('E_TFTP_LINK', `tftp: cannot open a transfer socket to ${client.address}:${client.port}: ${why}`);
  if (!isIPv4(localAddress)) throw refuse('localAddress must be an IPv4 address');
  if (!isIPv4(client.address)) throw refuse('remoteAddress must be an IPv4 address');
  if (!Number.isInteger(client.port) || client.port < 1 || client.port > 65535) throw refuse('remotePort must be 1..65535');
  const socket = createSocket({ type: 'udp4', ...(sendBufferBytes > 0 ? { sendBufferSize: sendBufferBytes } : {}) });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: localAddress, port: 0 }, () => {
        socket.connect(client.port, client.address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
  } catch (e) {
    socket.close();
    throw refuse(e instanceof Error ? e.message : String(e));
  }
  return new DgramLink(socket);
}
