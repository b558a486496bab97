// The DHCP side of bench:attack's virtual nodes: many PXE clients sharing one socket on port 68,
// bound to the client namespace's veth (SO_BINDTODEVICE, src/dhcp/bind-to-device.ts), packets
// built and read with src/dhcp's codec. Each exchange is a full DISCOVER → OFFER → REQUEST → ACK
// with the node's MAC as chaddr and the broadcast flag set (netroot answers every non-relayed,
// non-renewing client by broadcast anyway); replies are told apart by xid.
// Retransmission follows the firmware being imitated: a PXE ROM (PXE 2.1 §2.2.1, EDK2) waits 4, 8,
// 16 and 32 s between DISCOVERs; iPXE starts at 1 s and doubles up to 10 s (its DHCP_DISC_*).
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { decodeDhcp, encodeDhcp, messageType, ipOption, textOption, type DhcpMessage } from '../../src/dhcp/packet.js';
import { MessageType, Opt } from '../../src/dhcp/options.js';
import { bindSocketToDevice } from '../../src/dhcp/bind-to-device.js';
import { macToBuffer } from '../../src/net/address.js';

export const PXE_TIMEOUTS_MS = [4000, 8000, 16000, 32000] as const;
export const IPXE_TIMEOUTS_MS = [1000, 2000, 4000, 8000, 10000] as const;

export interface DhcpLeaseSeen {
  ip: string;
  serverId: string;
  nextServer: string;
  /** Option 67, else the `file` field; null when the server gave none. */
  bootFile: string | null;
  /** DISCOVERs + REQUESTs sent beyond the first of each. */
  retransmits: number;
  /** Milliseconds from the last DISCOVER sent to the OFFER, and from the last REQUEST to the ACK. */
  answerMs: { offer: number; ack: number };
}

export interface DhcpExchange {
  mac: string;
  /** Option 93: 7 = x86-64 UEFI (what every x86-64 UEFI ROM sends), 0 = BIOS. */
  arch: number;
  /** The client runs iPXE: user class "iPXE" (option 77) and option 175, as iPXE sends them. */
  ipxe: boolean;
  timeoutsMs: readonly number[];
  signal: AbortSignal;
}

export class DhcpClientPort {
  private readonly waiters = new Map<number, (m: DhcpMessage) => void>();
  /** Replies that were not DHCP or matched no exchange (late duplicates, other clients). */
  stray = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (buf) => {
      let m: DhcpMessage;
      try {
        m = decodeDhcp(buf);
      } catch {
        this.stray++;
        return;
      }
      const w = m.op === 2 ? this.waiters.get(m.xid) : undefined;
      if (w) w(m);
      else this.stray++;
    });
    socket.on('error', () => undefined);
  }

  /** Binds 0.0.0.0:68 on `iface` (needs root and the native helper, `npm run build:native`). */
  static open(iface: string): Promise<DhcpClientPort> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      s.once('error', reject);
      s.bind(68, '0.0.0.0', () => {
        s.off('error', reject);
        try {
          bindSocketToDevice(s, iface);
          s.setBroadcast(true);
          s.setRecvBufferSize(4 << 20);
        } catch (e) {
          s.close();
          reject(e);
          return;
        }
        resolve(new DhcpClientPort(s));
      });
    });
  }

  close(): void {
    this.socket.close();
  }

  private newXid(): number {
    for (;;) {
      const x = randomBytes(4).readUInt32BE(0);
      if (x !== 0 && !this.waiters.has(x)) return x;
    }
  }

  private message(o: DhcpExchange, xid: number, secs: number, type: number, extra: Array<[number, Buffer]>): Buffer {
    const options = new Map<number, Buffer>([[Opt.MESSAGE_TYPE, Buffer.of(type)], ...extra]);
    options.set(Opt.MAX_SIZE, Buffer.from([0x05, 0xc0])); // 1472
    options.set(Opt.PARAM_LIST, Buffer.from([1, 3, 6, 12, 15, 17, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203]));
    const arch = Buffer.alloc(2);
    arch.writeUInt16BE(o.arch);
    options.set(Opt.CLIENT_ARCH, arch);
    options.set(Opt.CLIENT_NII, Buffer.from([1, 3, 0]));
    options.set(Opt.VENDOR_CLASS, Buffer.from(`PXEClient:Arch:${String(o.arch).padStart(5, '0')}:UNDI:003${o.ipxe ? '010' : '016'}`, 'latin1'));
    if (o.ipxe) {
      options.set(Opt.USER_CLASS, Buffer.from('iPXE', 'latin1'));
      options.set(Opt.IPXE, Buffer.from([0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0x13, 0x01, 0x01, 0x11, 0x01, 0x01, 0x19, 0x01, 0x01]));
    }
    const chaddr = Buffer.alloc(16);
    macToBuffer(o.mac).copy(chaddr);
    return encodeDhcp({
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid,
      secs,
      flags: 0x8000,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr,
      sname: '',
      file: '',
      options,
    });
  }

  /**
   * Sends `packet` and waits for a reply accepted by `want`, retransmitting after each timeout;
   * rejects after the last timeout or on abort.
   */
  private ask(
    xid: number,
    packet: (attempt: number) => Buffer,
    want: (m: DhcpMessage) => boolean,
    o: DhcpExchange,
    what: string,
  ): Promise<{ m: DhcpMessage; attempts: number; ms: number }> {
    return new Promise((resolve, reject) => {
      let attempt = 0;
      let sentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(xid);
        o.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(new Error(`dhcp ${what}: aborted after ${attempt} sends`));
      };
      const send = (): void => {
        if (attempt >= o.timeoutsMs.length) {
          done();
          reject(new Error(`dhcp ${what}: no answer to ${attempt} sends`));
          return;
        }
        const wait = o.timeoutsMs[attempt]!;
        sentAt = performance.now();
        this.socket.send(packet(attempt), 67, '255.255.255.255');
        attempt++;
        timer = setTimeout(send, wait);
      };
      this.waiters.set(xid, (m) => {
        if (!want(m)) return;
        done();
        resolve({ m, attempts: attempt, ms: performance.now() - sentAt });
      });
      o.signal.addEventListener('abort', onAbort, { once: true });
      send();
    });
  }

  /** One DORA. Rejects on a NAK, on silence after the last retransmission, or on abort. */
  async exchange(o: DhcpExchange): Promise<DhcpLeaseSeen> {
    const xid = this.newXid();
    const t0 = Date.now();
    const secs = () => Math.min(0xffff, Math.floor((Date.now() - t0) / 1000));
    const offer = await this.ask(
      xid,
      () => this.message(o, xid, secs(), MessageType.DISCOVER, []),
      (m) => messageType(m) === MessageType.OFFER,
      o,
      'DISCOVER',
    );
    const serverId = ipOption(offer.m, Opt.SERVER_ID) ?? offer.m.siaddr;
    const ip = offer.m.yiaddr;
    const ack = await this.ask(
      xid,
      () =>
        this.message(o, xid, secs(), MessageType.REQUEST, [
          [Opt.REQUESTED_IP, Buffer.from(ip.split('.').map(Number))],
          [Opt.SERVER_ID, Buffer.from(serverId.split('.').map(Number))],
        ]),
      (m) => messageType(m) === MessageType.ACK || messageType(m) === MessageType.NAK,
      o,
      'REQUEST',
    );
    if (messageType(ack.m) === MessageType.NAK) throw new Error(`dhcp REQUEST: NAK (${textOption(ack.m, Opt.MESSAGE) ?? 'no message'})`);
    return {
      ip: ack.m.yiaddr,
      serverId,
      nextServer: ack.m.siaddr,
      bootFile: textOption(ack.m, Opt.BOOTFILE) ?? (ack.m.file || null),
      retransmits: offer.attempts - 1 + (ack.attempts - 1),
      answerMs: { offer: offer.ms, ack: ack.ms },
    };
  }
}
