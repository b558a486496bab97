// Small commands: TEST UNIT READY, REQUEST SENSE, REPORT LUNS (SPC-4), START STOP UNIT and
// PREVENT ALLOW MEDIUM REMOVAL (SBC-3). The medium is fixed (RMB=0) and always ready: START
// STOP UNIT is accepted without changing anything (power conditions are not modelled), and
// PREVENT ALLOW only records the state.
import { numberToLun } from '../pdu.js';
import { Asc, buildSense, SenseKey } from './sense.js';
import { GOOD, badField, check, data, done, type CommandContext, type Plan } from './types.js';
import type { LogicalUnit } from './logical-unit.js';

type Ctx = CommandContext & { lu: LogicalUnit };

export function testUnitReady(): Plan {
  return done(GOOD);
}

/**
 * REQUEST SENSE: sense is delivered with each CHECK CONDITION (autosense), so nothing is
 * pending: NO SENSE, or LOGICAL UNIT NOT SUPPORTED for a LUN that does not exist.
 */
export function requestSense(ctx: CommandContext): Plan {
  const { cdb, lu } = ctx;
  const desc = (cdb[1]! & 0x01) !== 0;
  const alloc = cdb[4]!;
  const s = lu
    ? buildSense({ key: SenseKey.NoSense, asc: Asc.NoAdditionalSense }, desc)
    : buildSense({ key: SenseKey.IllegalRequest, asc: Asc.LogicalUnitNotSupported }, desc);
  return data(s, alloc);
}

/** REPORT LUNS: works on any LUN, including one that does not exist (SPC-4 §6.33). */
export function reportLuns(ctx: CommandContext): Plan {
  const { cdb, luns } = ctx;
  const select = cdb[2]!;
  const alloc = cdb.readUInt32BE(6);
  if (select > 2 && !(select >= 0x10 && select <= 0x12)) return badField(2);
  if (alloc < 16) return badField(6);
  // Select 0x01 lists well-known LUs only (we have none); 0x11 asks for the LUs under the
  // administrative LU 0, which is none of our concern either.
  const list = select === 0x01 || select === 0x11 || select === 0x12 ? [] : [...luns].sort((a, b) => a - b);
  const out = Buffer.alloc(8 + 8 * list.length);
  out.writeUInt32BE(8 * list.length, 0);
  for (const [i, n] of list.entries()) numberToLun(n).copy(out, 8 + i * 8);
  return data(out, alloc);
}

export function startStopUnit(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  const pc = cdb[4]! >> 4;
  const loej = (cdb[4]! & 0x02) !== 0;
  if (pc !== 0 && pc !== 1 && pc !== 2 && pc !== 3 && pc !== 7 && pc !== 0xa && pc !== 0xb) return badField(4, 7);
  // LOEJ on a fixed medium: nothing to eject; with PREVENT set that is "removal prevented".
  if (loej && pc === 0 && lu.prevent !== 0) return done(check(SenseKey.IllegalRequest, Asc.MediumRemovalPrevented));
  return done(GOOD);
}

export function preventAllow(ctx: Ctx): Plan {
  const { cdb, lu } = ctx;
  lu.prevent = cdb[4]! & 0x03;
  return done(GOOD);
}
