// The rpc-parse attack (issue #14 item 5) at the filed scale — 8 clients posting 1 MiB and 64 KiB
// of the densest XML-RPC, and 64 KiB at the markup limit, in a loop, from 8 addresses — against a
// frontend on loopback with its default limits. While it runs, /healthz answers within 200 ms and
// the node's iPXE script, kickstart and /RPC2 call within a second. The event loop's delay is
// measured too: TFTP, DHCP and iSCSI share that loop, so its worst delay bounds what the attack adds
// to their answers (before the limits: a TFTP request 6 s, an iSCSI login 6.6 s).
import { test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { sources } from '../http/clients.js';
import { startFrontend } from '../http/fixture.js';
import { nodeTraffic, summary, worst } from '../http/node-traffic.js';
import { attack, CLIENTS } from './rpc-parse.js';
import { waitFor } from '../helpers/wait.js';

test("rpc-parse with 8 clients: /healthz stays under 200 ms, the node's iPXE script, kickstart and /RPC2 call under a second", {
  timeout: 60_000,
}, async (t) => {
  const x = await startFrontend();
  const running = await attack.start({ host: '127.0.0.1', httpPort: x.port, tftpPort: 0, iscsiPort: 0, sourceAddresses: sources(8, 5) }, { scale: 1 });
  try {
    // At full pace: every client has had an answer and posts again.
    await waitFor(() => running.stats()['posts']! >= 2 * CLIENTS, { what: () => `a second round of posts: ${JSON.stringify(running.stats())}` });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const l = await nodeTraffic(x.port, 4000);
    loop.disable();
    const a = running.stats();
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    t.diagnostic(`under attack: ${summary(l)}`);
    t.diagnostic(`event-loop delay: p50 ${ms(loop.percentile(50))}, p99 ${ms(loop.percentile(99))}, max ${ms(loop.max)} ms`);
    t.diagnostic(`attack ${JSON.stringify(a)}`);
    assert.ok(worst(l, 'healthz') < 200, `/healthz: ${worst(l, 'healthz').toFixed(1)} ms`);
    assert.ok(loop.max / 1e6 < 200, `event loop blocked for ${ms(loop.max)} ms`);
    for (const what of ['ipxe', 'kickstart', 'rpc']) assert.ok(worst(l, what) < 1000, `${what}: ${worst(l, what).toFixed(1)} ms`);
    assert.ok(a['tooLarge']! + a['resets']! > 0, 'the 1 MiB bodies were refused');
    assert.ok(a['faults']! > 0, 'the 64 KiB bodies were answered with faults');
  } finally {
    await running.stop();
    await x.close();
  }
});
