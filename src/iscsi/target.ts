// The portal server: accepts TCP connections, keeps the target definitions (IQN → LUNs,
// allowed initiators, CHAP), creates sessions at the end of login, answers SendTargets,
// and exposes counters. One IscsiTarget serves any number of targets on one port.
//
// LUN numbering: each TargetDefinition lists its LUNs with explicit numbers. The storage
// layer passes `lun` explicitly; a definition built by hand usually uses LUN 0 for the disk
// (what iPXE's `sanboot iscsi:...::::iqn` and dracut's default `netroot=iscsi:...::0:iqn`
// expect). Numbers 0..16383 are valid (SAM flat/peripheral addressing).
import * as net from 'node:net';
import { NetrootError, UserError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { SourceLimiter } from './admission.js';
import type { ChapCredentials } from './chap.js';
import { systemClock, type Clock } from './clock.js';
import { iscsiNameProblem } from '../validate/iscsi-name.js';
import { inNetwork, parseCidr, parseIPv4 } from '../net/address.js';
import { Connection, normalizeAddress, type ConnectionMetrics, type IdentifyPeer } from './connection.js';
import { LoginStatus, type LoginResult, type LoginTargetInfo } from './login.js';
import { LunFile } from './lun-file.js';
import type { WriteStats } from './lun-store.js';
import { LunClone } from './lun-clone.js';
import { LogicalUnit, luIdentity } from './scsi/logical-unit.js';
import { Session, type SessionCounters, type SessionTarget } from './session.js';
import { DEFAULT_LIMITS, type TargetLimits, type TextPairs } from './text-keys.js';

export type { LunBackingOptions } from './lun-file.js';

export interface TargetDefinition {
  iqn: string;
  /**
   * `path` is the volume's file; with `clone`, it is the clone's delta and the LUN is a
   * copy-on-write clone of `clone.golden` (lun-clone.ts; made beforehand with LunClone.create,
   * whose size and block size it keeps: `sizeBytes`/`blockSize` are then ignored).
   */
  luns: Array<{ lun: number; path: string; sizeBytes?: number; blockSize?: 512 | 4096; clone?: { golden: string; map: string } }>;
  allowedInitiators: string[];
  chap?: { user: string; secret: string; mutualUser?: string; mutualSecret?: string };
  /** Source addresses (IPv4/IPv6 literals, or IPv4 CIDR like 10.1.0.0/16) allowed to log in. */
  allowedAddresses?: string[];
}

/**
 * The limits and timers an administrator sets (config iscsi.*, mapped by src/app/storage.ts's
 * targetSettings()). Defaults match the config schema's. Everything an unauthenticated client can
 * hold — a connection in login phase, a discovery session — is capped per source address and in
 * total and has an idle and a total deadline (issue #14 item 1; see admission.ts).
 */
export interface IscsiTargetSettings {
  /** Normal sessions (ACL + CHAP passed); discovery sessions do not count. Default 1024. */
  maxSessions?: number;
  /** Login phase, from accept to full-feature phase, at most this long; default 15 s. */
  loginTimeoutMs?: number;
  /** Login phase: nothing received for this long ends the connection; default 5 s. */
  loginIdleMs?: number;
  /** Connections in login phase, over all sources; beyond it a new connection is reset at once. Default 256. */
  maxLoginConnections?: number;
  /** Connections in login phase from one source address; default 8. */
  maxLoginConnectionsPerSource?: number;
  /** Discovery sessions (no CHAP) over all sources; beyond it a discovery login gets 0x0302. Default 64. */
  maxDiscoverySessions?: number;
  /** Discovery sessions from one source address; default 4. */
  maxDiscoverySessionsPerSource?: number;
  /** A discovery session with nothing received for this long is closed; default 10 s. */
  discoveryIdleMs?: number;
  /** No discovery session lasts longer than this after its login, however busy; default 60 s. */
  discoveryMaxMs?: number;
  /** Full-feature idle time before a NOP-In ping (0: never ping); default 30 s. */
  pingIdleMs?: number;
  /** How long a ping may go unanswered before the connection ends; default 60 s. */
  pingTimeoutMs?: number;
}

export interface IscsiTargetOptions extends IscsiTargetSettings {
  host?: string;
  port?: number;
  logger?: Logger;
  /** Time for every protocol deadline (tests pass a manual clock). */
  clock?: Clock;
  /** Override negotiation limits (tests); defaults follow REFERENCE.md §6. */
  limits?: Partial<TargetLimits>;
  /** Host name and MAC behind an initiator's address, for the login log lines only (never access). */
  identify?: IdentifyPeer;
}

export interface IscsiMetrics extends ConnectionMetrics, SessionCounters {
  /** Sessions of both kinds. */
  sessions: number;
  discoverySessions: number;
  connections: number;
  /** Connections still in login phase. */
  loginConnections: number;
  /** Connections reset on accept: maxLoginConnectionsPerSource or maxLoginConnections reached. */
  connectionsRefused: number;
  /** Discovery logins refused (0x0302): maxDiscoverySessionsPerSource or maxDiscoverySessions reached. */
  discoveryRefused: number;
}

/** The portal's sessions talk to their Connection (the session itself knows only SessionLink). */
type PortalSession = Session<Connection>;

interface TargetRecord {
  def: TargetDefinition;
  luns: Map<number, LogicalUnit>;
  info: LoginTargetInfo;
}

/** Does `addr` match an allowed entry (exact literal, or IPv4 CIDR)? */
export function addressAllowed(addr: string, allowed: readonly string[]): boolean {
  const a = normalizeAddress(addr);
  for (const entry of allowed) {
    const slash = entry.indexOf('/');
    if (slash < 0) {
      if (normalizeAddress(entry) === a) return true;
      continue;
    }
    const net = parseCidr(entry);
    const ip = parseIPv4(a);
    if (net && ip !== null && inNetwork(ip, net)) return true;
  }
  return false;
}

function cloneDef(d: TargetDefinition): TargetDefinition {
  return structuredClone(d);
}

export class IscsiTarget {
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly log: Logger;
  private readonly maxSessions: number;
  private readonly identify: IdentifyPeer | undefined;
  private readonly timers: Pick<
    Required<IscsiTargetSettings>,
    'loginTimeoutMs' | 'loginIdleMs' | 'discoveryIdleMs' | 'discoveryMaxMs' | 'pingIdleMs' | 'pingTimeoutMs'
  >;
  private readonly clock: Clock;
  private readonly limits: TargetLimits;
  /** Connections in login phase (admission.ts); each is released once: at login or at close. */
  private readonly loginPhase: SourceLimiter;
  private readonly inLogin = new Set<Connection>();
  /** Discovery sessions and the source each was counted against. */
  private readonly discovery: SourceLimiter;
  private readonly discoverySource = new Map<PortalSession, string>();
  private server: net.Server | undefined;
  private boundPort = 0;
  private readonly targets = new Map<string, TargetRecord>();
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, PortalSession>(); // key: initiator|isid|target
  private readonly byTsih = new Map<number, PortalSession>();
  private nextTsih = 1;
  private pending: Promise<unknown> = Promise.resolve();

  readonly metrics: IscsiMetrics = {
    pdusIn: 0,
    pdusOut: 0,
    rejects: 0,
    malformedPdus: 0,
    logins: 0,
    loginFailures: 0,
    loginTimeouts: 0,
    discoveryTimeouts: 0,
    bytesIn: 0,
    bytesOut: 0,
    cmdSnDropped: 0,
    commands: 0,
    tmfs: 0,
    dataInBytes: 0,
    dataOutBytes: 0,
    sessions: 0,
    discoverySessions: 0,
    connections: 0,
    loginConnections: 0,
    connectionsRefused: 0,
    discoveryRefused: 0,
  };

  constructor(opts: IscsiTargetOptions = {}) {
    this.host = opts.host ?? '0.0.0.0';
    this.requestedPort = opts.port ?? 3260;
    this.log = opts.logger ?? silentLogger;
    this.identify = opts.identify;
    this.maxSessions = opts.maxSessions ?? 1024;
    this.timers = {
      loginTimeoutMs: opts.loginTimeoutMs ?? 15_000,
      loginIdleMs: opts.loginIdleMs ?? 5_000,
      discoveryIdleMs: opts.discoveryIdleMs ?? 10_000,
      discoveryMaxMs: opts.discoveryMaxMs ?? 60_000,
      pingIdleMs: opts.pingIdleMs ?? 30_000,
      pingTimeoutMs: opts.pingTimeoutMs ?? 60_000,
    };
    this.clock = opts.clock ?? systemClock;
    this.loginPhase = new SourceLimiter(opts.maxLoginConnectionsPerSource ?? 8, opts.maxLoginConnections ?? 256);
    this.discovery = new SourceLimiter(opts.maxDiscoverySessionsPerSource ?? 4, opts.maxDiscoverySessions ?? 64);
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  /** Whether the portal accepts connections (between start() and stop()). */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** The bound port (after start(); with port 0 the kernel's choice). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = net.createServer({ noDelay: true }, (sock) => this.accept(sock));
    server.on('error', (e) => this.log.error('iscsi: server error', { err: e }));
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void =>
        reject(new NetrootError('E_ISCSI_LISTEN', `cannot listen on ${this.host}:${this.requestedPort}: ${e.message}`, { cause: e }));
      server.once('error', onErr);
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', onErr);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.requestedPort;
    this.log.info('iscsi: portal listening', { host: this.host, port: this.boundPort });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const c of this.connections) c.close('target stopping', true);
    if (server) await new Promise<void>((r) => server.close(() => r()));
    await this.pending.catch(() => undefined);
    for (const rec of this.targets.values()) for (const lu of rec.luns.values()) await lu.file.close();
    this.targets.clear();
    this.sessions.clear();
    this.byTsih.clear();
    for (const [s, source] of this.discoverySource) {
      this.discoverySource.delete(s);
      this.discovery.release(source);
    }
    this.countSessions();
  }

  private accept(sock: net.Socket): void {
    // Admission before any allocation: a client over its login-phase cap (or everyone, over the
    // total) gets a TCP reset and costs nothing more — no Connection, no timer, no log line.
    const source = normalizeAddress(sock.remoteAddress ?? '');
    if (this.loginPhase.take(source) !== undefined) {
      this.metrics.connectionsRefused++;
      sock.on('error', () => undefined);
      sock.resetAndDestroy();
      return;
    }
    const conn = new Connection(sock, {
      logger: this.log,
      metrics: this.metrics,
      limits: this.limits,
      clock: this.clock,
      ...this.timers,
      findTarget: (iqn) => this.targets.get(iqn)?.info,
      ...(this.identify ? { identify: this.identify } : {}),
      attach: (r, c) => this.attachAndAdmit(r, c),
      closed: (c) => this.onClosed(c),
    });
    this.inLogin.add(conn);
    this.connections.add(conn);
    this.metrics.connections = this.connections.size;
    this.metrics.loginConnections = this.loginPhase.size;
  }

  private leaveLogin(conn: Connection): void {
    if (!this.inLogin.delete(conn)) return;
    this.loginPhase.release(conn.remoteAddress);
    this.metrics.loginConnections = this.loginPhase.size;
  }

  /** attach(), and a connection whose login succeeded no longer counts as in login phase. */
  private attachAndAdmit(r: LoginResult, conn: Connection): PortalSession | number {
    const s = this.attach(r, conn);
    if (typeof s !== 'number') this.leaveLogin(conn);
    return s;
  }

  private onClosed(conn: Connection): void {
    this.leaveLogin(conn);
    this.connections.delete(conn);
    this.metrics.connections = this.connections.size;
    const s = conn.session;
    if (s && s.conn === conn) {
      s.shutdown();
      this.forget(s);
    }
  }

  private forget(s: PortalSession): void {
    for (const [k, v] of this.sessions) if (v === s) this.sessions.delete(k);
    if (this.byTsih.get(s.tsih) === s) this.byTsih.delete(s.tsih);
    const source = this.discoverySource.get(s);
    if (source !== undefined) {
      this.discoverySource.delete(s);
      this.discovery.release(source);
    }
    this.countSessions();
  }

  private countSessions(): void {
    this.metrics.sessions = this.byTsih.size;
    this.metrics.discoverySessions = this.discovery.size;
  }

  private allocTsih(): number {
    for (let i = 0; i < 0x10000; i++) {
      const t = this.nextTsih;
      this.nextTsih = this.nextTsih >= 0xffff ? 1 : this.nextTsih + 1;
      if (!this.byTsih.has(t)) return t;
    }
    return 0;
  }

  private attach(r: LoginResult, conn: Connection): PortalSession | number {
    const iqn = r.target?.iqn ?? '';
    const key = `${r.initiatorName}|${r.isid.toString('hex')}|${r.sessionType === 'Normal' ? iqn : ''}`;
    if (r.tsih !== 0) {
      // A login into an existing session. MaxConnections is 1, so it can only be connection
      // reinstatement (§6.3.4): the same CID as the session's connection, which the initiator has
      // given up on (Linux does this to recover a session after a connection fault, and when a
      // new iscsid takes over a session an initrd made). At ErrorRecoveryLevel 0 the old
      // connection's tasks end (the initiator retries them) and the session goes on. Refusing it
      // would leave the initiator retrying until its replacement timeout, then failing the disk.
      const s = this.byTsih.get(r.tsih);
      if (!s || s.closed || s.initiatorName !== r.initiatorName || !s.isid.equals(r.isid) || s.type !== r.sessionType) return LoginStatus.SessionDoesNotExist;
      if (r.sessionType === 'Normal' && s.target?.iqn !== iqn) return LoginStatus.SessionDoesNotExist;
      const old = s.conn;
      if (old && old !== conn && old.cid !== r.cid) return LoginStatus.TooManyConnections;
      this.log.info('iscsi: connection reinstatement', { initiator: r.initiatorName, target: iqn, tsih: s.tsih, cid: r.cid });
      s.reinstate(conn, r.cmdSN);
      if (old && old !== conn) {
        old.session = undefined; // its close must not end the session it no longer carries
        old.close('connection reinstated', true);
      }
      return s;
    }
    const old = this.sessions.get(key);
    if (old) {
      // Session reinstatement (§6.3.5): the old session and its connection go away.
      this.log.info('iscsi: session reinstatement', { initiator: r.initiatorName, target: iqn, tsih: old.tsih });
      old.shutdown();
      old.conn?.close('session reinstated', true);
      this.forget(old);
    }
    // Separate pools (issue #14 item 1): discovery sessions need no credentials, so they are capped
    // per source and in total on their own and never count against the normal sessions' cap.
    // A full pool answers 0x0302 "out of resources" (§11.13.5): a retryable target error.
    const rec = r.sessionType === 'Normal' ? this.targets.get(iqn) : undefined;
    if (r.sessionType === 'Normal' && !rec) return LoginStatus.TargetRemoved;
    if (r.sessionType === 'Normal' && this.byTsih.size - this.discovery.size >= this.maxSessions) return LoginStatus.OutOfResources;
    if (r.sessionType === 'Discovery') {
      const refused = this.discovery.take(conn.remoteAddress);
      if (refused !== undefined) {
        this.metrics.discoveryRefused++;
        this.log.info('iscsi: discovery session refused', { limit: refused, source: conn.remoteAddress });
        return LoginStatus.OutOfResources;
      }
    }
    const tsih = this.allocTsih();
    if (tsih === 0) {
      if (r.sessionType === 'Discovery') this.discovery.release(conn.remoteAddress);
      return LoginStatus.OutOfResources;
    }
    const session = new Session<Connection>({
      type: r.sessionType,
      isid: r.isid,
      tsih,
      initiatorName: r.initiatorName,
      target: rec ? this.sessionTarget(rec) : undefined,
      params: r.params,
      cmdSN: r.cmdSN,
      logger: this.log,
      counters: this.metrics,
      sendTargets: (who, which, c) => this.sendTargets(who, which, c),
    });
    session.conn = conn;
    this.sessions.set(key, session);
    this.byTsih.set(tsih, session);
    if (r.sessionType === 'Discovery') this.discoverySource.set(session, conn.remoteAddress);
    this.countSessions();
    return session;
  }

  private sessionTarget(rec: TargetRecord): SessionTarget {
    return {
      iqn: rec.def.iqn,
      lu: (n) => rec.luns.get(n),
      lunNumbers: () => [...rec.luns.keys()],
      abortEverywhere: async (lun, except) => {
        const waits: Array<Promise<void>> = [];
        for (const s of this.byTsih.values()) {
          if (s === except || s.target?.iqn !== rec.def.iqn) continue;
          waits.push(s.abortTasks((t) => lun === undefined || t.lunNumber === lun));
        }
        await Promise.all(waits);
      },
      coldReset: () => {
        for (const s of [...this.byTsih.values()]) {
          if (s.target?.iqn !== rec.def.iqn) continue;
          const c = s.conn;
          // Let the TMF response leave first.
          setImmediate(() => c?.close('target cold reset'));
        }
      },
    };
  }

  /** SendTargets (§11.10 / appendix C): targets this initiator may see, with our address. */
  private sendTargets(initiator: string, which: string, conn: Connection): TextPairs {
    const out: TextPairs = [];
    const host = conn.localAddress.includes(':') ? `[${conn.localAddress}]` : conn.localAddress;
    for (const rec of this.targets.values()) {
      if (which !== 'All' && which !== rec.def.iqn) continue;
      if (!rec.info.allows(initiator, conn.remoteAddress)) continue;
      out.push(['TargetName', rec.def.iqn]);
      out.push(['TargetAddress', `${host}:${conn.localPort},1`]);
    }
    return out;
  }

  /** Serialise definition changes so concurrent add/remove calls cannot interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.pending.then(fn, fn);
    this.pending = p.catch(() => undefined);
    return p;
  }

  addTarget(def: TargetDefinition): Promise<void> {
    return this.serial(async () => {
      validate(def);
      const old = this.targets.get(def.iqn);
      if (old && JSON.stringify(old.def) === JSON.stringify(def)) return; // idempotent
      const luns = new Map<number, LogicalUnit>();
      try {
        for (const l of def.luns) {
          const file = l.clone
            ? await LunClone.open({ golden: l.clone.golden, delta: l.path, map: l.clone.map })
            : await LunFile.open({
                path: l.path,
                ...(l.sizeBytes !== undefined ? { sizeBytes: l.sizeBytes } : {}),
                ...(l.blockSize !== undefined ? { blockSize: l.blockSize } : {}),
              });
          luns.set(l.lun, new LogicalUnit(l.lun, file, luIdentity(def.iqn, l.lun, l.path)));
        }
      } catch (e) {
        for (const lu of luns.values()) await lu.file.close();
        throw e;
      }
      const stored = cloneDef(def);
      const chap: ChapCredentials | undefined = stored.chap ? { ...stored.chap } : undefined;
      const info: LoginTargetInfo = {
        iqn: stored.iqn,
        chap,
        allows: (name, addr) =>
          stored.allowedInitiators.includes(name) &&
          (stored.allowedAddresses === undefined || stored.allowedAddresses.length === 0 || addressAllowed(addr, stored.allowedAddresses)),
      };
      this.targets.set(def.iqn, { def: stored, luns, info });
      if (old) {
        // A changed definition (LUNs, ACL or CHAP) takes effect for everyone: existing
        // sessions are dropped and the initiators log in again against the new one.
        await this.dropSessions(def.iqn);
        for (const lu of old.luns.values()) await lu.file.close();
      }
      this.log.info('iscsi: target defined', { iqn: def.iqn, luns: def.luns.map((l) => l.lun), auth: chap ? 'CHAP' : 'None' });
    });
  }

  removeTarget(iqn: string): Promise<void> {
    return this.serial(async () => {
      const rec = this.targets.get(iqn);
      if (!rec) return;
      this.targets.delete(iqn);
      await this.dropSessions(iqn);
      for (const lu of rec.luns.values()) await lu.file.close();
      this.log.info('iscsi: target removed', { iqn });
    });
  }

  private async dropSessions(iqn: string): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const s of [...this.byTsih.values()]) {
      if (s.target?.iqn !== iqn) continue;
      waits.push(...s.runningWork(undefined).map((p) => p.catch(() => undefined)));
      s.shutdown();
      s.conn?.close('target changed or removed', true);
      this.forget(s);
    }
    await Promise.all(waits);
  }

  /** The IQNs of the targets served (no copy of their definitions: the storage adapter asks at every export). */
  targetIqns(): string[] {
    return [...this.targets.keys()];
  }

  /** The write counters of each LU of target `iqn` (LunStore.writeStats, copied); [] for an unknown target. */
  writeStats(iqn: string): Array<{ lun: number } & WriteStats> {
    const rec = this.targets.get(iqn);
    if (!rec) return [];
    return [...rec.luns.values()].map((lu) => {
      const { writes, requests, onLoop, slowPauses } = lu.file.writeStats;
      return { lun: lu.number, writes, requests, onLoop, slowPauses };
    });
  }

  /** Definitions as given (secrets included: internal API, never log the result). */
  listTargets(): TargetDefinition[] {
    return [...this.targets.values()].map((r) => cloneDef(r.def));
  }
}

function validate(def: TargetDefinition): void {
  const bad = iscsiNameProblem(def.iqn);
  if (bad) throw new UserError('E_ISCSI_IQN', `invalid target name "${def.iqn}": ${bad}`);
  const seen = new Set<number>();
  for (const l of def.luns) {
    if (!Number.isInteger(l.lun) || l.lun < 0 || l.lun > 16383) throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn}: must be 0..16383`);
    if (seen.has(l.lun)) throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn} is defined twice`);
    seen.add(l.lun);
    if (!l.path) throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn} has no path`);
    if (l.clone !== undefined && (!l.clone.golden || !l.clone.map))
      throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn}: a clone needs its golden volume and map paths`);
  }
  if (def.chap) {
    if (!def.chap.user || !def.chap.secret) throw new UserError('E_ISCSI_CHAP', `CHAP for ${def.iqn} needs a user and a secret`);
    if ((def.chap.mutualUser === undefined) !== (def.chap.mutualSecret === undefined)) {
      throw new UserError('E_ISCSI_CHAP', `mutual CHAP for ${def.iqn} needs both mutualUser and mutualSecret`);
    }
    if (def.chap.mutualSecret !== undefined && def.chap.mutualSecret === def.chap.secret) {
      throw new UserError('E_ISCSI_CHAP', `mutual CHAP secret for ${def.iqn} must differ from the initiator secret`);
    }
  }
}
