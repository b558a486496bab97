// Several `netroot serve` processes on one PostgreSQL (issue #21), each with its own clock skewed by
// hours: both register and keep beating (`netroot servers` lists them live: beats are stamped with
// the database's clock), a token minted by one server works on the other, a server killed with
// SIGKILL turns stale after servers.staleSeconds, and one stopped cleanly leaves the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cli, tempStateDir } from '../helpers/cli.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { fetchFrom, serve, serveFlags, type Served } from '../helpers/serve-process.js';
import { call } from '../rpc/installing-node.js';
import type { ServerRecord } from '../../src/store/index.js';

const server = usePostgres();

test('two servers on one PostgreSQL, clocks 3 h ahead and 3 h behind: both live, beating; a token of one works on the other; kill -9 → stale', {
  skip: pgSkip,
}, async () => {
  const url = await (await server()).freshDatabase();
  const dirA = tempStateDir('nrt-srv-a-');
  const dirB = tempStateDir('nrt-srv-b-');
  const flags = serveFlags(url);
  const servers = async (): Promise<ServerRecord[]> => {
    const r = await cli(dirB, ...flags, 'servers', '--json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as ServerRecord[];
  };
  let a: Served | undefined;
  let b: Served | undefined;
  try {
    assert.equal(
      (await cli(dirA, ...flags, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '127.0.0.2')).code,
      0,
    );
    assert.match((await cli(dirA, ...flags, 'servers')).out, /no netroot server has registered/);
    [a, b] = await Promise.all([serve(dirA, flags, 3 * 3600_000), serve(dirB, flags, -3 * 3600_000)]);
    const pids = [a.child.pid, b.child.pid];
    // Both live, and both keep beating (a later beat than their first), on the database's clock.
    const first = await servers();
    assert.deepEqual(first.map((s) => [s.pid, s.live]).sort(), pids.map((p) => [p, true]).sort());
    for (const s of first) assert.ok(Math.abs(Date.parse(s.startedAt) - Date.now()) < 60_000, `started on the database clock: ${s.startedAt}`);
    await waitFor(async () => (await servers()).filter((s) => s.live && s.lastBeat > s.startedAt).length === 2, { what: 'a second beat of both servers' });
    const table = await cli(dirB, ...flags, 'servers');
    assert.equal(table.out.split('\n').filter((l) => l.startsWith('live ')).length, 2, table.out);
    // The node fetches its kickstart (and token) from A, 3 h ahead, and reports to B, 3 h behind.
    const ks = await fetchFrom(a.port, '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.equal(ks.status, 200, ks.body);
    const token = /netroot\.reportStatus<\/methodName><params><param><value><string>([A-Za-z0-9_-]{16,})<\/string>/.exec(ks.body)?.[1];
    assert.ok(token, 'the kickstart carries the install token');
    assert.equal(await call(b.port, 'netroot.reportStatus', [token, 'installing']), true);
    assert.match((await cli(dirA, ...flags, 'host', 'list')).out, /compute-0-0.*installing/);
    // A killed: its row stays and turns stale; B stopped cleanly: its row goes.
    a.child.kill('SIGKILL');
    await a.exited;
    await waitFor(async () => (await servers()).some((s) => s.pid === pids[0] && !s.live), {
      what: 'the killed server to turn stale',
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    assert.match((await cli(dirB, ...flags, 'servers')).out, new RegExp(`^STALE .* pid=${pids[0]} `, 'm'));
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.stderr());
    assert.deepEqual(
      (await servers()).map((s) => s.pid),
      [pids[0]],
    );
  } finally {
    for (const s of [a, b]) if (s && s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});
