// `netroot host add|remove|set|show|interface` through the one host service: against a running
// frontend (REST API, real embedded iSCSI target, real volume files) and without one (the same
// service and plugins in the CLI process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { startFrontend, noFrontend } from '../helpers/frontend.js';
import { screenWaiter, skipWithoutTmux, tmuxServer } from '../helpers/tmux.js';

const mac = (i: number) => `52:54:00:00:05:${i.toString(16).padStart(2, '0')}`;
const TARGET = 'iqn.2026-11.local.netroot:compute-0-0';
const hostsFile = (dir: string) => readFileSync(join(dir, 'hosts'), 'utf8');
const volume = (dir: string, name: string) => join(dir, 'volumes', `${name}.img`);

test('through the running frontend: add allocates and exports; remove asks, --keep-volume keeps the file, a re-add says it took it back, remove deletes it', async () => {
  const t = await startFrontend();
  const { f, dir, at } = t;
  const exported = () => f.storage.target!.listTargets().map((x) => x.iqn);
  try {
    let r = await cli(dir, ...at, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(1), '--ip', '10.1.0.10');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'added compute-0-0 (compute-diskless, rack 0, rank 0)\n');
    const added = (await f.store.events.list({ kind: 'host.added' })).at(-1)!;
    assert.equal(added.detail['by'], 'api', 'the CLI went through the REST API');
    const secret = (await t.attrs('compute-0-0'))['iscsi_secret']!;
    assert.ok(secret.length >= 12);
    assert.ok(existsSync(volume(dir, 'compute-0-0')));
    assert.deepEqual(exported(), [TARGET]);
    assert.match(hostsFile(dir), /^10\.1\.0\.10\tcompute-0-0\.local compute-0-0$/m);
    assert.equal((await f.store.hosts.get('compute-0-0'))!.bootAction, 'install');

    // No terminal, no --yes: refused before anything changes.
    r = await cli(dir, ...at, 'host', 'remove', 'compute-0-0');
    assert.equal(r.code, 2);
    assert.equal(r.err, 'netroot: this will remove compute-0-0 and delete its iSCSI volume compute-0-0 (its whole root filesystem): confirm with --yes\n');
    assert.ok(await f.store.hosts.get('compute-0-0'));
    assert.deepEqual(exported(), [TARGET]);

    r = await cli(dir, ...at, 'host', 'remove', 'compute-0-0', '--keep-volume', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'removed compute-0-0 (volume compute-0-0 kept: the next host named compute-0-0 takes it back)\n');
    assert.equal(await f.store.hosts.get('compute-0-0'), null);
    assert.ok(existsSync(volume(dir, 'compute-0-0')), 'the volume file is kept');
    assert.deepEqual(exported(), [], 'the export (and its CHAP secret) is gone');
    assert.deepEqual(await t.attrs('compute-0-0'), {});
    assert.doesNotMatch(hostsFile(dir), /compute-0-0/);

    // The next machine that takes the name gets the old volume, and the CLI says so.
    r = await cli(dir, ...at, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(2), '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).reusedVolume, 'compute-0-0');
    r = await cli(dir, ...at, 'host', 'remove', 'compute-0-0', '--keep-volume', '--yes');
    assert.equal(r.code, 0, r.err);
    r = await cli(dir, ...at, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(2));
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^added compute-0-0 .*\ncompute-0-0 took back the iSCSI volume compute-0-0 kept by an earlier remove --keep-volume: its old data is on it/,
    );
    assert.deepEqual(exported(), [TARGET]);
    assert.notEqual((await t.attrs('compute-0-0'))['iscsi_secret'], secret, 'a new CHAP secret');

    r = await cli(dir, ...at, 'host', 'remove', 'compute-0-0', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'removed compute-0-0 (volume compute-0-0 deleted)\n');
    assert.equal(existsSync(volume(dir, 'compute-0-0')), false, 'the volume file is gone');
    assert.deepEqual(exported(), []);
    for (const out of [r.out, r.err]) assert.ok(!out.includes(secret));
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('without a running frontend: the same service and plugins run in the CLI; hostlists for remove and show', async () => {
  const dir = tempStateDir('nrt-hostsvc-');
  const down = await noFrontend();
  try {
    let r = await cli(dir, ...down, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(1), '--ip', '10.1.0.10');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(volume(dir, 'compute-0-0')), 'a plain host add of a diskless appliance allocates its volume');
    for (let i = 1; i <= 3; i++)
      assert.equal(
        (await cli(dir, ...down, 'host', 'add', `compute-0-${i}`, '--appliance', 'compute', '--mac', mac(10 + i), '--ip', `10.1.0.${20 + i}`)).code,
        0,
      );
    assert.match(hostsFile(dir), /10\.1\.0\.23\tcompute-0-3/);

    r = await cli(dir, ...down, 'host', 'show', 'compute-0-[0-1]', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      (JSON.parse(r.out) as Array<{ name: string }>).map((h) => h.name),
      ['compute-0-0', 'compute-0-1'],
    );
    r = await cli(dir, ...down, 'host', 'show', 'compute-0-1', '--json');
    assert.equal(JSON.parse(r.out).name, 'compute-0-1', 'one plain NAME: one object');

    r = await cli(dir, ...down, 'host', 'remove', 'compute-0-[0-3]');
    assert.equal(r.code, 2);
    assert.equal(
      r.err,
      'netroot: this will remove 4 hosts (compute-0-0 … compute-0-3) and delete its iSCSI volume compute-0-0 (its whole root filesystem): confirm with --yes\n',
    );
    r = await cli(dir, ...down, 'host', 'remove', 'compute-0-[2-3,9]', '--yes');
    assert.equal(r.code, 2, 'one unknown name refuses them all');
    assert.match(r.err, /^netroot: unknown host "compute-0-9" \(from compute-0-\[2-3,9\]\)\n$/);
    assert.equal((await cli(dir, ...down, 'host', 'list', '--json')).out.match(/"name"/g)?.length, 4);

    r = await cli(dir, ...down, 'host', 'remove', 'compute-0-[1,3]', 'compute-0-0', '--keep-volume', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      'removed compute-0-1\nremoved compute-0-3\nremoved compute-0-0 (volume compute-0-0 kept: the next host named compute-0-0 takes it back)\n',
    );
    assert.ok(existsSync(volume(dir, 'compute-0-0')));
    assert.deepEqual(
      JSON.parse((await cli(dir, ...down, 'host', 'list', '--json')).out).map((h: { name: string }) => h.name),
      ['compute-0-2'],
    );
    assert.doesNotMatch(hostsFile(dir), /compute-0-[013]/);

    r = await cli(dir, ...down, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(2));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /compute-0-0 took back the iSCSI volume compute-0-0/);
    // insert-ethers goes through the same service and says so too.
    r = await cli(dir, ...down, 'insert-ethers', '--remove', 'compute-0-0', '--keep-volume');
    assert.equal(r.code, 2);
    assert.match(r.err, /this will remove compute-0-0 \(its iSCSI volume compute-0-0 is kept\): confirm with --yes/);
    r = await cli(dir, ...down, 'insert-ethers', '--remove', 'compute-0-0', '--keep-volume', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'removed compute-0-0 (volume compute-0-0 kept)\n');
    r = await cli(dir, ...down, 'insert-ethers', '--mac', mac(3), '--appliance', 'compute-diskless', '--hostname', 'compute-0-0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^added compute-0-0 52:54:00:00:05:03 \S+\ncompute-0-0 took back the iSCSI volume compute-0-0/);
    r = await cli(dir, ...down, 'host', 'remove', 'compute-0-0', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal(existsSync(volume(dir, 'compute-0-0')), false);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('REST PATCH of a host: boot action, address and attributes through the host service; host set takes the same path', async () => {
  const t = await startFrontend();
  const { f, dir, at, api, auth } = t;
  const patch = (name: string, body: unknown, headers = auth) => fetch(`${api}/hosts/${name}`, { method: 'PATCH', headers, body: JSON.stringify(body) });
  try {
    assert.equal((await cli(dir, ...at, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(1), '--ip', '10.1.0.10')).code, 0);
    assert.equal((await cli(dir, ...at, 'host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', mac(2), '--ip', '10.1.0.11')).code, 0);

    let res = await patch('compute-0-0', { bootAction: 'os', ip: '10.1.0.20', attributes: { site_rack: 'B7' } });
    assert.equal(res.status, 200);
    const h = (await res.json()) as { bootAction: string; interfaces: Array<{ mac: string; ip: string }> };
    assert.equal(h.bootAction, 'os');
    assert.deepEqual(
      h.interfaces.map((i) => [i.mac, i.ip]),
      [[mac(1), '10.1.0.20']],
    );
    assert.equal((await t.attrs('compute-0-0'))['site_rack'], 'B7');
    assert.match(hostsFile(dir), /^10\.1\.0\.20\tcompute-0-0\.local compute-0-0$/m, 'the hosts file follows');
    assert.doesNotMatch(hostsFile(dir), /10\.1\.0\.10/);
    res = await patch('compute-0-0', { attributes: { site_rack: null } });
    assert.equal(res.status, 200);
    assert.equal((await t.attrs('compute-0-0'))['site_rack'], undefined);
    const changed = (await f.store.events.list({ kind: 'host.changed' })).at(-1)!;
    assert.deepEqual(changed.detail, { by: 'api', fields: [], attributes: ['site_rack'] }, 'attribute names only, never values');

    const refused: Array<[string, unknown, number, RegExp, Record<string, string>?]> = [
      ['compute-0-0', { colour: 'red' }, 400, /colour/],
      ['compute-0-0', {}, 400, /^nothing to change for compute-0-0$/],
      ['compute-0-0', { bootAction: 'fly' }, 400, /bootAction/],
      ['compute-0-0', { ip: '10.1.300.1' }, 400, /^ip: not an IPv4 address: "10\.1\.300\.1"$/],
      ['compute-0-0', { mac: 'zz' }, 400, /^mac: not a MAC address: "zz"$/],
      ['compute-0-0', { ip: '10.1.0.11' }, 409, /^ip: IP 10\.1\.0\.11 is already assigned to compute-0-1$/],
      ['compute-0-0', { appliance: 'nope' }, 404, /unknown appliance "nope"/],
      ['nope', { bootAction: 'os' }, 404, /unknown host "nope"/],
      ['compute-0-0', { bootAction: 'install' }, 401, /token/, { 'content-type': 'application/json' }],
    ];
    for (const [name, body, status, re, headers] of refused) {
      res = await patch(name, body, headers);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(((await res.json()) as { message: string }).message, re);
    }
    assert.equal((await f.store.hosts.get('compute-0-0'))!.bootAction, 'os', 'nothing changed');

    // A host that becomes diskless gets its volume (the plugins' changed hook), through the frontend.
    let r = await cli(dir, ...at, 'host', 'set', 'compute-0-1', 'appliance=compute-diskless');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(volume(dir, 'compute-0-1')));
    assert.ok(f.storage.target!.listTargets().some((x) => x.iqn.endsWith(':compute-0-1')));
    // A BMC through the REST API's interface routes.
    r = await cli(dir, ...at, 'host', 'interface', 'add', 'compute-0-1', '--mac', mac(9), '--device', 'bmc', '--ip', '10.1.100.11');
    assert.equal(r.code, 0, r.err);
    assert.equal((await f.store.events.list({ kind: 'host.interface_added' })).at(-1)!.detail['by'], 'api');
    assert.match(hostsFile(dir), /^10\.1\.100\.11\tcompute-0-1-bmc\.local compute-0-1-bmc$/m);
    r = await cli(dir, ...at, 'host', 'interface', 'remove', 'compute-0-1', 'bmc');
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(hostsFile(dir), /bmc/);

    // `host set` through the frontend: the same service (the event says api).
    r = await cli(dir, ...at, 'host', 'set', 'compute-0-[0-1]', 'boot=install');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'compute-0-0: boot=install\ncompute-0-1: boot=install\n');
    r = await cli(dir, ...at, 'host', 'set', 'compute-0-1', 'ip=10.1.0.31', 'mac=52:54:00:00:05:ff', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      (await f.store.hosts.get('compute-0-1'))!.interfaces.map((i) => [i.mac, i.ip]),
      [['52:54:00:00:05:ff', '10.1.0.31']],
    );
    assert.equal((await f.store.events.list({ kind: 'host.changed' })).at(-1)!.detail['by'], 'api');
    // A new MAC for a host with a volume hands the volume over: confirmed like insert-ethers --replace.
    r = await cli(dir, ...at, 'host', 'set', 'compute-0-0', 'mac=52:54:00:00:05:fe');
    assert.equal(r.code, 2);
    assert.equal(r.err, "netroot: compute-0-0's iSCSI volume (its whole root filesystem) will belong to 52:54:00:00:05:fe: confirm with --yes\n");
    r = await cli(dir, ...at, 'host', 'set', 'compute-0-0', 'mac=52:54:00:00:05:fe', '--yes');
    assert.equal(r.code, 0, r.err);
    assert.equal((await f.store.hosts.byMac('52:54:00:00:05:fe'))?.name, 'compute-0-0');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('host interface add|remove: a BMC next to the boot NIC, in the hosts file as <host>-<device>', async () => {
  const dir = tempStateDir('nrt-hostif-');
  const down = await noFrontend();
  try {
    assert.equal((await cli(dir, ...down, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', mac(1), '--ip', '10.1.0.10')).code, 0);
    let r = await cli(dir, ...down, 'host', 'interface', 'add', 'compute-0-0', '--mac', mac(2), '--device', 'bmc', '--ip', '10.1.100.10');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `compute-0-0: interface bmc ${mac(2)} 10.1.100.10 added\n`);
    assert.match(hostsFile(dir), /^10\.1\.100\.10\tcompute-0-0-bmc\.local compute-0-0-bmc$/m);
    r = await cli(dir, ...down, 'host', 'show', 'compute-0-0');
    assert.match(r.out, /interface: {2}eth0 52:54:00:00:05:01 10\.1\.0\.10 .*\ninterface: {2}bmc 52:54:00:00:05:02 10\.1\.100\.10/);
    const refused: Array<[string[], RegExp]> = [
      [['host', 'interface', 'add', 'compute-0-0', '--mac', mac(3), '--device', 'bmc'], /^netroot: device: compute-0-0 already has an interface bmc\n$/],
      [
        ['host', 'interface', 'add', 'compute-0-0', '--mac', mac(1), '--device', 'eth1'],
        /^netroot: mac: MAC 52:54:00:00:05:01 is already assigned to compute-0-0\n$/,
      ],
      [
        ['host', 'interface', 'add', 'compute-0-0', '--mac', mac(3), '--ip', '10.1.0.10'],
        /^netroot: ip: IP 10\.1\.0\.10 is already assigned to compute-0-0\n$/,
      ],
      [['host', 'interface', 'add', 'compute-0-0', '--mac', 'nope'], /^netroot: mac: not a MAC address: "nope"\n$/],
      [['host', 'interface', 'add', 'nope', '--mac', mac(3)], /^netroot: host: unknown host "nope"\n$/],
      [['host', 'interface', 'remove', 'compute-0-0', 'eth0'], /^netroot: interface: eth0 is compute-0-0's primary interface/],
      [['host', 'interface', 'remove', 'compute-0-0', 'eth9'], /^netroot: interface: compute-0-0 has no interface "eth9"\n$/],
    ];
    for (const [argv, re] of refused) {
      const x = await cli(dir, ...down, ...argv);
      assert.equal(x.code, 2, `${argv.join(' ')}: ${x.err}`);
      assert.match(x.err, re);
    }
    r = await cli(dir, ...down, 'host', 'interface', 'remove', 'compute-0-0', mac(2));
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(hostsFile(dir), /bmc/);
    assert.deepEqual((JSON.parse((await cli(dir, ...down, 'host', 'show', 'compute-0-0', '--json')).out) as { interfaces: unknown[] }).interfaces.length, 1);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('host remove asks on a terminal (tmux), as insert-ethers --replace does: "y" removes, anything else refuses', { skip: skipWithoutTmux }, async () => {
  const { f, dir, at } = await startFrontend();
  const TMUX = tmuxServer('nrt-test-hostrm');
  const first = `nrt-hostrm-${process.pid}`;
  let session = first;
  const waitScreen = screenWaiter(TMUX, () => session);
  const remove = () =>
    execFileSync('tmux', [
      ...TMUX,
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '200',
      '-y',
      '30',
      `${process.execPath} --import tsx test/helpers/netroot.ts --state-dir ${dir} ${at.join(' ')} host remove compute-0-0; echo EXIT=$?; sleep 30`,
    ]);
  try {
    assert.equal((await cli(dir, ...at, 'host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', mac(1))).code, 0);
    remove();
    await waitScreen(/this will remove compute-0-0 and delete its iSCSI volume compute-0-0 \(its whole root filesystem\)\. Continue\? \[y\/N\]/);
    execFileSync('tmux', [...TMUX, 'send-keys', '-t', session, 'n', 'Enter']);
    let s = await waitScreen(/EXIT=\d/);
    assert.match(s, /confirm with --yes/);
    assert.match(s, /EXIT=2/);
    assert.ok(await f.store.hosts.get('compute-0-0'));
    assert.ok(existsSync(volume(dir, 'compute-0-0')));
    session = `${first}-2`; // a second session: killing the first would stop the server under us
    remove();
    await waitScreen(/Continue\? \[y\/N\]/);
    execFileSync('tmux', [...TMUX, 'send-keys', '-t', session, 'y', 'Enter']);
    s = await waitScreen(/EXIT=\d/);
    assert.match(s, /removed compute-0-0 \(volume compute-0-0 deleted\)/);
    assert.match(s, /EXIT=0/);
    assert.equal(await f.store.hosts.get('compute-0-0'), null);
    assert.equal(existsSync(volume(dir, 'compute-0-0')), false);
  } finally {
    spawnSync('tmux', [...TMUX, 'kill-server']);
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
