// Malformed PDUs over a real TCP socket to a running target: every case gets the response RFC
// 7143 asks for (Reject with the right reason, silent discard, or a dropped connection), is
// counted in the target's metrics, and a second session keeps being served throughout.
// Also wrong CHAP, a foreign initiator name, and a login that never finishes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';

const REJECT = 0x3f;
let t: Awaited<ReturnType<typeof inProcessTarget>>;
let bystander: TestInitiator;

before(async () => {
  t = await inProcessTarget({
    opts: { loginTimeoutMs: 300 },
    def: { chap: undefined },
  });
  await t.target.addTarget({
    iqn: `${IQN}-chap`,
    luns: [{ lun: 0, path: `${t.dir}/chap.img`, sizeBytes: 1 << 20 }],
    allowedInitiators: [INITIATOR],
    chap: { user: 'node1', secret: 'Secret0123456789', mutualUser: 'tgt1', mutualSecret: 'Mutual9876543210' },
  });
  await t.target.addTarget({
    iqn: `${IQN}-oneway`,
    luns: [{ lun: 0, path: `${t.dir}/oneway.img`, sizeBytes: 1 << 20 }],
    allowedInitiators: [INITIATOR],
    chap: { user: 'node1', secret: 'Secret0123456789' },
  });
  bystander = await TestInitiator.connect(t.port);
  assert.equal((await bystander.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
});
after(async () => {
  await bystander?.logout();
  await t?.done();
});

async function session(): Promise<TestInitiator> {
  const i = await TestInitiator.connect(t.port);
  const r = await i.login({ initiator: INITIATOR, target: IQN });
  assert.equal(r.statusClass, 0);
  assert.equal((await i.scsi(cdb.tur())).status, 0);
  return i;
}
async function bystanderOk(): Promise<void> {
  assert.equal((await bystander.scsi(cdb.tur())).status, 0, 'the other session is still served');
}
async function expectReject(i: TestInitiator, reason: number, what: string): Promise<Buffer> {
  const p = await i.recv(5000);
  assert.ok(p, `${what}: a Reject, not silence/close`);
  assert.equal(p.op, REJECT, `${what}: opcode 0x${p.op.toString(16)}`);
  assert.equal(p.bhs[2], reason, `${what}: reject reason`);
  assert.equal(p.data.length, 48, `${what}: the rejected BHS is the data segment`);
  return p.data;
}

test('an opcode no initiator may send → Reject "command not supported"; the session goes on', async () => {
  const i = await session();
  const m0 = { ...t.target.metrics };
  const b = TestInitiator.bhs(0x1c, 0x80, 0, 0x7777);
  i.send(b);
  const rejected = await expectReject(i, 0x05, 'opcode 0x1c');
  assert.equal(rejected.readUInt32BE(16), 0x7777);
  assert.equal(t.target.metrics.malformedPdus, m0.malformedPdus + 1);
  assert.equal(t.target.metrics.rejects, m0.rejects + 1);
  assert.equal((await i.scsi(cdb.tur())).status, 0);
  await bystanderOk();
  i.close();
});

test('a SCSI command with a bad AHS → Reject "invalid PDU field"; the session goes on', async () => {
  const i = await session();
  const m0 = t.target.metrics.malformedPdus;
  const b = i.commandBhs({ cdb: cdb.tur(), itt: i.nextItt(), edtl: 0, read: false, write: false });
  b[4] = 1; // one AHS word
  i.send(b, Buffer.from('00010900', 'hex')); // AHS type 9 does not exist
  await expectReject(i, 0x09, 'bad AHS');
  assert.equal(t.target.metrics.malformedPdus, m0 + 1);
  assert.equal((await i.scsi(cdb.tur())).status, 0);
  await bystanderOk();
  i.close();
});

test('a data segment over the negotiated MaxRecvDataSegmentLength drops the connection', async () => {
  const i = await session();
  const m0 = t.target.metrics.malformedPdus;
  const over = 262144 + 512;
  const b = i.commandBhs({ cdb: cdb.rw10(0x2a, 0, over / 512), itt: i.nextItt(), edtl: over, read: false, write: true, immediateLength: over });
  i.send(b); // the header alone is enough for the target to know
  assert.equal(await i.waitClosed(5000), true, 'connection dropped');
  assert.equal(t.target.metrics.malformedPdus, m0 + 1);
  await bystanderOk();
});

test('Data-Out for no command → Reject "protocol error", counted', async () => {
  const i = await session();
  const m0 = t.target.metrics.malformedPdus;
  i.send(i.dataOut(0x5555, 0x1234, 0, 0, Buffer.alloc(512), true));
  await expectReject(i, 0x04, 'orphan Data-Out');
  assert.equal(t.target.metrics.malformedPdus, m0 + 1);
  await bystanderOk();
  i.close();
});

test('a CmdSN outside [ExpCmdSN, MaxCmdSN] is ignored (§4.2.2.1), counted; in-window commands still run', async () => {
  const i = await session();
  const d0 = t.target.metrics.cmdSnDropped;
  const itt = i.nextItt();
  i.send(i.commandBhs({ cdb: cdb.tur(), itt, edtl: 0, read: false, write: false, cmdSN: (i.cmdSN + 100_000) >>> 0 }));
  const old = i.nextItt();
  i.send(i.commandBhs({ cdb: cdb.tur(), itt: old, edtl: 0, read: false, write: false, cmdSN: (i.cmdSN - 5) >>> 0 }));
  assert.equal((await i.scsi(cdb.tur())).status, 0, 'the next in-window command runs');
  const stray = await i.recv(300);
  assert.equal(stray, null, 'nothing answered the out-of-window commands');
  assert.equal(t.target.metrics.cmdSnDropped, d0 + 2);
  await bystanderOk();
  i.close();
});

test('reusing the ITT of a task still in progress → Reject "invalid PDU field"', async () => {
  const i = await session();
  const itt = i.nextItt();
  // A WRITE whose data has not arrived yet keeps the task open (the target waits for Data-Out).
  i.send(i.commandBhs({ cdb: cdb.rw10(0x2a, 0, 1), itt, edtl: 512, read: false, write: true }));
  i.cmdSN = (i.cmdSN + 1) >>> 0;
  i.send(i.commandBhs({ cdb: cdb.tur(), itt, edtl: 0, read: false, write: false }));
  i.cmdSN = (i.cmdSN + 1) >>> 0;
  await expectReject(i, 0x09, 'ITT reuse');
  // Completing the first command still works.
  i.send(i.dataOut(itt, 0xffffffff, 0, 0, Buffer.alloc(512, 1), true));
  const r = await i.recv(5000);
  assert.equal(r?.op, 0x21);
  assert.equal(r?.bhs.readUInt32BE(16), itt);
  assert.equal(r?.bhs[3], 0);
  await bystanderOk();
  i.close();
});

test('a non-login PDU before login drops the connection; a login that never finishes times out', async () => {
  const f0 = t.target.metrics.loginFailures;
  const a = await TestInitiator.connect(t.port);
  a.send(TestInitiator.bhs(0x01, 0x80, 0, 1));
  assert.equal(await a.waitClosed(5000), true, 'SCSI command before login → closed');
  const b = await TestInitiator.connect(t.port);
  b.send(Buffer.alloc(20)); // half a BHS, then silence
  assert.equal(await b.waitClosed(5000), true, 'silent half-login → closed by the login timer');
  const c = await TestInitiator.connect(t.port); // nothing at all
  assert.equal(await c.waitClosed(5000), true, 'idle connection → closed by the login timer');
  assert.equal(t.target.metrics.loginFailures - f0, 3, 'one failure per connection');
  await bystanderOk();
});

test('CHAP: one-way and mutual succeed with the right secrets; wrong secret, missing CHAP and a foreign initiator are refused', async () => {
  const chapIqn = `${IQN}-chap`;
  const attempt = async (o: Parameters<TestInitiator['login']>[0]): Promise<{ statusClass: number; statusDetail: number }> => {
    const i = await TestInitiator.connect(t.port);
    try {
      return await i.login(o);
    } finally {
      i.close();
    }
  };
  const good = { user: 'node1', secret: 'Secret0123456789' };
  const ok = await attempt({ initiator: INITIATOR, target: `${IQN}-oneway`, chap: good });
  assert.deepEqual([ok.statusClass, ok.statusDetail], [0, 0], 'one-way CHAP');
  const oneWayWrong = await attempt({ initiator: INITIATOR, target: `${IQN}-oneway`, chap: { ...good, secret: 'Secret0123456788' } });
  assert.deepEqual([oneWayWrong.statusClass, oneWayWrong.statusDetail], [2, 1], 'one-way CHAP, wrong secret');
  // A target configured for mutual CHAP refuses an initiator that does not ask for it.
  const notMutual = await attempt({ initiator: INITIATOR, target: chapIqn, chap: good });
  assert.deepEqual([notMutual.statusClass, notMutual.statusDetail], [2, 1], 'one-way where mutual is configured');
  const mutual = await attempt({ initiator: INITIATOR, target: chapIqn, chap: { ...good, mutualUser: 'tgt1', mutualSecret: 'Mutual9876543210' } });
  assert.equal(mutual.statusClass, 0, 'mutual CHAP');
  // Mutual with the wrong expected target secret: the initiator side detects it.
  await assert.rejects(
    attempt({ initiator: INITIATOR, target: chapIqn, chap: { ...good, mutualUser: 'tgt1', mutualSecret: 'WrongWrongWrong0' } }),
    /mutual CHAP/,
  );
  const wrong = await attempt({ initiator: INITIATOR, target: chapIqn, chap: { user: 'node1', secret: 'Secret0123456780' } });
  assert.deepEqual([wrong.statusClass, wrong.statusDetail], [2, 1], 'wrong secret: authentication failure');
  const wrongUser = await attempt({ initiator: INITIATOR, target: chapIqn, chap: { user: 'node2', secret: 'Secret0123456789' } });
  assert.deepEqual([wrongUser.statusClass, wrongUser.statusDetail], [2, 1], 'wrong CHAP name');
  const none = await attempt({ initiator: INITIATOR, target: chapIqn });
  assert.equal(none.statusClass, 2, 'no CHAP where CHAP is required');
  const foreign = await attempt({ initiator: 'iqn.2026-12.local.netroot:initiator.other', target: chapIqn, chap: good });
  assert.deepEqual([foreign.statusClass, foreign.statusDetail], [2, 2], 'foreign initiator: authorization failure');
  const missing = await attempt({ initiator: INITIATOR, target: `${IQN}-nope` });
  assert.deepEqual([missing.statusClass, missing.statusDetail], [2, 3], 'unknown target: not found');
  await bystanderOk();
});
