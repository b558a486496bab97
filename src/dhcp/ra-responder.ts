// Answers IPv6 Router Solicitations on the provisioning interfaces with the minimal Router
// Advertisement of ra-packet.ts, so that iPXE's IPv6 configurator ends at once instead of
// soliciting for 15.75 s on a network without an IPv6 router (issue #23; the iPXE behaviour this
// relies on is described at the top of ra-packet.ts). netroot is not a router: the RA has router
// lifetime 0, no prefix and M = O = 0, so no node gets an IPv6 address, route or DHCPv6 from it.
//
// RFC 4861 rules followed:
//   - §6.1.1: a solicitation is answered only if valid (hop limit 255, code 0, well-formed
//     options, no source link-layer option from the unspecified address); the kernel checks the
//     checksum and the socket only ever sees type 133 from the configured interface.
//   - §6.2.6: every solicited RA is delayed by a random time in [0, MAX_RA_DELAY_TIME); it is
//     unicast to a link-local soliciting address (the kernel resolves it by neighbour discovery)
//     and multicast to all-nodes ff02::1 otherwise (unspecified or non-link-local source), at most
//     one multicast RA per interface every MIN_DELAY_BETWEEN_RAS.
//   - §4.2 / §6.1.2: source = the interface's link-local address, hop limit 255 (native/icmp6).
// No unsolicited RAs: iPXE ignores an RA that arrives while it is not soliciting
// (ipv6conf_rx_router_advertisement returns unless its solicitation timer runs), so only an
// answer to its own solicitation helps a booting node.
//
// Availability: answers are limited per source (interface + address) and over all sources, and
// the table of sources is bounded, so a flood of solicitations — spoofed sources included — makes
// netroot send at most maxPerSecond small packets. Nothing a client sends can throw out of here.
import { encodeRouterAdvertisement, invalidSolicitation, isLinkLocal, MAX_RA_DELAY_MS, MIN_DELAY_BETWEEN_MULTICAST_RAS_MS } from './ra-packet.js';
import { nativeIcmp6, type Icmp6Io } from './icmp6-socket.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { NetrootError } from '../errors.js';

/** How many sources the per-source limit remembers; beyond it the oldest window is forgotten. */
export const RA_MAX_TRACKED_SOURCES = 4096;
const ALL_NODES = 'ff02::1';

export interface RaResponderOptions {
  interfaces: string[];
  /** Answers to one source (interface + address) within a 60 s window. */
  maxPerSourcePerMinute: number;
  /** Answers over all sources within a 1 s window. */
  maxPerSecond: number;
  logger?: Logger;
  /** The raw ICMPv6 sockets; default the native addon (native/icmp6). */
  io?: Icmp6Io;
  /** Milliseconds clock for the limits (tests inject one). */
  now?: () => number;
  /** Delay before each answer; default random in [0, 500) ms (RFC 4861 §6.2.6, a MUST). */
  answerDelayMs?: () => number;
  maxTrackedSources?: number;
}

export interface RaStats {
  /** Datagrams read from the sockets. */
  received: number;
  /** Dropped as invalid (RFC 4861 §6.1.1). */
  invalid: number;
  /** Not answered because a limit was reached. */
  limited: number;
  /** Not answered because an answer to the same source was already waiting for its delay. */
  coalesced: number;
  answered: number;
  sendErrors: number;
}

/**
 * At most `max` events per key in a fixed window of `windowMs` starting at the key's first event.
 * Remembers at most `capacity` keys: expired windows are forgotten first, then the oldest.
 */
export class WindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  allow(key: string): boolean {
    const t = this.now();
    const w = this.windows.get(key);
    if (w && t - w.start < this.windowMs) {
      if (w.count >= this.max) return false;
      w.count++;
      return true;
    }
    // A new window goes to the end of the map, so the map is ordered by window start.
    this.windows.delete(key);
    for (const [k, old] of this.windows) {
      if (this.windows.size < this.capacity && t - old.start < this.windowMs) break;
      this.windows.delete(k);
    }
    this.windows.set(key, { start: t, count: 1 });
    return true;
  }

  get size(): number {
    return this.windows.size;
  }
}

export class RaResponder {
  private readonly o: RaResponderOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly delay: () => number;
  private readonly perSource: WindowLimiter;
  private readonly overall: WindowLimiter;
  private readonly ra = encodeRouterAdvertisement();
  private io: Icmp6Io | undefined;
  private readonly sockets = new Map<string, number>();
  /** Answers waiting for their delay, by source key. */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** When each interface last sent (or scheduled) a multicast RA. */
  private readonly lastMulticast = new Map<string, number>();
  /** Interfaces whose last send failed (warned once until a send succeeds). */
  private readonly failing = new Set<string>();
  private readonly counters: RaStats = { received: 0, invalid: 0, limited: 0, coalesced: 0, answered: 0, sendErrors: 0 };

  constructor(o: RaResponderOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    this.now = o.now ?? Date.now;
    this.delay = o.answerDelayMs ?? (() => Math.floor(Math.random() * MAX_RA_DELAY_MS));
    this.perSource = new WindowLimiter(o.maxPerSourcePerMinute, 60_000, o.maxTrackedSources ?? RA_MAX_TRACKED_SOURCES, this.now);
    this.overall = new WindowLimiter(o.maxPerSecond, 1000, 1, this.now);
  }

  /**
   * Opens one socket per interface; if any fails, closes those opened and throws. Returns false
   * (and runs nothing) when the kernel has no IPv6 at all (booted with ipv6.disable=1): then no
   * node can be slowed by IPv6 router discovery from this frontend's side either way. An interface
   * with IPv6 disabled opens fine; its sends fail and are counted (one warning).
   */
  start(): boolean {
    if (this.io) throw new NetrootError('E_RA_STARTED', 'the router-advertisement responder is already running');
    const io = this.o.io ?? nativeIcmp6();
    this.io = io;
    try {
      for (const ifname of this.o.interfaces) {
        const id = io.open(ifname, (data, source, hopLimit) => this.onSolicitation(ifname, id, data, source, hopLimit));
        this.sockets.set(ifname, id);
      }
    } catch (e) {
      this.closeAll();
      if ((e as { errno?: unknown }).errno === 'EAFNOSUPPORT') {
        this.log.warn('router advertisements off: this kernel has no IPv6', { interfaces: this.o.interfaces });
        return false;
      }
      throw new NetrootError('E_RA_SOCKET', `router advertisements: ${(e as Error).message} (set dhcp.routerAdvertisement=false to run without)`, { cause: e });
    }
    this.log.info('router advertisements on', { interfaces: this.o.interfaces });
    return true;
  }

  async stop(): Promise<void> {
    this.closeAll();
  }

  stats(): RaStats {
    return { ...this.counters };
  }

  private closeAll(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    for (const id of this.sockets.values()) {
      try {
        this.io?.close(id);
      } catch (e) {
        this.log.warn('closing an ICMPv6 socket failed', { error: e });
      }
    }
    this.sockets.clear();
    this.io = undefined;
  }

  private onSolicitation(ifname: string, id: number, data: Buffer, source: string, hopLimit: number): void {
    try {
      this.counters.received++;
      const why = invalidSolicitation(data, source, hopLimit);
      if (why !== null) {
        this.counters.invalid++;
        this.log.debug('router solicitation dropped', { iface: ifname, source, why });
        return;
      }
      const unicast = isLinkLocal(source);
      const dest = unicast ? source : ALL_NODES;
      const key = `${ifname}%${dest}`;
      if (this.pending.has(key)) {
        this.counters.coalesced++;
        return;
      }
      const t = this.now();
      if (!unicast && t - (this.lastMulticast.get(ifname) ?? -Infinity) < MIN_DELAY_BETWEEN_MULTICAST_RAS_MS) {
        this.counters.limited++;
        return;
      }
      if (!this.perSource.allow(key) || !this.overall.allow('all')) {
        this.counters.limited++;
        return;
      }
      if (!unicast) this.lastMulticast.set(ifname, t);
      const timer = setTimeout(() => this.answer(ifname, id, key, dest), Math.max(0, Math.min(this.delay(), MAX_RA_DELAY_MS)));
      timer.unref();
      this.pending.set(key, timer);
    } catch (e) {
      // Nothing a client sends may throw into the native callback (it would be an uncaught error).
      this.counters.invalid++;
      this.log.warn('router solicitation handling failed', { iface: ifname, source, error: e });
    }
  }

  private answer(ifname: string, id: number, key: string, dest: string): void {
    this.pending.delete(key);
    if (!this.io || this.sockets.get(ifname) !== id) return;
    try {
      this.io.send(id, this.ra, dest);
      this.counters.answered++;
      if (this.failing.delete(ifname)) this.log.info('router advertisements sent again', { iface: ifname });
    } catch (e) {
      // E.g. EADDRNOTAVAIL while the interface has no usable link-local address yet (DAD).
      this.counters.sendErrors++;
      if (!this.failing.has(ifname)) {
        this.failing.add(ifname);
        this.log.warn('router advertisement not sent', { iface: ifname, to: dest, error: e });
      } else this.log.debug('router advertisement not sent', { iface: ifname, to: dest, error: e });
    }
  }
}
