import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
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
  assert.equal((await cli(dir, 'host', 'add', 'compute-0-1', '--appliance', 'compute-diskless', '--mac', '52:54:00:aa:00:02')).code, 0);
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
  r = await cli(dir, '--set', `profile.rolesDir=${join(dir, 'broken', 'roles')}`, '--set', `profile.graphsDir=${join(dir, 'broken', 'graphs')}`, 'graph', 'check');
  assert.equal(r.code, 2);
  assert.match(r.err, /^netroot: 6 problem\(s\) in the graph:/);
  assert.match(r.err, /a\.xml:3: malformed XML/);
  assert.match(r.err, /b\.xml:1: bad cond/);
  assert.match(r.err, /g\.xml:2: edge c → ghost: node ghost has no node file/);
  assert.match(r.err, /<order> has a cycle: b → c → b/);
  // the shipped appliances' root nodes (compute, compute-diskless) have no file in this tree
  assert.match(r.err, /appliance compute: root node compute has no node file/);
  assert.match(r.err, /appliance compute-diskless: root node compute-diskless has no node file/);
  r = await cli(dir, '--set', `profile.rolesDir=${join(dir, 'broken', 'roles')}`, '--set', `profile.graphsDir=${join(dir, 'broken', 'graphs')}`, 'graph', 'check', '--json');
  assert.equal(JSON.parse(r.out).length, 6);
  rmSync(dir, { recursive: true });
});

test('netroot graph draw: DOT always, SVG through graphviz when installed', async () => {
  const dir = tempStateDir();
  let r = await cli(dir, 'graph', 'draw', '--format', 'dot', '--appliance', 'compute-diskless');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"compute-diskless" -> "diskless"/);
  assert.doesNotMatch(r.out, /"compute" -> "partitioning"/);
  if (spawnSync('dot', ['-V']).status === 0) {
    r = await cli(dir, 'graph', 'draw', '--format', 'svg');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /<svg/);
  }
  r = await cli(dir, 'graph', 'draw', '--format', 'png');
  assert.equal(r.code, 2);
  rmSync(dir, { recursive: true });
});
