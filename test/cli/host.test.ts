import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cli, tempStateDir } from '../helpers/cli.js';

test('host add / list --json / show / set / remove, the shape other issues build on', async () => {
  const dir = tempStateDir();
  let r = await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:AA:00:01', '--ip', '10.1.255.254');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /added compute-0-0 \(compute, rack 0, rank 0\)/);
  r = await cli(dir, 'host', 'list', '--json');
  assert.equal(r.code, 0, r.err);
  const hosts = JSON.parse(r.out) as Array<{ name: string; interfaces: Array<{ mac: string; ip: string }>; bootAction: string }>;
  assert.equal(hosts.length, 1);
  assert.equal(hosts[0]!.interfaces[0]!.mac, '52:54:00:aa:00:01');
  assert.equal(hosts[0]!.interfaces[0]!.ip, '10.1.255.254');
  assert.equal(hosts[0]!.bootAction, 'install');
  r = await cli(dir, 'host', 'set', 'compute-0-0', 'boot=os');
  assert.equal(r.code, 0, r.err);
  r = await cli(dir, 'host', 'show', 'compute-0-0');
  assert.match(r.out, /boot:\s+os/);
  r = await cli(dir, 'host', 'list');
  assert.match(
    r.out,
    /^HOST\s+APPLIANCE\s+RACK\s+RANK\s+MAC\s+IP\s+BOOT\s+STATE\ncompute-0-0\s+compute\s+0\s+0\s+52:54:00:aa:00:01\s+10.1.255.254\s+os\s+discovered\n$/,
  );
  r = await cli(dir, 'host', 'remove', 'compute-0-0');
  assert.equal(r.code, 2, 'no terminal and no --yes: refused');
  assert.equal(r.err, 'netroot: this will remove compute-0-0: confirm with --yes\n');
  r = await cli(dir, 'host', 'remove', 'compute-0-0', '--yes');
  assert.equal(r.code, 0, r.err);
  r = await cli(dir, 'host', 'list', '--json');
  assert.deepEqual(JSON.parse(r.out), []);
  rmSync(dir, { recursive: true });
});

test('rank defaults to max in the rack + 1 when the name does not encode it', async () => {
  const dir = tempStateDir();
  assert.equal((await cli(dir, 'host', 'add', 'compute-1-4', '--appliance', 'compute', '--mac', '52:54:00:00:00:01')).code, 0);
  const r = await cli(dir, 'host', 'add', 'gpu', '--appliance', 'compute', '--mac', '52:54:00:00:00:02', '--rack', '1', '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).rank, 5);
  rmSync(dir, { recursive: true });
});

test('operator errors exit 2 with `netroot: ...` naming the field; nothing half-written', async () => {
  const dir = tempStateDir();
  assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254')).code, 0);
  const cases: Array<[string[], RegExp]> = [
    [
      ['host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.253'],
      /mac: MAC 52:54:00:aa:00:01 is already assigned to compute-0-0/,
    ],
    [
      ['host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', '52:54:00:aa:00:02', '--ip', '10.1.255.254'],
      /ip: IP 10.1.255.254 is already assigned to compute-0-0/,
    ],
    [['host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', 'zz:54:00:aa:00:02'], /mac: not a MAC address/],
    [['host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', '52:54:00:aa:00:02', '--ip', '10.1.300.1'], /ip: not an IPv4 address/],
    [['host', 'add', 'Bad_Name', '--appliance', 'compute', '--mac', '52:54:00:aa:00:02'], /not a valid host name/],
    [['host', 'add', 'compute-0-1', '--appliance', 'nope', '--mac', '52:54:00:aa:00:02'], /unknown appliance "nope"/],
    [['host', 'add', 'compute-0-1', '--mac', '52:54:00:aa:00:02'], /--appliance is required/],
    [['host', 'show', 'nope'], /unknown host "nope"/],
    [['host', 'set', 'compute-0-0', 'boot=flying'], /boot action must be one of install, os, local, sanboot/],
    [['host', 'set', 'compute-0-0', 'colour=red'], /unknown host field "colour"/],
    [['host', 'list', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['--set', 'http.port=abc', 'host', 'list'], /http.port: not a number/],
  ];
  for (const [argv, re] of cases) {
    const r = await cli(dir, ...argv);
    assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code}: ${r.err}`);
    assert.match(r.err, /^netroot: /);
    assert.match(r.err, re, argv.join(' '));
  }
  const r = await cli(dir, 'host', 'list', '--json');
  assert.deepEqual(
    (JSON.parse(r.out) as Array<{ name: string }>).map((h) => h.name),
    ['compute-0-0'],
  );
  rmSync(dir, { recursive: true });
});

test('appliance list/add and attr set/list with SOURCE letters', async () => {
  const dir = tempStateDir();
  let r = await cli(dir, 'appliance', 'list', '--json');
  assert.deepEqual(
    (JSON.parse(r.out) as Array<{ name: string }>).map((a) => a.name),
    ['compute', 'compute-diskless'],
  );
  r = await cli(dir, 'appliance', 'add', 'gpu', '--root-node', 'compute', '--basename', 'gpu');
  assert.equal(r.code, 0, r.err);
  assert.equal((await cli(dir, 'host', 'add', 'gpu-0-0', '--appliance', 'gpu', '--mac', '52:54:00:aa:00:09', '--ip', '10.1.255.200')).code, 0);
  assert.equal((await cli(dir, 'attr', 'set', 'Kickstart_Timezone', 'Asia/Tokyo', '--appliance', 'gpu')).code, 0);
  assert.equal((await cli(dir, 'attr', 'set', 'site', 'x')).code, 0);
  assert.equal((await cli(dir, 'attr', 'set', 'site', 'y', '--host', 'gpu-0-0')).code, 0);
  r = await cli(dir, 'attr', 'list', '--host', 'gpu-0-0', '--json');
  assert.equal(r.code, 0, r.err);
  const attrs = Object.fromEntries((JSON.parse(r.out) as Array<{ name: string; value: string; source: string }>).map((a) => [a.name, a]));
  assert.deepEqual(attrs['Kickstart_Timezone'], { name: 'Kickstart_Timezone', value: 'Asia/Tokyo', source: 'A' });
  assert.deepEqual(attrs['site'], { name: 'site', value: 'y', source: 'H' });
  assert.equal(attrs['hostname']?.source, 'I');
  r = await cli(dir, 'attr', 'list');
  assert.match(r.out, /^ATTRIBUTE\s+VALUE\s+SOURCE\s+TARGET\n/);
  assert.match(r.out, /Kickstart_Timezone\s+Asia\/Tokyo\s+A\s+gpu/);
  r = await cli(dir, 'attr', 'set', 'bad name', 'x');
  assert.equal(r.code, 2);
  r = await cli(dir, 'attr', 'set', 'a', 'b', '--host', 'nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown host "nope"/);
  r = await cli(dir, 'appliance', 'remove', 'gpu');
  assert.equal(r.code, 2);
  assert.match(r.err, /still has 1 host/);
  rmSync(dir, { recursive: true });
});
