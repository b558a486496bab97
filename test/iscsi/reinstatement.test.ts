// Connection reinstatement (RFC 7143 §6.3.4): a login that names an existing session's ISID and
// TSIH with the same CID replaces that session's connection. Linux's iscsid does this to recover
// a diskless node's root session after a connection fault, and when the root's iscsid takes over
// the session its initrd made; refusing it (TooManyConnections) left the node retrying until its
// replacement timeout, then failing its root disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';

let t: Awaited<ReturnType<typeof inProcessTarget>>;

before(async () => {
  t = await inProcessTarget({ def: { chap: undefined } });
});
after(async () => {
  await t?.done();
});

test('a login into the live session with its ISID, TSIH and CID takes the session over; the old connection is closed', async () => {
  const a = await TestInitiator.connect(t.port);
  assert.equal((await a.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
  const tsih = a.tsih;
  assert.ok(tsih > 0);
  const data = Buffer.alloc(512, 0x5a);
  assert.equal((await a.scsi(cdb.rw10(0x2a, 8, 1), { write: data })).status, 0);

  const b = await TestInitiator.connect(t.port);
  b.cmdSN = a.cmdSN; // the session's next CmdSN, as the initiator's relogin carries it
  const r = await b.login({ initiator: INITIATOR, target: IQN, isid: a.isid, tsih });
  assert.equal(r.statusClass, 0, `reinstatement refused: ${r.statusClass}/${r.statusDetail}`);
  assert.equal(b.tsih, tsih, 'the same session goes on');
  assert.ok(await a.waitClosed(), 'the replaced connection is closed');
  const read = await b.scsi(cdb.rw10(0x28, 8, 1), { readLength: 512 });
  assert.equal(read.status, 0);
  assert.deepEqual(read.data, data, 'the session serves the same LUN over the new connection');
  await b.logout();
});

test('a login into a session with another ISID, an unknown TSIH or another target is refused (session does not exist)', async () => {
  const a = await TestInitiator.connect(t.port);
  assert.equal((await a.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
  for (const o of [
    { isid: Buffer.from('800000000001', 'hex'), tsih: a.tsih },
    { isid: a.isid, tsih: (a.tsih + 100) & 0xffff || 1 },
  ]) {
    const x = await TestInitiator.connect(t.port);
    const r = await x.login({ initiator: INITIATOR, target: IQN, ...o });
    assert.deepEqual([r.statusClass, r.statusDetail], [2, 0x0a], 'Session does not exist');
  }
  assert.equal((await a.scsi(cdb.tur())).status, 0, 'the live session was not disturbed');
  await a.logout();
});
