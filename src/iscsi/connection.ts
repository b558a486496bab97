// One TCP connection: framing input, the login phase, dispatching full-feature PDUs to the
// session, and batching output. Output is queued and flushed in the event loop's check phase
// (setImmediate) inside socket.cork()/uncork(): every response completed in one poll phase —
// all the file I/O callbacks libuv delivers together, all PDUs of one received chunk — leaves
// in a single writev instead of one send(2) per response. When the socket's buffer is full we stop reading from it, which stops new commands
// until the initiator has drained its responses (backpressure instead of unbounded memory).
import type { Socket } from 'node:net';
import { DecodeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { CancelTimer, Clock } from './clock.js';
import { FramingError, PduFramer } from './framer.js';
import { LoginNegotiation, LoginStatus, Stage, type LoginHost, type LoginResult } from './login.js';
import {
  BHS_LENGTH,
  RejectReason,
  decodePdu,
  encodeLoginResponse,
  encodeLogoutResponse,
  encodeReject,
  opcodeOf,
  pduParts,
  type InitiatorPdu,
  type LoginRequestPdu,
  type LogoutRequestPdu,
} from './pdu.js';
import { CMD_WINDOW } from './cmdsn.js';
import type { Session } from './session.js';
import { encodeTextKeys, type TargetLimits } from './text-keys.js';

export interface ConnectionMetrics {
  pdusIn: number;
  pdusOut: number;
  rejects: number;
  malformedPdus: number;
  /** Logins that reached full-feature phase (normal and discovery sessions). */
  logins: number;
  loginFailures: number;
  /** Connections closed by the login-phase deadlines (loginIdleMs, loginTimeoutMs); also counted in loginFailures. */
  loginTimeouts: number;
  /** Discovery sessions closed by their deadlines (discoveryIdleMs, discoveryMaxMs). */
  discoveryTimeouts: number;
  bytesIn: number;
  bytesOut: number;
}

/** What a connection needs from the portal (target.ts). */
/** The machine behind an initiator's address (host name, MAC): for log lines only. */
export type IdentifyPeer = (address: string) => Promise<{ host: string; mac: string | null } | null>;

export interface ConnectionHost {
  logger: Logger;
  /** Names host and MAC on the login lines; without it they are null. */
  identify?: IdentifyPeer;
  metrics: ConnectionMetrics;
  limits: TargetLimits;
  /** Reads the time and sets every deadline and ping timer below. */
  clock: Clock;
  /** Login phase, from accept: it must reach full-feature phase within this (total deadline). */
  loginTimeoutMs: number;
  /** Login phase: nothing received for this long ends the connection (idle deadline). */
  loginIdleMs: number;
  /**
   * Discovery sessions (no CHAP, §4.3): nothing received for this long ends the connection, and
   * none lasts longer than discoveryMaxMs from the end of its login, however busy.
   */
  discoveryIdleMs: number;
  discoveryMaxMs: number;
  /**
   * Dead-peer detection in full-feature phase: after this long with nothing received, the target
   * pings with a NOP-In (§11.19); 0 turns it off.
   */
  pingIdleMs: number;
  /** A ping unanswered (nothing at all received) for this long ends the connection. */
  pingTimeoutMs: number;
  findTarget: LoginHost['findTarget'];
  /** Create or join a session for a finished login; a number is a login status to fail with. */
  attach(result: LoginResult, conn: Connection): Session<Connection> | number;
  closed(conn: Connection): void;
}

const LOGIN_MRDSL = 8192; // §13.12: the default during login

export class Connection {
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly localPort: number;
  statSN = 1;
  session: Session<Connection> | undefined;
  cid = 0;
  private readonly host: ConnectionHost;
  private readonly framer = new PduFramer({ headerDigest: false, dataDigest: false, maxDataSegmentLength: LOGIN_MRDSL });
  private digests = { header: false, data: false };
  private login: LoginNegotiation | undefined;
  private phase: 'login' | 'full' | 'closing' = 'login';
  private readonly clock: Clock;
  private readonly openedAt: number;
  private fullAt = 0;
  private deadlineTimer: CancelTimer | undefined;
  private outq: Buffer[] = [];
  private outCbs: Array<{ at: number; cb: () => void }> = [];
  private flushScheduled = false;
  private currentBhs: Buffer | undefined;
  private readonly log: Logger;
  private paused = false;
  private lastRx: number;
  private pingTimer: CancelTimer | undefined;
  private pingSentAt: number | undefined;
  private nextPingTtt = 1;

  constructor(socket: Socket, host: ConnectionHost) {
    this.socket = socket;
    this.host = host;
    this.clock = host.clock;
    this.openedAt = this.lastRx = this.clock.now();
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.localAddress = normalizeAddress(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
    this.log = host.logger.child({ peer: `${this.remoteAddress}:${socket.remotePort ?? 0}` });
    socket.setNoDelay(true);
    // No TCP keepalive: Node fixes its probes at 10 × 1 s, so a guest that stalls for 10 s (a
    // loaded hypervisor, a long console redraw) lost its root disk's connection. The NOP-In ping
    // below detects dead peers with timers an administrator can set.
    this.armDeadline();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.paused && this.phase !== 'closing') {
        this.paused = false;
        socket.resume();
      }
    });
    socket.on('error', (e) => this.log.debug('iscsi: socket error', { err: e }));
    socket.on('close', () => this.teardown());
  }

  private isClosing(): boolean {
    return this.phase === 'closing';
  }

  get isFullFeature(): boolean {
    return this.phase === 'full';
  }

  nextStatSN(): number {
    const s = this.statSN;
    this.statSN = (this.statSN + 1) >>> 0;
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // Output
  // -------------------------------------------------------------------------------------------

  /** Queue one PDU; `cb` runs once its bytes have been handed to the kernel. */
  send(bhs: Buffer, data: readonly Buffer[], cb?: () => void): void {
    if (this.phase === 'closing' && !this.socket.writable) {
      cb?.();
      return;
    }
    const parts = pduParts(bhs, data, this.digests);
    for (const p of parts) this.outq.push(p);
    if (cb) this.outCbs.push({ at: this.outq.length, cb });
    this.host.metrics.pdusOut++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const q = this.outq;
    const cbs = this.outCbs;
    this.outq = [];
    this.outCbs = [];
    if (q.length === 0) return;
    if (this.socket.destroyed) {
      for (const c of cbs) c.cb();
      return;
    }
    let ci = 0;
    let bytes = 0;
    this.socket.cork();
    for (let i = 0; i < q.length; i++) {
      bytes += q[i]!.length;
      const c = cbs[ci];
      if (c && c.at === i + 1) {
        const fns: Array<() => void> = [];
        while (cbs[ci] && cbs[ci]!.at === i + 1) fns.push(cbs[ci++]!.cb);
        this.socket.write(q[i]!, () => {
          for (const f of fns) f();
        });
      } else {
        this.socket.write(q[i]!);
      }
    }
    this.socket.uncork();
    this.host.metrics.bytesOut += bytes;
    if (this.socket.writableNeedDrain && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /**
   * Reject (§11.17) a PDU; its BHS is the Reject's data segment. `pdu` names it — a command held
   * for CmdSN order runs while a later PDU is being read, so the header being read is not its
   * own. Without `pdu` (undecodable input) the header being read is the one rejected.
   */
  reject(reason: number, pdu?: { bhs: Buffer }): void {
    this.host.metrics.rejects++;
    const bhs = Buffer.from(pdu?.bhs ?? this.currentBhs ?? Buffer.alloc(BHS_LENGTH));
    const s = this.session;
    this.send(
      encodeReject({
        reason,
        seq: { statSN: this.nextStatSN(), expCmdSN: s?.expCmdSN ?? 0, maxCmdSN: s?.maxCmdSN ?? 0 },
      }),
      [bhs],
    );
  }

  /** Flush what is queued, then end the connection (`now`: do not wait for the peer). */
  close(reason: string, now = false): void {
    if (this.phase === 'closing') return;
    this.phase = 'closing';
    this.log.debug('iscsi: closing connection', { reason });
    this.stopTimers();
    this.session?.shutdown();
    this.flush();
    if (now) this.socket.destroySoon();
    else this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref?.();
  }

  /**
   * Arms the dead-peer check for the next moment something can be due: the idle limit since the
   * last received byte, or the deadline of the ping in flight. Any received byte answers a ping.
   */
  private armPing(): void {
    this.pingTimer?.();
    this.pingTimer = undefined;
    if (this.phase !== 'full' || this.host.pingIdleMs <= 0) return;
    const due = this.pingSentAt !== undefined ? this.pingSentAt + this.host.pingTimeoutMs : this.lastRx + this.host.pingIdleMs;
    this.pingTimer = this.clock.after(Math.max(10, due - this.clock.now()), () => this.checkPeer());
  }

  private checkPeer(): void {
    this.pingTimer = undefined;
    if (this.phase !== 'full' || !this.session) return;
    const now = this.clock.now();
    if (this.pingSentAt !== undefined && this.lastRx >= this.pingSentAt) this.pingSentAt = undefined;
    if (this.pingSentAt !== undefined) {
      if (now - this.pingSentAt >= this.host.pingTimeoutMs) {
        this.log.warn('iscsi: peer silent; closing the connection', { silentMs: now - this.lastRx, pingTimeoutMs: this.host.pingTimeoutMs });
        this.close('no reply to NOP-In ping', true);
        return;
      }
    } else if (now - this.lastRx >= this.host.pingIdleMs) {
      const ttt = this.nextPingTtt;
      this.nextPingTtt = this.nextPingTtt >= 0xfffffffe ? 1 : this.nextPingTtt + 1;
      this.session.ping(this, ttt);
      this.pingSentAt = now;
    }
    this.armPing();
  }

  /**
   * The deadlines of an unauthenticated connection: in login phase loginIdleMs / loginTimeoutMs
   * from accept; in a discovery session discoveryIdleMs / discoveryMaxMs from the end of login.
   * Normal sessions have none (they are watched by the ping above).
   */
  private deadlines(): { what: 'login' | 'discovery'; idleMs: number; endAt: number } | undefined {
    if (this.phase === 'login') return { what: 'login', idleMs: this.host.loginIdleMs, endAt: this.openedAt + this.host.loginTimeoutMs };
    if (this.phase === 'full' && this.session?.type === 'Discovery') {
      return { what: 'discovery', idleMs: this.host.discoveryIdleMs, endAt: this.fullAt + this.host.discoveryMaxMs };
    }
    return undefined;
  }

  /** Like armPing: one timer for the earliest deadline, re-armed when it fires early (no per-byte work). */
  private armDeadline(): void {
    this.deadlineTimer?.();
    this.deadlineTimer = undefined;
    const d = this.deadlines();
    if (!d) return;
    const due = Math.min(this.lastRx + d.idleMs, d.endAt);
    this.deadlineTimer = this.clock.after(Math.max(0, due - this.clock.now()), () => this.checkDeadline());
  }

  private checkDeadline(): void {
    this.deadlineTimer = undefined;
    const d = this.deadlines();
    if (!d) return;
    const now = this.clock.now();
    const why = now >= d.endAt ? 'total' : now - this.lastRx >= d.idleMs ? 'idle' : undefined;
    if (!why) {
      this.armDeadline();
      return;
    }
    if (d.what === 'login') {
      this.host.metrics.loginFailures++;
      this.host.metrics.loginTimeouts++;
      this.log.warn(why === 'total' ? 'iscsi: login did not finish in time; closing' : 'iscsi: login idle; closing', {
        ms: why === 'total' ? this.host.loginTimeoutMs : this.host.loginIdleMs,
      });
      this.close(`login ${why} deadline`, true);
    } else {
      this.host.metrics.discoveryTimeouts++;
      this.log.info(why === 'total' ? 'iscsi: discovery session reached its time limit; closing' : 'iscsi: discovery session idle; closing', {
        ms: why === 'total' ? this.host.discoveryMaxMs : this.host.discoveryIdleMs,
      });
      this.close(`discovery ${why} deadline`, true);
    }
  }

  private stopTimers(): void {
    this.pingTimer?.();
    this.pingTimer = undefined;
    this.deadlineTimer?.();
    this.deadlineTimer = undefined;
  }

  private teardown(): void {
    this.stopTimers();
    this.phase = 'closing';
    this.session?.shutdown();
    this.host.closed(this);
  }

  // -------------------------------------------------------------------------------------------
  // Input
  // -------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.phase === 'closing') return;
    this.lastRx = this.clock.now();
    this.host.metrics.bytesIn += chunk.length;
    this.framer.push(chunk);
    try {
      for (;;) {
        if (this.isClosing()) return;
        const raw = this.framer.next();
        if (!raw) break;
        this.host.metrics.pdusIn++;
        this.currentBhs = raw.bhs;
        if (raw.dataDigestError) {
          // §7.8: discard the PDU; with ERL 0 the task cannot be recovered, so end the connection.
          this.host.metrics.malformedPdus++;
          this.reject(RejectReason.DataDigestError);
          this.close('data digest error');
          return;
        }
        let pdu: InitiatorPdu;
        try {
          pdu = decodePdu(raw);
        } catch (e) {
          this.host.metrics.malformedPdus++;
          const code = e instanceof DecodeError ? e.code : '';
          this.log.debug('iscsi: undecodable PDU', { code, opcode: opcodeOf(raw.bhs) });
          if (this.phase === 'login') {
            this.close('bad PDU during login');
            return;
          }
          this.reject(code === 'E_ISCSI_OPCODE' ? RejectReason.CommandNotSupported : RejectReason.InvalidPduField);
          continue;
        }
        if (this.phase === 'login') this.handleLogin(pdu);
        else this.handleFull(pdu);
      }
    } catch (e) {
      if (e instanceof FramingError) {
        // Lengths or header digest we cannot trust: the stream is lost (§7.8, §11.2.1).
        this.host.metrics.malformedPdus++;
        this.log.warn('iscsi: framing error; dropping the connection', { code: e.code, msg: e.message });
        this.close('framing error', true);
        return;
      }
      this.log.error('iscsi: internal error handling a PDU; dropping the connection', { err: e });
      this.close('internal error', true);
    } finally {
      this.currentBhs = undefined;
    }
  }

  private handleLogin(pdu: InitiatorPdu): void {
    if (pdu.kind !== 'login') {
      // Only Login Requests are allowed before full-feature phase (§6.3).
      this.host.metrics.loginFailures++;
      this.close('non-login PDU during login');
      return;
    }
    if (!this.login) {
      this.login = new LoginNegotiation({
        findTarget: this.host.findTarget,
        limits: this.host.limits,
        remoteAddress: this.remoteAddress,
      });
    }
    const step = this.login.step(pdu);
    let status = step.status;
    let session: Session<Connection> | undefined;
    if (status === LoginStatus.Success && step.complete) {
      const r = this.host.attach(step.complete, this);
      if (typeof r === 'number') status = r;
      else session = r;
    }
    if (status !== LoginStatus.Success) {
      this.host.metrics.loginFailures++;
      this.logLogin('iscsi: login refused', {
        status: '0x' + status.toString(16).padStart(4, '0'),
        reason: step.reason ?? 'session attach failed',
        initiator: this.login.initiator,
        target: this.login.targetName,
      });
      this.sendLoginResponse(pdu, { ...step, status, transit: false, nsg: 0, keys: status === step.status ? step.keys : [] }, 0);
      this.close('login failed');
      return;
    }
    const tsih = session?.tsih ?? pdu.tsih;
    this.sendLoginResponse(pdu, step, tsih);
    if (session) {
      this.host.metrics.logins++;
      this.session = session;
      this.cid = pdu.cid;
      this.phase = 'full';
      this.fullAt = this.clock.now();
      // A discovery session trades the login deadlines for its own; a normal one for the ping.
      this.armDeadline();
      if (session.type === 'Normal') this.armPing();
      const p = session.params;
      // Digests and our MaxRecvDataSegmentLength apply from the next PDU on (§13.13).
      this.digests = { header: p.headerDigest, data: p.dataDigest };
      this.framer.setLimits({
        headerDigest: p.headerDigest,
        dataDigest: p.dataDigest,
        maxDataSegmentLength: p.targetMaxRecvDataSegmentLength,
      });
      this.logLogin('iscsi: session up', {
        type: session.type,
        initiator: session.initiatorName,
        target: session.target?.iqn,
        tsih: session.tsih,
        mrdsl: p.initiatorMaxRecvDataSegmentLength,
        maxBurst: p.maxBurstLength,
        firstBurst: p.firstBurstLength,
        immediateData: p.immediateData,
        initialR2T: p.initialR2T,
        digests: `${p.headerDigest ? 'CRC32C' : 'None'}/${p.dataDigest ? 'CRC32C' : 'None'}`,
      });
    }
  }

  /**
   * A login's one info line, with the initiator's host and MAC first (null when unknown). The
   * negotiation keys (CHAP_N, CHAP_R...) are never among the fields.
   */
  private logLogin(msg: string, fields: Record<string, unknown>): void {
    const identify = this.host.identify;
    if (!identify) {
      this.log.info(msg, { host: null, mac: null, ...fields });
      return;
    }
    void identify(this.remoteAddress)
      .catch(() => null)
      .then((who) => this.log.info(msg, { host: who?.host ?? null, mac: who?.mac ?? null, ...fields }));
  }

  private sendLoginResponse(
    pdu: LoginRequestPdu,
    step: { status: number; transit: boolean; cont: boolean; csg: number; nsg: number; keys: Array<[string, string]> },
    tsih: number,
  ): void {
    const body = encodeTextKeys(step.keys);
    const exp = pdu.cmdSN >>> 0;
    const bhs = encodeLoginResponse({
      transit: step.transit,
      cont: step.cont,
      csg: step.csg,
      nsg: step.transit ? step.nsg : 0,
      versionMax: 0,
      versionActive: 0,
      isid: pdu.isid,
      tsih: step.transit && step.nsg === Stage.FullFeature ? tsih : pdu.tsih,
      itt: pdu.itt,
      statusClass: step.status >> 8,
      statusDetail: step.status & 0xff,
      dataLength: body.length,
      seq: { statSN: this.nextStatSN(), expCmdSN: exp, maxCmdSN: (exp + CMD_WINDOW - 1) >>> 0 },
    });
    this.send(bhs, body.length ? [body] : []);
  }

  private handleFull(pdu: InitiatorPdu): void {
    const s = this.session!;
    switch (pdu.kind) {
      case 'scsi-command':
        s.ordered(pdu.immediate, pdu.cmdSN, () => s.scsiCommand(this, pdu));
        return;
      case 'data-out':
        s.dataOut(this, pdu);
        return;
      case 'nop-out':
        if (pdu.itt === 0xffffffff && !pdu.immediate) {
          this.reject(RejectReason.ProtocolError);
          return;
        }
        s.ordered(pdu.immediate, pdu.cmdSN, () => s.nopOut(this, pdu));
        return;
      case 'task-mgmt':
        s.ordered(pdu.immediate, pdu.cmdSN, () => s.taskManagement(this, pdu));
        return;
      case 'text':
        s.ordered(pdu.immediate, pdu.cmdSN, () => s.text(this, pdu));
        return;
      case 'logout':
        s.ordered(pdu.immediate, pdu.cmdSN, () => this.logout(pdu));
        return;
      case 'login':
        // A Login Request in full-feature phase is a protocol error (§6.3).
        this.reject(RejectReason.ProtocolError);
        this.close('login in full-feature phase');
        return;
      case 'snack':
        // SNACK needs ErrorRecoveryLevel > 0, which we never negotiate.
        this.reject(RejectReason.CommandNotSupported);
        return;
    }
  }

  private logout(pdu: LogoutRequestPdu): void {
    const s = this.session!;
    // Reason 2 (remove the connection for recovery) needs ERL 2: response 2 "recovery not supported".
    const response = pdu.reason === 2 ? 2 : pdu.reason <= 1 ? 0 : 3;
    const bhs = encodeLogoutResponse({
      itt: pdu.itt,
      response,
      time2Wait: 0,
      time2Retain: 0,
      seq: { statSN: this.nextStatSN(), expCmdSN: s.expCmdSN, maxCmdSN: s.maxCmdSN },
    });
    this.send(bhs, []);
    if (response === 0) this.close('logout');
  }
}

export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
