// SCSI status codes and sense data (SPC-4 §4.5). Fixed format (0x70) by default; descriptor
// format (0x72) when the Control mode page's D_SENSE bit is set.

export const Status = {
  Good: 0x00,
  CheckCondition: 0x02,
  ConditionMet: 0x04,
  Busy: 0x08,
  ReservationConflict: 0x18,
  TaskSetFull: 0x28,
  TaskAborted: 0x40,
} as const;

export const SenseKey = {
  NoSense: 0x0,
  RecoveredError: 0x1,
  NotReady: 0x2,
  MediumError: 0x3,
  HardwareError: 0x4,
  IllegalRequest: 0x5,
  UnitAttention: 0x6,
  DataProtect: 0x7,
  AbortedCommand: 0xb,
  Miscompare: 0xe,
} as const;

/** Additional sense code and qualifier, as ASC << 8 | ASCQ. */
export const Asc = {
  NoAdditionalSense: 0x0000,
  NotReadyInitializingCommandRequired: 0x0402,
  WriteError: 0x0c00,
  InvalidFieldInCommandInformationUnit: 0x0e03,
  UnrecoveredReadError: 0x1100,
  ParameterListLengthError: 0x1a00,
  MiscompareDuringVerify: 0x1d00,
  InvalidCommandOperationCode: 0x2000,
  LbaOutOfRange: 0x2100,
  InvalidFieldInCdb: 0x2400,
  LogicalUnitNotSupported: 0x2500,
  InvalidFieldInParameterList: 0x2600,
  WriteProtected: 0x2700,
  PowerOnResetOccurred: 0x2900,
  SavingParametersNotSupported: 0x3900,
  MediumNotPresent: 0x3a00,
  InternalTargetFailure: 0x4400,
  MediumRemovalPrevented: 0x5302,
  DataPhaseError: 0x4b00,
  DataOffsetError: 0x4b05,
} as const;

export interface SenseInfo {
  key: number;
  asc: number; // ASC << 8 | ASCQ
  /** INFORMATION field (e.g. the offset of a miscompare); sets VALID. */
  info?: number;
  /** Sense-key specific field pointer: byte (and bit) in the CDB or parameter list at fault. */
  field?: { cdb: boolean; byte: number; bit?: number };
}

export function buildSense(s: SenseInfo, descriptor: boolean): Buffer {
  if (descriptor) {
    const parts: Buffer[] = [];
    const hdr = Buffer.alloc(8);
    hdr[0] = 0x72;
    hdr[1] = s.key & 0x0f;
    hdr[2] = s.asc >> 8;
    hdr[3] = s.asc & 0xff;
    parts.push(hdr);
    if (s.info !== undefined) {
      const d = Buffer.alloc(12);
      d[0] = 0x00;
      d[1] = 0x0a;
      d[2] = 0x80;
      d.writeBigUInt64BE(BigInt(s.info), 4);
      parts.push(d);
    }
    if (s.field) {
      const d = Buffer.alloc(8);
      d[0] = 0x02;
      d[1] = 0x06;
      d[4] = 0x80 | (s.field.cdb ? 0x40 : 0) | (s.field.bit !== undefined ? 0x08 | (s.field.bit & 7) : 0);
      d.writeUInt16BE(s.field.byte, 5);
      parts.push(d);
    }
    const out = Buffer.concat(parts);
    out[7] = out.length - 8;
    return out;
  }
  const b = Buffer.alloc(18);
  b[0] = 0x70 | (s.info !== undefined ? 0x80 : 0);
  b[2] = s.key & 0x0f;
  if (s.info !== undefined) b.writeUInt32BE(s.info >>> 0, 3);
  b[7] = 10;
  b[12] = s.asc >> 8;
  b[13] = s.asc & 0xff;
  if (s.field) {
    b[15] = 0x80 | (s.field.cdb ? 0x40 : 0) | (s.field.bit !== undefined ? 0x08 | (s.field.bit & 7) : 0);
    b.writeUInt16BE(s.field.byte, 16);
  }
  return b;
}
