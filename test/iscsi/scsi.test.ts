// SCSI block commands over a real iSCSI session (test initiator → in-process target → sparse
// LUN file): INQUIRY and VPD pages, READ CAPACITY, READ/WRITE 6/10/12/16 round trips, LBAs past
// the end and overflowing transfer lengths (CHECK CONDITION, ILLEGAL REQUEST, LBA OUT OF RANGE,
// and the file never grows or changes), UNMAP / WRITE SAME, COMPARE AND WRITE, MODE SENSE,
// REPORT LUNS, REPORT SUPPORTED OPERATION CODES, unknown opcodes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';

const SIZE = 8 << 20;
const BLOCKS = SIZE / 512;
const GOOD = 0;
const CHECK = 2;
const ILLEGAL = 5;
let t: Awaited<ReturnType<typeof inProcessTarget>>;
let ini: TestInitiator;

before(async () => {
  t = await inProcessTarget({ sizeBytes: SIZE });
  ini = await TestInitiator.connect(t.port);
  const r = await ini.login({ initiator: INITIATOR, target: IQN });
  assert.equal(r.statusClass, 0, `login: ${r.statusClass}/${r.statusDetail}`);
});
after(async () => {
  await ini?.logout();
  await t?.done();
});

function assertSense(r: { status: number; sense?: { key: number; asc: number; ascq: number } }, key: number, asc: number, ascq = 0, what = ''): void {
  assert.equal(r.status, CHECK, `${what}: status`);
  assert.ok(r.sense, `${what}: sense data`);
  assert.deepEqual([r.sense.key, r.sense.asc, r.sense.ascq], [key, asc, ascq], `${what}: sense key/ASC/ASCQ`);
}
const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

test('TEST UNIT READY and standard INQUIRY (SPC-4 §6.6.2)', async () => {
  assert.equal((await ini.scsi(cdb.tur())).status, GOOD);
  const r = await ini.scsi(cdb.inquiry(96), { readLength: 96 });
  assert.equal(r.status, GOOD);
  assert.equal(r.data[0]! & 0x1f, 0, 'direct-access block device');
  assert.ok(r.data[2]! >= 5, 'SPC-3 or later');
  assert.equal(r.data[3]! & 0x0f, 2, 'response data format 2');
  assert.equal(r.data.toString('latin1', 8, 16).trim(), 'NETROOT');
  // Allocation length smaller than the data: cut, no error.
  const short = await ini.scsi(cdb.inquiry(5), { readLength: 5 });
  assert.equal(short.status, GOOD);
  assert.equal(short.data.length, 5);
});

test('INQUIRY VPD pages 00, 80, 83, B0, B1, B2 (SPC-4 §7.8, SBC-3 §6.6)', async () => {
  const list = await ini.scsi(cdb.inquiry(255, 0x00), { readLength: 255 });
  assert.equal(list.status, GOOD);
  const pages = [...list.data.subarray(4, 4 + list.data.readUInt16BE(2))];
  for (const p of [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]) assert.ok(pages.includes(p), `page 0x${p.toString(16)} listed`);
  for (const p of pages) {
    const r = await ini.scsi(cdb.inquiry(255, p), { readLength: 255 });
    assert.equal(r.status, GOOD, `page 0x${p.toString(16)}`);
    assert.equal(r.data[1], p, 'page code echoed');
  }
  const sn = await ini.scsi(cdb.inquiry(255, 0x80), { readLength: 255 });
  assert.ok(sn.data[3]! > 0, 'unit serial number present');
  const id = await ini.scsi(cdb.inquiry(255, 0x83), { readLength: 255 });
  // First designator: NAA (type 3), binary code set.
  assert.equal(id.data[5]! & 0x0f, 3);
  const bad = await ini.scsi(cdb.inquiry(255, 0x42), { readLength: 255 });
  assertSense(bad, ILLEGAL, 0x24, 0, 'unknown VPD page');
  // PAGE CODE with EVPD=0 is invalid.
  const bad2 = await ini.scsi(Buffer.from([0x12, 0, 0x80, 0, 255, 0]), { readLength: 255 });
  assertSense(bad2, ILLEGAL, 0x24, 0, 'page code without EVPD');
});

test('READ CAPACITY 10 and 16 report the last LBA and the block size', async () => {
  const r10 = await ini.scsi(cdb.readCapacity10(), { readLength: 8 });
  assert.equal(r10.status, GOOD);
  assert.equal(r10.data.readUInt32BE(0), BLOCKS - 1);
  assert.equal(r10.data.readUInt32BE(4), 512);
  const r16 = await ini.scsi(cdb.readCapacity16(32), { readLength: 32 });
  assert.equal(r16.status, GOOD);
  assert.equal(r16.data.readBigUInt64BE(0), BigInt(BLOCKS - 1));
  assert.equal(r16.data.readUInt32BE(8), 512);
  assert.equal(r16.data[14]! & 0x80, 0x80, 'LBPME: thin provisioned');
});

test('WRITE/READ 6, 10, 12, 16 round trip through the file', async () => {
  const cases: Array<{ name: string; w: Buffer; r: Buffer; lba: number; n: number }> = [];
  const rw6 = (op: number, lba: number, n: number): Buffer => Buffer.from([op, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, n & 0xff, 0]);
  const rw12 = (op: number, lba: number, n: number): Buffer => {
    const b = Buffer.alloc(12);
    b[0] = op;
    b.writeUInt32BE(lba, 2);
    b.writeUInt32BE(n, 6);
    return b;
  };
  cases.push({ name: '6', w: rw6(0x0a, 10, 2), r: rw6(0x08, 10, 2), lba: 10, n: 2 });
  cases.push({ name: '10', w: cdb.rw10(0x2a, 100, 8), r: cdb.rw10(0x28, 100, 8), lba: 100, n: 8 });
  cases.push({ name: '12', w: rw12(0xaa, 2000, 3), r: rw12(0xa8, 2000, 3), lba: 2000, n: 3 });
  cases.push({ name: '16', w: cdb.rw16(0x8a, BigInt(BLOCKS - 4), 4, true), r: cdb.rw16(0x88, BigInt(BLOCKS - 4), 4), lba: BLOCKS - 4, n: 4 });
  for (const [i, c] of cases.entries()) {
    const data = pattern(c.n * 512, i + 1);
    assert.equal((await ini.scsi(c.w, { write: data })).status, GOOD, `WRITE ${c.name}`);
    const r = await ini.scsi(c.r, { readLength: data.length });
    assert.equal(r.status, GOOD, `READ ${c.name}`);
    assert.ok(r.data.equals(data), `READ ${c.name} returns what was written`);
    assert.ok(
      readFileSync(t.path)
        .subarray(c.lba * 512, (c.lba + c.n) * 512)
        .equals(data),
      `file holds WRITE ${c.name}`,
    );
  }
  // A large write (beyond FirstBurstLength: R2T path) and read back (several Data-In PDUs).
  const big = pattern(1 << 20, 99);
  assert.equal((await ini.scsi(cdb.rw10(0x2a, 4096, 2048), { write: big })).status, GOOD);
  const rb = await ini.scsi(cdb.rw10(0x28, 4096, 2048), { readLength: big.length });
  assert.ok(rb.data.equals(big));
});

test('a WRITE whose PDUs arrive in many small TCP segments lands intact (data kept as the received pieces, split padding)', async () => {
  // Immediate data (up to 32 KiB), the PDU sent in 997-byte pieces: piece boundaries fall
  // inside the header and all through the data segment.
  const n = Math.min(ini.targetMrdsl, ini.firstBurst, 32 * 1024) / 512;
  assert.ok(ini.immediateData && n >= 2, 'the session takes immediate data');
  const data = pattern(n * 512, 77);
  const itt = ini.nextItt();
  const bhs = ini.commandBhs({ cdb: cdb.rw10(0x2a, 6000, n), itt, edtl: data.length, read: false, write: true, immediateLength: data.length });
  ini.cmdSN = (ini.cmdSN + 1) >>> 0;
  const wire = TestInitiator.withData(bhs, data);
  ini.socket.setNoDelay(true);
  for (let at = 0; at < wire.length; at += 997) {
    ini.socket.write(wire.subarray(at, at + 997));
    await new Promise((r) => setImmediate(r)); // let each piece leave as its own segment
  }
  let reply = await ini.recv();
  while (reply && reply.bhs.readUInt32BE(16) !== itt) reply = await ini.recv();
  assert.ok(reply, 'a response');
  assert.equal(reply.op, 0x21);
  assert.equal(reply.bhs[3], GOOD);
  assert.ok(
    readFileSync(t.path)
      .subarray(6000 * 512, 6000 * 512 + data.length)
      .equals(data),
    'the file holds the pieces in order',
  );
  const rb = await ini.scsi(cdb.rw10(0x28, 6000, n), { readLength: data.length });
  assert.ok(rb.data.equals(data));
});

test('LBA past the end and overflowing transfer lengths: LBA OUT OF RANGE, the file is untouched', async () => {
  const before = readFileSync(t.path);
  const size = statSync(t.path).size;
  const cases: Array<[string, Buffer, number]> = [
    ['READ10 at the capacity', cdb.rw10(0x28, BLOCKS, 1), 512],
    ['READ10 straddling the end', cdb.rw10(0x28, BLOCKS - 1, 2), 1024],
    ['READ16 at 2^64-1', cdb.rw16(0x88, 0xffffffffffffffffn, 1), 512],
    ['READ16 LBA+length overflows 64 bits', cdb.rw16(0x88, 0xfffffffffffffffen, 4), 2048],
    ['READ16 huge length', cdb.rw16(0x88, 0n, 0xffffffff), 512],
  ];
  for (const [name, c, len] of cases) assertSense(await ini.scsi(c, { readLength: len }), ILLEGAL, 0x21, 0, name);
  const wcases: Array<[string, Buffer, number]> = [
    ['WRITE10 at the capacity', cdb.rw10(0x2a, BLOCKS, 1), 512],
    ['WRITE10 straddling the end', cdb.rw10(0x2a, BLOCKS - 1, 2), 1024],
    ['WRITE16 at 2^64-1', cdb.rw16(0x8a, 0xffffffffffffffffn, 1), 512],
    ['WRITE16 LBA+length overflows 64 bits', cdb.rw16(0x8a, 0xfffffffffffffff0n, 32), 16384],
    ['WRITE16 at 2^32 (no 32-bit wrap to LBA 0)', cdb.rw16(0x8a, 0x100000000n, 1), 512],
  ];
  for (const [name, c, len] of wcases) assertSense(await ini.scsi(c, { write: Buffer.alloc(len, 0xee) }), ILLEGAL, 0x21, 0, name);
  assert.equal(statSync(t.path).size, size, 'file did not grow');
  assert.ok(readFileSync(t.path).equals(before), 'no byte of the file changed');
  // The session still works.
  assert.equal((await ini.scsi(cdb.tur())).status, GOOD);
});

test('SYNCHRONIZE CACHE 10 and a FUA write succeed', async () => {
  assert.equal((await ini.scsi(cdb.syncCache10())).status, GOOD);
  assert.equal((await ini.scsi(cdb.rw10(0x2a, 7, 1, true), { write: Buffer.alloc(512, 7) })).status, GOOD);
});

test('WRITE SAME 16 with UNMAP and UNMAP deallocate (read back as zeros); WRITE SAME 10 fills', async () => {
  await ini.scsi(cdb.rw10(0x2a, 300, 16), { write: Buffer.alloc(16 * 512, 0xab) });
  const ws10 = Buffer.alloc(10);
  ws10[0] = 0x41;
  ws10.writeUInt32BE(300, 2);
  ws10.writeUInt16BE(4, 7);
  assert.equal((await ini.scsi(ws10, { write: Buffer.alloc(512, 0x5a) })).status, GOOD);
  let r = await ini.scsi(cdb.rw10(0x28, 300, 4), { readLength: 2048 });
  assert.ok(r.data.equals(Buffer.alloc(2048, 0x5a)), 'WRITE SAME 10 repeated the block');
  const ws16 = Buffer.alloc(16);
  ws16[0] = 0x93;
  ws16[1] = 0x08; // UNMAP
  ws16.writeBigUInt64BE(304n, 2);
  ws16.writeUInt32BE(4, 10);
  assert.equal((await ini.scsi(ws16, { write: Buffer.alloc(512) })).status, GOOD);
  r = await ini.scsi(cdb.rw10(0x28, 304, 4), { readLength: 2048 });
  assert.ok(r.data.equals(Buffer.alloc(2048)), 'WRITE SAME UNMAP reads zeros');
  // UNMAP (SBC-3 §5.28): one descriptor, LBA 308, 8 blocks.
  const param = Buffer.alloc(24);
  param.writeUInt16BE(22, 0);
  param.writeUInt16BE(16, 2);
  param.writeBigUInt64BE(308n, 8);
  param.writeUInt32BE(8, 16);
  const um = Buffer.alloc(10);
  um[0] = 0x42;
  um.writeUInt16BE(24, 7);
  assert.equal((await ini.scsi(um, { write: param })).status, GOOD);
  r = await ini.scsi(cdb.rw10(0x28, 308, 8), { readLength: 4096 });
  assert.ok(r.data.equals(Buffer.alloc(4096)), 'UNMAP reads zeros');
  // UNMAP beyond the end: LBA OUT OF RANGE.
  param.writeBigUInt64BE(BigInt(BLOCKS - 2), 8);
  assertSense(await ini.scsi(um, { write: param }), ILLEGAL, 0x21, 0, 'UNMAP past the end');
  // WRITE SAME past the end.
  ws16.writeBigUInt64BE(BigInt(BLOCKS - 1), 2);
  assertSense(await ini.scsi(ws16, { write: Buffer.alloc(512) }), ILLEGAL, 0x21, 0, 'WRITE SAME past the end');
});

test('COMPARE AND WRITE (SBC-3 §5.2): match writes, miscompare reports MISCOMPARE and leaves data', async () => {
  const old = Buffer.alloc(512, 1);
  const neu = Buffer.alloc(512, 2);
  await ini.scsi(cdb.rw10(0x2a, 500, 1), { write: old });
  const caw = Buffer.alloc(16);
  caw[0] = 0x89;
  caw.writeBigUInt64BE(500n, 2);
  caw[13] = 1;
  assert.equal((await ini.scsi(caw, { write: Buffer.concat([old, neu]) })).status, GOOD);
  assert.ok((await ini.scsi(cdb.rw10(0x28, 500, 1), { readLength: 512 })).data.equals(neu));
  const mis = await ini.scsi(caw, { write: Buffer.concat([old, Buffer.alloc(512, 3)]) });
  assertSense(mis, 0x0e, 0x1d, 0, 'miscompare');
  assert.ok((await ini.scsi(cdb.rw10(0x28, 500, 1), { readLength: 512 })).data.equals(neu), 'unchanged after miscompare');
});

test('MODE SENSE 6/10: caching (08) and control (0A) pages, all pages (3F); bad page refused', async () => {
  for (const page of [0x08, 0x0a, 0x3f]) {
    const r = await ini.scsi(Buffer.from([0x1a, 0x08, page, 0, 255, 0]), { readLength: 255 });
    assert.equal(r.status, GOOD, `MODE SENSE 6 page 0x${page.toString(16)}`);
    assert.equal(r.data[0], r.data.length - 1, 'mode data length');
    if (page !== 0x3f) assert.equal(r.data[4]! & 0x3f, page, 'first page is the one asked for');
    const c10 = Buffer.from([0x5a, 0x08, page, 0, 0, 0, 0, 0x01, 0x00, 0]);
    const r10 = await ini.scsi(c10, { readLength: 256 });
    assert.equal(r10.status, GOOD);
    assert.equal(r10.data.readUInt16BE(0), r10.data.length - 2);
  }
  assertSense(await ini.scsi(Buffer.from([0x1a, 0x08, 0x2b, 0, 255, 0]), { readLength: 255 }), ILLEGAL, 0x24, 0, 'unsupported mode page');
});

test('REPORT LUNS, REPORT SUPPORTED OPERATION CODES, unknown opcode and unknown LUN', async () => {
  const rl = Buffer.alloc(12);
  rl[0] = 0xa0;
  rl.writeUInt32BE(256, 6);
  const r = await ini.scsi(rl, { readLength: 256 });
  assert.equal(r.status, GOOD);
  assert.equal(r.data.readUInt32BE(0), 8, 'one LUN');
  assert.equal(r.data.readBigUInt64BE(8), 0n, 'LUN 0');
  const rsoc = Buffer.alloc(12);
  rsoc[0] = 0xa3;
  rsoc[1] = 0x0c;
  rsoc.writeUInt32BE(4096, 6);
  const ops = await ini.scsi(rsoc, { readLength: 4096 });
  assert.equal(ops.status, GOOD);
  const listed = new Set<number>();
  for (let i = 4; i + 8 <= 4 + ops.data.readUInt32BE(0); i += 8 + (ops.data[i + 5]! & 0x02 ? 12 : 0)) listed.add(ops.data[i]!);
  for (const op of [0x00, 0x12, 0x25, 0x28, 0x2a, 0x35, 0x88, 0x8a, 0x9e, 0xa0, 0x42, 0x93, 0x89])
    assert.ok(listed.has(op), `opcode 0x${op.toString(16)} listed`);
  assertSense(await ini.scsi(Buffer.from([0xd7, 0, 0, 0, 0, 0])), ILLEGAL, 0x20, 0, 'unknown opcode');
  assertSense(await ini.scsi(cdb.tur(), { lun: 5 }), ILLEGAL, 0x25, 0, 'unknown LUN');
});
