// The store's contracts, each test on both backends (SQLite and a real PostgreSQL started once for
// this file, test/helpers/store-backends.ts), and the SQLite- or PostgreSQL-only behaviours beside them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import Database from 'better-sqlite3';
import { SqliteStore, resolveAttributes, type BmcRecord, type Store } from '../../src/store/index.js';
import { UserError, isNetrootError } from '../../src/errors.js';
import { forEachBackend } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/wait.js';

const iface = (mac: string, ip: string) => ({ mac, ip, subnet: '10.1.0.0/16', device: 'eth0' });

forEachBackend('shipped appliances exist after migration', async (b) => {
  const store = await b.open();
  const names = (await store.appliances.list()).map((a) => a.name);
  assert.deepEqual(names, ['compute', 'compute-diskless']);
  const d = await store.appliances.get('compute-diskless');
  assert.equal(d?.rootNode, 'compute-diskless');
  assert.equal(d?.basename, 'compute');
  assert.deepEqual(await store.attributes.list(), [{ scope: 'appliance', target: 'compute-diskless', name: 'diskless', value: 'true' }]);
});

forEachBackend('reopening does not re-run migrations or duplicate seed rows', async (b) => {
  await (await b.open()).close();
  // Two at once (two servers starting): each migration is applied once.
  const [again, other] = await Promise.all([b.open(), b.open()]);
  assert.equal((await again.appliances.list()).length, 2);
  assert.equal((await other.attributes.list()).length, 1);
});

forEachBackend('host add/get/byMac/byIp/update/remove', async (b) => {
  const store = await b.open();
  const h = await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.254')] });
  assert.equal(h.bootAction, 'install');
  assert.equal(h.state, 'discovered');
  assert.equal((await store.hosts.byMac('52:54:00:aa:00:01'))?.name, 'compute-0-0');
  assert.equal((await store.hosts.byIp('10.1.255.254'))?.name, 'compute-0-0');
  const u = await store.hosts.update('compute-0-0', { bootAction: 'os', state: 'installed' });
  assert.equal(u.bootAction, 'os');
  assert.equal(await store.hosts.maxRank('compute', 0), 0);
  assert.equal(await store.hosts.maxRank('compute', 1), -1);
  await store.attributes.set({ scope: 'host', target: 'compute-0-0', name: 'x', value: '1' });
  await store.hosts.remove('compute-0-0');
  assert.equal(await store.hosts.get('compute-0-0'), null);
  assert.equal(await store.hosts.byMac('52:54:00:aa:00:01'), null);
  assert.deepEqual(await store.attributes.list({ scope: 'host' }), []);
});

forEachBackend('attributes.setMany: each set in order, the last of a key wins, existing values replaced, none is a no-op; in a transaction too', async (b) => {
  const store = await b.open();
  await store.attributes.set({ scope: 'host', target: 'h1', name: 'a', value: 'old' });
  await store.attributes.setMany([
    { scope: 'host', target: 'h1', name: 'a', value: 'new' },
    { scope: 'host', target: 'h1', name: 'b', value: '1' },
    { scope: 'host', target: 'h1', name: 'b', value: '2' },
    { scope: 'global', target: '', name: 'c', value: 'g' },
  ]);
  await store.attributes.setMany([]);
  await store.transaction(async (tx) => tx.attributes.setMany([{ scope: 'host', target: 'h2', name: 'z', value: 'tx' }]));
  assert.deepEqual(
    (await store.attributes.list()).filter((x) => x.scope !== 'appliance').map((x) => `${x.scope}/${x.target}/${x.name}=${x.value}`),
    ['global//c=g', 'host/h1/a=new', 'host/h1/b=2', 'host/h2/z=tx'],
  );
  await store.close();
});

forEachBackend('duplicates are refused by the database, naming the field, and leave nothing half-written', async (b) => {
  const store = await b.open();
  await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.254')] });
  const cases: Array<[Parameters<Store['hosts']['add']>[0], RegExp]> = [
    [{ name: 'compute-0-1', appliance: 'compute', rack: 0, rank: 1, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.253')] }, /MAC 52:54:00:aa:00:01/],
    [{ name: 'compute-0-1', appliance: 'compute', rack: 0, rank: 1, interfaces: [iface('52:54:00:aa:00:02', '10.1.255.254')] }, /IP 10.1.255.254/],
    [{ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 5, interfaces: [iface('52:54:00:aa:00:03', '10.1.255.250')] }, /host name compute-0-0/],
    [{ name: 'other', appliance: 'compute-diskless', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:04', '10.1.255.249')] }, /rack 0 rank 0/],
  ];
  for (const [h, re] of cases) {
    await assert.rejects(store.hosts.add(h), (e: unknown) => e instanceof UserError && re.test(e.message));
  }
  // the host whose interface was refused was rolled back with it
  assert.deepEqual(
    (await store.hosts.list()).map((h) => h.name),
    ['compute-0-0'],
  );
  await assert.rejects(store.hosts.add({ name: 'x', appliance: 'nope', rack: 0, rank: 9, interfaces: [] }), { code: 'E_APPLIANCE_NOT_FOUND' });
  await assert.rejects(store.hosts.update('nope', { rack: 1 }), { code: 'E_HOST_NOT_FOUND' });
});

forEachBackend('transaction rolls back everything on throw, and an await inside it cannot interleave other writers', async (b) => {
  const store = await b.open();
  await assert.rejects(
    store.transaction(async (tx) => {
      await tx.hosts.add({ name: 'a-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [] });
      // fixed delay: the transaction stays open across a timer, so other work gets the chance to interleave (the input).
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('plugin failed');
    }),
    /plugin failed/,
  );
  assert.equal(await store.hosts.get('a-0-0'), null);
  // a concurrent non-transaction write waits for the transaction
  const order: string[] = [];
  const t = store.transaction(async (tx) => {
    // fixed delay: holds the transaction open while the outside write is issued (the input).
    await new Promise((r) => setTimeout(r, 30));
    await tx.events.append({ kind: 'first' });
    order.push('tx');
  });
  const w = store.events.append({ kind: 'second' }).then(() => order.push('outside'));
  await Promise.all([t, w]);
  assert.deepEqual(order, ['tx', 'outside']);
  assert.deepEqual(
    (await store.events.list()).map((e) => e.kind),
    ['first', 'second'],
  );
});

forEachBackend('two processes writing at once lose no rows', async (b) => {
  await (await b.open()).close();
  const run = (rack: number) =>
    new Promise<number>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/store-writer.ts', b.target, 'compute', '120', String(rack)], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      p.on('error', reject);
      p.on('exit', (code) => resolve(code ?? -1));
    });
  const codes = await Promise.all([run(1), run(2)]);
  assert.deepEqual(codes, [0, 0]);
  const again = await b.open();
  assert.equal((await again.hosts.list()).length, 240);
  assert.equal((await again.events.list({ limit: 1000 })).length, 240);
});

forEachBackend('every constraint violation is the same UserError (code, field, text) on both backends, and the store stays usable', async (b) => {
  const store = await b.open();
  await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.254')] });
  await store.hosts.add({ name: 'compute-0-1', appliance: 'compute', rack: 0, rank: 1, interfaces: [iface('52:54:00:aa:00:02', '10.1.255.253')] });
  const seen: string[] = [];
  const expect = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => assert.fail('accepted'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof UserError, String(e));
    seen.push(`${e.code} ${e.where} ${e.message}`);
  };
  await expect(store.hosts.addInterface('compute-0-1', iface('52:54:00:aa:00:01', null as unknown as string)));
  await expect(store.hosts.addInterface('compute-0-1', iface('52:54:00:aa:00:09', '10.1.255.254')));
  await expect(store.hosts.updateInterface('52:54:00:aa:00:02', { mac: '52:54:00:aa:00:01' }));
  await expect(store.hosts.updateInterface('52:54:00:aa:00:02', { ip: '10.1.255.254' }));
  await expect(store.hosts.update('compute-0-1', { rank: 0 }));
  await expect(store.hosts.update('compute-0-1', { rack: -1 }));
  await expect(store.appliances.add({ name: 'compute', basename: 'x', graph: 'default', rootNode: 'compute', discoverable: true }));
  // Inside a transaction: the refused call undoes only itself; the transaction goes on and commits.
  await store.transaction(async (tx) => {
    await expect(tx.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 7, interfaces: [] }));
    await expect(tx.hosts.add({ name: 'compute-0-8', appliance: 'compute', rack: 0, rank: 8, interfaces: [iface('52:54:00:aa:00:02', '10.1.0.8')] }));
    await tx.hosts.add({ name: 'compute-0-9', appliance: 'compute', rack: 0, rank: 9, interfaces: [iface('52:54:00:aa:00:0a', '10.1.0.9')] });
  });
  assert.deepEqual(seen, [
    'E_DUPLICATE mac mac: MAC 52:54:00:aa:00:01 is already assigned to compute-0-0',
    'E_DUPLICATE ip ip: IP 10.1.255.254 is already assigned to compute-0-0',
    'E_DUPLICATE mac mac: MAC 52:54:00:aa:00:01 is already assigned to compute-0-0',
    'E_DUPLICATE ip ip: IP 10.1.255.254 is already assigned to compute-0-0',
    'E_DUPLICATE basename basename: rack/rank already taken',
    'E_DUPLICATE CHECK CHECK: value out of range',
    'E_DUPLICATE name name: appliance compute already exists',
    'E_DUPLICATE name name: host name compute-0-0 is already taken',
    'E_DUPLICATE mac mac: MAC 52:54:00:aa:00:02 is already assigned to compute-0-1',
  ]);
  assert.deepEqual(
    (await store.hosts.list()).map((h) => `${h.name} ${h.interfaces.map((i) => i.mac).join(',')}`),
    ['compute-0-0 52:54:00:aa:00:01', 'compute-0-1 52:54:00:aa:00:02', 'compute-0-9 52:54:00:aa:00:0a'],
  );
});

forEachBackend('two servers racing to discover the same new MAC: exactly one host', async (b) => {
  // Two stores on PostgreSQL (two servers); one on SQLite, whose second connection in this process
  // would block the event loop in BEGIN IMMEDIATE (two SQLite processes: the test above).
  const one = await b.open();
  const two = b.name === 'postgres' ? await b.open() : one;
  for (let round = 0; round < 10; round++) {
    const mac = `52:54:00:bb:00:${round.toString(16).padStart(2, '0')}`;
    // The discovery engine's rule: look the MAC up and add the host in one transaction.
    const discover = (s: Store, who: string) =>
      s.transaction(async (tx) => {
        if (await tx.hosts.byMac(mac)) return 'known';
        const rank = (await tx.hosts.maxRank('compute', 5)) + 1;
        await tx.hosts.add({ name: `compute-5-${rank}`, appliance: 'compute', rack: 5, rank, interfaces: [iface(mac, `10.5.${round}.${who}`)] });
        return 'added';
      });
    const r = await Promise.all([discover(one, '1'), discover(two, '2')]);
    assert.deepEqual([...r].sort(), ['added', 'known'], `round ${round}`);
  }
  const hosts = await one.hosts.list();
  assert.equal(hosts.length, 10);
  assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.mac)).size, 10);
});
forEachBackend('attribute precedence: defaults < config < global < os < appliance < host < intrinsic', async (b) => {
  const store = await b.open();
  const h = await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.254')] });
  await store.attributes.set({ scope: 'global', target: '', name: 'tz', value: 'G' });
  await store.attributes.set({ scope: 'os', target: 'linux', name: 'tz', value: 'O' });
  await store.attributes.set({ scope: 'appliance', target: 'compute', name: 'tz', value: 'A' });
  await store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'tz', value: 'other appliance' });
  await store.attributes.set({ scope: 'host', target: 'compute-0-0', name: 'hostname', value: 'evil' });
  await store.attributes.set({ scope: 'global', target: '', name: 'Kickstart_PrivateAddress', value: '10.1.1.2' });
  const facts = { frontendAddress: '10.1.1.1', privateNetwork: '10.1.0.0/16', domain: 'local', httpPort: 8080, iscsiPort: 3260 };
  const r = await resolveAttributes(store, h, facts, { tz: 'D', only_default: 'd' });
  const by = Object.fromEntries(r.map((a) => [a.name, a]));
  assert.deepEqual(by['tz'], { name: 'tz', value: 'A', source: 'A' });
  assert.deepEqual(by['only_default'], { name: 'only_default', value: 'd', source: 'D' });
  assert.equal(by['hostname']?.value, 'compute-0-0');
  assert.equal(by['hostname']?.source, 'I');
  assert.equal(by['Kickstart_PrivateAddress']?.value, '10.1.1.2');
  assert.equal(by['Kickstart_PrivateNetmask']?.value, '255.255.0.0');
  assert.equal(by['hostaddr']?.value, '10.1.255.254');
  await store.attributes.set({ scope: 'host', target: 'compute-0-0', name: 'tz', value: 'H' });
  const r2 = await resolveAttributes(store, h, facts);
  assert.equal(r2.find((a) => a.name === 'tz')?.source, 'H');
});

test('resolved attributes are listed in the same order whatever LANG says', async () => {
  const { spawnSync } = await import('node:child_process');
  const script =
    "import { resolveAttributes } from './src/store/resolve-attributes.ts'; const repos = { appliances: { get: async () => ({ name: 'a', basename: 'a', graph: 'g', rootNode: 'r', discoverable: true }) }, attributes: { list: async () => [] } }; const host = { name: 'h', appliance: 'a', rack: 0, rank: 0, os: 'linux', arch: 'x86_64', bootAction: 'os', state: 'discovered', interfaces: [] }; const r = await resolveAttributes(repos, host, { frontendAddress: '10.1.1.1', privateNetwork: '10.1.0.0/16', domain: 'local', httpPort: 1, iscsiPort: 2 }, { 'å_x': '1', aa: '2', Z: '3', 'ı': '4', i: '5', I: '6' }); console.log(r.map((a) => a.name).join(' '));";
  const orders = ['C', 'sv_SE.UTF-8', 'tr_TR.UTF-8'].map((lang) => {
    const p = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, LANG: lang, LC_ALL: lang },
    });
    assert.equal(p.status, 0, p.stderr);
    return p.stdout.trim();
  });
  assert.equal(new Set(orders).size, 1, orders.join('\n'));
});

test("reads never wait for another process's writer: a kickstart's lookups go on while a CLI holds the write lock", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-store-'));
  const path = join(dir, 'netroot.db');
  const store = new SqliteStore(path);
  await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.254')] });
  await store.close();
  const reader = new SqliteStore(path, { busyTimeoutMs: 50 });
  const { default: Database } = await import('better-sqlite3');
  const writer = new Database(path);
  try {
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare("INSERT INTO events (at, kind, detail) VALUES ('now', 'uncommitted', '{}')").run();
    // Every read the kickstart path makes, while the other connection holds the write lock:
    assert.equal((await reader.hosts.get('compute-0-0'))?.name, 'compute-0-0');
    assert.equal((await reader.hosts.byIp('10.1.255.254'))?.name, 'compute-0-0');
    assert.equal((await reader.appliances.get('compute'))?.rootNode, 'compute');
    assert.deepEqual(await reader.attributes.list({ scope: 'host', target: 'compute-0-0' }), []);
    assert.equal((await reader.events.list({ kind: 'uncommitted' })).length, 0, 'a snapshot: nothing uncommitted is seen');
    // A write does wait for the lock (and gives up after the busy timeout).
    await assert.rejects(reader.events.append({ kind: 'blocked' }), /locked|busy/i);
    writer.exec('COMMIT');
    assert.equal((await reader.events.list({ kind: 'uncommitted' })).length, 1);
  } finally {
    writer.close();
    await reader.close();
    rmSync(dir, { recursive: true });
  }
});

test("Rocks' derived attributes: KickstartHost carries the port unless 80, Broadcast is the private network's", async () => {
  const { configAttributes } = await import('../../src/store/index.js');
  const base = { frontendAddress: '10.1.1.1', privateNetwork: '10.1.0.0/16', domain: 'local', httpPort: 8080, iscsiPort: 3260 };
  assert.equal(configAttributes(base)['Kickstart_PrivateKickstartHost'], '10.1.1.1:8080');
  assert.equal(configAttributes({ ...base, httpPort: 80 })['Kickstart_PrivateKickstartHost'], '10.1.1.1');
  assert.equal(configAttributes(base)['Kickstart_PrivateBroadcast'], '10.1.255.255');
  assert.equal(configAttributes({ ...base, privateNetwork: '192.168.7.0/24' })['Kickstart_PrivateBroadcast'], '192.168.7.255');
  assert.equal(configAttributes({ ...base, privateNetwork: '10.0.0.0/31' })['Kickstart_PrivateBroadcast'], '10.0.0.1');
  // Services netroot does not run have no derived value (a node file using one fails naming it).
  for (const name of ['Kickstart_PrivateGateway', 'Kickstart_PrivateDNSServers', 'Kickstart_PrivateNTPHost', 'Kickstart_PrivateSyslogHost'])
    assert.equal(configAttributes(base)[name], undefined, name);
});

forEachBackend(
  'PostgreSQL: reads go on while another server holds the write lock; a write waits for it; probeWritable gives up after its wait',
  async (b) => {
    const store = await b.open();
    await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [iface('52:54:00:aa:00:01', '10.1.255.254')] });
    const other = new pg.Client(b.target);
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(31078598385086324)');
      await other.query("INSERT INTO events (at, kind, detail) VALUES ('now', 'uncommitted', '{}')");
      assert.equal((await store.hosts.get('compute-0-0'))?.name, 'compute-0-0');
      assert.equal((await store.hosts.byIp('10.1.255.254'))?.name, 'compute-0-0');
      assert.equal((await store.events.list({ kind: 'uncommitted' })).length, 0, 'a snapshot: nothing uncommitted is seen');
      await assert.rejects(store.probeWritable(50), /lock timeout/);
      let written = false;
      const w = store.events.append({ kind: 'after' }).then(() => (written = true));
      await store.hosts.list(); // a round trip: the append has reached the server and waits
      assert.equal(written, false, 'the write waits for the other writer');
      await other.query('COMMIT');
      await w;
      assert.deepEqual(
        (await store.events.list()).map((e) => e.kind),
        ['uncommitted', 'after'],
      );
      await store.probeWritable(1000);
    } finally {
      await other.end();
    }
  },
  ['postgres'],
);

forEachBackend(
  'PostgreSQL: a connection the server ends inside a transaction fails that transaction (nothing written), not the process; the next call reconnects',
  async (b) => {
    const store = await b.open();
    const admin = new pg.Client(b.target);
    await admin.connect();
    try {
      let inside!: () => void;
      const entered = new Promise<void>((r) => (inside = r));
      let goOn!: () => void;
      const resume = new Promise<void>((r) => (goOn = r));
      const t = store.transaction(async (tx) => {
        await tx.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [] });
        inside();
        await resume; // the server ends this connection meanwhile
        await tx.events.append({ kind: 'never' });
      });
      await entered;
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
      );
      assert.equal(killed.rows.length, 1, 'the transaction held one connection');
      goOn();
      await assert.rejects(t);
      assert.equal(await store.hosts.get('compute-0-0'), null, 'nothing of it was written');
      await store.hosts.add({ name: 'compute-0-1', appliance: 'compute', rack: 0, rank: 1, interfaces: [] });
      assert.deepEqual(
        (await store.hosts.list()).map((h) => h.name),
        ['compute-0-1'],
      );
    } finally {
      await admin.end();
    }
  },
  ['postgres'],
);

// --- appliance-update ---
// appliances.update: changes only the given fields, keeps the name and the appliance's hosts and
// attributes, and refuses an unknown appliance with E_APPLIANCE_NOT_FOUND (nothing written).

forEachBackend('appliances.update changes the given fields only; unknown appliance is E_APPLIANCE_NOT_FOUND', async (b) => {
  const store = await b.open();
  {
    await store.appliances.add({ name: 'gpu', basename: 'gpu', graph: 'default', rootNode: 'compute', discoverable: true });
    await store.hosts.add({
      name: 'gpu-0-0',
      appliance: 'gpu',
      rack: 0,
      rank: 0,
      interfaces: [{ mac: '52:54:00:aa:00:01', ip: '10.1.255.254', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    await store.attributes.set({ scope: 'appliance', target: 'gpu', name: 'Kickstart_Timezone', value: 'UTC' });

    let a = await store.appliances.update('gpu', { basename: 'gpunode', discoverable: false });
    assert.deepEqual(a, { name: 'gpu', basename: 'gpunode', graph: 'default', rootNode: 'compute', discoverable: false });
    a = await store.appliances.update('gpu', { rootNode: 'compute-diskless', graph: 'site' });
    assert.deepEqual(a, { name: 'gpu', basename: 'gpunode', graph: 'site', rootNode: 'compute-diskless', discoverable: false });
    assert.deepEqual(await store.appliances.get('gpu'), a);
    // An empty patch writes nothing and answers the appliance as it is.
    assert.deepEqual(await store.appliances.update('gpu', {}), a);
    assert.equal((await store.hosts.get('gpu-0-0'))?.appliance, 'gpu', 'its hosts keep it');
    assert.equal((await store.attributes.list({ scope: 'appliance', target: 'gpu' })).length, 1, 'its attributes stay');
    // The other appliances are untouched.
    assert.equal((await store.appliances.get('compute'))?.basename, 'compute');

    const before = await store.appliances.list();
    await assert.rejects(
      store.appliances.update('nope', { basename: 'x' }),
      (e: unknown) => e instanceof UserError && e.code === 'E_APPLIANCE_NOT_FOUND' && /"nope"/.test(e.message),
    );
    assert.deepEqual(await store.appliances.list(), before);
    // Inside a transaction that fails, the update is rolled back.
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.appliances.update('gpu', { basename: 'rolled' });
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal((await store.appliances.get('gpu'))?.basename, 'gpunode');
  }
});

// --- bmcs ---
// The bmcs table (migration 4): set/get/list/remove, replace in place, the host's removal takes its
// BMC with it (ON DELETE CASCADE), an unknown host and out-of-range values are refused, and the
// transaction repos carry it too.

const entry = (host: string, over: Partial<BmcRecord> = {}): BmcRecord => ({
  host,
  driver: 'ipmi',
  address: '10.2.0.1',
  port: null,
  user: 'admin',
  secret: 's3cret',
  insecureTls: false,
  systemId: null,
  ...over,
});

forEachBackend('bmcs: set, get, replace, list, remove; cascade with the host; unknown host; CHECKs', async (b) => {
  const store = await b.open();
  try {
    for (const [i, name] of ['compute-0-1', 'compute-0-0'].entries())
      await store.hosts.add({
        name,
        appliance: 'compute',
        rack: 0,
        rank: 1 - i,
        interfaces: [{ mac: `52:54:00:00:00:0${i}`, ip: null, subnet: null, device: 'eth0' }],
      });
    assert.equal(await store.bmcs.get('compute-0-0'), null);
    assert.deepEqual(await store.bmcs.set(entry('compute-0-0')), entry('compute-0-0'));
    const rf = entry('compute-0-1', { driver: 'redfish', address: 'bmc1.example', port: 8443, insecureTls: true, systemId: 'System.Embedded.1' });
    await store.bmcs.set(rf);
    assert.deepEqual(await store.bmcs.get('compute-0-1'), rf);
    // replace in place
    await store.bmcs.set(entry('compute-0-0', { address: '10.2.0.9', port: 6230, secret: 'other' }));
    assert.deepEqual(await store.bmcs.get('compute-0-0'), entry('compute-0-0', { address: '10.2.0.9', port: 6230, secret: 'other' }));
    assert.deepEqual(
      (await store.bmcs.list()).map((b) => b.host),
      ['compute-0-0', 'compute-0-1'],
    );
    // unknown host
    await assert.rejects(store.bmcs.set(entry('compute-9-9')), (e) => isNetrootError(e) && e.code === 'E_HOST_NOT_FOUND');
    // CHECKs: never echo the secret
    await assert.rejects(
      store.bmcs.set(entry('compute-0-0', { port: 70000 })),
      (e) => isNetrootError(e) && e.code === 'E_BMC_BAD' && !e.message.includes('other'),
    );
    await assert.rejects(store.bmcs.set(entry('compute-0-0', { driver: 'telnet' as 'ipmi' })), (e) => isNetrootError(e) && e.code === 'E_BMC_BAD');
    // the transaction repos
    await store.transaction(async (tx) => {
      assert.equal((await tx.bmcs.get('compute-0-0'))?.port, 6230);
    });
    // remove
    assert.equal(await store.bmcs.remove('compute-0-1'), true);
    assert.equal(await store.bmcs.remove('compute-0-1'), false);
    assert.equal(await store.bmcs.remove('no-such-host'), false);
    // the host's removal removes its BMC (no row left behind for a later host of that name)
    await store.hosts.remove('compute-0-0');
    assert.deepEqual(await store.bmcs.list(), []);
    await store.hosts.add({ name: 'compute-0-0', appliance: 'compute', rack: 0, rank: 0, interfaces: [] });
    assert.equal(await store.bmcs.get('compute-0-0'), null);
  } finally {
    await store.close();
  }
  if (b.name === 'sqlite') {
    const raw = new Database(b.target);
    assert.equal(raw.pragma('user_version', { simple: true }), 6);
    const plan = raw.prepare('EXPLAIN QUERY PLAN SELECT * FROM interfaces WHERE host_id = ?').all(1) as { detail: string }[];
    assert.ok(
      plan.some((p) => /USING INDEX interfaces_host/.test(p.detail)),
      `a host's interfaces are found through interfaces_host: ${JSON.stringify(plan)}`,
    );
    assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM bmcs').get() as { n: number }).n, 0);
    raw.close();
  } else {
    const raw = new pg.Client(b.target);
    await raw.connect();
    assert.equal((await raw.query('SELECT version FROM schema_version')).rows[0].version, 6);
    assert.equal((await raw.query('SELECT COUNT(*)::int AS n FROM bmcs')).rows[0].n, 0);
    await raw.end();
  }
});

// --- events-filter ---
// The events log's filters: by host and kind, after an id, and the newest N (a tail, oldest first).

forEachBackend('events list: host and kind filters, sinceId, and the last N oldest first', async (b) => {
  const store = await b.open();
  {
    for (let i = 0; i < 6; i++) await store.events.append({ kind: i % 2 ? 'host.added' : 'dhcp.discover', host: i < 3 ? 'a' : 'b', detail: { i } });
    const all = await store.events.list();
    assert.deepEqual(
      all.map((e) => e.detail['i']),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      (await store.events.list({ host: 'a' })).map((e) => e.detail['i']),
      [0, 1, 2],
    );
    assert.deepEqual(
      (await store.events.list({ host: 'b', kind: 'host.added' })).map((e) => e.detail['i']),
      [3, 5],
    );
    assert.deepEqual(
      (await store.events.list({ sinceId: all[3]!.id })).map((e) => e.detail['i']),
      [4, 5],
    );
    assert.deepEqual(
      (await store.events.list({ last: true, limit: 2 })).map((e) => e.detail['i']),
      [4, 5],
    );
    assert.deepEqual(
      (await store.events.list({ last: true, limit: 2, host: 'a' })).map((e) => e.detail['i']),
      [1, 2],
    );
    assert.deepEqual(await store.events.list({ limit: 0 }), []);
  }
});

// --- transaction-context ---
// transaction(): concurrent transactions queue; a nested one, or a plain store call made inside one
// (which would wait for the transaction it is part of), fails at once with a code that says why.

const txIface = (i: number) => [{ mac: `52:54:00:00:09:0${i}`, ip: null, subnet: '10.1.0.0/16', device: 'eth0' }];

forEachBackend('transactions started at the same time both run, one after the other', async (b) => {
  const store = await b.open();
  {
    const order: string[] = [];
    const tx = (i: number) =>
      store.transaction(async (t) => {
        order.push(`begin ${i}`);
        // fixed delay: the transaction stays open across a timer, so the second one gets the chance to start inside it (the input).
        await new Promise((r) => setTimeout(r, 20));
        await t.hosts.add({ name: `n-0-${i}`, appliance: 'compute', rack: 0, rank: i, interfaces: txIface(i) });
        order.push(`end ${i}`);
      });
    // The second starts while the first is inside its transaction.
    // fixed delay: 5 ms into the first one's 20 ms (the overlap is the input).
    await Promise.all([tx(1), new Promise((r) => setTimeout(r, 5)).then(() => tx(2))]);
    assert.deepEqual(order, ['begin 1', 'end 1', 'begin 2', 'end 2']);
    assert.equal((await store.hosts.list()).length, 2);
  }
});

forEachBackend('a plain store call or a nested transaction inside a transaction fails at once; after it, calls work', async (b) => {
  const store = await b.open();
  {
    let later: Promise<unknown> | undefined;
    let ended = false;
    await assert.rejects(
      store.transaction(async () => {
        // Started inside (it carries the transaction's async context), run after the transaction ended: allowed.
        later = waitFor(() => ended, { what: 'the transaction to end' }).then(() => store.hosts.list());
        await store.hosts.list();
      }),
      { code: 'E_STORE_IN_TX' },
    );
    ended = true;
    await assert.rejects(
      store.transaction(() => store.transaction(async () => 1)),
      { code: 'E_STORE_NESTED_TX' },
    );
    assert.deepEqual(await later, []);
    assert.equal(await store.transaction(async (t) => (await t.hosts.list()).length), 0);
  }
});

forEachBackend('servers: beat registers and refreshes on the database clock; stale by age; a skewed process clock changes nothing; remove', async (b) => {
  const store = await b.open();
  const other = await b.open();
  {
    const a = { id: 'srv-a', hostName: 'fe1', addresses: ['10.1.1.1', '192.168.0.1'], pid: 101, version: '1.0.0' };
    const realNow = Date.now;
    Date.now = () => realNow() - 5 * 3600_000; // this "server" runs 5 h behind
    try {
      await store.servers.beat(a);
    } finally {
      Date.now = realNow;
    }
    await other.servers.beat({ id: 'srv-b', hostName: 'fe2', addresses: [], pid: 202, version: '1.0.0' });
    const list = await other.servers.list(30);
    assert.deepEqual(
      list.map((s) => [s.id, s.live]),
      [
        ['srv-a', true],
        ['srv-b', true],
      ],
    );
    const first = list[0]!;
    assert.deepEqual(first.addresses, ['10.1.1.1', '192.168.0.1']);
    assert.equal(first.hostName, 'fe1');
    assert.equal(first.pid, 101);
    assert.ok(Math.abs(Date.parse(first.startedAt) - Date.now()) < 60_000, `started on the database clock: ${first.startedAt}`);
    assert.ok(first.ageSeconds >= 0 && first.ageSeconds < 30, `age ${first.ageSeconds}`);
    // Stale once no beat came within the window (the database's clock measures it).
    const stale = await waitFor(async () => (await store.servers.list(0.05)).find((s) => s.id === 'srv-a' && !s.live), {
      what: 'srv-a to be older than 0.05 s',
    });
    assert.ok(stale.ageSeconds > 0.05);
    await store.servers.beat({ ...a, addresses: ['10.1.1.9'] });
    const again = (await store.servers.list(30)).find((s) => s.id === 'srv-a')!;
    assert.equal(again.startedAt, first.startedAt, 'a beat keeps the start');
    assert.ok(again.lastBeat >= first.lastBeat);
    assert.deepEqual(again.addresses, ['10.1.1.9']);
    assert.equal(await store.servers.remove('srv-a'), true);
    assert.equal(await store.servers.remove('srv-a'), false);
    assert.deepEqual(
      (await store.servers.list(30)).map((s) => s.id),
      ['srv-b'],
    );
  }
});
