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
import type { ChapCredentials } from './chap.js';
import { Connection, normalizeAddress, type ConnectionMetrics } from './connection.js';
import { LoginStatus, type LoginResult, type LoginTargetInfo } from './login.js';
import { LunFile } from './lun-file.js';
import { LogicalUnit, luIdentity } from './scsi/logical-unit.js';
import { Session, type SessionCounters, type SessionTarget } from './session.js';
import { DEFAULT_LIMITS, type TargetLimits, type TextPairs } from './text-keys.js';

export type { LunBackingOptions } from './lun-file.js';

export interface TargetDefinition {
  iqn: string;
  luns: Array<{ lun: number; path: string; sizeBytes?: number; blockSize?: 512 | 4096 }>;
  allowedInitiators: string[];
  chap?: { user: string; secret: string; mutualUser?: string; mutualSecret?: string };
  /** Source addresses (IPv4/IPv6 literals, or IPv4 CIDR like 10.1.0.0/16) allowed to log in. */
  allowedAddresses?: string[];
}

export interface IscsiTargetOptions {
  host?: string;
  port?: number;
  logger?: Logger;
  maxSessions?: number;
  loginTimeoutMs?: number;
  /** Full-feature idle time before a NOP-In ping (0: never ping); default 30 s. */
  pingIdleMs?: number;
  /** How long a ping may go unanswered before the connection ends; default 60 s. */
  pingTimeoutMs?: number;
  /** Override negotiation limits (tests); defaults follow REFERENCE.md §6. */
  limits?: Partial<TargetLimits>;
}

export interface IscsiMetrics extends ConnectionMetrics, SessionCounters {
  sessions: number;
  connections: number;
}

const IQN_RE = /^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/;

interface TargetRecord {
  def: TargetDefinition;
  luns: Map<number, LogicalUnit>;
  info: LoginTargetInfo;
}

function ipv4ToInt(a: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
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
    const base = ipv4ToInt(entry.slice(0, slash));
    const bits = Number(entry.slice(slash + 1));
    const ip = ipv4ToInt(a);
    if (base === undefined || ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) continue;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if (((ip & mask) >>> 0) === ((base & mask) >>> 0)) return true;
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
  private readonly loginTimeoutMs: number;
  private readonly pingIdleMs: number;
  private readonly pingTimeoutMs: number;
  private readonly limits: TargetLimits;
  private server: net.Server | undefined;
  private boundPort = 0;
  private readonly targets = new Map<string, TargetRecord>();
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>(); // key: initiator|isid|target
  private readonly byTsih = new Map<number, Session>();
  private nextTsih = 1;
  private pending: Promise<unknown> = Promise.resolve();

  readonly metrics: IscsiMetrics = {
    pdusIn: 0,
    pdusOut: 0,
    rejects: 0,
    malformedPdus: 0,
    loginFailures: 0,
    bytesIn: 0,
    bytesOut: 0,
    cmdSnDropped: 0,
    commands: 0,
    tmfs: 0,
    sessions: 0,
    connections: 0,
  };

  constructor(opts: IscsiTargetOptions = {}) {
    this.host = opts.host ?? '0.0.0.0';
    this.requestedPort = opts.port ?? 3260;
    this.log = opts.logger ?? silentLogger;
    this.maxSessions = opts.maxSessions ?? 1024;
    this.loginTimeoutMs = opts.loginTimeoutMs ?? 15_000;
    this.pingIdleMs = opts.pingIdleMs ?? 30_000;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? 60_000;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
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
      const onErr = (e: Error): void => reject(new NetrootError('E_ISCSI_LISTEN', `cannot listen on ${this.host}:${this.requestedPort}: ${e.message}`, { cause: e }));
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
    this.metrics.sessions = 0;
  }

  private accept(sock: net.Socket): void {
    const conn = new Connection(sock, {
      logger: this.log,
      metrics: this.metrics,
      limits: this.limits,
      loginTimeoutMs: this.loginTimeoutMs,
      pingIdleMs: this.pingIdleMs,
      pingTimeoutMs: this.pingTimeoutMs,
      findTarget: (iqn) => this.targets.get(iqn)?.info,
      attach: (r, c) => this.attach(r, c),
      closed: (c) => this.onClosed(c),
    });
    this.connections.add(conn);
    this.metrics.connections = this.connections.size;
  }

  private onClosed(conn: Connection): void {
    this.connections.delete(conn);
    this.metrics.connections = this.connections.size;
    const s = conn.session;
    if (s && s.conn === conn) {
      s.shutdown();
      this.forget(s);
    }
  }

  private forget(s: Session): void {
    for (const [k, v] of this.sessions) if (v === s) this.sessions.delete(k);
    if (this.byTsih.get(s.tsih) === s) this.byTsih.delete(s.tsih);
    this.metrics.sessions = this.byTsih.size;
  }

  private allocTsih(): number {
    for (let i = 0; i < 0x10000; i++) {
      const t = this.nextTsih;
      this.nextTsih = this.nextTsih >= 0xffff ? 1 : this.nextTsih + 1;
      if (!this.byTsih.has(t)) return t;
    }
    return 0;
  }

  private attach(r: LoginResult, conn: Connection): Session | number {
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
    if (this.byTsih.size >= this.maxSessions) return LoginStatus.OutOfResources;
    const tsih = this.allocTsih();
    if (tsih === 0) return LoginStatus.OutOfResources;
    const rec = r.sessionType === 'Normal' ? this.targets.get(iqn) : undefined;
    if (r.sessionType === 'Normal' && !rec) return LoginStatus.TargetRemoved;
    const session = new Session({
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
    this.metrics.sessions = this.byTsih.size;
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
          const file = await LunFile.open({
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

  /** Definitions as given (secrets included: internal API, never log the result). */
  listTargets(): TargetDefinition[] {
    return [...this.targets.values()].map((r) => cloneDef(r.def));
  }
}

function validate(def: TargetDefinition): void {
  if (!IQN_RE.test(def.iqn) || def.iqn.length > 223) throw new UserError('E_ISCSI_IQN', `invalid target name "${def.iqn}"`);
  const seen = new Set<number>();
  for (const l of def.luns) {
    if (!Number.isInteger(l.lun) || l.lun < 0 || l.lun > 16383) throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn}: must be 0..16383`);
    if (seen.has(l.lun)) throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn} is defined twice`);
    seen.add(l.lun);
    if (!l.path) throw new UserError('E_ISCSI_LUN', `LUN ${l.lun} of ${def.iqn} has no path`);
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
