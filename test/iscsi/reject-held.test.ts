// A Reject echoes the header of the PDU it rejects (RFC 7143 §11.17.1), also for a command that
// was held for CmdSN order and runs only when a later PDU fills the gap: the Reject must carry the
// held command's header, not the one of the PDU being read at that moment (issue #17).
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

test('a held command released later is rejected with its own header', async () => {
  const i = await TestInitiator.connect(t.port);
  assert.equal((await i.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
  const exp = i.cmdSN;
  // A: reserved ITT (invalid for a task, §11.1.1.3), one ahead of the expected CmdSN: held.
  const a = i.commandBhs({ cdb: cdb.tur(), itt: 0xffffffff, edtl: 0, read: false, write: false, cmdSN: exp + 1 });
  // B: a valid TEST UNIT READY with the expected CmdSN: it runs, then releases A.
  const itt = i.nextItt();
  const b = i.commandBhs({ cdb: cdb.tur(), itt, edtl: 0, read: false, write: false, cmdSN: exp });
  i.send(a);
  i.send(b);
  const got: Array<{ op: number; itt: number; data: Buffer }> = [];
  for (let k = 0; k < 2; k++) {
    const p = await i.recv(5000);
    assert.ok(p, "two answers: B's response and A's Reject");
    got.push({ op: p.op, itt: p.bhs.readUInt32BE(16), data: p.data });
  }
  const response = got.find((p) => p.op === 0x21);
  assert.equal(response?.itt, itt, 'B answered');
  const reject = got.find((p) => p.op === 0x3f);
  assert.ok(reject, 'A rejected');
  assert.equal(reject.data.length, 48, 'the Reject carries one BHS');
  assert.deepEqual(reject.data, a.subarray(0, 48), "the Reject carries A's header, not B's");
  i.close();
});
