// INQUIRY (SPC-4 §6.6): standard data and the VPD pages Linux and iPXE look at
// (REFERENCE.md §6): 0x00 supported pages, 0x80 unit serial number, 0x83 device
// identification, 0xB0 block limits, 0xB1 block device characteristics, 0xB2 logical block
// provisioning. Also READ CAPACITY 10/16 (SBC-3 §5.16/5.17), which shares the geometry.
import { MAX_COMPARE_AND_WRITE_BLOCKS, MAX_TRANSFER_BYTES } from './rw.js';
import { MAX_UNMAP_DESCRIPTORS, MAX_UNMAP_LBA_COUNT, MAX_WRITE_SAME_BLOCKS } from './provisioning.js';
import { badField, data, done, GOOD, type CommandContext, type Plan } from './types.js';
import type { LogicalUnit } from './logical-unit.js';

export const VENDOR = 'NETROOT';
export const PRODUCT = 'netroot disk';
export const REVISION = '0001';
/** Version descriptors (SPC-4 table 37): SAM-5, iSCSI, SPC-4, SBC-3. */
const VERSION_DESCRIPTORS = [0x00a0, 0x0960, 0x0460, 0x04c0];
const SUPPORTED_VPD = [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2];

/**
 * LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: 0. The file takes writes of any block, and
 * libiscsi's GetLBAStatus.UnmapSingle only holds for one logical block per physical block.
 */
export function lbppbe(_lu: LogicalUnit): number {
  return 0;
}

/** `s` in a space-padded field of `len` bytes (write() stops at the end: longer text is cut). */
function ascii(s: string, len: number): Buffer {
  const b = Buffer.alloc(len, 0x20);
  b.write(s, 'ascii');
  return b;
}

function standard(lu: LogicalUnit | undefined): Buffer {
  const b = Buffer.alloc(74);
  // Peripheral qualifier 011b + type 1Fh: "no logical unit at this LUN" (SPC-4 §6.6.2).
  b[0] = lu ? 0x00 : 0x7f;
  b[1] = 0x00; // RMB=0: not removable
  b[2] = 0x06; // SPC-4
  b[3] = 0x12; // HISUP | response data format 2
  b[4] = b.length - 5;
  b[5] = 0x00;
  b[6] = 0x00;
  b[7] = 0x02; // CMDQUE
  ascii(VENDOR, 8).copy(b, 8);
  ascii(PRODUCT, 16).copy(b, 16);
  ascii(REVISION, 4).copy(b, 32);
  for (const [i, v] of VERSION_DESCRIPTORS.entries()) b.writeUInt16BE(v, 58 + i * 2);
  return b;
}

function vpd(code: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[1] = code;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

function designator(codeSet: number, assocType: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = (5 << 4) | codeSet; // protocol identifier 5 = iSCSI (meaningful only with PIV)
  h[1] = assocType;
  h[3] = value.length;
  return Buffer.concat([h, value]);
}

function padTo4(s: string): Buffer {
  const raw = Buffer.from(s + '\0', 'utf8');
  const len = (raw.length + 3) & ~3;
  const b = Buffer.alloc(len);
  raw.copy(b);
  return b;
}

function vpdPage(lu: LogicalUnit, page: number): Buffer | undefined {
  switch (page) {
    case 0x00:
      return vpd(0x00, Buffer.from(SUPPORTED_VPD));
    case 0x80:
      return vpd(0x80, Buffer.from(lu.identity.serial, 'ascii'));
    case 0x83: {
      const id = lu.identity;
      const t10 = Buffer.concat([ascii(VENDOR, 8), Buffer.from(`${id.serial}`, 'ascii')]);
      const designators = [
        // NAA (type 3), binary, associated with the logical unit.
        designator(0x01, 0x03, id.naa),
        // T10 vendor ID based (type 1), ASCII, logical unit.
        designator(0x02, 0x01, t10),
        // SCSI name string (type 8) of the target device, UTF-8 (PIV=1, association 2).
        designator(0x03, 0x80 | (2 << 4) | 0x08, padTo4(id.targetIqn)),
        // Relative target port identifier (type 4) = 1, association with the target port.
        designator(0x01, 0x80 | (1 << 4) | 0x04, Buffer.from([0, 0, 0, 1])),
        // Target port group (type 5) = 1.
        designator(0x01, 0x80 | (1 << 4) | 0x05, Buffer.from([0, 0, 0, 1])),
      ];
      return vpd(0x83, Buffer.concat(designators));
    }
    case 0xb0: {
      const b = Buffer.alloc(0x3c);
      const bs = lu.blockSize;
      b[0] = 0x00; // WSNZ=0: WRITE SAME with 0 blocks means "to the end"
      b[1] = MAX_COMPARE_AND_WRITE_BLOCKS;
      b.writeUInt16BE(1 << lbppbe(lu), 2); // OPTIMAL TRANSFER LENGTH GRANULARITY
      b.writeUInt32BE(MAX_TRANSFER_BYTES / bs, 4); // MAXIMUM TRANSFER LENGTH
      b.writeUInt32BE((1024 * 1024) / bs, 8); // OPTIMAL TRANSFER LENGTH
      b.writeUInt32BE(0, 12); // MAXIMUM PREFETCH LENGTH
      b.writeUInt32BE(MAX_UNMAP_LBA_COUNT, 16);
      b.writeUInt32BE(MAX_UNMAP_DESCRIPTORS, 20);
      b.writeUInt32BE(1 << lbppbe(lu), 24); // OPTIMAL UNMAP GRANULARITY
      b.writeUInt32BE(0x80000000, 28); // UGAVALID, alignment 0
      b.writeBigUInt64BE(BigInt(MAX_WRITE_SAME_BLOCKS), 32);
      return vpd(0xb0, b);
    }
    case 0xb1: {
      const b = Buffer.alloc(0x3c);
      b.writeUInt16BE(1, 0); // MEDIUM ROTATION RATE: non-rotating medium
      b[3] = 0x00; // nominal form factor not reported
      return vpd(0xb1, b);
    }
    case 0xb2: {
      const b = Buffer.alloc(4);
      b[0] = 0; // THRESHOLD EXPONENT
      b[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ (SBC-4: 001b)
      b[2] = 0x02; // PROVISIONING TYPE: thin
      return vpd(0xb2, b);
    }
    default:
      return undefined;
  }
}

export function inquiry(ctx: CommandContext): Plan {
  const { cdb, lu } = ctx;
  const evpd = (cdb[1]! & 0x01) !== 0;
  const page = cdb[2]!;
  const alloc = cdb.readUInt16BE(3);
  if (cdb[1]! & 0x02) return badField(1, 1); // CMDDT is obsolete
  if (!evpd) {
    if (page !== 0) return badField(2);
    return data(standard(lu), alloc);
  }
  if (!lu) return badField(1, 0);
  const body = vpdPage(lu, page);
  if (!body) return badField(2);
  return data(body, alloc);
}

export function readCapacity10(ctx: CommandContext & { lu: LogicalUnit }): Plan {
  const { cdb, lu } = ctx;
  // PMI=0 requires LOGICAL BLOCK ADDRESS 0 (SBC-3 §5.16.1).
  if (!(cdb[8]! & 0x01) && cdb.readUInt32BE(2) !== 0) return badField(2);
  const b = Buffer.alloc(8);
  const last = lu.blockCount - 1;
  b.writeUInt32BE(last > 0xfffffffe ? 0xffffffff : last, 0);
  b.writeUInt32BE(lu.blockSize, 4);
  return done({ ...GOOD, data: b });
}

export function readCapacity16(ctx: CommandContext & { lu: LogicalUnit }): Plan {
  const { cdb, lu } = ctx;
  const alloc = cdb.readUInt32BE(10);
  const b = Buffer.alloc(32);
  b.writeBigUInt64BE(BigInt(lu.blockCount - 1), 0);
  b.writeUInt32BE(lu.blockSize, 8);
  b[12] = 0; // no protection information
  b[13] = lbppbe(lu);
  b[14] = 0x80 | 0x40; // LBPME, LBPRZ; lowest aligned LBA 0
  return data(b, alloc);
}
