// The SCSI command handlers (src/iscsi/scsi/) driven directly, without an iSCSI session: a real
// LogicalUnit over a real sparse LunFile in a temporary directory, CDBs through `dispatch`, and
// the Plan's `run` called with the data-out a session would have gathered. The session-level
// path (PDUs, R2Ts, residuals) is test/iscsi/scsi.test.ts; these tests pin each handler's
// boundaries and exact bytes, fast enough for mutation testing.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LunFile } from '../../../src/iscsi/lun-file.js';
import { dispatch } from '../../../src/iscsi/scsi/commands.js';
import { LogicalUnit, luIdentity } from '../../../src/iscsi/scsi/logical-unit.js';
import type { SenseInfo } from '../../../src/iscsi/scsi/sense.js';
import type { Plan, ScsiResult } from '../../../src/iscsi/scsi/types.js';

export const TEST_IQN = 'iqn.2026-12.local.netroot:scsi-unit';

export interface TestLu {
  lu: LogicalUnit;
  file: LunFile;
  path: string;
  /** fdatasync calls on the LU's file since the last `takeSyncs()` (a counting wrapper; the real sync still runs). */
  takeSyncs: () => number;
  close: () => Promise<void>;
}

const PREFIX = 'netroot-scsi-';
let swept = false;

/**
 * Remove the LU directories of test processes that no longer run. Mutation testing kills a test
 * process at its first failure or timeout, before its `after` hook; the directory name carries
 * the pid so the next process can tell.
 */
function sweepStale(): void {
  if (swept) return;
  swept = true;
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(/^netroot-scsi-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** A logical unit on a fresh sparse file (default 8 MiB of 512-byte blocks). */
export async function openLu(o: { sizeBytes?: number; blockSize?: 512 | 4096; lun?: number } = {}): Promise<TestLu> {
  sweepStale();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  const path = join(dir, 'lun.img');
  const file = await LunFile.open({ path, sizeBytes: o.sizeBytes ?? 8 << 20, blockSize: o.blockSize ?? 512 });
  const lun = o.lun ?? 0;
  const lu = new LogicalUnit(lun, file, luIdentity(TEST_IQN, lun, path));
  let syncs = 0;
  const realSync = file.sync.bind(file);
  file.sync = () => {
    syncs++;
    return realSync();
  };
  return {
    lu,
    file,
    path,
    takeSyncs: () => {
      const n = syncs;
      syncs = 0;
      return n;
    },
    close: async () => {
      await file.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Plan a CDB addressed to `lu` (undefined: a LUN with no logical unit behind it). */
export function plan(cdb: Buffer | number[], lu: LogicalUnit | undefined, luns: readonly number[] = lu ? [lu.number] : []): Plan {
  return dispatch({ cdb: Buffer.from(cdb), lu, lunNumber: lu?.number ?? 7, luns });
}

/** The finished result of a plan that must be 'done'. */
export function doneResult(p: Plan): ScsiResult {
  assert.equal(p.kind, 'done', 'plan is done (no data phase)');
  return (p as Extract<Plan, { kind: 'done' }>).result;
}

/** The exec plan of a CDB that must need a data phase or I/O. */
export function execPlan(p: Plan): Extract<Plan, { kind: 'exec' }> {
  assert.equal(p.kind, 'exec', `plan is exec (${p.kind === 'done' ? JSON.stringify(p.result.sense ?? p.result.status) : ''})`);
  return p as Extract<Plan, { kind: 'exec' }>;
}

/** Plan and, when the plan needs it, run with `dataOut` (as one segment, or as given segments). */
export async function exec(cdb: Buffer | number[], lu: LogicalUnit | undefined, dataOut: Buffer | Buffer[] = []): Promise<ScsiResult> {
  const p = plan(cdb, lu);
  if (p.kind === 'done') return p.result;
  const parts = Array.isArray(dataOut) ? dataOut : [dataOut];
  return p.run(parts);
}

/** CHECK CONDITION with exactly this sense (key, ASC<<8|ASCQ, optional field pointer / INFORMATION). */
export function assertCheck(r: ScsiResult, key: number, asc: number, extra: Omit<SenseInfo, 'key' | 'asc'> = {}, what = ''): void {
  assert.deepEqual({ status: r.status, sense: r.sense }, { status: 2, sense: { key, asc, ...extra } }, what);
}

/** CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB at byte (bit). */
export function assertBadField(r: ScsiResult, byte: number, bit?: number, what = ''): void {
  assertCheck(r, 5, 0x2400, { field: bit === undefined ? { cdb: true, byte } : { cdb: true, byte, bit } }, what);
}

export function assertGood(r: ScsiResult, what = ''): void {
  assert.equal(r.status, 0, `${what}: status GOOD (sense ${JSON.stringify(r.sense)})`);
  assert.equal(r.sense, undefined, `${what}: no sense`);
}

/** Deterministic non-zero bytes. */
export function pattern(n: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => ((i * 31 + seed) & 0xff) | 1));
}

/** A CDB of `len` bytes: opcode, then `fields` written at their offsets (numbers as one byte, bigints as 8). */
export function cdbOf(len: number, op: number, fields: Record<number, number | bigint | [number, number]> = {}): Buffer {
  const b = Buffer.alloc(len);
  b[0] = op;
  for (const [k, v] of Object.entries(fields)) {
    const at = Number(k);
    if (typeof v === 'bigint') b.writeBigUInt64BE(v, at);
    else if (Array.isArray(v)) b.writeUIntBE(v[0], at, v[1]);
    else b[at] = v;
  }
  return b;
}

/** `len` bytes of the backing file at byte `pos` (read with a plain fd: independent of LunFile). */
export function fileAt(path: string, pos: number, len: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const n = readSync(fd, b, done, len - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Put `data` into the backing file at byte `pos` (test setup, bypassing the handlers). */
export function putFile(path: string, pos: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, data, 0, data.length, pos);
  } finally {
    closeSync(fd);
  }
}
