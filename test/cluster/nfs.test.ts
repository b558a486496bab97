// src/cluster/nfs.ts: ganesha's configuration refuses what its syntax cannot hold, and the start
// report's NFSv4 NULL check reads any reply (short, long, denied, wrong program, garbage) as a
// reason, never a crash. A real ganesha answering it is test/e2e/nfs-home.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { checkNullReply, NfsConfigError, nfsNullCall, nullCall, renderGaneshaConf } from '../../src/cluster/nfs.js';

const OK = { exportDir: '/export/home', clients: '10.1.0.0/16', bindAddress: '10.1.1.1', port: 2049 };

test('renderGaneshaConf: one NFSv4 TCP export, read-write for the private network only', () => {
  const c = renderGaneshaConf(OK);
  assert.match(c, /^\s*Path = \/export\/home;$/m);
  assert.match(c, /^\s*Pseudo = \/export\/home;$/m);
  assert.match(c, /^\s*Access_Type = None;$/m, 'nobody by default');
  assert.match(c, /CLIENT \{\n\s*Clients = 10\.1\.0\.0\/16;\n\s*Access_Type = RW;/);
  assert.match(c, /^\s*Protocols = 4;$/m);
  assert.match(c, /^\s*NFS_Port = 2049;$/m);
  for (const [change, where] of [
    [{ exportDir: 'export/home' }, 'nfs.exportDir'],
    [{ exportDir: '/' }, 'nfs.exportDir'],
    [{ exportDir: '/export/../etc' }, 'nfs.exportDir'],
    [{ exportDir: '/export/home; }' }, 'nfs.exportDir'],
    [{ exportDir: '/export/ho me' }, 'nfs.exportDir'],
    [{ clients: '*' }, 'nfs.clients'],
    [{ clients: '10.1.0.0/16; Access_Type = RW' }, 'nfs.clients'],
    [{ bindAddress: '0.0.0.0;' }, 'nfs.bindAddress'],
    [{ port: 0 }, 'nfs.port'],
    [{ port: 70000 }, 'nfs.port'],
  ] as Array<[Partial<typeof OK>, string]>)
    assert.throws(
      () => renderGaneshaConf({ ...OK, ...change }),
      (e: unknown) => e instanceof NfsConfigError && e.where === where,
      JSON.stringify(change),
    );
});

/** A reply to nullCall(xid) with these words after the record mark. */
function reply(words: number[], mark?: number): Buffer {
  const b = Buffer.alloc(4 + words.length * 4);
  b.writeUInt32BE(mark ?? (0x80000000 | (words.length * 4)) >>> 0, 0);
  for (const [i, w] of words.entries()) b.writeUInt32BE(w >>> 0, 4 + i * 4);
  return b;
}

test('nullCall is the 40-byte RFC 5531 call for NFS v4 procedure 0; checkNullReply reads every malformed reply as a reason', () => {
  const call = nullCall(7);
  assert.equal(call.length, 44);
  assert.equal(call.readUInt32BE(0), 0x80000028);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((i) => call.readUInt32BE(i * 4)),
    [7, 0, 2, 100003, 4, 0],
  );
  const good = [7, 1, 0, 0, 0, 0];
  assert.equal(checkNullReply(reply(good), 7), null);
  assert.equal(checkNullReply(reply([7, 1, 0, 0, 4, 0xdeadbeef, 0]), 7), null, 'a verifier body is skipped');
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.alloc(0), /cut short/],
    [Buffer.from([0x80, 0]), /cut short/],
    [reply(good).subarray(0, 20), /cut short/],
    [reply(good, 24), /several fragments/],
    [reply([7, 1, 0]), /not an RPC reply to NULL/],
    [reply(new Array(300).fill(0)), /not an RPC reply to NULL/],
    [reply([8, 1, 0, 0, 0, 0]), /another call/],
    [reply([7, 0, 0, 0, 0, 0]), /not an RPC reply/],
    [reply([7, 1, 1, 0, 0, 0]), /denied/],
    [reply([7, 1, 0, 0, 0xffffffff, 0]), /malformed verifier/],
    [reply([7, 1, 0, 0, 8, 0]), /malformed verifier/],
    [reply([7, 1, 0, 0, 0, 1]), /PROG_UNAVAIL/],
    [reply([7, 1, 0, 0, 0, 2, 2, 3]), /PROG_MISMATCH/],
    [reply([7, 1, 0, 0, 0, 5]), /accept_stat 5/],
  ];
  for (const [b, why] of cases) assert.match(checkNullReply(b, 7) ?? 'null', why, b.toString('hex').slice(0, 40));
});

/** A TCP server on loopback answering each connection with `answer(firstBytes)`. */
async function fake(answer: (sock: Socket, call: Buffer) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<Socket>();
  const s = createServer((sock) => {
    socks.add(sock);
    sock.once('data', (d) => answer(sock, d));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as { port: number }).port,
    close: async () => {
      for (const x of socks) x.destroy();
      await new Promise<void>((r) => s.close(() => r()));
    },
  };
}

test('nfsNullCall: a real exchange over TCP, and every bad server is a reason within the time limit', async () => {
  const xidOf = (call: Buffer) => call.readUInt32BE(4);
  const servers = [
    [(s: Socket, c: Buffer) => s.end(reply([xidOf(c), 1, 0, 0, 0, 0])), null],
    [(s: Socket, c: Buffer) => s.end(reply([xidOf(c), 1, 0, 0, 0, 1])), /PROG_UNAVAIL/],
    [(s: Socket) => s.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), /several fragments|not an RPC reply/],
    [(s: Socket) => s.end(), /cut short/],
    [(s: Socket) => s.write(Buffer.alloc(5000, 0xff)), /not an RPC reply to NULL/],
    [() => undefined, /no answer within 300 ms/],
  ] as Array<[(s: Socket, c: Buffer) => void, RegExp | null]>;
  for (const [answer, want] of servers) {
    const f = await fake(answer);
    try {
      const why = await nfsNullCall('127.0.0.1', f.port, 300);
      if (want === null) assert.equal(why, null);
      else assert.match(why ?? 'null', want);
    } finally {
      await f.close();
    }
  }
  // a split reply is put together
  const split = await fake((s, c) => {
    const r = reply([xidOf(c), 1, 0, 0, 0, 0]);
    s.write(r.subarray(0, 6));
    setImmediate(() => s.end(r.subarray(6)));
  });
  try {
    assert.equal(await nfsNullCall('127.0.0.1', split.port, 2000), null);
  } finally {
    await split.close();
  }
});
