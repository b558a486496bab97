// The contract between the iSCSI layer and the SCSI command handlers. A handler looks at the
// CDB and returns a Plan: either a finished result (errors, commands without data-out), or
// how many data-out bytes it needs and a function that runs once they have arrived. The
// iSCSI layer (session.ts) moves the bytes: immediate/unsolicited data, R2Ts, Data-In PDUs,
// residuals against the Expected Data Transfer Length.
import type { LogicalUnit } from './logical-unit.js';
import { Asc, SenseKey, Status, type SenseInfo } from './sense.js';

export interface ScsiResult {
  status: number;
  /** Data-In (already cut to the CDB's allocation length; the iSCSI layer cuts it to EDTL). */
  data?: Buffer;
  sense?: SenseInfo;
  /** Called once `data` has been handed to the socket (pooled buffers go back to the pool). */
  release?: () => void;
}

/** Data-out as it arrived: contiguous segments in offset order. */
export type DataOut = readonly Buffer[];

export type Plan =
  | { kind: 'done'; result: ScsiResult }
  | {
      kind: 'exec';
      /** Data-out bytes the command needs (the SCSI transfer length, SPDTL). */
      dataOutLength: number;
      /** Run alone on the LU (COMPARE AND WRITE). */
      exclusive?: boolean;
      /** The initiator's EDTL must equal dataOutLength exactly (WRITE SAME, COMPARE AND WRITE). */
      exactDataOut?: boolean;
      /**
       * When EDTL < dataOutLength, the command may run on the first whole `truncatable`-byte
       * units of the data (WRITE: whole blocks) and report the overflow residual.
       */
      truncatable?: number;
      run: (dataOut: DataOut) => Promise<ScsiResult>;
    };

export interface CommandContext {
  cdb: Buffer;
  /** The addressed logical unit, or undefined when the LUN does not exist. */
  lu: LogicalUnit | undefined;
  lunNumber: number;
  /** LUN numbers of the target, for REPORT LUNS. */
  luns: readonly number[];
}

export type Handler = (ctx: CommandContext & { lu: LogicalUnit }) => Plan;

export const GOOD: ScsiResult = { status: Status.Good };

export function done(result: ScsiResult): Plan {
  return { kind: 'done', result };
}
export function check(key: number, asc: number, extra: Omit<SenseInfo, 'key' | 'asc'> = {}): ScsiResult {
  return { status: Status.CheckCondition, sense: { key, asc, ...extra } };
}
/** CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at `byte`. */
export function badField(byte: number, bit?: number): Plan {
  return done(check(SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, { field: bit === undefined ? { cdb: true, byte } : { cdb: true, byte, bit } }));
}
export function lbaOutOfRange(): Plan {
  return done(check(SenseKey.IllegalRequest, Asc.LbaOutOfRange));
}
export function invalidOpcode(): Plan {
  return done(check(SenseKey.IllegalRequest, Asc.InvalidCommandOperationCode, { field: { cdb: true, byte: 0 } }));
}
export function data(buf: Buffer, allocationLength: number): Plan {
  return done({ status: Status.Good, data: buf.length > allocationLength ? buf.subarray(0, allocationLength) : buf });
}
export function concat(parts: DataOut): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[]);
}
