// A normal or discovery session in full-feature phase (RFC 7143 §4): the task table and the life
// of a SCSI command (immediate and unsolicited data, R2T, execution, Data-In and status), NOP-Out
// and the dispatch of task management and text requests. Its parts live beside it:
// `cmdsn.ts` (CmdSN window and held commands), `data-out.ts` (Data-Out sequencing),
// `budget.ts` (the memory budget), `data-in.ts` (Data-In segmentation), `task-management.ts`
// and `send-targets.ts` (text requests). MaxConnections is negotiated to 1, so a session has
// exactly one connection, which owns the socket and StatSN; the session reaches it only through
// `SessionLink` below (connection.ts implements it, and imports this file, not the reverse).
// ErrorRecoveryLevel is 0: a protocol error in the data path ends the command or the connection
// (the initiator recovers by retrying or logging in again).
import type { Logger } from '../log/logger.js';
import { ByteBudget, SESSION_BYTE_BUDGET } from './budget.js';
import { CommandWindow } from './cmdsn.js';
import { DataInSplitter } from './data-in.js';
import { DataOutSequencer, dataOutNeed, type DataOutError, type EarlyResponse } from './data-out.js';
import {
  RESERVED_TAG,
  RejectReason,
  TmfResponse,
  encodeDataIn,
  encodeNopIn,
  encodeR2T,
  encodeScsiResponse,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  lunToNumber,
  type DataOutPdu,
  type NopOutPdu,
  type ScsiCommandPdu,
  type TaskMgmtPdu,
  type TextRequestPdu,
} from './pdu.js';
import { commandName, dispatch } from './scsi/commands.js';
import type { LogicalUnit } from './scsi/logical-unit.js';
import { Asc, SenseKey, Status, buildSense } from './scsi/sense.js';
import type { Plan, ScsiResult } from './scsi/types.js';
import { TextExchange } from './send-targets.js';
import { taskManagement, type TmfSession, type TmfTarget } from './task-management.js';
import type { NegotiatedParams, TextPairs } from './text-keys.js';

/**
 * The session's view of its connection: StatSN, output and Reject. connection.ts implements it;
 * the session never sees sockets, framing or the login phase.
 */
export interface SessionLink {
  /** The StatSN the next status will carry; reading it does not advance it (R2T, NOP-In ping). */
  readonly statSN: number;
  /** Take the next StatSN (a PDU carrying status: response, Data-In with status, NOP-In...). */
  nextStatSN(): number;
  /** Queue one PDU; `cb` runs once its bytes have been handed to the kernel. */
  send(bhs: Buffer, data: readonly Buffer[], cb?: () => void): void;
  /**
   * Reject `pdu` (§11.17): the Reject carries that PDU's own header — a command held for CmdSN
   * order runs while a later PDU is being read.
   */
  reject(reason: number, pdu: { bhs: Buffer }): void;
}

/** What a session needs from the portal: its target's LUs and a few counters. */
export interface SessionTarget extends TmfTarget {
  iqn: string;
  lu(n: number): LogicalUnit | undefined;
}

export interface SessionCounters {
  rejects: number;
  malformedPdus: number;
  cmdSnDropped: number;
  commands: number;
  tmfs: number;
  /** SCSI data sent to initiators in Data-In PDUs (reads, and INQUIRY-like answers). */
  dataInBytes: number;
  /** SCSI data initiators wrote, counted when the write command succeeded. */
  dataOutBytes: number;
}

interface Task {
  itt: number;
  lun: Buffer;
  lunNumber: number;
  lu: LogicalUnit | undefined;
  cdb: Buffer;
  edtl: number;
  plan: Plan;
  /** Its data-out: the bytes kept, the unsolicited part and the R2Ts. */
  out: DataOutSequencer;
  /** A response decided before the data phase ended (sent once unsolicited data is in). */
  early: EarlyResponse | undefined;
  state: 'data' | 'running' | 'done';
  aborted: boolean;
  running: Promise<void> | undefined;
  budget: number;
  /** 'asked' while waiting for session memory before soliciting data with R2Ts. */
  budgetState: 'none' | 'asked' | 'granted';
}

/** `C`: the connection type the portal works with (connection.ts's Connection). */
export class Session<C extends SessionLink = SessionLink> implements TmfSession<Task> {
  readonly type: 'Normal' | 'Discovery';
  readonly isid: Buffer;
  readonly tsih: number;
  readonly initiatorName: string;
  readonly target: SessionTarget | undefined;
  readonly params: NegotiatedParams;
  conn: C | undefined;
  private readonly tasks = new Map<number, Task>();
  private readonly window: CommandWindow;
  /** ITTs aborted recently: late Data-Out for them is dropped quietly. */
  private readonly abortedItts = new Set<number>();
  private nextTtt = 1;
  private readonly budget = new ByteBudget(SESSION_BYTE_BUDGET);
  private readonly dataIn: DataInSplitter;
  private readonly textExchange: TextExchange;
  private readonly log: Logger;
  private readonly counters: SessionCounters;
  private readonly sendTargets: (initiator: string, which: string, conn: C) => TextPairs;
  closed = false;

  constructor(opts: {
    type: 'Normal' | 'Discovery';
    isid: Buffer;
    tsih: number;
    initiatorName: string;
    target: SessionTarget | undefined;
    params: NegotiatedParams;
    cmdSN: number;
    logger: Logger;
    counters: SessionCounters;
    sendTargets: (initiator: string, which: string, conn: C) => TextPairs;
  }) {
    this.type = opts.type;
    this.isid = Buffer.from(opts.isid);
    this.tsih = opts.tsih;
    this.initiatorName = opts.initiatorName;
    this.target = opts.target;
    this.params = opts.params;
    this.window = new CommandWindow(opts.cmdSN, () => this.tasks.size);
    this.dataIn = new DataInSplitter(opts.params.initiatorMaxRecvDataSegmentLength, opts.params.maxBurstLength);
    this.textExchange = new TextExchange(opts.type, opts.target?.iqn, opts.params.initiatorMaxRecvDataSegmentLength, () => this.allocTtt());
    this.log = opts.logger;
    this.counters = opts.counters;
    this.sendTargets = opts.sendTargets;
  }

  get expCmdSN(): number {
    return this.window.expCmdSN;
  }

  /** MaxCmdSN: the window shrinks while many tasks are active, and never moves backwards. */
  get maxCmdSN(): number {
    return this.window.maxCmdSN;
  }

  get activeTasks(): number {
    return this.tasks.size;
  }

  private seq(statSN: number): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    return { statSN, expCmdSN: this.window.expCmdSN, maxCmdSN: this.window.maxCmdSN };
  }

  /** Run `run` in CmdSN order (cmdsn.ts); a CmdSN outside the window is counted and ignored. */
  ordered(immediate: boolean, cmdSN: number, run: () => void): void {
    if (this.window.ordered(immediate, cmdSN, run) !== 'dropped') return;
    this.counters.cmdSnDropped++;
    this.log.debug('iscsi: CmdSN outside the window, ignored', { cmdSN, expCmdSN: this.window.expCmdSN });
  }

  // -------------------------------------------------------------------------------------------
  // SCSI commands
  // -------------------------------------------------------------------------------------------

  scsiCommand(conn: C, pdu: ScsiCommandPdu): void {
    this.counters.commands++;
    if (this.type !== 'Normal' || !this.target) {
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    if (this.tasks.has(pdu.itt) || pdu.itt === RESERVED_TAG) {
      // An ITT must be unique among the session's active tasks (§11.1.1.3 "Initiator Task Tag").
      conn.reject(RejectReason.InvalidPduField, pdu);
      return;
    }
    this.abortedItts.delete(pdu.itt);
    const p = this.params;
    const imm = pdu.dataLength;
    if (imm > 0 && (!pdu.write || !p.immediateData || imm > p.firstBurstLength || imm > pdu.expectedDataTransferLength)) {
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    const lunNumber = lunToNumber(pdu.lun);
    const lu = lunNumber >= 0 ? this.target.lu(lunNumber) : undefined;
    let plan: Plan;
    try {
      plan = dispatch({ cdb: pdu.cdb, lu, lunNumber, luns: this.target.lunNumbers() });
    } catch (e) {
      this.log.error('iscsi: command handler threw', { err: e, op: commandName(pdu.cdb) });
      plan = { kind: 'done', result: { status: Status.CheckCondition, sense: { key: SenseKey.HardwareError, asc: Asc.InternalTargetFailure } } };
    }
    const edtl = pdu.expectedDataTransferLength;
    const unsolicitedLimit = pdu.write ? (p.initialR2T ? imm : Math.min(edtl, p.firstBurstLength)) : 0;
    // Data-out bytes the command will use, or a response decided before its data phase.
    const need = dataOutNeed(plan, pdu.write ? edtl : 0);
    const task: Task = {
      itt: pdu.itt,
      lun: Buffer.from(pdu.lun),
      lunNumber,
      lu,
      cdb: Buffer.from(pdu.cdb),
      edtl,
      plan,
      out: new DataOutSequencer(typeof need === 'number' ? need : 0, unsolicitedLimit, pdu.segments, imm),
      early: typeof need === 'number' ? undefined : need,
      state: 'data',
      aborted: false,
      running: undefined,
      budget: 0,
      budgetState: 'none',
    };
    this.tasks.set(task.itt, task);
    this.advance(conn, task);
  }

  /** Move a task forward: early response, R2Ts, or execution. */
  private advance(conn: C, task: Task): void {
    if (task.state !== 'data' || !task.out.unsolicitedDone) return;
    if (task.early) {
      const r = task.early.result;
      const residual = task.early.residual ?? (r.status === Status.Good ? task.edtl - (r.data?.length ?? 0) : 0);
      this.finish(conn, task, r, residual);
      return;
    }
    if (task.out.complete) {
      this.execute(conn, task);
      return;
    }
    // Solicited data is held in memory until the command runs: take it out of the session's
    // byte budget first, so many large writes at once wait instead of exhausting memory.
    if (task.budgetState !== 'granted') {
      if (task.budgetState === 'none') {
        task.budgetState = 'asked';
        void this.budget.acquire(task.out.missing).then((n) => {
          task.budget = n;
          task.budgetState = 'granted';
          if (task.aborted || this.closed || task.state !== 'data') return this.releaseBudget(task);
          this.advance(conn, task);
        });
      }
      return;
    }
    while (task.out.canSolicit(this.params.maxOutstandingR2T)) {
      const r2t = task.out.solicit(this.allocTtt(), this.params.maxBurstLength);
      conn.send(
        encodeR2T({
          lun: task.lun,
          itt: task.itt,
          ttt: r2t.ttt,
          r2tSN: r2t.r2tSN,
          bufferOffset: r2t.offset,
          desiredLength: r2t.length,
          seq: this.seq(conn.statSN),
        }),
        [],
      );
    }
  }

  /** Target Transfer Tags for R2Ts and long text responses: never 0 or the reserved tag. */
  private allocTtt(): number {
    const t = this.nextTtt;
    this.nextTtt = (this.nextTtt + 1) >>> 0;
    if (this.nextTtt === RESERVED_TAG || this.nextTtt === 0) this.nextTtt = 1;
    return t;
  }

  dataOut(conn: C, pdu: DataOutPdu): void {
    const task = this.tasks.get(pdu.itt);
    if (task?.state !== 'data') {
      if (this.abortedItts.has(pdu.itt)) return; // in flight when the task was aborted
      // Data without a command: protocol error; with ERL 0 the connection cannot recover.
      this.counters.malformedPdus++;
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    const err = task.out.dataOut(pdu);
    if (err) return this.dataError(conn, task, pdu, err);
    this.advance(conn, task);
  }

  /**
   * A Data-Out that breaks the sequence (DataSN, offset, length). ERL 0 cannot recover the
   * data, so the command ends with ABORTED COMMAND and the rest of its data is dropped; the
   * connection stays up (libiscsi's iSCSIDataSnInvalid expects exactly that).
   */
  private dataError(conn: C, task: Task, pdu: DataOutPdu, err: DataOutError): void {
    this.counters.malformedPdus++;
    this.log.warn('iscsi: ' + err.why + '; failing the command', { itt: pdu.itt, dataSN: pdu.dataSN, offset: pdu.bufferOffset });
    this.rememberAborted(task.itt);
    task.out.drop();
    this.finish(conn, task, { status: Status.CheckCondition, sense: { key: SenseKey.AbortedCommand, asc: err.asc } }, 0);
  }

  private rememberAborted(itt: number): void {
    this.abortedItts.add(itt);
    if (this.abortedItts.size > 1024) this.abortedItts.delete(this.abortedItts.values().next().value as number);
  }

  private execute(conn: C, task: Task): void {
    if (task.plan.kind !== 'exec') return;
    task.state = 'running';
    const plan = task.plan;
    const lu = task.lu;
    const readish = plan.dataOutLength === 0 && task.edtl > 0;
    task.running = (async () => {
      if (readish) task.budget = await this.budget.acquire(task.edtl);
      let result: ScsiResult;
      try {
        const run = (): Promise<ScsiResult> => plan.run(task.out.segments);
        result = await (lu ? (plan.exclusive ? lu.withExclusive(run) : lu.withShared(run)) : run());
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        this.log.error('iscsi: I/O failed', { op: commandName(task.cdb), code: err.code, err });
        const write = plan.dataOutLength > 0;
        result = {
          status: Status.CheckCondition,
          sense:
            err.code === 'ENOSPC'
              ? { key: SenseKey.DataProtect, asc: 0x2707 } // SPACE ALLOCATION FAILED WRITE PROTECT
              : { key: SenseKey.MediumError, asc: write ? Asc.WriteError : Asc.UnrecoveredReadError },
        };
      }
      task.out.drop();
      if (plan.dataOutLength > 0 && result.status === Status.Good && !result.sense) this.counters.dataOutBytes += plan.dataOutLength;
      if (task.aborted || this.closed) {
        this.releaseBudget(task);
        result.release?.();
        return;
      }
      this.finish(conn, task, result, task.edtl - (plan.dataOutLength > 0 ? plan.dataOutLength : (result.data?.length ?? 0)));
    })();
  }

  private releaseBudget(task: Task): void {
    if (task.budget > 0) {
      this.budget.release(task.budget);
      task.budget = 0;
    }
  }

  /** Send status (and Data-In) for a task and retire it. */
  private finish(conn: C, task: Task, result: ScsiResult, residual: number): void {
    task.state = 'done';
    this.tasks.delete(task.itt);
    const descriptor = task.lu?.descriptorSense ?? false;
    const data = result.data;
    const budgetRelease = task.budget > 0 ? () => this.releaseBudget(task) : undefined;
    const bufRelease = result.release;
    const release =
      budgetRelease && bufRelease
        ? () => {
            budgetRelease();
            bufRelease();
          }
        : (budgetRelease ?? bufRelease);
    if (data && data.length > 0 && task.edtl > 0) {
      const total = Math.min(data.length, task.edtl);
      this.counters.dataInBytes += total;
      const withStatus = result.status === Status.Good && !result.sense;
      const split = this.dataIn;
      split.start(total);
      while (split.next()) {
        const status = split.last && withStatus;
        const bhs = encodeDataIn({
          final: split.final,
          itt: task.itt,
          dataLength: split.length,
          dataSN: split.dataSN,
          bufferOffset: split.offset,
          expCmdSN: this.window.expCmdSN,
          maxCmdSN: this.window.maxCmdSN,
          ...(status ? { status: { status: result.status, statSN: conn.nextStatSN(), residual } } : {}),
        });
        conn.send(bhs, [data.subarray(split.offset, split.offset + split.length)], status ? release : undefined);
        // (A non-GOOD status follows in a SCSI Response, which carries the release instead.)
      }
      if (withStatus) return;
      this.sendResponse(conn, task, result, residual, descriptor, split.count, release);
      return;
    }
    this.sendResponse(conn, task, result, residual, descriptor, task.out.r2tSN, release);
  }

  private sendResponse(
    conn: C,
    task: Task,
    result: ScsiResult,
    residual: number,
    descriptor: boolean,
    expDataSN: number,
    release: (() => void) | undefined,
  ): void {
    let payload: Buffer[] = [];
    if (result.sense) {
      const sense = buildSense(result.sense, descriptor);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(sense.length, 0);
      payload = [len, sense];
    }
    const dataLength = payload.reduce((a, b) => a + b.length, 0);
    const bhs = encodeScsiResponse({
      itt: task.itt,
      response: 0,
      status: result.status,
      residual,
      dataLength,
      expDataSN,
      seq: this.seq(conn.nextStatSN()),
    });
    conn.send(bhs, payload, release);
  }

  // -------------------------------------------------------------------------------------------
  // Task management (§11.5: task-management.ts decides, the session answers)
  // -------------------------------------------------------------------------------------------

  task(itt: number): Task | undefined {
    return this.tasks.get(itt);
  }

  /** Abort tasks matching `pred`; resolves once none of them can touch the medium any more. */
  async abortTasks(pred: (t: Task) => boolean): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const t of [...this.tasks.values()]) {
      if (!pred(t)) continue;
      t.aborted = true;
      this.tasks.delete(t.itt);
      this.rememberAborted(t.itt);
      if (t.running) waits.push(t.running.catch(() => undefined));
      else this.releaseBudget(t);
    }
    await Promise.all(waits);
  }

  taskManagement(conn: C, pdu: TaskMgmtPdu): void {
    this.counters.tmfs++;
    const respond = (response: number): void => {
      if (this.closed) return;
      conn.send(encodeTaskMgmtResponse({ itt: pdu.itt, response, seq: this.seq(conn.nextStatSN()) }), []);
    };
    if (this.type !== 'Normal' || !this.target) return respond(TmfResponse.Rejected);
    taskManagement(this, this.target, pdu, respond);
  }

  // -------------------------------------------------------------------------------------------
  // NOP-Out, Text
  // -------------------------------------------------------------------------------------------

  nopOut(conn: C, pdu: NopOutPdu): void {
    if (pdu.itt === RESERVED_TAG) return; // a reply to our NOP-In, or a one-way ping
    const echo = pdu.data.subarray(0, Math.min(pdu.data.length, this.params.initiatorMaxRecvDataSegmentLength));
    conn.send(
      encodeNopIn({ lun: pdu.lun, itt: pdu.itt, ttt: RESERVED_TAG, dataLength: echo.length, seq: this.seq(conn.nextStatSN()) }),
      echo.length ? [Buffer.from(echo)] : [],
    );
  }

  /**
   * A target-initiated ping (§11.19): ITT reserved, a valid TTT the initiator must echo in a
   * NOP-Out, no data (Linux's libiscsi rejects a ping with data as a protocol error). The StatSN
   * field carries the next StatSN without advancing it.
   */
  ping(conn: C, ttt: number): void {
    conn.send(encodeNopIn({ lun: Buffer.alloc(8), itt: RESERVED_TAG, ttt, dataLength: 0, seq: this.seq(conn.statSN) }), []);
  }

  /** A Text Request (send-targets.ts): a Text Response, or a Reject of the request. */
  text(conn: C, pdu: TextRequestPdu): void {
    const a = this.textExchange.answer(pdu, (which) => this.sendTargets(this.initiatorName, which, conn));
    if (a.kind === 'reject') {
      if (a.malformed) this.counters.malformedPdus++;
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    conn.send(
      encodeTextResponse({
        final: !a.more,
        cont: a.more,
        lun: pdu.lun,
        itt: pdu.itt,
        ttt: a.ttt,
        dataLength: a.body.length,
        seq: this.seq(conn.nextStatSN()),
      }),
      a.body.length ? [a.body] : [],
    );
  }

  /**
   * Connection reinstatement at ErrorRecoveryLevel 0 (RFC 7143 §6.3.4; at ERL 0 tasks are not
   * reassigned to the new connection): the old connection's tasks end — the initiator retries them — and the session
   * continues over `conn`, its command window restarting at the CmdSN of the initiator's login.
   */
  reinstate(conn: C, cmdSN: number): void {
    for (const t of this.tasks.values()) {
      t.aborted = true;
      this.rememberAborted(t.itt);
      this.releaseBudget(t);
    }
    this.tasks.clear();
    this.window.restart(cmdSN);
    this.textExchange.reset();
    this.conn = conn;
  }

  /** Drop everything: the connection is gone or the session is being reinstated. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tasks.values()) {
      t.aborted = true;
      this.releaseBudget(t);
    }
    this.tasks.clear();
    this.window.clear();
  }

  /** Tasks still executing I/O (used to wait for quiescence before answering a reset). */
  runningWork(lun: number | undefined): Array<Promise<void>> {
    const out: Array<Promise<void>> = [];
    for (const t of this.tasks.values()) if (t.running && (lun === undefined || t.lunNumber === lun)) out.push(t.running);
    return out;
  }
}
