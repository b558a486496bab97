// The DHCPv4 server (RFC 2131 §4.3). Known machines get their fixed address from the decider
// (src/boot's Booter, through an adapter in app/); unknown machines get nothing but a discovery
// event (insert-ethers), or a pool address when the operator enabled a pool. Answers only on the
// configured provisioning interfaces: one socket per interface, bound to it with SO_BINDTODEVICE,
// so a request that arrived on any other interface never reaches netroot. A bad packet is counted
// and dropped; nothing a client sends can throw out of handle().
import { createSocket, type Socket } from 'node:dgram';
import { decodeDhcp, encodeDhcp, messageType, clientMac, clientArch, textOption, isIpxe, clientUuid, ipOption, type DhcpMessage } from './packet.js';
import { MessageType, Opt } from './options.js';
import { LeasePool, type PoolConfig } from './leases.js';
import { bindSocketToDevice } from './bind-to-device.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { NetrootError } from '../errors.js';

/** Option 175 holding iPXE's encapsulated setting 176 (no-pxedhcp), length 1, value 1. */
const IPXE_NO_PXEDHCP = Buffer.from([176, 1, 1]);
/** Option 53 values, one buffer per message type (never written to: encodeDhcp copies). */
const TYPE_BUF = Array.from({ length: 9 }, (_, t) => Buffer.from([t]));
export interface DhcpClientInfo {
  mac: string;
  arch: number | null;
  vendorClass: string | null;
  userClass: string | null;
  isIpxe: boolean;
  uuid: string | null;
  giaddr: string | null;
  relayInfo: Buffer | null;
  interfaceName: string;
  requestedIp: string | null;
  hostname: string | null;
}

/** What a known machine is given. */
export interface DhcpLease {
  ip: string;
  subnetMask: string;
  router?: string | null;
  dns?: string[];
  domain?: string;
  hostname?: string;
  leaseSeconds: number;
  nextServer?: string;
  bootFile?: string | null;
}

export interface DhcpDecider {
  answer(info: DhcpClientInfo): Promise<DhcpLease | null>;
}

export interface DiscoveryEvent {
  mac: string;
  arch: number | null;
  vendorClass: string | null;
  userClass: string | null;
  interfaceName: string;
  giaddr: string | null;
  relayInfo: string | null;
  at: Date;
}

export interface DhcpServerOptions {
  interfaces: string[];
  serverIp: string;
  port?: number;
  clientPort?: number;
  decider: DhcpDecider;
  onDiscovery?: (e: DiscoveryEvent) => void;
  pool?: (PoolConfig & { subnetMask: string; router?: string | null; dns?: string[] }) | undefined;
  leaseFile?: string | undefined;
  /** Send iPXE 175.176 no-pxedhcp = 1 (default true; config dhcp.ipxeNoProxyDhcp). */
  ipxeNoProxyDhcp?: boolean;
  logger?: Logger;
  /** SO_RCVBUF per socket (default 4 MiB, capped by net.core.rmem_max): absorbs a rack powering on at once. */
  recvBufferBytes?: number;
  /** Tests on loopback only: skip SO_BINDTODEVICE. */
  noBindToDevice?: boolean;
}

export interface Reply {
  packet: Buffer;
  address: string;
  port: number;
}

const ZERO = '0.0.0.0';
/** A pool without DNS servers: one shared empty list (never written to). */
const NO_DNS: string[] = [];

export class DhcpServer {
  readonly metrics = {
    received: 0,
    malformed: 0,
    dropped: 0,
    ignored: 0,
    discovers: 0,
    offers: 0,
    requests: 0,
    acks: 0,
    naks: 0,
    informs: 0,
    releases: 0,
    declines: 0,
    discoveries: 0,
    errors: 0,
  };
  private readonly sockets: Socket[] = [];
  private readonly pool: LeasePool | null;
  private readonly log: Logger;
  private readonly port: number;
  private readonly clientPort: number;

  constructor(private readonly opts: DhcpServerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.port = opts.port ?? 67;
    this.clientPort = opts.clientPort ?? 68;
    this.pool = opts.pool ? new LeasePool(opts.pool, opts.leaseFile ?? null) : null;
  }

  /** The pool's journal counters (null without a pool or journal): tests check that every ACK
   *  of a pool lease leaves only once `syncedBytes` covers its record. */
  get journal(): { writtenBytes: number; syncedBytes: number; syncs: number } | null {
    if (!this.pool || !this.opts.leaseFile) return null;
    return { writtenBytes: this.pool.writtenBytes, syncedBytes: this.pool.syncedBytes, syncs: this.pool.syncs };
  }

  async start(): Promise<void> {
    this.pool?.open();
    for (const iface of this.opts.interfaces) {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      s.on('error', (e) => this.log.error('dhcp socket error', { iface, error: e }));
      s.on('message', (msg, rinfo) => {
        void this.handle(msg, rinfo, iface).then((r) => {
          if (r) s.send(r.packet, r.port, r.address, (e) => e && this.log.warn('dhcp send failed', { to: r.address, error: e }));
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(this.port, ZERO, () => {
          s.off('error', reject);
          resolve();
        });
      }).catch((e: NodeJS.ErrnoException) => {
        throw new NetrootError(
          'E_LISTEN',
          `dhcp: cannot listen on port ${this.port} for ${iface}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (needs root)' : ''}`,
        );
      });
      if (!this.opts.noBindToDevice) bindSocketToDevice(s, iface);
      s.setBroadcast(true);
      try {
        s.setRecvBufferSize(this.opts.recvBufferBytes ?? 4 << 20);
      } catch (e) {
        this.log.warn('dhcp: cannot enlarge the receive buffer', { iface, error: e });
      }
      this.sockets.push(s);
      this.log.info('dhcp listening', { iface, port: this.port });
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets.splice(0)) await new Promise<void>((r) => s.close(() => r()));
    await this.pool?.close();
  }

  /** Pure request handling (tests and fuzzing call it directly). Never throws. */
  async handle(buf: Buffer, from: { address: string; port: number }, interfaceName: string): Promise<Reply | null> {
    this.metrics.received++;
    let m: DhcpMessage;
    try {
      m = decodeDhcp(buf);
    } catch (e) {
      this.metrics.malformed++;
      this.log.debug('dhcp: malformed packet dropped', { from: from.address, error: e });
      return null;
    }
    try {
      return await this.respond(m, interfaceName);
    } catch (e) {
      this.metrics.errors++;
      this.log.error('dhcp: request failed', { mac: clientMac(m), error: e });
      return null;
    }
  }

  private info(m: DhcpMessage, iface: string): DhcpClientInfo {
    return {
      mac: clientMac(m),
      arch: clientArch(m),
      vendorClass: textOption(m, Opt.VENDOR_CLASS),
      userClass: textOption(m, Opt.USER_CLASS),
      isIpxe: isIpxe(m),
      uuid: clientUuid(m),
      giaddr: m.giaddr === ZERO ? null : m.giaddr,
      relayInfo: m.options.get(Opt.RELAY_AGENT) ?? null,
      interfaceName: iface,
      requestedIp: ipOption(m, Opt.REQUESTED_IP),
      hostname: textOption(m, Opt.HOSTNAME),
    };
  }

  private async respond(m: DhcpMessage, iface: string): Promise<Reply | null> {
    if (m.op !== 1 || m.htype !== 1 || m.hlen !== 6) {
      this.metrics.ignored++;
      return null;
    }
    const type = messageType(m);
    const info = this.info(m, iface);
    switch (type) {
      case MessageType.DISCOVER: {
        this.metrics.discovers++;
        const lease = await this.leaseFor(info, m);
        if (!lease) return null;
        this.metrics.offers++;
        this.logAnswer('dhcp offer', info, lease);
        return this.reply(m, MessageType.OFFER, lease);
      }
      case MessageType.REQUEST: {
        this.metrics.requests++;
        const sid = ipOption(m, Opt.SERVER_ID);
        // SELECTING state: the client chose another server's offer.
        if (sid !== null && sid !== this.opts.serverIp) {
          this.metrics.ignored++;
          return null;
        }
        const wanted = info.requestedIp ?? (m.ciaddr !== ZERO ? m.ciaddr : null);
        const lease = await this.leaseFor(info, m);
        if (!lease) return null; // unknown, no pool: not ours to NAK
        if (wanted !== null && wanted !== lease.ip) {
          this.metrics.naks++;
          this.log.info('dhcp nak', { host: lease.hostname ?? null, mac: info.mac, requested: wanted, ip: lease.ip, iface });
          return this.nak(m, `requested ${wanted} is not ${info.mac}'s address`);
        }
        if (this.pool && (lease as DhcpLease & { pooled?: boolean }).pooled) await this.pool.commit(info.mac, lease.ip);
        this.metrics.acks++;
        this.logAnswer('dhcp ack', info, lease);
        return this.reply(m, MessageType.ACK, lease);
      }
      case MessageType.INFORM: {
        this.metrics.informs++;
        const lease = await this.leaseFor(info, m);
        if (!lease) return null;
        this.metrics.acks++;
        this.log.debug('dhcp ack (inform)', { host: lease.hostname ?? null, mac: info.mac, ip: m.ciaddr, iface });
        return this.reply(m, MessageType.ACK, lease, true);
      }
      case MessageType.RELEASE:
        this.metrics.releases++;
        this.log.debug('dhcp release', { mac: info.mac, ip: m.ciaddr, iface });
        await this.pool?.release(info.mac);
        return null;
      case MessageType.DECLINE:
        this.metrics.declines++;
        this.log.info('dhcp decline: the client found its address in use', { mac: info.mac, ip: info.requestedIp, iface });
        if (info.requestedIp) await this.pool?.decline(info.mac, info.requestedIp);
        return null;
      default:
        this.metrics.ignored++;
        return null;
    }
  }

  /** The one line per OFFER / ACK: who (host when the database knows the MAC), what address, what boot file. */
  private logAnswer(what: 'dhcp offer' | 'dhcp ack', info: DhcpClientInfo, lease: DhcpLease & { pooled?: boolean }): void {
    this.log.info(what, {
      host: lease.hostname ?? null,
      mac: info.mac,
      ip: lease.ip,
      iface: info.interfaceName,
      bootfile: lease.bootFile ?? null,
      ...(lease.pooled ? { pooled: true } : {}),
    });
  }

  private async leaseFor(info: DhcpClientInfo, m: DhcpMessage): Promise<(DhcpLease & { pooled?: boolean }) | null> {
    const known = await this.opts.decider.answer(info);
    if (known) return known;
    if (messageType(m) === MessageType.DISCOVER) {
      this.metrics.discoveries++;
      this.opts.onDiscovery?.({
        mac: info.mac,
        arch: info.arch,
        vendorClass: info.vendorClass,
        userClass: info.userClass,
        interfaceName: info.interfaceName,
        giaddr: info.giaddr,
        relayInfo: info.relayInfo ? info.relayInfo.toString('hex') : null,
        at: new Date(),
      });
    }
    const p = this.opts.pool;
    if (!this.pool || !p) return null;
    const ip = this.pool.candidate(info.mac, info.requestedIp);
    if (!ip) {
      this.log.warn('dhcp pool exhausted', { mac: info.mac });
      return null;
    }
    return {
      ip,
      subnetMask: p.subnetMask,
      router: p.router ?? null,
      dns: p.dns ?? NO_DNS,
      leaseSeconds: p.leaseSeconds,
      nextServer: this.opts.serverIp,
      pooled: true,
    };
  }

  private base(m: DhcpMessage, type: number): DhcpMessage {
    const options = new Map<number, Buffer>([
      [Opt.MESSAGE_TYPE, TYPE_BUF[type] ?? Buffer.from([type])],
      [Opt.SERVER_ID, ipBuf(this.opts.serverIp)],
    ]);
    return {
      op: 2,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: m.xid,
      secs: 0,
      flags: m.flags,
      ciaddr: ZERO,
      yiaddr: ZERO,
      siaddr: ZERO,
      giaddr: m.giaddr,
      chaddr: m.chaddr,
      sname: '',
      file: '',
      options,
    };
  }

  private reply(m: DhcpMessage, type: number, l: DhcpLease, inform = false): Reply {
    const r = this.base(m, type);
    if (!inform) {
      r.yiaddr = l.ip;
      r.options.set(Opt.LEASE_TIME, u32(l.leaseSeconds));
      r.options.set(Opt.RENEWAL_T1, u32(Math.floor(l.leaseSeconds / 2)));
      r.options.set(Opt.REBINDING_T2, u32(Math.floor((l.leaseSeconds * 7) / 8)));
    } else r.ciaddr = m.ciaddr;
    r.options.set(Opt.SUBNET_MASK, ipBuf(l.subnetMask));
    if (l.router) r.options.set(Opt.ROUTER, ipBuf(l.router));
    if (l.dns && l.dns.length > 0) r.options.set(Opt.DNS, Buffer.concat(l.dns.map(ipBuf)));
    if (l.hostname) r.options.set(Opt.HOSTNAME, Buffer.from(l.hostname, 'latin1'));
    if (l.domain) r.options.set(Opt.DOMAIN, Buffer.from(l.domain, 'latin1'));
    if (l.nextServer) {
      r.siaddr = l.nextServer;
      r.options.set(Opt.TFTP_SERVER, latin1Buf(l.nextServer));
    }
    if (l.bootFile) {
      // Long URLs do not fit the 128-byte `file` field: option 67 carries them (RFC 2132 §9.5).
      if (l.bootFile.length < 128) r.file = l.bootFile;
      r.options.set(Opt.BOOTFILE, Buffer.from(l.bootFile, 'latin1'));
    }
    // Option 60 is NOT echoed: a reply carrying "PXEClient" without PXE vendor options (43) is a
    // BINL offer to EDK2 (OVMF, real UEFI), which then asks a boot server on port 4011 and fails
    // with PXE-E16 "No valid offer received". A plain offer with siaddr + file/66/67 is the PXE
    // "DHCP only" case every ROM boots from (PXE 2.1 §2.2.1; as dnsmasq's dhcp-boot does).
    // iPXE waits for ProxyDHCP offers after a plain one (DHCP_DISC_PROXY_TIMEOUT_SEC: its next
    // retransmission timer, about 3 s per boot) unless the offer sets its "no-pxedhcp" setting,
    // encapsulated option 175.176 = 1 (iPXE's dhcp.c). netroot is the boot server: nothing to wait for.
    if (this.opts.ipxeNoProxyDhcp !== false && isIpxe(m)) r.options.set(Opt.IPXE, IPXE_NO_PXEDHCP);
    const relay = m.options.get(Opt.RELAY_AGENT);
    if (relay) r.options.set(Opt.RELAY_AGENT, relay); // RFC 3046 §2.2: echoed, last
    return { packet: encodeDhcp(r), ...this.destination(m, r, false) };
  }

  private nak(m: DhcpMessage, why: string): Reply {
    const r = this.base(m, MessageType.NAK);
    r.options.set(Opt.MESSAGE, Buffer.from(why, 'latin1'));
    const relay = m.options.get(Opt.RELAY_AGENT);
    if (relay) r.options.set(Opt.RELAY_AGENT, relay);
    return { packet: encodeDhcp(r), ...this.destination(m, r, true) };
  }

  /** RFC 2131 §4.1: relay → giaddr:67; renewing client → ciaddr:68; else broadcast. */
  private destination(m: DhcpMessage, _r: DhcpMessage, nak: boolean): { address: string; port: number } {
    if (m.giaddr !== ZERO) return { address: m.giaddr, port: this.port };
    if (!nak && m.ciaddr !== ZERO) return { address: m.ciaddr, port: this.clientPort };
    // Unicast to yiaddr needs an ARP entry the socket API cannot add: broadcast, which every
    // PXE ROM accepts.
    return { address: '255.255.255.255', port: this.clientPort };
  }
}

// Option values repeat from reply to reply (server address, masks, routers, lease times): each is
// made once and reused — encodeDhcp only copies from them, nothing writes to them. Bounded: a
// cache that reaches CACHE_MAX entries starts over. Issue #23: fewer short-lived buffers per reply
// means fewer young-generation GCs, whose pauses delay the ACKs behind them.
const CACHE_MAX = 1024;
const ipCache = new Map<string, Buffer>();
const u32Cache = new Map<number, Buffer>();
const latin1Cache = new Map<string, Buffer>();

function cached<K>(cache: Map<K, Buffer>, key: K, make: (k: K) => Buffer): Buffer {
  let b = cache.get(key);
  if (b === undefined) {
    if (cache.size >= CACHE_MAX) cache.clear();
    b = make(key);
    cache.set(key, b);
  }
  return b;
}

function ipBuf(s: string): Buffer {
  return cached(ipCache, s, (k) => Buffer.from(k.split('.').map(Number)));
}

function latin1Buf(s: string): Buffer {
  return cached(latin1Cache, s, (k) => Buffer.from(k, 'latin1'));
}

function u32(n: number): Buffer {
  return cached(u32Cache, n, (k) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(k))));
    return b;
  });
}
