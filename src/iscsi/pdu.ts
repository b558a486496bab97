// iSCSI PDU codec (RFC 7143 §11): the 48-byte Basic Header Segment, AHS, padding and digests.
// Pure: no sockets, no session state. Framing a TCP byte stream into PDUs lives in framer.ts;
// this file turns one framed PDU into a typed value (decode*) and builds target PDUs (encode*).
//
// Layout common to every BHS (§11.2.1):
//   byte 0      .I oooooo   immediate bit (0x40) + opcode (0x3f)
//   byte 1      F + opcode-specific flags
//   byte 4      TotalAHSLength in 4-byte words
//   bytes 5-7   DataSegmentLength (bytes, without padding)
//   bytes 8-15  LUN or opcode-specific
//   bytes 16-19 Initiator Task Tag
import { DecodeError } from '../errors.js';
import { crc32c } from './crc32c.js';

export const BHS_LENGTH = 48;
export const RESERVED_TAG = 0xffffffff;

/** Initiator opcodes (§11.2.1.2). */
export const Op = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmtRequest: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  DataOut: 0x05,
  LogoutRequest: 0x06,
  SnackRequest: 0x10,
} as const;

/** Target opcodes. */
export const TOp = {
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2T: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

/** Reject reasons (§11.17.1). */
export const RejectReason = {
  DataDigestError: 0x02,
  SnackReject: 0x03,
  ProtocolError: 0x04,
  CommandNotSupported: 0x05,
  ImmediateCommandReject: 0x06,
  TaskInProgress: 0x07,
  InvalidDataAck: 0x08,
  InvalidPduField: 0x09,
  LongOpReject: 0x0a,
  WaitingForLogout: 0x0c,
} as const;

/** Task management functions (§11.5.1) and responses (§11.6.1). */
export const TmfFunction = {
  AbortTask: 1,
  AbortTaskSet: 2,
  ClearAca: 3,
  ClearTaskSet: 4,
  LogicalUnitReset: 5,
  TargetWarmReset: 6,
  TargetColdReset: 7,
  TaskReassign: 8,
} as const;
export const TmfResponse = {
  Complete: 0,
  TaskDoesNotExist: 1,
  LunDoesNotExist: 2,
  TaskStillAllegiant: 3,
  ReassignmentNotSupported: 4,
  NotSupported: 5,
  AuthorizationFailed: 6,
  Rejected: 255,
} as const;

/** A PDU as framed off the wire: views into the received bytes, digests already checked. */
export interface RawPdu {
  bhs: Buffer; // exactly 48 bytes
  ahs: Buffer; // TotalAHSLength*4 bytes (may be empty)
  /** The data segment, padding stripped: views into the received chunks, in order (none when empty). */
  dataParts: readonly Buffer[];
  /** DataSegmentLength: the bytes of `dataParts` together. */
  dataLength: number;
}

// ---------------------------------------------------------------------------------------------
// Decoding initiator PDUs
// ---------------------------------------------------------------------------------------------

interface Header {
  immediate: boolean;
  final: boolean;
  itt: number;
  /** The PDU's own 48-byte header: a Reject of it echoes this (§11.17.1), even when it ran late. */
  bhs: Buffer;
}
/** PDUs whose (small) data segment is parsed: joined into one buffer. */
interface Common extends Header {
  data: Buffer;
}
/**
 * PDUs carrying SCSI data (immediate data, Data-Out): the data segment as received, views into
 * the socket's chunks (no copy), handed to pwritev as they are.
 */
interface Segmented extends Header {
  segments: readonly Buffer[];
  /** The bytes of `segments` together (DataSegmentLength). */
  dataLength: number;
}

export interface ScsiCommandPdu extends Segmented {
  kind: 'scsi-command';
  read: boolean;
  write: boolean;
  attr: number;
  lun: Buffer; // 8 bytes, SAM LUN structure
  expectedDataTransferLength: number;
  cmdSN: number;
  expStatSN: number;
  cdb: Buffer; // 16 bytes from the BHS, longer with an Extended CDB AHS
  bidiReadLength: number | undefined;
}
export interface DataOutPdu extends Segmented {
  kind: 'data-out';
  lun: Buffer;
  ttt: number;
  expStatSN: number;
  dataSN: number;
  bufferOffset: number;
}
export interface NopOutPdu extends Common {
  kind: 'nop-out';
  lun: Buffer;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
}
export interface TaskMgmtPdu extends Common {
  kind: 'task-mgmt';
  fn: number;
  lun: Buffer;
  referencedTaskTag: number;
  cmdSN: number;
  expStatSN: number;
  refCmdSN: number;
  expDataSN: number;
}
export interface LoginRequestPdu extends Common {
  kind: 'login';
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  isid: Buffer; // 6 bytes
  tsih: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}
export interface TextRequestPdu extends Common {
  kind: 'text';
  cont: boolean;
  lun: Buffer;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
}
export interface LogoutRequestPdu extends Common {
  kind: 'logout';
  reason: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}
export interface SnackPdu extends Common {
  kind: 'snack';
  type: number;
}
export type InitiatorPdu = ScsiCommandPdu | DataOutPdu | NopOutPdu | TaskMgmtPdu | LoginRequestPdu | TextRequestPdu | LogoutRequestPdu | SnackPdu;

export function opcodeOf(bhs: Buffer): number {
  return bhs[0]! & 0x3f;
}

/**
 * Decode one framed initiator PDU. Throws DecodeError (code E_ISCSI_OPCODE for an opcode an
 * initiator may not send, E_ISCSI_FIELD for a malformed field); the caller answers with Reject.
 */
export function decodePdu(raw: RawPdu): InitiatorPdu {
  const b = raw.bhs;
  if (b.length !== BHS_LENGTH) throw new DecodeError('E_ISCSI_FIELD', 'BHS', 0, `length ${b.length}, want 48`);
  const op = b[0]! & 0x3f;
  const head: Header = {
    immediate: (b[0]! & 0x40) !== 0,
    final: (b[1]! & 0x80) !== 0,
    itt: b.readUInt32BE(16),
    bhs: b,
  };
  if (op === Op.ScsiCommand || op === Op.DataOut) return decodeSegmented(op, raw, head);
  const common: Common = { ...head, data: joined(raw) };
  switch (op) {
    case Op.NopOut:
      return {
        kind: 'nop-out',
        ...common,
        lun: b.subarray(8, 16),
        ttt: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
      };
    case Op.TaskMgmtRequest:
      return {
        kind: 'task-mgmt',
        ...common,
        fn: b[1]! & 0x7f,
        lun: b.subarray(8, 16),
        referencedTaskTag: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
        refCmdSN: b.readUInt32BE(32),
        expDataSN: b.readUInt32BE(36),
      };
    case Op.LoginRequest:
      return {
        kind: 'login',
        ...common,
        final: (b[1]! & 0x80) !== 0,
        transit: (b[1]! & 0x80) !== 0,
        cont: (b[1]! & 0x40) !== 0,
        csg: (b[1]! >> 2) & 3,
        nsg: b[1]! & 3,
        versionMax: b[2]!,
        versionMin: b[3]!,
        isid: b.subarray(8, 14),
        tsih: b.readUInt16BE(14),
        cid: b.readUInt16BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
      };
    case Op.TextRequest:
      return {
        kind: 'text',
        ...common,
        cont: (b[1]! & 0x40) !== 0,
        lun: b.subarray(8, 16),
        ttt: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
      };
    case Op.LogoutRequest:
      return {
        kind: 'logout',
        ...common,
        reason: b[1]! & 0x7f,
        cid: b.readUInt16BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
      };
    case Op.SnackRequest:
      return { kind: 'snack', ...common, type: b[1]! & 0x0f };
    default:
      throw new DecodeError('E_ISCSI_OPCODE', 'opcode', 0, `opcode 0x${op.toString(16)} is not an initiator opcode`);
  }
}

/** The data segment in one buffer (a copy only when it arrived in several chunks). */
function joined(raw: RawPdu): Buffer {
  const p = raw.dataParts;
  if (p.length === 0) return Buffer.alloc(0);
  return p.length === 1 ? p[0]! : Buffer.concat(p as Buffer[], raw.dataLength);
}

/** SCSI Command and Data-Out: their data stays as received (views, no copy). */
function decodeSegmented(op: number, raw: RawPdu, head: Header): ScsiCommandPdu | DataOutPdu {
  const b = raw.bhs;
  const seg: Segmented = { ...head, segments: raw.dataParts, dataLength: raw.dataLength };
  switch (op) {
    case Op.ScsiCommand: {
      let cdb = b.subarray(32, 48);
      let bidiReadLength: number | undefined;
      // AHS (§11.2.2): 2-byte length, 1-byte type, 1 byte type-specific, then the value.
      let off = 0;
      const ahs = raw.ahs;
      while (off < ahs.length) {
        if (off + 4 > ahs.length) throw new DecodeError('E_ISCSI_FIELD', 'AHSLength', BHS_LENGTH + off, 'truncated AHS header');
        const len = ahs.readUInt16BE(off);
        const type = ahs[off + 2]!;
        // AHSLength counts the type-specific byte and the value, not the length/type bytes.
        const total = (3 + len + 3) & ~3;
        if (off + 3 + len > ahs.length || len === 0) {
          throw new DecodeError('E_ISCSI_FIELD', 'AHSLength', BHS_LENGTH + off, `AHS length ${len} beyond TotalAHSLength`);
        }
        if (type === 1) {
          // Extended CDB: the first 16 bytes stay in the BHS; len counts the reserved byte too.
          cdb = Buffer.concat([b.subarray(32, 48), ahs.subarray(off + 4, off + 3 + len)]);
        } else if (type === 2) {
          if (len !== 5) throw new DecodeError('E_ISCSI_FIELD', 'AHSLength', BHS_LENGTH + off, 'bidirectional read AHS must be 5');
          bidiReadLength = ahs.readUInt32BE(off + 4);
        } else {
          throw new DecodeError('E_ISCSI_FIELD', 'AHSType', BHS_LENGTH + off + 2, `unknown AHS type ${type}`);
        }
        off += total;
      }
      return {
        kind: 'scsi-command',
        ...seg,
        read: (b[1]! & 0x40) !== 0,
        write: (b[1]! & 0x20) !== 0,
        attr: b[1]! & 0x07,
        lun: b.subarray(8, 16),
        expectedDataTransferLength: b.readUInt32BE(20),
        cmdSN: b.readUInt32BE(24),
        expStatSN: b.readUInt32BE(28),
        cdb,
        bidiReadLength,
      };
    }
    case Op.DataOut:
      return {
        kind: 'data-out',
        ...seg,
        lun: b.subarray(8, 16),
        ttt: b.readUInt32BE(20),
        expStatSN: b.readUInt32BE(28),
        dataSN: b.readUInt32BE(36),
        bufferOffset: b.readUInt32BE(40),
      };
    default:
      throw new DecodeError('E_ISCSI_OPCODE', 'opcode', 0, `opcode 0x${op.toString(16)} is not a data-carrying opcode`);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding target PDUs. Each returns the 48-byte BHS; the data segment is passed separately to
// the writer (connection.ts), which adds padding and digests, so data is never copied here.
// ---------------------------------------------------------------------------------------------

/** Sequence numbers every target PDU in full-feature phase carries. */
export interface SeqNums {
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

function header(opcode: number, flags: number, dataLength: number, itt: number): Buffer {
  const b = Buffer.alloc(BHS_LENGTH);
  b[0] = opcode;
  b[1] = flags;
  b.writeUIntBE(dataLength, 5, 3);
  b.writeUInt32BE(itt >>> 0, 16);
  return b;
}
function seq(b: Buffer, s: SeqNums): void {
  b.writeUInt32BE(s.statSN >>> 0, 24);
  b.writeUInt32BE(s.expCmdSN >>> 0, 28);
  b.writeUInt32BE(s.maxCmdSN >>> 0, 32);
}

export function encodeLoginResponse(p: {
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionActive: number;
  isid: Buffer;
  tsih: number;
  itt: number;
  statusClass: number;
  statusDetail: number;
  dataLength: number;
  seq: SeqNums;
}): Buffer {
  const flags = (p.transit ? 0x80 : 0) | (p.cont ? 0x40 : 0) | ((p.csg & 3) << 2) | (p.nsg & 3);
  const b = header(TOp.LoginResponse, flags, p.dataLength, p.itt);
  b[2] = p.versionMax;
  b[3] = p.versionActive;
  p.isid.copy(b, 8, 0, 6);
  b.writeUInt16BE(p.tsih, 14);
  seq(b, p.seq);
  b[36] = p.statusClass;
  b[37] = p.statusDetail;
  return b;
}

export function encodeTextResponse(p: { final: boolean; cont: boolean; lun: Buffer; itt: number; ttt: number; dataLength: number; seq: SeqNums }): Buffer {
  const b = header(TOp.TextResponse, (p.final ? 0x80 : 0) | (p.cont ? 0x40 : 0), p.dataLength, p.itt);
  p.lun.copy(b, 8, 0, 8);
  b.writeUInt32BE(p.ttt >>> 0, 20);
  seq(b, p.seq);
  return b;
}

export function encodeNopIn(p: { lun: Buffer; itt: number; ttt: number; dataLength: number; seq: SeqNums }): Buffer {
  const b = header(TOp.NopIn, 0x80, p.dataLength, p.itt);
  p.lun.copy(b, 8, 0, 8);
  b.writeUInt32BE(p.ttt >>> 0, 20);
  seq(b, p.seq);
  return b;
}

/** SCSI Response (§11.4). `residual` > 0 sets U (underflow), < 0 sets O (overflow). */
export function encodeScsiResponse(p: {
  itt: number;
  response: number;
  status: number;
  residual: number;
  dataLength: number;
  expDataSN: number;
  seq: SeqNums;
}): Buffer {
  const flags = 0x80 | (p.residual > 0 ? 0x02 : p.residual < 0 ? 0x04 : 0);
  const b = header(TOp.ScsiResponse, flags, p.dataLength, p.itt);
  b[2] = p.response;
  b[3] = p.status;
  seq(b, p.seq);
  b.writeUInt32BE(p.expDataSN >>> 0, 36);
  b.writeUInt32BE(Math.abs(p.residual) >>> 0, 44);
  return b;
}

/**
 * SCSI Data-In (§11.7). With `status` set this is the last PDU of the command and carries the
 * status (S bit, "phase collapse"); then `seq.statSN` is the response's StatSN.
 */
export function encodeDataIn(p: {
  final: boolean;
  itt: number;
  dataLength: number;
  dataSN: number;
  bufferOffset: number;
  expCmdSN: number;
  maxCmdSN: number;
  status?: { status: number; statSN: number; residual: number };
}): Buffer {
  let flags = p.final ? 0x80 : 0;
  const b = header(TOp.DataIn, 0, p.dataLength, p.itt);
  b.writeUInt32BE(RESERVED_TAG, 20);
  if (p.status) {
    flags |= 0x80 | 0x01 | (p.status.residual > 0 ? 0x02 : p.status.residual < 0 ? 0x04 : 0);
    b[3] = p.status.status;
    b.writeUInt32BE(p.status.statSN >>> 0, 24);
    b.writeUInt32BE(Math.abs(p.status.residual) >>> 0, 44);
  }
  b[1] = flags;
  b.writeUInt32BE(p.expCmdSN >>> 0, 28);
  b.writeUInt32BE(p.maxCmdSN >>> 0, 32);
  b.writeUInt32BE(p.dataSN >>> 0, 36);
  b.writeUInt32BE(p.bufferOffset >>> 0, 40);
  return b;
}

export function encodeR2T(p: { lun: Buffer; itt: number; ttt: number; r2tSN: number; bufferOffset: number; desiredLength: number; seq: SeqNums }): Buffer {
  const b = header(TOp.R2T, 0x80, 0, p.itt);
  p.lun.copy(b, 8, 0, 8);
  b.writeUInt32BE(p.ttt >>> 0, 20);
  seq(b, p.seq);
  b.writeUInt32BE(p.r2tSN >>> 0, 36);
  b.writeUInt32BE(p.bufferOffset >>> 0, 40);
  b.writeUInt32BE(p.desiredLength >>> 0, 44);
  return b;
}

export function encodeTaskMgmtResponse(p: { itt: number; response: number; seq: SeqNums }): Buffer {
  const b = header(TOp.TaskMgmtResponse, 0x80, 0, p.itt);
  b[2] = p.response;
  seq(b, p.seq);
  return b;
}

export function encodeLogoutResponse(p: { itt: number; response: number; time2Wait: number; time2Retain: number; seq: SeqNums }): Buffer {
  const b = header(TOp.LogoutResponse, 0x80, 0, p.itt);
  b[2] = p.response;
  seq(b, p.seq);
  b.writeUInt16BE(p.time2Wait, 40);
  b.writeUInt16BE(p.time2Retain, 42);
  return b;
}

/** Reject (§11.17): the data segment is the rejected PDU's BHS (48 bytes). */
export function encodeReject(p: { reason: number; seq: SeqNums; dataSN?: number }): Buffer {
  const b = header(TOp.Reject, 0x80, BHS_LENGTH, RESERVED_TAG);
  b[2] = p.reason;
  seq(b, p.seq);
  b.writeUInt32BE((p.dataSN ?? 0) >>> 0, 36);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Wire assembly helpers: padding and digests around a BHS and a data segment.
// ---------------------------------------------------------------------------------------------

const PAD = Buffer.alloc(4);

/** Bytes of padding after a data segment of `n` bytes (§11.2.3: to a 4-byte boundary). */
export function padLength(n: number): number {
  return (4 - (n & 3)) & 3;
}

/** CRC32C as the 4 wire bytes (least-significant byte first). */
export function digestBytes(crc: number): Buffer {
  const d = Buffer.allocUnsafe(4);
  d.writeUInt32LE(crc >>> 0, 0);
  return d;
}

/**
 * The buffers that put one PDU on the wire: BHS [HeaderDigest] [data, padding [DataDigest]].
 * `data` may be several buffers (one logical data segment); nothing is copied.
 */
export function pduParts(bhs: Buffer, data: readonly Buffer[], digests: { header: boolean; data: boolean }): Buffer[] {
  const out: Buffer[] = [bhs];
  if (digests.header) out.push(digestBytes(crc32c(bhs)));
  let len = 0;
  for (const d of data) {
    if (d.length > 0) out.push(d);
    len += d.length;
  }
  if (len > 0) {
    const pad = padLength(len);
    const padBuf = pad ? PAD.subarray(0, pad) : undefined;
    if (padBuf) out.push(padBuf);
    if (digests.data) {
      let c = 0;
      for (const d of data) c = crc32c(d, c);
      if (padBuf) c = crc32c(padBuf, c);
      out.push(digestBytes(c));
    }
  }
  return out;
}

/** Helpers for the 8-byte LUN field (SAM-5 §4.7: peripheral and flat addressing). */
export function lunToNumber(lun: Buffer): number {
  const method = lun[0]! >> 6;
  if (method === 0 || method === 1) {
    // Peripheral device (bus 0) or flat space addressing: 14-bit LUN in bytes 0-1.
    for (let i = 2; i < 8; i++) if (lun[i] !== 0) return -1;
    return method === 0 ? (lun[0]! === 0 ? lun[1]! : -1) : ((lun[0]! & 0x3f) << 8) | lun[1]!;
  }
  return -1;
}
export function numberToLun(n: number): Buffer {
  const b = Buffer.alloc(8);
  if (n < 256) b[1] = n;
  else {
    b[0] = 0x40 | ((n >> 8) & 0x3f);
    b[1] = n & 0xff;
  }
  return b;
}
