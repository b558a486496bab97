// `netroot roll add|list|remove`: site rolls in Rocks' layout (nodes/, graphs/<graph>/) merge with
// netroot's own roles for `kickstart`, `graph check` and `graph draw`; a site extend- file still
// applies on top; a node two places define differently is E_NODE_DUPLICATE naming both files; bad
// input is one message naming the argument, exit 2, and leaves the state directory as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cli, cliOk, tempStateDir } from '../helpers/cli.js';

/** Files written the way a Rocks roll has them. */
function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

const rocksNode = (body: string) =>
  `<?xml version="1.0" standalone="no"?>\n<kickstart>\n  <description>\n  A site node\n  </description>\n${body}\n</kickstart>\n`;
const rocksGraph = (body: string) => `<?xml version="1.0" standalone="no"?>\n<graph>\n  <description>\n  A site roll\n  </description>\n${body}\n</graph>\n`;

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = join(dir, rel);
    const st = statSync(abs);
    out[rel] = st.isDirectory() ? 'dir' : createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (st.isDirectory()) for (const e of readdirSync(abs).sort()) walk(join(rel, e));
  };
  walk('.');
  return out;
}

async function setup(): Promise<{ dir: string; ok: (...argv: string[]) => Promise<string> }> {
  const dir = tempStateDir('nrt-roll-');
  const ok = cliOk(dir);
  await ok('host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
  write(join(dir, 'rolls'), {
    'tools/nodes/site-tools.xml': rocksNode('  <package>site-tools</package>\n  <post>\necho "site tools on &hostname;"\n  </post>'),
    'tools/graphs/default/tools.xml': rocksGraph('  <edge from="compute" to="site-tools"/>\n  <edge from="site-tools" to="site-extra"/>'),
    'extra/nodes/site-extra.xml': rocksNode('  <package>site-extra</package>'),
    'graphsonly/graphs/default/only.xml': rocksGraph('  <order head="site-tools" tail="site-extra"/>'),
  });
  return { dir, ok };
}

test('roll add/list/remove; kickstart, graph check and graph draw use the merged roles and graph; a site extend- file applies on top', async () => {
  const { dir, ok } = await setup();
  try {
    const rolls = join(dir, 'rolls');
    assert.match(await ok('roll', 'list'), /no site rolls/);
    assert.match(await ok('roll', 'add', join(rolls, 'tools')), /added roll tools/);
    assert.match(await ok('roll', 'add', join(rolls, 'extra'), '--name', 'site-extra-roll'), /added roll site-extra-roll .*no graphs\//);
    assert.match(await ok('roll', 'add', join(rolls, 'graphsonly')), /no nodes\//);
    const list = JSON.parse(await ok('roll', 'list', '--json')) as Array<{ name: string; dir: string; nodes: boolean; graphs: boolean }>;
    assert.deepEqual(
      list.map((r) => [r.name, r.nodes, r.graphs]),
      [
        ['tools', true, true],
        ['site-extra-roll', true, false],
        ['graphsonly', false, true],
      ],
    );
    assert.match(await ok('roll', 'list'), /^NAME +DIR +NODES +GRAPHS\ntools +\/.*\/rolls\/tools +yes +yes\n/);
    assert.ok(existsSync(join(dir, 'rolls.json')));

    let ks = await ok('kickstart', 'compute-0-0');
    assert.match(ks, /^site-tools$/m);
    assert.match(ks, /^site-extra$/m);
    assert.match(ks, /^echo "site tools on compute-0-0"$/m);
    assert.match(ks, /site-tools site-extra/, "the roll graph's <order> puts site-tools before site-extra");
    assert.match(await ok('graph', 'check'), /graph ok/);
    const dot = await ok('graph', 'draw', '--format', 'dot');
    assert.match(dot, /"compute" -> "site-tools";/);
    assert.match(dot, /"site-tools" -> "site-extra";/);

    // profile.siteDir (default <stateDir>/site-roles): extend- on top of a roll's node.
    write(join(dir, 'site-roles'), { 'extend-site-tools.xml': rocksNode('  <package>site-tools-local</package>') });
    ks = await ok('kickstart', 'compute-0-0');
    assert.match(ks, /^site-tools-local$/m);

    assert.match(await ok('roll', 'remove', 'site-extra-roll'), /removed roll site-extra-roll/);
    const r = await cli(dir, 'kickstart', 'compute-0-0');
    assert.equal(r.code, 2, 'site-tools → site-extra now reaches a node without a file');
    assert.match(r.err, /site-extra has no node file/);
    await ok('roll', 'remove', 'graphsonly');
    await ok('roll', 'remove', 'tools');
    ks = await ok('kickstart', 'compute-0-0');
    assert.doesNotMatch(ks, /site-tools/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'rolls.json'), 'utf8')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node a roll defines again with other content is E_NODE_DUPLICATE naming both files; the same bytes are one node', async () => {
  const { dir, ok } = await setup();
  try {
    const rolls = join(dir, 'rolls');
    await ok('roll', 'add', join(rolls, 'tools'));
    await ok('roll', 'add', join(rolls, 'extra'));
    write(rolls, { 'clash/nodes/site-tools.xml': rocksNode('  <package>other-tools</package>') });
    await ok('roll', 'add', join(rolls, 'clash'));
    let r = await cli(dir, 'graph', 'check');
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      new RegExp(
        `broken for appliance compute: ${join(rolls, 'clash', 'nodes', 'site-tools.xml')}: node site-tools is defined twice with different content \\(also ${join(rolls, 'tools', 'nodes', 'site-tools.xml')}\\)`,
      ),
    );
    const entries = JSON.parse((await cli(dir, 'graph', 'check', '--json')).out) as Array<{ code: string; where: string }>;
    assert.ok(entries.some((e) => e.code === 'E_NODE_DUPLICATE' && e.where === join(rolls, 'clash', 'nodes', 'site-tools.xml')));
    r = await cli(dir, 'kickstart', 'compute-0-0');
    assert.equal(r.code, 2);
    assert.match(r.err, /defined twice/);
    // A roll carrying one of netroot's own node files, different: also a conflict.
    await ok('roll', 'remove', 'clash');
    write(rolls, { 'own/nodes/ntp.xml': rocksNode('  <package>chrony-other</package>') });
    await ok('roll', 'add', join(rolls, 'own'));
    r = await cli(dir, 'graph', 'check', '--json');
    assert.ok(
      (JSON.parse(r.out) as Array<{ code: string; message: string }>).some((e) => e.code === 'E_NODE_DUPLICATE' && /roles\/base\/ntp\.xml/.test(e.message)),
    );
    // The same bytes as the other roll's file: one node and a warning.
    await ok('roll', 'remove', 'own');
    write(rolls, { 'same/nodes/site-tools.xml': readFileSync(join(rolls, 'tools', 'nodes', 'site-tools.xml'), 'utf8') });
    await ok('roll', 'add', join(rolls, 'same'));
    r = await cli(dir, 'graph', 'check');
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /warning: .*\/rolls\/same\/nodes\/site-tools\.xml: node site-tools is also .*\/rolls\/tools\/nodes\/site-tools\.xml, with the same content/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: missing dir, unknown layout, duplicate name or dir, unknown roll: one message naming the argument, exit 2, nothing changed', async () => {
  const { dir, ok } = await setup();
  try {
    const rolls = join(dir, 'rolls');
    await ok('roll', 'add', join(rolls, 'tools'));
    write(rolls, { 'flat/site-tools.xml': rocksNode('') });
    const before = snapshot(dir);
    const cases: Array<[string[], RegExp]> = [
      [['roll', 'add', join(rolls, 'nope')], /^netroot: roll directory ".*\/rolls\/nope" does not exist or is not a directory\n$/],
      [
        ['roll', 'add', join(rolls, 'tools', 'nodes', 'site-tools.xml')],
        /^netroot: roll directory ".*site-tools\.xml" does not exist or is not a directory\n$/,
      ],
      [
        ['roll', 'add', join(rolls, 'flat')],
        /^netroot: ".*\/rolls\/flat" is not a roll in Rocks' layout: it has neither nodes\/ \(node XML files\) nor graphs\//,
      ],
      [['roll', 'add', join(rolls, 'extra'), '--name', 'tools'], /^netroot: a roll named "tools" is already recorded/],
      [['roll', 'add', join(rolls, 'tools'), '--name', 'again'], /^netroot: .*\/rolls\/tools is already recorded as roll "tools"\n$/],
      [['roll', 'add', join(rolls, 'extra'), '--name', '../x'], /^netroot: roll name "..\/x"/],
      [['roll', 'remove', 'nosuch'], /^netroot: unknown roll "nosuch" \(recorded: tools\)\n$/],
      [['roll', 'add'], /^netroot: missing argument\nusage: netroot roll add DIR/],
      [['roll', 'frob'], /^netroot: unknown roll command "frob"/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(dir, ...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message, argv.join(' '));
      assert.equal(r.out, '');
      assert.deepEqual(snapshot(dir), before, `${argv.join(' ')} changed the state directory`);
    }
    // A damaged rolls.json is named, not ignored.
    writeFileSync(join(dir, 'rolls.json'), '{ not json');
    const r = await cli(dir, 'roll', 'list');
    assert.equal(r.code, 2);
    assert.match(r.err, /rolls\.json|not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
