// The command table and the dispatcher: opcode (+ service action) → handler. REPORT SUPPORTED
// OPERATION CODES (SPC-4 §6.35) is generated from the same table, so what we report and what
// we execute cannot drift apart. Anything not in the table is CHECK CONDITION, ILLEGAL
// REQUEST, INVALID COMMAND OPERATION CODE.
import { inquiry, readCapacity10, readCapacity16 } from './inquiry.js';
import { modeSelect10, modeSelect6, modeSense10, modeSense6 } from './mode.js';
import { preventAllow, reportLuns, requestSense, startStopUnit, testUnitReady } from './misc.js';
import { getLbaStatus, unmap, writeSame } from './provisioning.js';
import { compareAndWrite, prefetch, read, synchronizeCache, verify, write, writeAndVerify } from './rw.js';
import { Asc, SenseKey } from './sense.js';
import { badField, check, data, done, invalidOpcode, type CommandContext, type Handler, type Plan } from './types.js';

interface Entry {
  op: number;
  sa?: number;
  name: string;
  cdbLength: number;
  /** CDB USAGE DATA: the bits we look at (first byte is the opcode). */
  usage: number[];
  /** Works without a logical unit behind the LUN (INQUIRY, REPORT LUNS, REQUEST SENSE). */
  noLu?: (ctx: CommandContext) => Plan;
  handler?: Handler;
}

/** A usage map: opcode, byte 1 mask, 0xff for the middle bytes, control byte 0x07. */
function u(op: number, len: number, byte1: number, overrides: Record<number, number> = {}): number[] {
  const m = new Array<number>(len).fill(0xff);
  m[0] = op;
  m[1] = byte1;
  m[len - 1] = 0x07;
  for (const [k, v] of Object.entries(overrides)) m[Number(k)] = v;
  return m;
}

const rwFlags = 0xe0 | 0x10 | 0x08 | 0x02; // xPROTECT, DPO, FUA, FUA_NV

const TABLE: Entry[] = [
  { op: 0x00, name: 'TEST UNIT READY', cdbLength: 6, usage: [0x00, 0, 0, 0, 0, 0x07], handler: testUnitReady },
  { op: 0x03, name: 'REQUEST SENSE', cdbLength: 6, usage: [0x03, 0x01, 0, 0, 0xff, 0x07], noLu: requestSense },
  { op: 0x08, name: 'READ(6)', cdbLength: 6, usage: [0x08, 0x1f, 0xff, 0xff, 0xff, 0x07], handler: read },
  { op: 0x0a, name: 'WRITE(6)', cdbLength: 6, usage: [0x0a, 0x1f, 0xff, 0xff, 0xff, 0x07], handler: write },
  { op: 0x12, name: 'INQUIRY', cdbLength: 6, usage: [0x12, 0x01, 0xff, 0xff, 0xff, 0x07], noLu: inquiry },
  { op: 0x15, name: 'MODE SELECT(6)', cdbLength: 6, usage: [0x15, 0x11, 0, 0, 0xff, 0x07], handler: modeSelect6 },
  { op: 0x1a, name: 'MODE SENSE(6)', cdbLength: 6, usage: [0x1a, 0x08, 0xff, 0xff, 0xff, 0x07], handler: modeSense6 },
  { op: 0x1b, name: 'START STOP UNIT', cdbLength: 6, usage: [0x1b, 0x01, 0, 0x0f, 0xf7, 0x07], handler: startStopUnit },
  { op: 0x1e, name: 'PREVENT ALLOW MEDIUM REMOVAL', cdbLength: 6, usage: [0x1e, 0, 0, 0, 0x03, 0x07], handler: preventAllow },
  { op: 0x25, name: 'READ CAPACITY(10)', cdbLength: 10, usage: u(0x25, 10, 0, { 6: 0, 7: 0, 8: 0x01 }), handler: readCapacity10 },
  { op: 0x28, name: 'READ(10)', cdbLength: 10, usage: u(0x28, 10, rwFlags, { 6: 0x3f }), handler: read },
  { op: 0x2a, name: 'WRITE(10)', cdbLength: 10, usage: u(0x2a, 10, rwFlags, { 6: 0x3f }), handler: write },
  { op: 0x2e, name: 'WRITE AND VERIFY(10)', cdbLength: 10, usage: u(0x2e, 10, 0xf2, { 6: 0x3f }), handler: writeAndVerify },
  { op: 0x2f, name: 'VERIFY(10)', cdbLength: 10, usage: u(0x2f, 10, 0xf6, { 6: 0x3f }), handler: verify },
  { op: 0x34, name: 'PRE-FETCH(10)', cdbLength: 10, usage: u(0x34, 10, 0x02, { 6: 0x3f }), handler: prefetch },
  { op: 0x35, name: 'SYNCHRONIZE CACHE(10)', cdbLength: 10, usage: u(0x35, 10, 0x02, { 6: 0x3f }), handler: synchronizeCache },
  { op: 0x41, name: 'WRITE SAME(10)', cdbLength: 10, usage: u(0x41, 10, 0xe8, { 6: 0x3f }), handler: writeSame },
  { op: 0x42, name: 'UNMAP', cdbLength: 10, usage: u(0x42, 10, 0x01, { 2: 0, 3: 0, 4: 0, 5: 0, 6: 0x3f }), handler: unmap },
  { op: 0x55, name: 'MODE SELECT(10)', cdbLength: 10, usage: u(0x55, 10, 0x11, { 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 }), handler: modeSelect10 },
  { op: 0x5a, name: 'MODE SENSE(10)', cdbLength: 10, usage: u(0x5a, 10, 0x18, { 4: 0, 5: 0, 6: 0 }), handler: modeSense10 },
  { op: 0x88, name: 'READ(16)', cdbLength: 16, usage: u(0x88, 16, rwFlags, { 14: 0x3f }), handler: read },
  { op: 0x89, name: 'COMPARE AND WRITE', cdbLength: 16, usage: u(0x89, 16, 0xf8, { 10: 0, 11: 0, 12: 0, 14: 0x3f }), handler: compareAndWrite },
  { op: 0x8a, name: 'WRITE(16)', cdbLength: 16, usage: u(0x8a, 16, rwFlags, { 14: 0x3f }), handler: write },
  { op: 0x8e, name: 'WRITE AND VERIFY(16)', cdbLength: 16, usage: u(0x8e, 16, 0xf2, { 14: 0x3f }), handler: writeAndVerify },
  { op: 0x8f, name: 'VERIFY(16)', cdbLength: 16, usage: u(0x8f, 16, 0xf6, { 14: 0x3f }), handler: verify },
  { op: 0x90, name: 'PRE-FETCH(16)', cdbLength: 16, usage: u(0x90, 16, 0x02, { 14: 0x3f }), handler: prefetch },
  { op: 0x91, name: 'SYNCHRONIZE CACHE(16)', cdbLength: 16, usage: u(0x91, 16, 0x02, { 14: 0x3f }), handler: synchronizeCache },
  { op: 0x93, name: 'WRITE SAME(16)', cdbLength: 16, usage: u(0x93, 16, 0xe9, { 14: 0x3f }), handler: writeSame },
  {
    op: 0x9e,
    sa: 0x10,
    name: 'READ CAPACITY(16)',
    cdbLength: 16,
    usage: u(0x9e, 16, 0x1f, { 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 14: 0 }),
    handler: readCapacity16,
  },
  { op: 0x9e, sa: 0x12, name: 'GET LBA STATUS', cdbLength: 16, usage: u(0x9e, 16, 0x1f, { 14: 0 }), handler: getLbaStatus },
  { op: 0xa0, name: 'REPORT LUNS', cdbLength: 12, usage: u(0xa0, 12, 0, { 2: 0xff, 3: 0, 4: 0, 5: 0, 10: 0 }), noLu: reportLuns },
  { op: 0xa3, sa: 0x0c, name: 'REPORT SUPPORTED OPERATION CODES', cdbLength: 12, usage: u(0xa3, 12, 0x1f, { 2: 0x87, 10: 0 }), noLu: reportSupportedOpcodes },
  { op: 0xa8, name: 'READ(12)', cdbLength: 12, usage: u(0xa8, 12, rwFlags, { 10: 0x3f }), handler: read },
  { op: 0xaa, name: 'WRITE(12)', cdbLength: 12, usage: u(0xaa, 12, rwFlags, { 10: 0x3f }), handler: write },
  { op: 0xae, name: 'WRITE AND VERIFY(12)', cdbLength: 12, usage: u(0xae, 12, 0xf2, { 10: 0x3f }), handler: writeAndVerify },
  { op: 0xaf, name: 'VERIFY(12)', cdbLength: 12, usage: u(0xaf, 12, 0xf6, { 10: 0x3f }), handler: verify },
];

const HAS_SA = new Set(TABLE.filter((e) => e.sa !== undefined).map((e) => e.op));

/** `sa` is undefined exactly when the opcode has no service actions (every caller checks HAS_SA). */
function lookup(op: number, sa: number | undefined): Entry | undefined {
  return TABLE.find((e) => e.op === op && e.sa === sa);
}

/** Service action of a CDB whose opcode has service actions (byte 1, bits 4-0). */
function serviceAction(cdb: Buffer): number {
  return cdb[1]! & 0x1f;
}

export function commandName(cdb: Buffer): string {
  const op = cdb[0]!;
  return lookup(op, HAS_SA.has(op) ? serviceAction(cdb) : undefined)?.name ?? `opcode 0x${op.toString(16)}`;
}

/** Plan a command. Never throws for any CDB content. */
export function dispatch(ctx: CommandContext): Plan {
  const op = ctx.cdb[0]!;
  const hasSa = HAS_SA.has(op);
  const e = lookup(op, hasSa ? serviceAction(ctx.cdb) : undefined);
  if (!e) return hasSa ? badField(1, 4) : invalidOpcode();
  if (ctx.cdb.length < e.cdbLength) return invalidOpcode();
  if (e.noLu) return e.noLu(ctx);
  if (!ctx.lu) return done(check(SenseKey.IllegalRequest, Asc.LogicalUnitNotSupported));
  return e.handler!({ ...ctx, lu: ctx.lu });
}

/** Timeouts descriptor (SPC-4 §6.35.4): nominal 0 (unknown), recommended 30 s. */
function timeouts(): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x0a, 0);
  b.writeUInt32BE(0, 4);
  b.writeUInt32BE(30, 8);
  return b;
}

function reportSupportedOpcodes(ctx: CommandContext): Plan {
  const { cdb } = ctx;
  const rctd = (cdb[2]! & 0x80) !== 0;
  const options = cdb[2]! & 0x07;
  const reqOp = cdb[3]!;
  const reqSa = cdb.readUInt16BE(4);
  const alloc = cdb.readUInt32BE(6);
  if (options === 0) {
    const parts: Buffer[] = [Buffer.alloc(4)];
    for (const e of TABLE) {
      const d = Buffer.alloc(8);
      d[0] = e.op;
      d.writeUInt16BE(e.sa ?? 0, 2);
      d[5] = (rctd ? 0x02 : 0) | (e.sa !== undefined ? 0x01 : 0);
      d.writeUInt16BE(e.cdbLength, 6);
      parts.push(d);
      if (rctd) parts.push(timeouts());
    }
    const out = Buffer.concat(parts);
    out.writeUInt32BE(out.length - 4, 0);
    return data(out, alloc);
  }
  let e: Entry | undefined;
  if (options === 1) {
    if (HAS_SA.has(reqOp)) return badField(2, 2);
    e = lookup(reqOp, undefined);
  } else if (options === 2) {
    if (!HAS_SA.has(reqOp)) return badField(2, 2);
    e = lookup(reqOp, reqSa);
  } else if (options === 3) {
    e = lookup(reqOp, HAS_SA.has(reqOp) ? reqSa : undefined);
  } else {
    return badField(2, 2);
  }
  if (!e) {
    const out = Buffer.alloc(4);
    out[1] = 0x01; // SUPPORT 001b: not supported
    return data(out, alloc);
  }
  const usage = Buffer.from(e.usage);
  if (e.sa !== undefined) usage[1] = (usage[1]! & 0xe0) | e.sa;
  const hdr = Buffer.alloc(4);
  hdr[1] = (rctd ? 0x80 : 0) | 0x03; // CTDP, SUPPORT 011b: supported as the standard says
  hdr.writeUInt16BE(usage.length, 2);
  const out = Buffer.concat(rctd ? [hdr, usage, timeouts()] : [hdr, usage]);
  return data(out, alloc);
}

/** For tests and REPORT SUPPORTED OPERATION CODES consumers. */
export function supportedCommands(): ReadonlyArray<{ op: number; sa?: number; name: string }> {
  return TABLE.map((e) => (e.sa === undefined ? { op: e.op, name: e.name } : { op: e.op, sa: e.sa, name: e.name }));
}
