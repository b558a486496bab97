// Fuzz: tens of thousands of mutated valid PDUs through the framer + decoder (only DecodeError /
// FramingError may come out), and mutated PDU sequences over TCP into a running target's
// session state machine (no exception escapes, no internal-error path is taken, the process
// stays up, nothing outside the LUN file is written, and a fresh session still works).
// Deterministic: a seeded PRNG, so a failure replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { DecodeError } from '../../src/errors.js';
import { FramingError, PduFramer } from '../../src/iscsi/framer.js';
import { decodePdu } from '../../src/iscsi/pdu.js';
import { createLogger } from '../../src/log/logger.js';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';
import { waitFor } from '../helpers/wait.js';
import { prng } from '../helpers/prng.js';

/** Valid initiator PDUs (BHS + data), full-feature phase, to mutate. */
function seeds(ini: { cmdSN: number; expStatSN: number }): Buffer[] {
  const mk = (op: number, flags: number, data: Buffer, f: (b: Buffer) => void): Buffer => {
    const b = TestInitiator.bhs(op, flags, data.length, 0x100);
    b.writeUInt32BE(ini.cmdSN, 24);
    b.writeUInt32BE(ini.expStatSN, 28);
    f(b);
    return TestInitiator.withData(b, data);
  };
  const scsi = (c: Buffer, edtl: number, rw: number, data = Buffer.alloc(0)): Buffer =>
    mk(0x01, 0x80 | rw | 1, data, (b) => {
      b.writeUInt32BE(edtl, 20);
      c.copy(b, 32);
    });
  return [
    scsi(cdb.tur(), 0, 0),
    scsi(cdb.inquiry(96), 96, 0x40),
    scsi(cdb.inquiry(255, 0x83), 255, 0x40),
    scsi(cdb.readCapacity16(32), 32, 0x40),
    scsi(cdb.rw10(0x28, 8, 2), 1024, 0x40),
    scsi(cdb.rw10(0x2a, 16, 1), 512, 0x20, Buffer.alloc(512, 0x33)),
    scsi(cdb.rw16(0x8a, 24n, 2, true), 1024, 0x20, Buffer.alloc(512, 0x44)),
    scsi(cdb.syncCache10(), 0, 0),
    mk(0x05, 0x80, Buffer.alloc(512, 0x55), (b) => b.writeUInt32BE(0xffffffff, 20)),
    mk(0x40, 0x80, Buffer.alloc(0), (b) => b.writeUInt32BE(0xffffffff, 20)),
    mk(0x04, 0x80, Buffer.from('SendTargets=All\0'), (b) => b.writeUInt32BE(0xffffffff, 20)),
    mk(0x42, 0x81, Buffer.alloc(0), (b) => b.writeUInt32BE(0x100, 20)),
    mk(0x02 | 0x40, 0x85, Buffer.alloc(0), () => undefined),
    mk(0x10, 0x81, Buffer.alloc(0), () => undefined),
  ];
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(src);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.5) {
      // Flip a byte, biased to the BHS (where the state machine decides things).
      const i = rnd() < 0.8 ? Math.floor(rnd() * 48) : Math.floor(rnd() * b.length);
      b[i] = Math.floor(rnd() * 256);
    } else if (r < 0.65) {
      // Interesting field values.
      const field = [1, 2, 3, 4, 20, 24, 28, 36, 40, 44][Math.floor(rnd() * 10)]!;
      const v = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 512, 0x1000000][Math.floor(rnd() * 7)]!;
      if (field < 4) b[field] = v & 0xff;
      else b.writeUInt32BE(v >>> 0, field);
    } else if (r < 0.8) {
      // Lengths: TotalAHSLength / DataSegmentLength (keep the framer's view consistent sometimes).
      if (rnd() < 0.5) b[4] = Math.floor(rnd() * 4);
      else b.writeUIntBE(Math.floor(rnd() * 2048), 5, 3);
    } else if (r < 0.9) {
      // CDB bytes.
      b[32 + Math.floor(rnd() * 16)] = Math.floor(rnd() * 256);
    } else {
      b[0] = (b[0]! & 0x40) | Math.floor(rnd() * 64);
    }
  }
  // Make the wire length match the header most of the time, so the PDU frames and reaches decode.
  // (Segments over 64 KiB are left short: over MRDSL they are refused from the header alone.)
  const ahs = b[4]! * 4;
  const dl = b.readUIntBE(5, 3);
  const want = 48 + ahs + dl + ((4 - (dl % 4)) % 4);
  if (rnd() < 0.85 && want <= 65536 + 64) {
    const out = Buffer.alloc(want, Math.floor(rnd() * 256));
    b.copy(out, 0, 0, Math.min(b.length, want));
    return out;
  }
  return b;
}

test('codec fuzz: 40,000 mutated PDUs through framer + decoder raise only DecodeError/FramingError', () => {
  const rnd = prng(0xc0dec);
  const base = seeds({ cmdSN: 1, expStatSN: 1 });
  let decoded = 0;
  let rejected = 0;
  for (let n = 0; n < 40_000; n++) {
    const digests = rnd() < 0.3;
    const f = new PduFramer({ headerDigest: digests, dataDigest: digests, maxDataSegmentLength: 8192 });
    const pdu = mutate(base[Math.floor(rnd() * base.length)]!, rnd);
    // Feed in random pieces.
    let at = 0;
    try {
      while (at < pdu.length) {
        const k = 1 + Math.floor(rnd() * 64);
        f.push(pdu.subarray(at, at + k));
        at += k;
        for (let raw = f.next(); raw; raw = f.next()) {
          try {
            decodePdu(raw);
            decoded++;
          } catch (e) {
            assert.ok(e instanceof DecodeError, `decodePdu threw ${String(e)} for ${pdu.subarray(0, 48).toString('hex')}`);
            rejected++;
          }
        }
      }
    } catch (e) {
      assert.ok(e instanceof FramingError, `framer threw ${String(e)} for ${pdu.subarray(0, 48).toString('hex')}`);
      rejected++;
    }
  }
  assert.ok(decoded > 10_000, `decoded ${decoded}`);
  assert.ok(rejected > 1_000, `rejected ${rejected}`);
});

test('session fuzz: 20,000 PDUs (a third mutated) in sequences over TCP; the target never throws and keeps serving', { timeout: 240_000 }, async () => {
  const problems: string[] = [];
  const logger = createLogger({ level: 'error', write: (line) => problems.push(line) });
  const t = await inProcessTarget({ sizeBytes: 4 << 20, opts: { logger, loginTimeoutMs: 2000 } });
  const onUncaught = (e: unknown): void => {
    problems.push(`uncaught: ${String(e)}`);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const rnd = prng(0x5e55);
  let sent = 0;
  let sessions = 0;
  try {
    // Count what the target actually took in (a PDU sent into a connection it just dropped does
    // not count).
    while (t.target.metrics.pdusIn < 20_000 && sent < 400_000) {
      const i = await TestInitiator.connect(t.port);
      const r = await i.login({ initiator: INITIATOR, target: IQN });
      assert.equal(r.statusClass, 0, 'login before fuzzing');
      sessions++;
      // A sequence: mostly valid commands with mutated ones in between, CmdSN kept plausible.
      const len = 50 + Math.floor(rnd() * 250);
      for (let k = 0; k < len && !i.closed; k++) {
        const base = seeds(i);
        const p = base[Math.floor(rnd() * base.length)]!;
        const wire = rnd() < 0.35 ? mutate(p, rnd) : p;
        if ((wire[0]! & 0x40) === 0) i.cmdSN = (i.cmdSN + 1) >>> 0;
        i.send(wire);
        sent++;
        if (k % 10 === 0) await new Promise((res) => setImmediate(res));
      }
      // fixed delay: the shape of the fuzz input (the target reads the sequence's tail, then sees the close).
      await new Promise((res) => setTimeout(res, 5));
      i.close();
    }
    // Let the target finish whatever it started (every fuzzed connection gone), then check it is healthy.
    await waitFor(() => t.target.metrics.connections === 0, { what: () => `the target to drop every fuzzed connection: ${JSON.stringify(t.target.metrics)}` });
    const check = await TestInitiator.connect(t.port);
    assert.equal((await check.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
    assert.equal((await check.scsi(cdb.tur())).status, 0);
    const rc = await check.scsi(cdb.readCapacity10(), { readLength: 8 });
    assert.equal(rc.data.readUInt32BE(0), (4 << 20) / 512 - 1);
    await check.logout();
    assert.equal(statSync(t.path).size, 4 << 20, 'the LUN file did not grow');
    const m = t.target.metrics;
    assert.ok(m.malformedPdus + m.rejects > 100, `the fuzz was noticed: ${JSON.stringify(m)}`);
    console.log(`session fuzz: ${sent} PDUs sent, ${m.pdusIn} taken in, in ${sessions} sessions; metrics ${JSON.stringify(m)}`);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await t.done();
  }
  assert.deepEqual(
    problems.filter((l) => /internal error|threw|uncaught/i.test(l)),
    [],
    'no internal errors',
  );
});
