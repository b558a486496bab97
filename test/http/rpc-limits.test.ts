// Issue #14 item 5: /RPC2 parses on the one thread everything shares. A body is at most
// http.rpcMaxBodyBytes (413, answered before the body is read), holds at most http.rpcMaxMarkup
// `<` and `&` (a parse-error fault without parsing), and parses run one per event-loop turn with a
// bounded queue: eight clients posting the largest bodies in a loop leave /healthz fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'node:http';
import { parseMethodCall } from '../../src/rpc/index.js';
import { call, rpc, within, sources, LIST_METHODS } from './clients.js';
import { startFrontend, NODE } from './fixture.js';
import { denseCall, worstAcceptedCall } from '../attack/rpc-parse.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = 64 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Median ms of `n` runs of parseMethodCall on `body` (a fault counts: the work was done). */
function parseMs(body: Buffer, n = 5): number {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    try {
      parseMethodCall(body, { maxBytes: 16 * 1024 * 1024 });
    } catch {
      // a fault is an answer too
    }
    ts.push(performance.now() - t);
  }
  return median(ts);
}

test('an /RPC2 body over rpcMaxBodyBytes is 413 at once, unread, whether declared or chunked', { timeout: 30000 }, async (t) => {
  const x = await startFrontend();
  try {
    // Declared: only the headers are sent. The answer must not wait for the 10 MiB.
    const t0 = performance.now();
    const s = connect({ host: '127.0.0.1', port: x.port, localAddress: '127.0.0.7' });
    s.on('error', () => {});
    s.write(`POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n<?xml`);
    let answer = '';
    s.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    await within(new Promise((r) => s.once('close', r)), 5000, 'the 413 and the close').finally(() => s.destroy());
    const ms = performance.now() - t0;
    t.diagnostic(`declared 10 MiB: ${JSON.stringify(answer.split('\r\n')[0])} after ${Math.round(ms)} ms, connection closed`);
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /E_BODY_TOO_LARGE/);
    assert.ok(ms < 1000, `${ms} ms`);

    // Chunked: refused once it passes the limit.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: x.port,
          path: '/RPC2',
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'text/xml', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => {}); // the server closes while we still write
      const piece = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      const more = () => {
        while (sent < 4 * 1024 * 1024 && !req.destroyed) {
          sent += piece.length;
          if (!req.write(piece)) return req.once('drain', more);
        }
        req.end();
      };
      more();
      setTimeout(() => reject(new Error('no answer to the chunked body')), 5000).unref();
    });
    assert.equal(chunked, 413);

    // Just over the limit, under the old 1 MiB one: refused, not parsed.
    const over = await rpc(x.port, denseCall(LIMIT + 1), '127.0.0.7');
    assert.equal(over.status, 413);
    const at = await rpc(x.port, worstAcceptedCall(LIMIT, 1024), '127.0.0.7');
    assert.equal(at.status, 200, 'a body of exactly the limit is parsed');
    assert.match(at.body, /<fault>/, 'reportStatus with 170 params is a params fault');
    assert.equal((await rpc(x.port, LIST_METHODS, NODE.ip)).status, 200);
  } finally {
    await x.close();
  }
});

test('an /RPC2 body with more markup than rpcMaxMarkup is a parse-error fault, found without parsing', { timeout: 30000 }, async (t) => {
  const x = await startFrontend();
  try {
    const dense = denseCall(LIMIT);
    const r = await rpc(x.port, dense, '127.0.0.7');
    assert.equal(r.status, 200);
    assert.match(r.body, /<name>faultCode<\/name><value><int>-32700<\/int>/);
    assert.match(r.body, /more than 1024 tags and references/);
    t.diagnostic(
      `parse time (median of 5): 64 KiB dense ${parseMs(dense).toFixed(1)} ms (now refused unparsed), 64 KiB at the markup limit ${parseMs(worstAcceptedCall(LIMIT, 1024)).toFixed(1)} ms (the most one request costs), 1 MiB dense ${parseMs(denseCall(1024 * 1024), 3).toFixed(1)} ms (what one request cost before)`,
    );
  } finally {
    await x.close();
  }
});

test("eight clients posting max-size /RPC2 bodies in a loop: /healthz stays under 200 ms, the node's call is served", { timeout: 30000 }, async (t) => {
  const x = await startFrontend();
  try {
    // In turn: the old limit's largest (1 MiB, now 413 unread), the new limit's densest (now a fault
    // unparsed) and the costliest the limits still parse.
    const bodies = [denseCall(1024 * 1024), denseCall(LIMIT), worstAcceptedCall(LIMIT, 1024)];
    let stop = false;
    const answers: Record<string, number> = {};
    const posters = sources(8, 3).map(async (from, i) => {
      for (let k = i; !stop; k++) {
        // The server may close on a 1 MiB body before the client has written it all: a reset is an answer too.
        const r = await rpc(x.port, bodies[k % bodies.length]!, from).then(
          (a) => String(a.status),
          () => 'reset',
        );
        answers[r] = (answers[r] ?? 0) + 1;
      }
    });
    const lat: number[] = [];
    // Measured once every poster had its first answer on average (the posts are under way).
    await waitFor(() => Object.values(answers).reduce((a, b) => a + b, 0) >= 8, { what: () => `eight answers to the posters: ${JSON.stringify(answers)}` });
    const end = performance.now() + 3000;
    while (performance.now() < end) {
      const h = await call(x.port, '/healthz');
      assert.equal(h.status, 200);
      lat.push(h.ms);
    }
    const node = await rpc(x.port, LIST_METHODS, NODE.ip);
    stop = true;
    await Promise.all(posters);
    const max = Math.max(...lat);
    t.diagnostic(
      `/healthz under 8 parallel max-size posts: ${lat.length} requests, p50 ${median(lat).toFixed(1)} ms, max ${max.toFixed(1)} ms; the posts were answered ${JSON.stringify(answers)}; the node's call took ${node.ms.toFixed(1)} ms`,
    );
    assert.equal(node.status, 200);
    assert.ok((answers['200'] ?? 0) > 16, 'the posts were answered');
    assert.ok(max < 200, `/healthz took ${max.toFixed(1)} ms`);
  } finally {
    await x.close();
  }
});
