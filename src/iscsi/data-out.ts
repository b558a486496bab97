// Data-Out sequencing for one write command (RFC 7143 §10.7, §11.7, §11.8): immediate data,
// unsolicited Data-Out within FirstBurstLength, then R2Ts of at most MaxBurstLength each, no more
// than MaxOutstandingR2T at once. Checks every Data-Out's DataSN, Buffer Offset and length
// against the sequence it belongs to and keeps the bytes the command needs, in order, as views
// (no copy). `dataOutNeed` first decides how many of those bytes the command uses. Pure: the
// session sends the R2Ts and decides what an error costs (at ERL 0 the command fails, §7.1.1).
import { RESERVED_TAG } from './pdu.js';
import { Asc, SenseKey, Status } from './scsi/sense.js';
import type { Plan, ScsiResult } from './scsi/types.js';

/** A response decided before the data phase ends, with its residual when not the usual one. */
export interface EarlyResponse {
  result: ScsiResult;
  residual?: number;
}

/**
 * The data-out bytes a command will use (its SCSI transfer length, SPDTL, against what the
 * initiator sends: EDTL with the W bit, else none), or the response it gets without them:
 * a finished plan, an EDTL that must match exactly and does not, or an overflow (SPDTL > EDTL).
 * On overflow WRITE processes the whole blocks it was given and reports the overflow (FCP-4
 * option a, what libiscsi 1.19 expects); other commands transfer nothing and fail with INVALID
 * FIELD IN COMMAND INFORMATION UNIT (option b). The common case returns a number: no allocation.
 */
export function dataOutNeed(plan: Plan, edtlOut: number): number | EarlyResponse {
  if (plan.kind === 'done') return { result: plan.result };
  const dol = plan.dataOutLength;
  if (plan.exactDataOut && dol !== edtlOut) {
    return { result: { status: Status.CheckCondition, sense: { key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCdb } }, residual: edtlOut - dol };
  }
  if (dol <= edtlOut) return dol;
  const unit = plan.truncatable;
  if (!unit) {
    return {
      result: { status: Status.CheckCondition, sense: { key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCommandInformationUnit } },
      residual: edtlOut - dol,
    };
  }
  const need = Math.floor(edtlOut / unit) * unit;
  return need > 0 ? need : { result: { status: Status.Good }, residual: edtlOut - dol };
}

/** One R2T in flight: the window it asked for and what has arrived in it. */
export interface R2tState {
  ttt: number;
  r2tSN: number;
  offset: number;
  length: number;
  received: number;
  /** The DataSN the next Data-Out for this R2T must carry (DataSN restarts at 0 per R2T). */
  dataSN: number;
}

/** Why a Data-Out broke the sequence: the sense ASC the command fails with, and a log line. */
export interface DataOutError {
  asc: number;
  why: string;
}
const UNSOLICITED_OUT_OF_SEQUENCE: DataOutError = { asc: Asc.DataPhaseError, why: 'unsolicited Data-Out out of sequence' };
const SOLICITED_OUT_OF_SEQUENCE: DataOutError = { asc: Asc.DataPhaseError, why: 'solicited Data-Out out of sequence' };
const OFFSET_OUT_OF_ORDER: DataOutError = { asc: Asc.DataOffsetError, why: 'Data-Out offset out of order' };

/** The Data-Out fields the sequence is checked on (a decoded DataOutPdu has them). */
export interface DataOutSegment {
  ttt: number;
  dataSN: number;
  bufferOffset: number;
  /** The data segment as received (views, in order); `dataLength` bytes in all. */
  segments: readonly Buffer[];
  dataLength: number;
  final: boolean;
}

export class DataOutSequencer {
  /** Bytes received so far inside [0, need), in order. */
  private got = 0;
  private kept: Buffer[] = [];
  private unsolicitedReceived: number;
  private unsolicitedDataSN = 0;
  private unsolicitedEnded: boolean;
  private nextR2TOffset = 0;
  private nextR2TSN = 0;
  /** R2Ts in flight by TTT; created with the first R2T (most commands never need one). */
  private r2ts: Map<number, R2tState> | undefined;

  /**
   * `need`: the bytes the command will use (its SCSI transfer length, cut to whole units of EDTL
   * on overflow; 0 when the command is answered without its data). `unsolicitedLimit`: what
   * the initiator may send without R2T (immediate data + unsolicited Data-Out). `immediate`:
   * the command PDU's data segment as received (`immediateLength` bytes, already checked
   * against FirstBurstLength and EDTL).
   */
  constructor(
    readonly need: number,
    private readonly unsolicitedLimit: number,
    immediate: readonly Buffer[] = [],
    immediateLength = 0,
  ) {
    this.unsolicitedReceived = immediateLength;
    this.unsolicitedEnded = immediateLength >= unsolicitedLimit;
    if (immediateLength > 0) this.accept(immediate, 0);
  }

  get received(): number {
    return this.got;
  }
  /** The data kept so far: contiguous segments in offset order. */
  get segments(): Buffer[] {
    return this.kept;
  }
  /** Immediate and unsolicited data are over: the F bit, or FirstBurstLength reached. */
  get unsolicitedDone(): boolean {
    return this.unsolicitedEnded;
  }
  /** R2Ts sent so far: the ExpDataSN of a write's SCSI Response (§11.4.8). */
  get r2tSN(): number {
    return this.nextR2TSN;
  }
  /** Every byte needed is in and no R2T is still open. */
  get complete(): boolean {
    return this.got >= this.need && (this.r2ts?.size ?? 0) === 0;
  }
  /** Bytes still to be solicited with R2Ts (what the session takes from its memory budget). */
  get missing(): number {
    return this.need - this.got;
  }

  /** Let go of the data (the command ran or failed). */
  drop(): void {
    this.kept = [];
  }

  /**
   * Keep the part of a data segment (its pieces as received, in order) at `offset` that falls
   * inside [0, need): the pieces themselves, the last one cut at `need` (no copy).
   */
  private accept(parts: readonly Buffer[], offset: number): boolean {
    if (offset !== this.got && offset < this.need) return false;
    let left = this.need - offset;
    for (const p of parts) {
      if (left <= 0) break;
      if (p.length === 0) continue;
      const keep = Math.min(p.length, left);
      this.kept.push(keep === p.length ? p : p.subarray(0, keep));
      this.got += keep;
      left -= keep;
    }
    return true;
  }

  /**
   * One Data-Out PDU. Unsolicited data (§10.7.1) must come in order, within the unsolicited
   * limit, before the sequence ended; solicited data in order within its R2T's window, DataSN
   * counting from 0 per R2T. Returns undefined when the PDU fits, else why it does not.
   */
  dataOut(pdu: DataOutSegment): DataOutError | undefined {
    const len = pdu.dataLength;
    if (pdu.ttt === RESERVED_TAG) {
      // Not answering an R2T: unsolicited.
      if (
        this.unsolicitedEnded ||
        pdu.dataSN !== this.unsolicitedDataSN ||
        pdu.bufferOffset !== this.unsolicitedReceived ||
        this.unsolicitedReceived + len > this.unsolicitedLimit
      ) {
        return UNSOLICITED_OUT_OF_SEQUENCE;
      }
      this.unsolicitedDataSN++;
      this.unsolicitedReceived += len;
      if (!this.accept(pdu.segments, pdu.bufferOffset)) return OFFSET_OUT_OF_ORDER;
      if (pdu.final || this.unsolicitedReceived >= this.unsolicitedLimit) this.unsolicitedEnded = true;
      return undefined;
    }
    const r2t = this.r2ts?.get(pdu.ttt);
    if (!r2t || pdu.dataSN !== r2t.dataSN || pdu.bufferOffset !== r2t.offset + r2t.received || r2t.received + len > r2t.length) {
      return SOLICITED_OUT_OF_SEQUENCE;
    }
    r2t.dataSN++;
    r2t.received += len;
    if (!this.accept(pdu.segments, pdu.bufferOffset)) return OFFSET_OUT_OF_ORDER;
    if (r2t.received === r2t.length) this.r2ts!.delete(pdu.ttt);
    return undefined;
  }

  /** Another R2T may go out: fewer than `maxOutstanding` open and bytes left to ask for. */
  canSolicit(maxOutstanding: number): boolean {
    // R2Ts ask only for what did not come unsolicited.
    if (this.nextR2TOffset < this.got) this.nextR2TOffset = this.got;
    return (this.r2ts?.size ?? 0) < maxOutstanding && this.nextR2TOffset < this.need;
  }

  /** Open the next R2T (at most `maxBurst` bytes) under the tag `ttt`; the caller sends it. */
  solicit(ttt: number, maxBurst: number): R2tState {
    const length = Math.min(maxBurst, this.need - this.nextR2TOffset);
    const r2t: R2tState = { ttt, r2tSN: this.nextR2TSN++, offset: this.nextR2TOffset, length, received: 0, dataSN: 0 };
    this.r2ts ??= new Map();
    this.r2ts.set(ttt, r2t);
    this.nextR2TOffset += length;
    return r2t;
  }
}
