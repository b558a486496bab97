// Issue #14 item 4, the receiving side: a request must arrive within http.requestTimeoutSeconds
// (headers within http.headersTimeoutSeconds), or Node answers 408 and closes the connection, and
// its slot is free again. Slow uploads from many addresses hold at most a quarter of the slots: the
// oldest is cut for a newer request with a body, so a node's /RPC2 call still goes through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { rpc, slowPost, within, sources, LIST_METHODS, call } from './clients.js';
import { waitFor } from '../helpers/wait.js';
import { startFrontend, NODE } from './fixture.js';

test('a POST whose body trickles is cut at requestTimeoutSeconds with 408, and its slot is released', { timeout: 20000 }, async (t) => {
  const x = await startFrontend({ 'http.requestTimeoutSeconds': '1', 'http.headersTimeoutSeconds': '1' });
  const stats = x.f.http.stats;
  try {
    const posts = [
      slowPost(x.port, '/RPC2', { from: '127.0.0.7', length: 10_000, everyMs: 50 }),
      slowPost(x.port, '/RPC2', { from: '127.0.0.8', length: 10_000, everyMs: 50 }),
    ];
    await waitFor(() => stats.inFlight === 2, { what: 'both uploads admitted', timeoutMs: 2000 });
    const status = await within(Promise.all(posts.map((p) => p.status)), 5000, 'the 408s');
    const closed = await within(Promise.all(posts.map((p) => p.closed)), 5000, 'the connections closed');
    t.diagnostic(`answered ${status.join(', ')}, closed after ${closed.map(Math.round).join(', ')} ms (deadline 1000 ms)`);
    assert.deepEqual(status, [408, 408]);
    for (const ms of closed) assert.ok(ms >= 950 && ms < 4000, `cut after ${ms} ms`);
    await waitFor(() => stats.inFlight === 0, { what: 'slots released', timeoutMs: 2000 });
    assert.equal((await rpc(x.port, LIST_METHODS, NODE.ip)).status, 200);
  } finally {
    await x.close();
  }
});

test('headers that trickle are cut at headersTimeoutSeconds; they never held a slot', { timeout: 20000 }, async (t) => {
  const x = await startFrontend({ 'http.requestTimeoutSeconds': '5', 'http.headersTimeoutSeconds': '0.5' });
  const stats = x.f.http.stats;
  try {
    const t0 = performance.now();
    const s = connect({ host: '127.0.0.1', port: x.port, localAddress: '127.0.0.7' });
    s.on('error', () => {});
    s.write('GET /healthz HTTP/1.1\r\n');
    // timed input, not a wait: headers that trickle, one line every 50 ms.
    const timer = setInterval(() => s.write('X: y\r\n'), 50);
    let answer = '';
    s.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    await within(new Promise((r) => s.once('close', r)), 5000, 'the connection closed').finally(() => {
      clearInterval(timer);
      s.destroy();
    });
    const ms = performance.now() - t0;
    t.diagnostic(`cut after ${Math.round(ms)} ms (deadline 500 ms): ${JSON.stringify(answer.split('\r\n')[0])}`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(ms >= 450 && ms < 3000, `${ms}`);
    assert.equal(stats.requests, 0, 'never reached the application');
  } finally {
    await x.close();
  }
});

test("slow uploads from 32 addresses fill at most maxReceivingBodies slots (the oldest is cut); the node's /RPC2 call and /healthz are served", {
  timeout: 20000,
}, async (t) => {
  const x = await startFrontend({ 'http.maxInFlight': '16', 'http.requestTimeoutSeconds': '60' });
  const stats = x.f.http.stats;
  const posts = sources(32).map((from) => slowPost(x.port, '/RPC2', { from, length: 10_000, everyMs: 200 }));
  try {
    await waitFor(() => stats.requests >= 32, { what: 'all 32 uploads reached the server', timeoutMs: 5000 });
    t.diagnostic(`in flight ${stats.inFlight}, receiving ${stats.receiving}, cut ${stats.evicted}`);
    assert.equal(stats.receiving, 4, 'a quarter of maxInFlight 16');
    assert.equal(stats.inFlight, 4);
    assert.equal(stats.evicted, 28);
    const call1 = await rpc(x.port, LIST_METHODS, NODE.ip);
    assert.equal(call1.status, 200, call1.body);
    assert.match(call1.body, /system\.listMethods/);
    assert.equal((await call(x.port, '/healthz')).status, 200);
  } finally {
    for (const p of posts) p.socket.destroy();
    await x.close();
  }
});
