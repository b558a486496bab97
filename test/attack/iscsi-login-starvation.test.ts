// The iscsi-login-starvation attack (issue #14 item 1) at full scale — 1,100 discovery sessions and
// 2,000 bare connections from four source addresses, re-opened as the target closes them — against
// the embedded target with its default limits (the iscsi.* config defaults) and a CHAP target. A
// node from its own address must still log in with CHAP and READ its first block within 2 s, again
// and again while the attack runs, and what the target holds must stay bounded by its caps.
// ATTACK_SCALE scales the attack down where the file-descriptor limit is small (each connection
// costs two descriptors here: both ends live in this process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { TestInitiator, cdb } from '../iscsi/helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from '../iscsi/helpers/in-process.js';
import { waitFor } from '../helpers/wait.js';
import { attack } from './iscsi-login-starvation.js';

const CHAP = { user: 'node1', secret: 'Secret0123456789' };
const ATTACKERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const NODE = '127.0.0.1';
const SCALE = Number(process.env['ATTACK_SCALE'] ?? 1);
// IscsiTarget's defaults (= config iscsi.*): per source 8 connections in login, 4 discovery sessions.
const LOGIN_PER_SOURCE = 8;
const DISCOVERY_PER_SOURCE = 4;

async function nodeLogsInAndReads(port: number): Promise<number> {
  const t0 = performance.now();
  const i = await TestInitiator.connect(port, '127.0.0.1', NODE);
  try {
    const r = await i.login({ initiator: INITIATOR, target: IQN, chap: CHAP });
    assert.deepEqual([r.statusClass, r.statusDetail], [0, 0], 'the node logs in with CHAP');
    const rd = await i.scsi(cdb.rw10(0x28, 0, 1), { readLength: 512 });
    assert.equal(rd.status, 0, 'READ(10) of block 0');
    assert.equal(rd.data.length, 512);
    const ms = performance.now() - t0;
    await i.logout();
    return ms;
  } finally {
    i.close();
  }
}

test('iSCSI login starvation: a node logs in with CHAP and reads within 2 s while 1,100 discovery sessions and 2,000 idle connections hit the portal', async (tc) => {
  const t = await inProcessTarget({ def: { chap: CHAP } });
  try {
    const m = t.target.metrics;
    const peak = { connections: 0, loginConnections: 0, discoverySessions: 0, heap: 0 };
    const heap0 = process.memoryUsage().heapUsed;
    const sample = (): void => {
      peak.connections = Math.max(peak.connections, m.connections);
      peak.loginConnections = Math.max(peak.loginConnections, m.loginConnections);
      peak.discoverySessions = Math.max(peak.discoverySessions, m.discoverySessions);
      peak.heap = Math.max(peak.heap, process.memoryUsage().heapUsed);
    };
    const sampler = setInterval(sample, 10);
    const t0 = performance.now();
    const run = await attack.start({ host: '127.0.0.1', httpPort: 0, tftpPort: 0, iscsiPort: t.port, sourceAddresses: ATTACKERS }, { scale: SCALE });
    try {
      tc.diagnostic(`full strength after ${(performance.now() - t0).toFixed(0)} ms: ${JSON.stringify(run.stats())}`);
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        times.push(await nodeLogsInAndReads(t.port));
        // fixed delay: the node's logins are spread over the attack (its back-off rounds keep coming); the spacing is the input.
        await new Promise((r) => setTimeout(r, 300));
      }
      sample();
      const s = run.stats();
      tc.diagnostic(`node CHAP login + READ, ms: ${times.map((x) => x.toFixed(0)).join(', ')}`);
      tc.diagnostic(`attack after ${(performance.now() - t0).toFixed(0)} ms: ${JSON.stringify(s)}`);
      tc.diagnostic(
        `target: peak ${peak.connections} connections (${peak.loginConnections} in login, ${peak.discoverySessions} discovery sessions); ` +
          `connectionsRefused ${m.connectionsRefused}, discoveryRefused ${m.discoveryRefused}; ` +
          `heap +${((peak.heap - heap0) / 2 ** 20).toFixed(1)} MiB (attacker and target in one process)`,
      );
      for (const ms of times) assert.ok(ms < 2000, `login + READ took ${ms.toFixed(0)} ms`);
      const slots = Math.round(1100 * SCALE) + Math.round(2000 * SCALE);
      const { opened = 0, refused = 0 } = s;
      assert.ok(opened >= slots, `the attack opened its connections (${opened}, ${slots} slots)`);
      assert.ok(refused > 0 && m.connectionsRefused > 0 && m.discoveryRefused > 0, 'refusals seen by the attacker and counted by the target');
      // Bounded by the per-source caps: nothing the attack does makes the target hold more.
      assert.ok(peak.loginConnections <= ATTACKERS.length * LOGIN_PER_SOURCE + 1, `in login phase at most ${peak.loginConnections}`);
      assert.ok(peak.discoverySessions <= ATTACKERS.length * DISCOVERY_PER_SOURCE, `discovery sessions at most ${peak.discoverySessions}`);
      assert.ok(peak.connections <= ATTACKERS.length * (LOGIN_PER_SOURCE + DISCOVERY_PER_SOURCE) + 1, `connections at most ${peak.connections}`);
      assert.ok(peak.heap - heap0 < 128 * 2 ** 20, 'memory stays bounded');
    } finally {
      clearInterval(sampler);
      await run.stop();
    }
    await waitFor(() => m.connections === 0 && m.sessions === 0, { what: 'the target let go of every attack connection' });
  } finally {
    await t.done();
  }
});
