// A normal or discovery session in full-feature phase (RFC 7143 §4): command numbering
// (CmdSN window), the task table, data movement for SCSI commands (immediate and unsolicited
// data, R2T, Data-In with MaxBurstLength sequences), task management and text requests.
// MaxConnections is negotiated to 1, so a session has exactly one connection, which owns the
// socket and StatSN (connection.ts). ErrorRecoveryLevel is 0: a protocol error in the data
// path ends the connection (the initiator recovers by logging in again).
import type { Logger } from '../log/logger.js';
import type { Connection } from './connection.js';
import {
  RESERVED_TAG,
  RejectReason,
  TmfFunction,
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
import { encodeTextKeys, parseTextKeys, type NegotiatedParams, type TextPairs } from './text-keys.js';

/** Commands the initiator may have outstanding (MaxCmdSN − ExpCmdSN + 1). */
export const CMD_WINDOW = 128;
/** Bytes of read data and solicited write data one session may hold at once. */
export const SESSION_BYTE_BUDGET = 64 * 1024 * 1024;

/** RFC 1982 serial arithmetic on 32-bit sequence numbers. */
export function snLess(a: number, b: number): boolean {
  return a !== b && (b - a) >>> 0 < 0x80000000;
}
export function snInWindow(sn: number, lo: number, hi: number): boolean {
  return (sn - lo) >>> 0 <= (hi - lo) >>> 0;
}

/** What a session needs from the portal: its target's LUs and a few counters. */
export interface SessionTarget {
  iqn: string;
  lu(n: number): LogicalUnit | undefined;
  lunNumbers(): number[];
  /** Abort tasks on a LUN (or the whole target) in every session; resolves when they are quiet. */
  abortEverywhere(lun: number | undefined, except: Session): Promise<void>;
  coldReset(): void;
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

interface R2tState {
  offset: number;
  length: number;
  received: number;
  dataSN: number;
}

interface Task {
  itt: number;
  lun: Buffer;
  lunNumber: number;
  lu: LogicalUnit | undefined;
  cdb: Buffer;
  edtl: number;
  plan: Plan;
  /** Data-out bytes kept (the SCSI transfer length) and those received so far, in order. */
  need: number;
  received: number;
  segments: Buffer[];
  /** Bytes the initiator sends without R2T: immediate data + unsolicited Data-Out. */
  unsolicitedLimit: number;
  unsolicitedReceived: number;
  unsolicitedDataSN: number;
  unsolicitedDone: boolean;
  nextR2TOffset: number;
  r2tSN: number;
  r2ts: Map<number, R2tState>;
  /** A response decided before the data phase ended (sent once unsolicited data is in). */
  early: { result: ScsiResult; residual?: number } | undefined;
  state: 'data' | 'running' | 'done';
  aborted: boolean;
  running: Promise<void> | undefined;
  budget: number;
  /** 'asked' while waiting for session memory before soliciting data with R2Ts. */
  budgetState: 'none' | 'asked' | 'granted';
}

class ByteBudget {
  private used = 0;
  private waiters: Array<{ n: number; go: () => void }> = [];
  constructor(private readonly cap: number) {}
  acquire(n: number): Promise<number> {
    const want = Math.min(n, this.cap);
    if (this.waiters.length === 0 && this.used + want <= this.cap) {
      this.used += want;
      return Promise.resolve(want);
    }
    return new Promise((res) =>
      this.waiters.push({
        n: want,
        go: () => {
          this.used += want;
          res(want);
        },
      }),
    );
  }
  release(n: number): void {
    this.used -= n;
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.cap) this.waiters.shift()!.go();
  }
}

export class Session {
  readonly type: 'Normal' | 'Discovery';
  readonly isid: Buffer;
  readonly tsih: number;
  readonly initiatorName: string;
  readonly target: SessionTarget | undefined;
  readonly params: NegotiatedParams;
  conn: Connection | undefined;
  expCmdSN: number;
  private maxCmdSNv: number;
  private readonly tasks = new Map<number, Task>();
  /** ITTs aborted recently: late Data-Out for them is dropped quietly. */
  private readonly abortedItts = new Set<number>();
  private readonly held = new Map<number, () => void>();
  private nextTtt = 1;
  private readonly budget = new ByteBudget(SESSION_BYTE_BUDGET);
  private pendingText: { itt: number; ttt: number; rest: Buffer } | undefined;
  private readonly log: Logger;
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
    sendTargets: (initiator: string, which: string, conn: Connection) => TextPairs;
  }) {
    this.type = opts.type;
    this.isid = Buffer.from(opts.isid);
    this.tsih = opts.tsih;
    this.initiatorName = opts.initiatorName;
    this.target = opts.target;
    this.params = opts.params;
    this.expCmdSN = opts.cmdSN >>> 0;
    this.maxCmdSNv = (this.expCmdSN + CMD_WINDOW - 1) >>> 0;
    this.log = opts.logger;
    this.counters = opts.counters;
    this.sendTargets = opts.sendTargets;
  }
  private readonly counters: SessionCounters;
  private readonly sendTargets: (initiator: string, which: string, conn: Connection) => TextPairs;

  /** MaxCmdSN: the window shrinks while many tasks are active, and never moves backwards. */
  get maxCmdSN(): number {
    const free = Math.max(1, CMD_WINDOW - this.tasks.size);
    const want = (this.expCmdSN + free - 1) >>> 0;
    if (snLess(this.maxCmdSNv, want)) this.maxCmdSNv = want;
    return this.maxCmdSNv;
  }

  get activeTasks(): number {
    return this.tasks.size;
  }

  private seq(statSN: number): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    return { statSN, expCmdSN: this.expCmdSN, maxCmdSN: this.maxCmdSN };
  }

  /**
   * CmdSN ordering (§4.2.2.1). Immediate PDUs run now. Others run when their CmdSN is the
   * expected one; a CmdSN ahead of it but inside the window waits for the gap to fill; one
   * outside [ExpCmdSN, MaxCmdSN] is silently ignored, as the RFC requires.
   */
  ordered(immediate: boolean, cmdSN: number, run: () => void): void {
    if (immediate) return run();
    if (cmdSN === this.expCmdSN) {
      this.expCmdSN = (this.expCmdSN + 1) >>> 0;
      run();
      for (let next = this.held.get(this.expCmdSN); next; next = this.held.get(this.expCmdSN)) {
        this.held.delete(this.expCmdSN);
        this.expCmdSN = (this.expCmdSN + 1) >>> 0;
        next();
      }
      return;
    }
    if (snInWindow(cmdSN, this.expCmdSN, this.maxCmdSN) && !this.held.has(cmdSN)) {
      this.held.set(cmdSN, run);
      return;
    }
    this.counters.cmdSnDropped++;
    this.log.debug('iscsi: CmdSN outside the window, ignored', { cmdSN, expCmdSN: this.expCmdSN });
  }

  // -------------------------------------------------------------------------------------------
  // SCSI commands
  // -------------------------------------------------------------------------------------------

  scsiCommand(conn: Connection, pdu: ScsiCommandPdu): void {
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
    const imm = pdu.data.length;
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
    const task: Task = {
      itt: pdu.itt,
      lun: Buffer.from(pdu.lun),
      lunNumber,
      lu,
      cdb: Buffer.from(pdu.cdb),
      edtl,
      plan,
      need: 0,
      received: 0,
      segments: [],
      unsolicitedLimit,
      unsolicitedReceived: imm,
      unsolicitedDataSN: 0,
      unsolicitedDone: imm >= unsolicitedLimit,
      nextR2TOffset: 0,
      r2tSN: 0,
      r2ts: new Map(),
      early: undefined,
      state: 'data',
      aborted: false,
      running: undefined,
      budget: 0,
      budgetState: 'none',
    };
    this.tasks.set(task.itt, task);

    if (plan.kind === 'done') {
      task.early = { result: plan.result };
    } else {
      // Data-out the initiator will actually send: none without the W bit.
      const edtlOut = pdu.write ? edtl : 0;
      const dol = plan.dataOutLength;
      if (plan.exactDataOut && dol !== edtlOut) {
        task.early = {
          result: { status: Status.CheckCondition, sense: { key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCdb } },
          residual: edtlOut - dol,
        };
      } else if (dol > edtlOut) {
        // SPDTL > EDTL (overflow). WRITE processes the whole blocks it was given and reports the
        // overflow (FCP-4 option a, what libiscsi 1.19 expects); other commands transfer nothing
        // and fail with INVALID FIELD IN COMMAND INFORMATION UNIT (option b).
        const unit = plan.truncatable;
        if (unit) {
          task.need = Math.floor(edtlOut / unit) * unit;
          if (task.need === 0) task.early = { result: { status: Status.Good }, residual: edtlOut - dol };
        } else {
          task.early = {
            result: { status: Status.CheckCondition, sense: { key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCommandInformationUnit } },
            residual: edtlOut - dol,
          };
        }
      } else {
        task.need = dol;
      }
    }
    if (imm > 0) this.accept(task, pdu.data, 0);
    this.advance(conn, task);
  }

  /** Keep the part of a data segment at `offset` that falls inside [0, need). */
  private accept(task: Task, data: Buffer, offset: number): boolean {
    if (offset !== task.received && offset < task.need) return false;
    if (offset < task.need) {
      const keep = Math.min(data.length, task.need - offset);
      task.segments.push(keep === data.length ? data : data.subarray(0, keep));
      task.received += keep;
    }
    return true;
  }

  /** Move a task forward: early response, R2Ts, or execution. */
  private advance(conn: Connection, task: Task): void {
    if (task.state !== 'data' || !task.unsolicitedDone) return;
    if (task.early) {
      const r = task.early.result;
      const residual = task.early.residual ?? (r.status === Status.Good ? task.edtl - (r.data?.length ?? 0) : 0);
      this.finish(conn, task, r, residual);
      return;
    }
    if (task.received >= task.need && task.r2ts.size === 0) {
      this.execute(conn, task);
      return;
    }
    if (task.nextR2TOffset < task.received) task.nextR2TOffset = task.received;
    // Solicited data is held in memory until the command runs: take it out of the session's
    // byte budget first, so many large writes at once wait instead of exhausting memory.
    if (task.budgetState !== 'granted') {
      if (task.budgetState === 'none') {
        task.budgetState = 'asked';
        void this.budget.acquire(task.need - task.received).then((n) => {
          task.budget = n;
          task.budgetState = 'granted';
          if (task.aborted || this.closed || task.state !== 'data') return this.releaseBudget(task);
          this.advance(conn, task);
        });
      }
      return;
    }
    while (task.r2ts.size < this.params.maxOutstandingR2T && task.nextR2TOffset < task.need) {
      const len = Math.min(this.params.maxBurstLength, task.need - task.nextR2TOffset);
      const ttt = this.allocTtt();
      task.r2ts.set(ttt, { offset: task.nextR2TOffset, length: len, received: 0, dataSN: 0 });
      conn.send(
        encodeR2T({
          lun: task.lun,
          itt: task.itt,
          ttt,
          r2tSN: task.r2tSN++,
          bufferOffset: task.nextR2TOffset,
          desiredLength: len,
          seq: this.seq(conn.statSN),
        }),
        [],
      );
      task.nextR2TOffset += len;
    }
  }

  private allocTtt(): number {
    const t = this.nextTtt;
    this.nextTtt = (this.nextTtt + 1) >>> 0;
    if (this.nextTtt === RESERVED_TAG || this.nextTtt === 0) this.nextTtt = 1;
    return t;
  }

  dataOut(conn: Connection, pdu: DataOutPdu): void {
    const task = this.tasks.get(pdu.itt);
    if (task?.state !== 'data') {
      if (this.abortedItts.has(pdu.itt)) return; // in flight when the task was aborted
      // Data without a command: protocol error; with ERL 0 the connection cannot recover.
      this.counters.malformedPdus++;
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    const len = pdu.data.length;
    if (pdu.ttt === RESERVED_TAG) {
      // Unsolicited data (§10.7.1): in order, within FirstBurstLength, before any R2T.
      if (
        task.unsolicitedDone ||
        pdu.dataSN !== task.unsolicitedDataSN ||
        pdu.bufferOffset !== task.unsolicitedReceived ||
        task.unsolicitedReceived + len > task.unsolicitedLimit
      ) {
        return this.dataError(conn, task, pdu, Asc.DataPhaseError, 'unsolicited Data-Out out of sequence');
      }
      task.unsolicitedDataSN++;
      task.unsolicitedReceived += len;
      if (task.early === undefined && !this.accept(task, pdu.data, pdu.bufferOffset)) {
        return this.dataError(conn, task, pdu, Asc.DataOffsetError, 'Data-Out offset out of order');
      }
      if (pdu.final || task.unsolicitedReceived >= task.unsolicitedLimit) task.unsolicitedDone = true;
      this.advance(conn, task);
      return;
    }
    const r2t = task.r2ts.get(pdu.ttt);
    if (!r2t || pdu.dataSN !== r2t.dataSN || pdu.bufferOffset !== r2t.offset + r2t.received || r2t.received + len > r2t.length) {
      return this.dataError(conn, task, pdu, Asc.DataPhaseError, 'solicited Data-Out out of sequence');
    }
    r2t.dataSN++;
    r2t.received += len;
    if (!this.accept(task, pdu.data, pdu.bufferOffset)) return this.dataError(conn, task, pdu, Asc.DataOffsetError, 'Data-Out offset out of order');
    if (r2t.received === r2t.length) task.r2ts.delete(pdu.ttt);
    this.advance(conn, task);
  }

  /**
   * A Data-Out that breaks the sequence (DataSN, offset, length). ERL 0 cannot recover the
   * data, so the command ends with ABORTED COMMAND and the rest of its data is dropped; the
   * connection stays up (libiscsi's iSCSIDataSnInvalid expects exactly that).
   */
  private dataError(conn: Connection, task: Task, pdu: DataOutPdu, asc: number, why: string): void {
    this.counters.malformedPdus++;
    this.log.warn('iscsi: ' + why + '; failing the command', { itt: pdu.itt, dataSN: pdu.dataSN, offset: pdu.bufferOffset });
    this.rememberAborted(task.itt);
    task.segments = [];
    this.finish(conn, task, { status: Status.CheckCondition, sense: { key: SenseKey.AbortedCommand, asc } }, 0);
  }

  private rememberAborted(itt: number): void {
    this.abortedItts.add(itt);
    if (this.abortedItts.size > 1024) this.abortedItts.delete(this.abortedItts.values().next().value as number);
  }

  private execute(conn: Connection, task: Task): void {
    if (task.plan.kind !== 'exec') return;
    task.state = 'running';
    const plan = task.plan;
    const lu = task.lu;
    const readish = plan.dataOutLength === 0 && task.edtl > 0;
    task.running = (async () => {
      if (readish) task.budget = await this.budget.acquire(task.edtl);
      let result: ScsiResult;
      try {
        const run = (): Promise<ScsiResult> => plan.run(task.segments);
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
      task.segments = [];
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
  private finish(conn: Connection, task: Task, result: ScsiResult, residual: number): void {
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
      const mrdsl = this.params.initiatorMaxRecvDataSegmentLength;
      const burst = this.params.maxBurstLength;
      const withStatus = result.status === Status.Good && !result.sense;
      let dataSN = 0;
      for (let off = 0; off < total; ) {
        const n = Math.min(mrdsl, total - off, burst - (off % burst));
        const last = off + n >= total;
        const bhs = encodeDataIn({
          final: last || (off + n) % burst === 0,
          itt: task.itt,
          dataLength: n,
          dataSN: dataSN++,
          bufferOffset: off,
          expCmdSN: this.expCmdSN,
          maxCmdSN: this.maxCmdSN,
          ...(last && withStatus ? { status: { status: result.status, statSN: conn.nextStatSN(), residual } } : {}),
        });
        conn.send(bhs, [data.subarray(off, off + n)], last && withStatus ? release : undefined);
        // (A non-GOOD status follows in a SCSI Response, which carries the release instead.)
        off += n;
      }
      if (withStatus) return;
      this.sendResponse(conn, task, result, residual, descriptor, dataSN, release);
      return;
    }
    this.sendResponse(conn, task, result, residual, descriptor, task.r2tSN, release);
  }

  private sendResponse(
    conn: Connection,
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
  // Task management (§11.5)
  // -------------------------------------------------------------------------------------------

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

  taskManagement(conn: Connection, pdu: TaskMgmtPdu): void {
    this.counters.tmfs++;
    const respond = (response: number): void => {
      if (this.closed) return;
      conn.send(encodeTaskMgmtResponse({ itt: pdu.itt, response, seq: this.seq(conn.nextStatSN()) }), []);
    };
    if (this.type !== 'Normal' || !this.target) return respond(TmfResponse.Rejected);
    const target = this.target;
    const lunNumber = lunToNumber(pdu.lun);
    switch (pdu.fn) {
      case TmfFunction.AbortTask: {
        const t = this.tasks.get(pdu.referencedTaskTag);
        if (!t) return respond(TmfResponse.TaskDoesNotExist);
        void this.abortTasks((x) => x === t).then(() => respond(TmfResponse.Complete));
        return;
      }
      case TmfFunction.AbortTaskSet:
      case TmfFunction.ClearTaskSet:
        void this.abortTasks((x) => x.lunNumber === lunNumber).then(() => respond(TmfResponse.Complete));
        return;
      case TmfFunction.ClearAca:
        return respond(TmfResponse.Complete);
      case TmfFunction.LogicalUnitReset: {
        const lu = target.lu(lunNumber);
        if (!lu) return respond(TmfResponse.LunDoesNotExist);
        void Promise.all([this.abortTasks((x) => x.lunNumber === lunNumber), target.abortEverywhere(lunNumber, this)]).then(() => {
          lu.reset();
          respond(TmfResponse.Complete);
        });
        return;
      }
      case TmfFunction.TargetWarmReset:
      case TmfFunction.TargetColdReset: {
        const cold = pdu.fn === TmfFunction.TargetColdReset;
        void Promise.all([this.abortTasks(() => true), target.abortEverywhere(undefined, this)]).then(() => {
          for (const n of target.lunNumbers()) target.lu(n)?.reset();
          respond(TmfResponse.Complete);
          // A cold reset also ends every connection to the target, this one after the response.
          if (cold) target.coldReset();
        });
        return;
      }
      case TmfFunction.TaskReassign:
        return respond(TmfResponse.ReassignmentNotSupported);
      default:
        return respond(TmfResponse.NotSupported);
    }
  }

  // -------------------------------------------------------------------------------------------
  // NOP-Out, Text
  // -------------------------------------------------------------------------------------------

  nopOut(conn: Connection, pdu: NopOutPdu): void {
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
  ping(conn: Connection, ttt: number): void {
    conn.send(encodeNopIn({ lun: Buffer.alloc(8), itt: RESERVED_TAG, ttt, dataLength: 0, seq: this.seq(conn.statSN) }), []);
  }

  text(conn: Connection, pdu: TextRequestPdu): void {
    const reply = (body: Buffer, ttt: number, more: boolean): void => {
      conn.send(
        encodeTextResponse({
          final: !more,
          cont: more,
          lun: pdu.lun,
          itt: pdu.itt,
          ttt,
          dataLength: body.length,
          seq: this.seq(conn.nextStatSN()),
        }),
        body.length ? [body] : [],
      );
    };
    const sendChunk = (all: Buffer): void => {
      const max = this.params.initiatorMaxRecvDataSegmentLength;
      if (all.length <= max) {
        this.pendingText = undefined;
        reply(all, RESERVED_TAG, false);
        return;
      }
      const ttt = this.allocTtt();
      this.pendingText = { itt: pdu.itt, ttt, rest: all.subarray(max) };
      reply(all.subarray(0, max), ttt, true);
    };
    // Continuation of a long response (§11.11.1: empty request with our TTT).
    if (pdu.ttt !== RESERVED_TAG) {
      if (this.pendingText && this.pendingText.ttt === pdu.ttt) return sendChunk(this.pendingText.rest);
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    this.pendingText = undefined;
    if (pdu.cont) {
      // Multi-PDU text requests are not expected for SendTargets; refuse them cleanly.
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    let keys: TextPairs;
    try {
      keys = parseTextKeys(pdu.data);
    } catch {
      this.counters.malformedPdus++;
      conn.reject(RejectReason.ProtocolError, pdu);
      return;
    }
    const out: TextPairs = [];
    for (const [k, v] of keys) {
      if (k === 'SendTargets') {
        // In a normal session only the session's own target may be reported (§11.10).
        const which = this.type === 'Normal' ? (v === 'All' || v === '' ? (this.target?.iqn ?? '') : v) : v;
        if (this.type === 'Normal' && which !== this.target?.iqn) continue;
        out.push(...this.sendTargets(this.initiatorName, which, conn));
      } else {
        out.push([k, 'NotUnderstood']);
      }
    }
    sendChunk(encodeTextKeys(out));
  }

  /** Drop everything: the connection is gone or the session is being reinstated. */
  /**
   * Connection reinstatement at ErrorRecoveryLevel 0 (RFC 7143 §6.3.4; at ERL 0 tasks are not
   * reassigned to the new connection): the old connection's tasks end — the initiator retries them — and the session
   * continues over `conn`, its command window restarting at the CmdSN of the initiator's login.
   */
  reinstate(conn: Connection, cmdSN: number): void {
    for (const t of this.tasks.values()) {
      t.aborted = true;
      this.rememberAborted(t.itt);
      this.releaseBudget(t);
    }
    this.tasks.clear();
    this.held.clear();
    this.pendingText = undefined;
    this.expCmdSN = cmdSN >>> 0;
    this.maxCmdSNv = (this.expCmdSN + CMD_WINDOW - 1) >>> 0;
    this.conn = conn;
  }

  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tasks.values()) {
      t.aborted = true;
      this.releaseBudget(t);
    }
    this.tasks.clear();
    this.held.clear();
  }

  /** Tasks still executing I/O (used to wait for quiescence before answering a reset). */
  runningWork(lun: number | undefined): Array<Promise<void>> {
    const out: Array<Promise<void>> = [];
    for (const t of this.tasks.values()) if (t.running && (lun === undefined || t.lunNumber === lun)) out.push(t.running);
    return out;
  }
}
