// Failover without QEMU (issue #21): two `netroot serve` processes on one PostgreSQL; simulated
// nodes of ours each get discovered (insert-ethers through POST /api/v1/hosts, what a DISCOVER
// does), fetch their kickstart from their own address and report `installing` with its token,
// trying server A first and B when A does not answer. A is killed with SIGKILL mid-way; every node
// still finishes through B, and no host, address or name is duplicated or lost. The extra time the
// failure cost (time spent on attempts at the dead server) is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cli, tempStateDir } from '../helpers/cli.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { call as httpCall } from '../http/clients.js';
import { call } from '../rpc/installing-node.js';
import { serve, serveFlags, type Served } from '../helpers/serve-process.js';
import type { Host } from '../../src/store/index.js';

const server = usePostgres();
const N = 10;
const API = 'failover-test-token-0123456789';
const TOKEN = /netroot\.reportStatus<\/methodName><params><param><value><string>([A-Za-z0-9_-]{16,})<\/string>/;

test(`failover without QEMU: ${N} new machines, one of two servers killed -9 mid-way, all finish through the other`, { skip: pgSkip }, async () => {
  const url = await (await server()).freshDatabase();
  const dirs = [tempStateDir('nrt-fo-a-'), tempStateDir('nrt-fo-b-')];
  const flags = [...serveFlags(url), '--set', `http.apiToken=${API}`];
  let a: Served | undefined;
  let b: Served | undefined;
  try {
    const [sa, sb] = await Promise.all(dirs.map((d) => serve(d, flags)));
    a = sa!;
    b = sb!;
    const [A, B] = [a, b];
    let lostMs = 0;
    /** fn on A, then on B when A does not answer (connection refused or reset: A is dead). */
    const either = async <T>(fn: (port: number) => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn(A.port);
      } catch (e) {
        if (!/ECONNREFUSED|ECONNRESET|socket hang up/.test(String((e as Error)?.message) + String((e as { code?: string }).code))) throw e;
        lostMs += performance.now() - t0;
        return fn(B.port);
      }
    };
    const life = async (i: number): Promise<string> => {
      const mac = `52:54:00:fa:00:${i.toString(16).padStart(2, '0')}`;
      const added = await either(async (port) => {
        const r = await httpCall(port, '/api/v1/hosts', {
          method: 'POST',
          body: JSON.stringify({ mac, appliance: 'compute' }),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${API}` },
        });
        // A server killed after it committed the host but before it answered: the other knows the MAC.
        if (r.status === 409 || r.status === 400) return null;
        assert.equal(r.status, 201, r.body);
        return JSON.parse(r.body) as Host;
      });
      const host = added ?? (JSON.parse((await cli(dirs[1]!, ...flags, 'host', 'list', '--json')).out) as Host[]).find((h) => h.interfaces[0]?.mac === mac);
      assert.ok(host, `host of ${mac}`);
      const name = host.name;
      const ip = host.interfaces[0]!.ip!;
      const ks = await either((port) => httpCall(port, `/install/kickstart/${name}`, { from: ip }));
      assert.equal(ks.status, 200, ks.body);
      const token = TOKEN.exec(ks.body)?.[1];
      assert.ok(token);
      assert.equal(await either((port) => call(port, 'netroot.reportStatus', [token, 'installing'], ip)), true);
      return name;
    };
    const t0 = performance.now();
    const first = await Promise.all(Array.from({ length: N / 2 }, (_, i) => life(i)));
    // Mid-way: half the machines are through; the other half start, and A dies under them.
    const later = Promise.all(Array.from({ length: N / 2 }, (_, i) => life(N / 2 + i)));
    A.child.kill('SIGKILL');
    await A.exited;
    const second = await later;
    const totalMs = performance.now() - t0;
    const hosts = JSON.parse((await cli(dirs[1]!, ...flags, 'host', 'list', '--json')).out) as Host[];
    assert.equal(hosts.length, N, 'one host per machine');
    assert.equal(new Set(hosts.map((h) => h.name)).size, N);
    assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.mac)).size, N);
    assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.ip)).size, N);
    assert.deepEqual([...first, ...second].sort(), hosts.map((h) => h.name).sort());
    for (const h of hosts) assert.equal(h.state, 'installing', h.name);
    console.log(`failover: ${N} machines in ${totalMs.toFixed(0)} ms; attempts at the killed server cost ${lostMs.toFixed(0)} ms`);
    B.child.kill('SIGTERM');
    assert.equal(await B.exited, 0, B.stderr());
  } finally {
    for (const s of [a, b]) if (s && s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
