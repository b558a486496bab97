// Dead-peer detection (iscsi.pingIdleSeconds / pingTimeoutSeconds): an idle full-feature
// connection is pinged with a NOP-In (RFC 7143 §11.19); a peer that answers — or sends anything —
// keeps its connection however long it idles, a silent one is cut after the timeout. It replaced
// TCP keepalive, whose fixed 10 × 1 s probes cut a diskless node's root connection when its VM
// stalled for 10 s under load.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestInitiator, cdb, type RxPdu } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';

const IDLE_MS = 150;
const TIMEOUT_MS = 400;
let t: Awaited<ReturnType<typeof inProcessTarget>>;

before(async () => {
  t = await inProcessTarget({ def: { chap: undefined }, opts: { pingIdleMs: IDLE_MS, pingTimeoutMs: TIMEOUT_MS } });
});
after(async () => {
  await t?.done();
});

async function loggedIn(): Promise<TestInitiator> {
  const i = await TestInitiator.connect(t.port);
  assert.equal((await i.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
  return i;
}

async function nextPing(i: TestInitiator, withinMs: number): Promise<RxPdu> {
  const p = await i.recv(withinMs);
  assert.ok(p, 'the target pinged the idle connection');
  assert.equal(p.op, 0x20, 'a NOP-In');
  assert.equal(p.bhs.readUInt32BE(16), 0xffffffff, 'ITT reserved: target-initiated');
  assert.notEqual(p.bhs.readUInt32BE(20), 0xffffffff, 'a valid TTT: the initiator must answer');
  assert.equal(p.bhs.readUIntBE(5, 3), 0, 'no data segment (Linux treats ping data as a protocol error)');
  return p;
}

test('an idle connection is pinged; one that answers outlives many timeouts and still serves I/O', async () => {
  const i = await loggedIn();
  const statSN = i.expStatSN;
  const ttts = new Set<number>();
  const end = Date.now() + 4 * (IDLE_MS + TIMEOUT_MS);
  while (Date.now() < end) {
    const p = await nextPing(i, IDLE_MS + 1000);
    assert.equal(p.bhs.readUInt32BE(24), statSN, 'the ping carries the next StatSN and does not advance it');
    ttts.add(p.bhs.readUInt32BE(20));
    i.nopReply(p);
  }
  assert.ok(ttts.size >= 3, `each ping has its own TTT (${ttts.size})`);
  assert.ok(!i.closed, 'the answering peer kept its connection');
  assert.equal((await i.scsi(cdb.tur())).status, 0);
  await i.logout();
});

test('a peer that never answers is cut after the ping timeout, not before', async () => {
  const i = await loggedIn();
  const t0 = Date.now();
  await nextPing(i, IDLE_MS + 1000);
  assert.ok(await i.waitClosed(TIMEOUT_MS + 2000), 'the silent connection was closed');
  const took = Date.now() - t0;
  assert.ok(took >= TIMEOUT_MS - 50, `closed ${took} ms after the ping, before the ${TIMEOUT_MS} ms timeout`);
});

test('pings off (0): an idle connection gets nothing and stays', async () => {
  const quiet = await inProcessTarget({ def: { chap: undefined }, opts: { pingIdleMs: 0, pingTimeoutMs: TIMEOUT_MS } });
  try {
    const i = await TestInitiator.connect(quiet.port);
    assert.equal((await i.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
    assert.equal(await i.recv(IDLE_MS + TIMEOUT_MS + 300), null, 'no PDU arrived');
    assert.ok(!i.closed);
    await i.logout();
  } finally {
    await quiet.done();
  }
});
