// store.url and `netroot store migrate` against a real PostgreSQL (test/helpers/postgres.ts):
// - the CLI works on PostgreSQL (host add/list through --set store.url);
// - `store migrate --to URL` copies every table of a SQLite state, with counts, into an empty
//   database (equal answers from both stores afterwards; ids go on), and refuses a non-empty one;
// - `netroot serve` on PostgreSQL: start line, /readyz (a write under the lock), a host served;
// - PostgreSQL unreachable: `netroot serve` and a CLI command fail with one line naming
//   host:port, exit 1, and never show the URL's password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { freeTcpPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { PostgresStore, SqliteStore, type Store } from '../../src/store/index.js';

const server = usePostgres();
const PASSWORD = 'not-checked-pw'; // in every URL the helper answers
const ADD_HOST = ['host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254'];

/** Everything a store answers, for comparing two stores. */
async function snapshot(s: Store) {
  const hosts = await s.hosts.list();
  return {
    hosts,
    appliances: await s.appliances.list(),
    attributes: await s.attributes.list(),
    bmcs: await s.bmcs.list(),
    events: await s.events.list({ limit: 10_000 }),
    boot: await Promise.all(hosts.map((h) => s.boot.get(h.name))),
    token: await s.tokens.find('hash-1'),
  };
}

test('the CLI on PostgreSQL, then store migrate copies a SQLite state with counts checked and refuses a non-empty target', { skip: pgSkip }, async () => {
  const pgServer = await server();
  const dir = tempStateDir('nrt-migrate-');
  try {
    // The CLI against PostgreSQL (store.url): the password never printed.
    const onPg = await pgServer.freshDatabase();
    const add = await cli(dir, '--set', `store.url=${onPg}`, ...ADD_HOST);
    assert.equal(add.code, 0, add.err);
    const list = await cli(dir, '--set', `store.url=${onPg}`, 'host', 'list', '--json');
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(
      (JSON.parse(list.out) as Array<{ name: string }>).map((h) => h.name),
      ['compute-0-0'],
    );
    assert.ok(!(add.out + add.err + list.err).includes(PASSWORD));

    // A SQLite state with a row in every table.
    const sqlite = new SqliteStore(join(dir, 'netroot.db'));
    await sqlite.appliances.add({ name: 'gpu', basename: 'gpu', graph: 'default', rootNode: 'compute', discoverable: false });
    await sqlite.appliances.update('compute', { basename: 'node' });
    for (let i = 0; i < 3; i++)
      await sqlite.hosts.add({
        name: `gpu-0-${i}`,
        appliance: 'gpu',
        rack: 0,
        rank: i,
        interfaces: [
          { mac: `52:54:00:cc:00:0${i}`, ip: `10.1.0.${i + 10}`, subnet: '10.1.0.0/16', device: 'eth0' },
          { mac: `52:54:00:cc:01:0${i}`, ip: null, subnet: null, device: 'ib0' },
        ],
      });
    await sqlite.hosts.remove('gpu-0-1'); // a gap in the ids
    await sqlite.attributes.set({ scope: 'host', target: 'gpu-0-0', name: 'Kickstart_Timezone', value: 'UTC' });
    await sqlite.boot.put({ host: 'gpu-0-0', kernel: 'vmlinuz', initrd: 'initrd.img', overlay: null, args: 'quiet' });
    await sqlite.tokens.issue('gpu-0-2', 'hash-1', '10.1.0.12', 3600);
    await sqlite.bmcs.set({ host: 'gpu-0-2', driver: 'redfish', address: 'bmc', port: 443, user: 'root', secret: 's3cret', insecureTls: true, systemId: null });
    for (let i = 0; i < 5; i++) await sqlite.events.append({ kind: 'test', host: 'gpu-0-0', detail: { i } });
    const before = await snapshot(sqlite);
    await sqlite.close();

    const target = await pgServer.freshDatabase();
    const r = await cli(dir, 'store', 'migrate', '--to', target);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes(PASSWORD) && r.out.includes('********'), r.out);
    const counts = Object.fromEntries(
      r.out
        .split('\n')
        .map((l) => l.split(/\s+/))
        .filter((w) => w.length === 2 && /^\d+$/.test(w[1]!)),
    );
    assert.deepEqual(counts, { appliances: '3', hosts: '2', interfaces: '4', attributes: '2', events: '5', boot: '1', install_tokens: '1', bmcs: '1' });

    const pg = new PostgresStore(target);
    try {
      assert.deepEqual(await snapshot(pg), before);
      // Ids go on after the copied ones.
      await pg.hosts.add({ name: 'gpu-0-3', appliance: 'gpu', rack: 0, rank: 3, interfaces: [] });
      assert.equal((await pg.events.append({ kind: 'after' })).id, before.events.at(-1)!.id + 1);
    } finally {
      await pg.close();
    }

    // A non-empty target is refused, nothing written; a bad URL is the operator's error.
    const again = await cli(dir, 'store', 'migrate', '--to', target);
    assert.equal(again.code, 2);
    assert.match(again.err, /E_STORE_NOT_EMPTY|already holds state/);
    assert.ok(!again.err.includes(PASSWORD));
    const check = new PostgresStore(target);
    assert.equal((await check.hosts.list()).length, 3);
    await check.close();
    const bad = await cli(dir, 'store', 'migrate', '--to', 'mysql://x:y@h/db');
    assert.equal(bad.code, 2);
    assert.ok(!bad.err.includes('x:y'), bad.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL unreachable: netroot serve and a CLI command fail with one line naming host:port, exit 1, no password', async () => {
  const dir = tempStateDir('nrt-unreach-');
  try {
    const port = await freeTcpPort(); // nothing listens there
    const url = `postgres://netroot:Sup3rSecretPw@127.0.0.1:${port}/netroot`;
    const flags = ['--state-dir', dir, '--set', `store.url=${url}`, '--set', 'http.port=0', '--set', 'iscsi.enabled=false', '--set', 'tftp.enabled=false'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', ...flags, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 1, err);
    assert.equal(out, '');
    const lines = err.trimEnd().split('\n');
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, new RegExp(`^netroot: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/netroot: .*ECONNREFUSED`));
    assert.ok(!err.includes('Sup3rSecretPw'));

    const list = await cli(dir, '--set', `store.url=${url}`, 'host', 'list');
    assert.equal(list.code, 1);
    assert.match(list.err, /cannot reach PostgreSQL at 127\.0\.0\.1/);
    assert.ok(!list.err.includes('Sup3rSecretPw'));
    // A malformed store.url is a config error that does not echo the value.
    const bad = await cli(dir, '--set', 'store.url=mysql://u:Sup3rSecretPw@h/db', 'host', 'list');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /store\.url/);
    assert.ok(!bad.err.includes('Sup3rSecretPw'), bad.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot serve on PostgreSQL: the start line names the store with its password masked, /readyz writes to it, a host added by the CLI is served', {
  skip: pgSkip,
}, async () => {
  const url = await (await server()).freshDatabase();
  const dir = tempStateDir('nrt-serve-pg-');
  const flags = [
    '--set',
    `store.url=${url}`,
    '--set',
    'http.host=127.0.0.1',
    '--set',
    'http.port=0',
    '--set',
    'tftp.enabled=false',
    '--set',
    'iscsi.enabled=false',
  ];
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    const port = Number(
      (
        await waitFor(() => /http on 127\.0\.0\.1:(\d+)/.exec(out), {
          what: () => `the start line (stdout: ${out}, stderr: ${err})`,
          timeoutMs: 30_000,
        })
      )[1],
    );
    assert.match(out, /netroot: serving .* — store postgres:\/\/netroot:\*{8}@127\.0\.0\.1:\d+\/t\d+_\d+, http on/);
    assert.ok(!(out + err).includes(PASSWORD));
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const add = await cli(dir, ...flags.slice(0, 2), '--set', `http.port=${port}`, ...ADD_HOST);
    assert.equal(add.code, 0, add.err);
    const ks = await fetch(`http://127.0.0.1:${port}/install/kickstart/compute-0-0`);
    assert.equal(ks.status, 200);
    assert.match(await ks.text(), /compute-0-0/);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    rmSync(dir, { recursive: true, force: true });
  }
});
