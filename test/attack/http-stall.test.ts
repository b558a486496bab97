// The http-stall attack (issue #14 item 4) at the filed scale — 256 GETs of the 64 MiB installer
// initrd that never read and 64 slow POSTs to /RPC2, from 64 addresses — against a frontend on
// loopback with its default limits (config `http.*`). While it runs, the node at 127.0.0.2 gets
// /healthz, its iPXE script, its kickstart and /RPC2 answered 200, fast, and its kernel download
// takes the place of a stalled one; the attack holds at most the boot-file share of the slots and
// at most a quarter in slow bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/index.js';
import { call, sources } from '../http/clients.js';
import { startFrontend, NODE } from '../http/fixture.js';
import { nodeTraffic, summary, worst } from '../http/node-traffic.js';
import { attack } from './http-stall.js';

test("http-stall at 256 stalled downloads + 64 slow POSTs from 64 addresses: the node's small requests are served within a second, its kernel download too", {
  timeout: 120_000,
}, async (t) => {
  const d = configSchema.parse({}).http; // the frontend's defaults
  const x = await startFrontend();
  const stats = x.f.http.stats;
  let peak = { inFlight: 0, fileStreams: 0, receiving: 0 };
  const sampler = setInterval(() => {
    peak = {
      inFlight: Math.max(peak.inFlight, stats.inFlight),
      fileStreams: Math.max(peak.fileStreams, stats.fileStreams),
      receiving: Math.max(peak.receiving, stats.receiving),
    };
  }, 20);
  const running = await attack.start({ host: '127.0.0.1', httpPort: x.port, tftpPort: 0, iscsiPort: 0, sourceAddresses: sources(64, 4) }, { scale: 1 });
  try {
    const a = () => running.stats();
    const held = a()['held'];
    const t0 = performance.now();
    const l = await nodeTraffic(x.port, 4000);
    // The node's kernel: the boot-file share is full of stalls; once they are 5 s old (a quarter of
    // the 60 s send deadline, at most 5 s) the node's download takes the place of one from an
    // address that holds two or more.
    // fixed delay: the stalls must age past 5 s on the server's real clock (their age is the input).
    await new Promise((r) => setTimeout(r, Math.max(0, 6500 - (performance.now() - t0))));
    const kernel = await call(x.port, '/boot/files/install/vmlinuz', { from: NODE.ip });
    assert.equal(kernel.status, 200, 'the node downloads its kernel');
    assert.ok(stats.filesEvicted >= 1, 'in the place of a stalled one');
    t.diagnostic(`under attack: ${summary(l)}`);
    t.diagnostic(`attack ${JSON.stringify(a())}; server peak ${JSON.stringify(peak)}, shed ${stats.shed}, slow bodies cut ${stats.evicted}`);
    for (const what of Object.keys(l)) assert.ok(worst(l, what) < 1000, `${what}: ${worst(l, what).toFixed(1)} ms`);
    assert.equal(held, d.maxFileStreams, 'the attack held the boot-file share and no more');
    assert.ok(peak.fileStreams <= d.maxFileStreams, `file streams peak ${peak.fileStreams}`);
    assert.ok(peak.receiving <= d.maxReceivingBodies, `receiving peak ${peak.receiving}`);
    assert.ok(peak.inFlight <= d.maxFileStreams + d.maxReceivingBodies + 4, `in flight peak ${peak.inFlight}`);
    assert.ok(a()['refused']! > 0 && a()['posting']! > 0);
  } finally {
    clearInterval(sampler);
    await running.stop();
    await x.close();
  }
});
