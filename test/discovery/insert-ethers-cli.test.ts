import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { spawnSync, execFileSync } from 'node:child_process';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { cli } from '../helpers/cli.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { screenWaiter, skipWithoutTmux, tmuxServer } from '../helpers/tmux.js';
import { waitFor } from '../helpers/wait.js';

async function frontend(): Promise<{ f: Frontend; dir: string; port: string }> {
  const dir = tempStateDir('nrt-ie-');
  const config = loadConfig({
    env: {},
    overrides: { ...frontendOverrides(dir), 'storage.defaultVolumeGiB': '0.0625' },
  });
  const f = createFrontend(config, { logger: silentLogger });
  await f.start();
  return { f, dir, port: String(f.httpPort()) };
}

const mac = (i: number) => `52:54:00:00:02:${i.toString(16).padStart(2, '0')}`;

/** tmux servers of this test process's own, one per test: no other tmux user can race with it. */
const TMUX = tmuxServer('nrt-test-rep');
const TMUX_SCREEN = tmuxServer('nrt-test-screen');

test('insert-ethers --count 2 adds machines in order of first DISCOVER through the running frontend', async () => {
  const { f, dir, port } = await frontend();
  try {
    let finished = false;
    const run = cli(
      dir,
      '--set',
      `http.port=${port}`,
      '--set',
      'http.host=127.0.0.1',
      'insert-ethers',
      '--count',
      '2',
      '--appliance',
      'compute-diskless',
      '--json',
      '--timeout',
      '30',
    ).finally(() => (finished = true));
    // A machine that is already known and DISCOVERs from MACs before the session are not added twice.
    const end = performance.now() + 60_000;
    while (!finished) {
      assert.ok(performance.now() < end, 'insert-ethers --timeout 30 did not end within 60 s');
      f.hub.report({ mac: mac(1), arch: 0, interfaceName: 'br0' });
      f.hub.report({ mac: mac(2), arch: 7, interfaceName: 'br0' });
      f.hub.report({ mac: mac(1) });
      // fixed delay: the pace of the machines' DISCOVERs (a DHCP client's retries, the input), until the CLI ends.
      await new Promise((r) => setTimeout(r, 30));
    }
    const r = await run;
    assert.equal(r.code, 0, r.err);
    const machines = JSON.parse(r.out) as Array<{ mac: string; host: string; state: string }>;
    assert.deepEqual(
      machines.map((m) => [m.mac, m.host]),
      [
        [mac(1), 'compute-0-0'],
        [mac(2), 'compute-0-1'],
      ],
    );
    assert.equal((await f.store.hosts.list()).length, 2);
    assert.equal((await f.store.hosts.get('compute-0-0'))?.bootAction, 'install');
    // the session is over: a third machine is only logged
    f.hub.report({ mac: mac(3) });
    await waitFor(async () => (await f.store.events.list({ kind: 'dhcp.discover' })).some((e) => e.mac === mac(3)), {
      what: 'the DISCOVER of a third machine logged',
    });
    assert.equal((await f.store.hosts.list()).length, 2);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('insert-ethers --mac works with and without a running frontend; --replace and --remove', async () => {
  const { f, dir, port } = await frontend();
  const at = ['--set', `http.port=${port}`, '--set', 'http.host=127.0.0.1'];
  try {
    let r = await cli(dir, ...at, 'insert-ethers', '--mac', mac(1), '--appliance', 'compute', '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).name, 'compute-0-0');
    r = await cli(dir, ...at, 'insert-ethers', '--mac', mac(1));
    assert.equal(r.code, 2);
    assert.match(r.err, /already compute-0-0/);
    r = await cli(dir, ...at, 'insert-ethers', '--replace', 'compute-0-0', '--mac', mac(5));
    assert.equal(r.code, 2);
    assert.match(r.err, /confirm with --yes/);
    r = await cli(dir, ...at, 'insert-ethers', '--replace', 'compute-0-0', '--mac', mac(5), '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal((await f.store.hosts.byMac(mac(5)))?.name, 'compute-0-0');
    r = await cli(dir, ...at, 'insert-ethers', '--remove', 'compute-0-0');
    assert.equal(r.code, 2, 'no terminal and no --yes: refused');
    assert.match(r.err, /this will remove compute-0-0: confirm with --yes/);
    assert.ok(await f.store.hosts.get('compute-0-0'), 'nothing removed');
    r = await cli(dir, ...at, 'insert-ethers', '--remove', 'compute-0-9', '--yes');
    assert.equal(r.code, 2);
    assert.match(r.err, /remove: unknown host "compute-0-9"/);
    r = await cli(dir, ...at, 'insert-ethers', '--remove', 'compute-0-0', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal(await f.store.hosts.get('compute-0-0'), null);
  } finally {
    await f.stop();
  }
  // frontend down: the same engine runs in the CLI process
  const r = await cli(dir, '--set', `http.port=${port}`, 'insert-ethers', '--mac', mac(7), '--appliance', 'compute-diskless', '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).name, 'compute-0-0');
  assert.equal(JSON.parse(r.out).bootAction, 'install');
  const r2 = await cli(dir, '--set', `http.port=${port}`, 'insert-ethers', '--count', '1');
  assert.equal(r2.code, 2);
  assert.match(r2.err, /frontend is not running/);
  rmSync(dir, { recursive: true });
});

test('REST API: reads are open, changes need the token', async () => {
  const { f, dir, port } = await frontend();
  try {
    const base = `http://127.0.0.1:${port}/api/v1`;
    let res = await fetch(`${base}/hosts`);
    assert.equal(res.status, 200);
    res = await fetch(`${base}/hosts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appliance: 'compute', mac: mac(1) }),
    });
    assert.equal(res.status, 401);
    res = await fetch(`${base}/hosts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: '{}' });
    assert.equal(res.status, 401);
    const { readApiToken } = await import('../../src/app/api-token.js');
    const token = readApiToken(f.config)!;
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    res = await fetch(`${base}/hosts`, { method: 'POST', headers: auth, body: '{"appliance": ' });
    assert.equal(res.status, 400);
    res = await fetch(`${base}/hosts`, { method: 'POST', headers: auth, body: JSON.stringify({ appliance: 'compute', mac: mac(1), colour: 'red' }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /colour/);
    res = await fetch(`${base}/hosts`, { method: 'POST', headers: auth, body: JSON.stringify({ appliance: 'compute', mac: 'x'.repeat(100_000) }) });
    assert.equal(res.status, 413);
    res = await fetch(`${base}/hosts`, { method: 'POST', headers: auth, body: JSON.stringify({ appliance: 'compute', mac: mac(1) }) });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { name: string }).name, 'compute-0-0');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('interactive screen in a real terminal (tmux): lists machines with ( )/(*) marks and quits on q', { skip: skipWithoutTmux }, async () => {
  const { f, dir, port } = await frontend();
  const session = `nrt-ie-${process.pid}`;
  const waitScreen = screenWaiter(TMUX_SCREEN, () => session);
  try {
    execFileSync('tmux', [
      ...TMUX_SCREEN,
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '100',
      '-y',
      '30',
      `${process.execPath} --import tsx test/helpers/netroot.ts --state-dir ${dir} --set http.port=${port} --set http.host=127.0.0.1 insert-ethers --appliance compute-diskless; echo EXIT=$?; sleep 30`,
    ]);
    await waitScreen(/Press q to quit/);
    f.hub.report({ mac: mac(1) });
    let s = await waitScreen(/compute-0-0/);
    assert.match(s, /52:54:00:00:02:01\s+compute-0-0\s+\( \) discovered/);
    await f.store.hosts.update('compute-0-0', { state: 'kickstarted' });
    f.hub.changed();
    s = await waitScreen(/\(\*\) kickstarted/);
    execFileSync('tmux', [...TMUX_SCREEN, 'send-keys', '-t', session, 'q']);
    s = await waitScreen(/EXIT=\d/);
    assert.match(s, /EXIT=0/);
  } finally {
    spawnSync('tmux', [...TMUX_SCREEN, 'kill-server']);
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('--replace asks on a terminal (tmux): "y" hands the volume to the new MAC, anything else refuses', { skip: skipWithoutTmux }, async () => {
  const { f, dir, port } = await frontend();
  const first = `nrt-ie-rep-${process.pid}`;
  let session = first;
  const waitScreen = screenWaiter(TMUX, () => session);
  const replace = (m: string) =>
    execFileSync('tmux', [
      ...TMUX,
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '150',
      '-y',
      '30',
      `${process.execPath} --import tsx test/helpers/netroot.ts --state-dir ${dir} --set http.port=${port} --set http.host=127.0.0.1 insert-ethers --replace compute-0-0 --mac ${m}; echo EXIT=$?; sleep 30`,
    ]);
  try {
    await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    const before = await f.store.attributes.list({ scope: 'host', target: 'compute-0-0' });
    replace(mac(2));
    await waitScreen(/compute-0-0's iSCSI volume .* will belong to 52:54:00:00:02:02\. Continue\? \[y\/N\]/);
    execFileSync('tmux', [...TMUX, 'send-keys', '-t', session, 'n', 'Enter']);
    let s = await waitScreen(/EXIT=\d/);
    assert.match(s, /confirm with --yes/);
    assert.match(s, /EXIT=2/);
    assert.equal((await f.store.hosts.byMac(mac(1)))?.name, 'compute-0-0');
    session = `${first}-2`; // a second session: killing the first would stop the server under us
    replace(mac(2));
    await waitScreen(/Continue\? \[y\/N\]/);
    execFileSync('tmux', [...TMUX, 'send-keys', '-t', session, 'y', 'Enter']);
    s = await waitScreen(/EXIT=\d/);
    assert.match(s, /EXIT=0/);
    assert.equal((await f.store.hosts.byMac(mac(2)))?.name, 'compute-0-0');
    assert.equal(await f.store.hosts.byMac(mac(1)), null);
    assert.deepEqual(
      await f.store.attributes.list({ scope: 'host', target: 'compute-0-0' }),
      before,
      'the volume, target, initiator and CHAP stay with the host',
    );
  } finally {
    spawnSync('tmux', [...TMUX, 'kill-server']);
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
