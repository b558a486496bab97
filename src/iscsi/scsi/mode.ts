// MODE SENSE 6/10 and MODE SELECT 6/10 (SPC-4 §6.11-6.14). Pages: 0x01 read-write error
// recovery, 0x08 caching (WCE changeable), 0x0A control (D_SENSE changeable), 0x1C
// informational exceptions, 0x3F all. Saved values are not supported (SAVING PARAMETERS NOT
// SUPPORTED); the device-specific parameter reports DPOFUA=1 and WP=0.
import { Asc, SenseKey } from './sense.js';
import { GOOD, badField, check, concat, data, done, type CommandContext, type DataOut, type Plan } from './types.js';
import type { LogicalUnit } from './logical-unit.js';

type Ctx = CommandContext & { lu: LogicalUnit };

const PAGES = [0x01, 0x08, 0x0a, 0x1c] as const;

/** Page contents for a page control value: 0 current, 1 changeable, 2 default. */
function page(lu: LogicalUnit, code: number, pc: number): Buffer | undefined {
  switch (code) {
    case 0x01: {
      const b = Buffer.alloc(12);
      b[0] = 0x01;
      b[1] = 0x0a;
      return b;
    }
    case 0x08: {
      const b = Buffer.alloc(20);
      b[0] = 0x08;
      b[1] = 0x12;
      if (pc === 1) b[2] = 0x04;
      else if (pc === 2) b[2] = 0x04;
      else b[2] = lu.writeCache ? 0x04 : 0;
      return b;
    }
    case 0x0a: {
      const b = Buffer.alloc(12);
      b[0] = 0x0a;
      b[1] = 0x0a;
      if (pc === 1) {
        b[2] = 0x04;
        return b;
      }
      b[2] = pc === 0 && lu.descriptorSense ? 0x04 : 0; // D_SENSE
      b[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering
      b[5] = 0x40; // TAS: aborted tasks of other I_T nexuses get TASK ABORTED
      b.writeUInt16BE(0xffff, 8); // BUSY TIMEOUT PERIOD: unlimited
      return b;
    }
    case 0x1c: {
      const b = Buffer.alloc(12);
      b[0] = 0x1c;
      b[1] = 0x0a;
      return b;
    }
    default:
      return undefined;
  }
}

function modeSense(ctx: Ctx, ten: boolean): Plan {
  const { cdb, lu } = ctx;
  const dbd = (cdb[1]! & 0x08) !== 0;
  const llbaa = ten && (cdb[1]! & 0x10) !== 0;
  const pc = cdb[2]! >> 6;
  const code = cdb[2]! & 0x3f;
  const subpage = cdb[3]!;
  const alloc = ten ? cdb.readUInt16BE(7) : cdb[4]!;
  if (pc === 3) return done(check(SenseKey.IllegalRequest, Asc.SavingParametersNotSupported, { field: { cdb: true, byte: 2, bit: 7 } }));
  // Subpage 0xFF with page 0x3F: all pages and subpages; we have no subpages.
  if (subpage !== 0 && !(code === 0x3f && subpage === 0xff)) return badField(3);
  const pages: Buffer[] = [];
  if (code === 0x3f) for (const c of PAGES) pages.push(page(lu, c, pc)!);
  else {
    const p = page(lu, code, pc);
    if (!p) return badField(2, 5);
    pages.push(p);
  }
  let desc = Buffer.alloc(0);
  if (!dbd) {
    if (llbaa) {
      desc = Buffer.alloc(16);
      desc.writeBigUInt64BE(BigInt(lu.blockCount), 0);
      desc.writeUInt32BE(lu.blockSize, 12);
    } else {
      desc = Buffer.alloc(8);
      desc.writeUInt32BE(Math.min(lu.blockCount, 0xffffffff), 0);
      desc.writeUIntBE(lu.blockSize, 5, 3);
    }
  }
  const body = Buffer.concat([desc, ...pages]);
  const devSpecific = 0x10; // DPOFUA
  let hdr: Buffer;
  if (ten) {
    hdr = Buffer.alloc(8);
    hdr.writeUInt16BE(6 + body.length, 0);
    hdr[3] = devSpecific;
    hdr[4] = llbaa && desc.length ? 0x01 : 0;
    hdr.writeUInt16BE(desc.length, 6);
  } else {
    hdr = Buffer.alloc(4);
    hdr[0] = Math.min(255, 3 + body.length);
    hdr[2] = devSpecific;
    hdr[3] = desc.length;
  }
  return data(Buffer.concat([hdr, body]), alloc);
}

export function modeSense6(ctx: Ctx): Plan {
  return modeSense(ctx, false);
}
export function modeSense10(ctx: Ctx): Plan {
  return modeSense(ctx, true);
}

function invalidParam(byte: number): ReturnType<typeof check> {
  return check(SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, { field: { cdb: false, byte } });
}

function modeSelect(ctx: Ctx, ten: boolean): Plan {
  const { cdb, lu } = ctx;
  const pf = (cdb[1]! & 0x10) !== 0;
  const sp = (cdb[1]! & 0x01) !== 0;
  const len = ten ? cdb.readUInt16BE(7) : cdb[4]!;
  if (sp) return done(check(SenseKey.IllegalRequest, Asc.SavingParametersNotSupported, { field: { cdb: true, byte: 1, bit: 0 } }));
  if (len === 0) return done(GOOD);
  if (!pf) return badField(1, 4);
  const hdrLen = ten ? 8 : 4;
  if (len < hdrLen) return done(check(SenseKey.IllegalRequest, Asc.ParameterListLengthError));
  return {
    kind: 'exec',
    dataOutLength: len,
    run: async (d: DataOut) => {
      const p = concat(d);
      const bdl = ten ? p.readUInt16BE(6) : p[3]!;
      let off = hdrLen + bdl;
      if (off > p.length) return check(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
      if (bdl >= 8) {
        const blockLen = ten && p[4]! & 1 ? p.readUInt32BE(hdrLen + 12) : p.readUIntBE(hdrLen + 5, 3);
        if (blockLen !== 0 && blockLen !== lu.blockSize) return invalidParam(hdrLen + 5);
      }
      // Validate every page first, then apply: a rejected list changes nothing.
      const changes: Array<() => void> = [];
      while (off < p.length) {
        if (off + 2 > p.length) return check(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
        const code = p[off]! & 0x3f;
        if (p[off]! & 0x40) return invalidParam(off); // SPF: no subpages
        const plen = p[off + 1]!;
        if (off + 2 + plen > p.length) return check(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
        const cur = page(lu, code, 0);
        const mask = page(lu, code, 1);
        if (!cur || !mask || plen !== cur.length - 2) return invalidParam(off);
        const sent = p.subarray(off, off + 2 + plen);
        // Only changeable bits may differ from the current values.
        for (let i = 2; i < cur.length; i++) {
          if ((sent[i]! ^ cur[i]!) & ~mask[i]! & 0xff) return invalidParam(off + i);
        }
        if (code === 0x08) {
          const wce = (sent[2]! & 0x04) !== 0;
          changes.push(() => (lu.writeCache = wce));
        } else if (code === 0x0a) {
          const ds = (sent[2]! & 0x04) !== 0;
          changes.push(() => (lu.descriptorSense = ds));
        }
        off += 2 + plen;
      }
      // Turning the write cache off flushes what it holds.
      for (const c of changes) c();
      if (!lu.writeCache) await lu.file.sync();
      return GOOD;
    },
  };
}

export function modeSelect6(ctx: Ctx): Plan {
  return modeSelect(ctx, false);
}
export function modeSelect10(ctx: Ctx): Plan {
  return modeSelect(ctx, true);
}
