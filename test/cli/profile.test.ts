import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli } from '../helpers/cli.js';
import { tempStateDir } from '../helpers/tmp.js';

test('netroot kickstart HOST prints the profile; unknown hosts and missing attributes exit 2', async () => {
  const dir = tempStateDir();
  assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254')).code, 0);
  assert.equal((await cli(dir, 'attr', 'set', 'Kickstart_Timezone', 'Asia/Tokyo', '--appliance', 'compute')).code, 0);
  let r = await cli(dir, 'kickstart', 'compute-0-0');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^# netroot kickstart for compute-0-0 \(appliance compute, graph default\)/);
  assert.match(r.out, /^timezone Asia\/Tokyo --utc$/m);
  r = await cli(dir, 'kickstart', 'nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /^netroot: .*unknown host "nope"/);
  // A plain `host add` of a diskless appliance allocates its volume (the plugins run): the kickstart
  // has its iSCSI attributes; without one of them it names the entity.
  assert.equal((await cli(dir, 'host', 'add', 'compute-0-1', '--appliance', 'compute-diskless', '--mac', '52:54:00:aa:00:02')).code, 0);
  r = await cli(dir, 'kickstart', 'compute-0-1');
  assert.equal(r.code, 0, r.err);
  assert.equal((await cli(dir, 'attr', 'unset', 'iscsi_initiator', '--host', 'compute-0-1')).code, 0);
  r = await cli(dir, 'kickstart', 'compute-0-1');
  assert.equal(r.code, 2);
  assert.match(r.err, /roles\/diskless\/diskless\.xml:\d+: undefined entity &iscsi_initiator;/);
  rmSync(dir, { recursive: true });
});

test('netroot graph check: ok for the shipped graph; every problem of a broken one at once, exit 2', async () => {
  const dir = tempStateDir();
  let r = await cli(dir, 'graph', 'check');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /graph ok/);
  const roles = join(dir, 'broken', 'roles', 'r');
  const graphs = join(dir, 'broken', 'graphs', 'default');
  mkdirSync(roles, { recursive: true });
  mkdirSync(graphs, { recursive: true });
  writeFileSync(join(roles, 'a.xml'), '<kickstart>\n<post>\n</kickstart>\n');
  writeFileSync(join(roles, 'b.xml'), '<kickstart><package cond="x ==">p</package></kickstart>\n');
  writeFileSync(join(roles, 'c.xml'), '<kickstart/>\n');
  writeFileSync(join(graphs, 'g.xml'), '<graph>\n<edge from="c" to="ghost"/>\n<order head="b" tail="c"/>\n<order head="c" tail="b"/>\n</graph>\n');
  r = await cli(
    dir,
    '--set',
    `profile.rolesDir=${join(dir, 'broken', 'roles')}`,
    '--set',
    `profile.graphsDir=${join(dir, 'broken', 'graphs')}`,
    'graph',
    'check',
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /^netroot: 6 problem\(s\) in the graph:/);
  assert.match(r.err, /a\.xml:3: malformed XML/);
  assert.match(r.err, /b\.xml:1: bad cond/);
  assert.match(r.err, /g\.xml:2: edge c → ghost: node ghost has no node file/);
  assert.match(r.err, /<order> has a cycle: b → c → b/);
  // the shipped appliances' root nodes (compute, compute-diskless) have no file in this tree
  assert.match(r.err, /appliance compute: root node compute has no node file/);
  assert.match(r.err, /appliance compute-diskless: root node compute-diskless has no node file/);
  r = await cli(
    dir,
    '--set',
    `profile.rolesDir=${join(dir, 'broken', 'roles')}`,
    '--set',
    `profile.graphsDir=${join(dir, 'broken', 'graphs')}`,
    'graph',
    'check',
    '--json',
  );
  assert.equal(JSON.parse(r.out).length, 6);
  rmSync(dir, { recursive: true });
});

test('netroot graph draw: DOT always, SVG through graphviz when installed', async () => {
  const dir = tempStateDir();
  let r = await cli(dir, 'graph', 'draw', '--format', 'dot', '--appliance', 'compute-diskless');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"compute-diskless" -> "diskless"/);
  assert.doesNotMatch(r.out, /"compute" -> "partitioning"/);
  // graphviz is in .ci/debian-packages.txt: under CI it must be there. Without it, --format svg is an
  // operator error that says what to install (both branches assert; neither is skipped).
  const haveDot = spawnSync('dot', ['-V']).status === 0;
  if (process.env['CI'] === 'true') assert.ok(haveDot, 'graphviz (dot) is installed under CI');
  r = await cli(dir, 'graph', 'draw', '--format', 'svg', '--appliance', 'compute-diskless');
  if (haveDot) {
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^<\?xml[\s\S]*<svg[\s\S]*<title>compute&#45;diskless&#45;&gt;diskless<\/title>[\s\S]*<\/svg>\s*$/);
  } else {
    assert.equal(r.code, 2);
    assert.match(r.err, /SVG output needs graphviz: apt-get install graphviz/);
  }
  r = await cli(dir, 'graph', 'draw', '--format', 'png');
  assert.equal(r.code, 2);
  rmSync(dir, { recursive: true });
});

test('entity precedence through `netroot kickstart`: global < os < appliance < host, intrinsic always wins', async () => {
  const dir = tempStateDir();
  try {
    assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254')).code, 0);
    const tz = async () => /^timezone (\S+) --utc$/m.exec((await cli(dir, 'kickstart', 'compute-0-0')).out)?.[1];
    assert.equal(await tz(), 'UTC', 'the shipped default');
    const levels: Array<[string[], string]> = [
      [[], 'Europe/Global'],
      [['--os', 'linux'], 'Europe/Os'],
      [['--appliance', 'compute'], 'Europe/Appliance'],
      [['--host', 'compute-0-0'], 'Europe/Host'],
    ];
    for (const [scope, value] of levels) {
      assert.equal((await cli(dir, 'attr', 'set', 'Kickstart_Timezone', value, ...scope)).code, 0);
      assert.equal(await tz(), value, `after setting ${scope.join(' ') || 'global'}`);
    }
    // unset from the most specific level down: each removal uncovers the next level
    for (const [scope, value] of [
      [['--host', 'compute-0-0'], 'Europe/Appliance'],
      [['--appliance', 'compute'], 'Europe/Os'],
      [['--os', 'linux'], 'Europe/Global'],
    ] as Array<[string[], string]>) {
      assert.equal((await cli(dir, 'attr', 'unset', 'Kickstart_Timezone', ...scope)).code, 0);
      assert.equal(await tz(), value);
    }
    // a host attribute cannot rename the host or move its address (intrinsic wins)
    assert.equal((await cli(dir, 'attr', 'set', 'hostname', 'evil', '--host', 'compute-0-0')).code, 0);
    assert.equal((await cli(dir, 'attr', 'set', 'hostaddr', '6.6.6.6', '--host', 'compute-0-0')).code, 0);
    const ks = (await cli(dir, 'kickstart', 'compute-0-0')).out;
    assert.match(ks, /^# netroot kickstart for compute-0-0 /);
    assert.doesNotMatch(ks, /evil|6\.6\.6\.6/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('attr list --json at every level; appliance add refuses a root node without a node file', async () => {
  const dir = tempStateDir();
  try {
    await cli(dir, 'attr', 'set', 'g1', 'x');
    await cli(dir, 'attr', 'set', 'o1', 'y', '--os', 'linux');
    await cli(dir, 'attr', 'set', 'a1', 'z', '--appliance', 'compute');
    const list = async (...scope: string[]) =>
      JSON.parse((await cli(dir, 'attr', 'list', ...scope, '--json')).out) as Array<{ scope: string; target: string; name: string; value: string }>;
    assert.deepEqual((await list()).map((a) => [a.scope, a.name]).sort(), [
      ['appliance', 'a1'],
      ['appliance', 'diskless'],
      ['global', 'g1'],
      ['os', 'o1'],
    ]);
    assert.deepEqual(await list('--os', 'linux'), [{ scope: 'os', target: 'linux', name: 'o1', value: 'y' }]);
    assert.deepEqual(await list('--appliance', 'compute'), [{ scope: 'appliance', target: 'compute', name: 'a1', value: 'z' }]);
    const r = await cli(dir, 'appliance', 'add', 'gpu', '--root-node', 'no-such-node');
    assert.equal(r.code, 2);
    assert.match(r.err, /^netroot: root-node: root node "no-such-node" has no node file/);
    const g = await cli(dir, 'appliance', 'add', 'gpu', '--root-node', 'compute', '--graph', 'nope');
    assert.equal(g.code, 2);
    assert.match(g.err, /graph: no graph "nope"/);
    const names = (JSON.parse((await cli(dir, 'appliance', 'list', '--json')).out) as Array<{ name: string }>).map((a) => a.name);
    assert.deepEqual(names, ['compute', 'compute-diskless'], 'nothing written');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('netroot kickstart with a broken profile: exit 2 naming file:line, host state and events untouched', async () => {
  const dir = tempStateDir();
  try {
    const roles = join(dir, 'tree', 'roles');
    mkdirSync(join(roles, 'base'), { recursive: true });
    cpSync('roles', roles, { recursive: true });
    assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01')).code, 0);
    writeFileSync(join(roles, 'base', 'ntp.xml'), '<?xml version="1.0"?>\n<kickstart>\n<post>\n<file name="/etc/chrony.conf">\n</kickstart>\n');
    const before = (await cli(dir, 'host', 'show', 'compute-0-0', '--json')).out;
    const r = await cli(dir, '--set', `profile.rolesDir=${roles}`, 'kickstart', 'compute-0-0');
    assert.equal(r.code, 2);
    assert.match(r.err, /^netroot: \d+ problem\(s\) in the roles and graph:\n/);
    assert.match(r.err, /\/tree\/roles\/base\/ntp\.xml:5: malformed XML/);
    assert.equal(r.out, '', 'no partial kickstart on stdout');
    assert.equal((await cli(dir, 'host', 'show', 'compute-0-0', '--json')).out, before);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('site overrides and <eval> through the CLI: <stateDir>/site-roles extend- file; eval refused (exit 2, file:line) unless profile.allowEval', async () => {
  const dir = tempStateDir();
  try {
    assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01')).code, 0);
    mkdirSync(join(dir, 'site-roles'));
    writeFileSync(
      join(dir, 'site-roles', 'extend-ssh.xml'),
      '<?xml version="1.0"?>\n<kickstart>\n<package>site-tool</package>\n<post>\n<eval shell="sh">echo evaluated-$((6*7))</eval>\n</post>\n</kickstart>\n',
    );
    let r = await cli(dir, 'kickstart', 'compute-0-0');
    assert.equal(r.code, 2);
    assert.match(r.err, /^netroot: .*site-roles\/extend-ssh\.xml:5: <eval> runs code on the frontend and is disabled/);
    assert.equal(r.out, '');
    r = await cli(dir, '--set', 'profile.allowEval=true', 'kickstart', 'compute-0-0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^evaluated-42$/m);
    assert.match(r.out, /^site-tool$/m);
    writeFileSync(join(dir, 'site-roles', 'replace-ssh.xml'), '<?xml version="1.0"?>\n<kickstart>\n<package>replaced-ssh</package>\n</kickstart>\n');
    rmSync(join(dir, 'site-roles', 'extend-ssh.xml'));
    r = await cli(dir, 'kickstart', 'compute-0-0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^replaced-ssh$/m);
    assert.doesNotMatch(r.out, /^openssh-server$/m, 'the shipped ssh node is gone');
  } finally {
    rmSync(dir, { recursive: true });
  }
});
