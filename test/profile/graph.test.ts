import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';
import { parseXml } from '../../src/profile/xml.js';
import { graphFromXml, traverseGraph, type Graph } from '../../src/profile/graph.js';
import type { NetrootError } from '../../src/errors.js';

const roles = (names: string[]) => Object.fromEntries(names.map((n) => [`roles/r/${n}.xml`, node(`<post>echo ${n}</post>`)]));
const A = { arch: 'x86_64', os: 'linux', gpu: 'no' };

test('traversal: depth-first from the root, each node once, false edges not followed; all three edge forms', () => {
  const files = {
    'graphs/g/1.xml': graph(`
      <edge from="root" to="a"/>
      <edge from="root"><to>b</to><to cond="gpu">gpu</to></edge>
      <edge to="c"><from>a</from><from>b</from></edge>
      <edge from="c" to="root"/>
      <edge from="b" to="arm" arch="aarch64"/>`),
    'graphs/g/2.xml': graph('<edge from="gpu" to="d"/><edge from="c" to="e" cond="not gpu"/>'),
  };
  const { dir, compiler } = tree({ ...roles(['root', 'a', 'b', 'c', 'd', 'e', 'gpu', 'arm']), ...files });
  // No <order>: every kept node is in the TAIL slot, alphabetically.
  assert.deepEqual(compiler.traverse('root', A), ['a', 'b', 'c', 'e', 'root']);
  rmSync(dir, { recursive: true });
  // The visit order itself, on the same files merged as the compiler merges them (by name, then
  // document order): root, then its first edge a and a's subtree (c, then c's edge in 2.xml to e)
  // before root's second edge b; b → c is seen, b → arm is followed (attribute form) and drops arm.
  // Breadth-first would give root a b c arm e; the last edge first, root b arm c e a.
  const g: Graph = { edges: [], orders: [] };
  const problems: NetrootError[] = [];
  for (const [p, text] of Object.entries(files)) graphFromXml(p, parseXml(text, p), g, problems);
  assert.deepEqual(problems, []);
  const t = traverseGraph(g, 'root', A);
  assert.deepEqual(t.reached, ['root', 'a', 'c', 'e', 'b', 'arm']);
  assert.deepEqual(t.nodes, ['a', 'b', 'c', 'e', 'root']);
  // gpu=yes: root → gpu is followed (third, after b's subtree), c → e drops e.
  const gpu = traverseGraph(g, 'root', { ...A, gpu: 'yes' });
  assert.deepEqual(gpu.reached, ['root', 'a', 'c', 'e', 'b', 'arm', 'gpu', 'd']);
  assert.deepEqual(gpu.nodes, ['a', 'b', 'c', 'd', 'gpu', 'root']);
});

test('order: topological, ties alphabetical, unordered nodes at the TAIL slot alphabetically; all order forms', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'zeta', 'alpha', 'mid', 'last', 'first', 'beta']),
    'graphs/g/g.xml': graph(`
      <edge from="root"><to>zeta</to><to>alpha</to><to>mid</to><to>last</to><to>first</to><to>beta</to></edge>
      <order head="HEAD" tail="first"/>
      <order head="first"><tail>mid</tail></order>
      <order tail="last"><head>TAIL</head></order>`),
  });
  // first, mid are ordered; TAIL slot: alpha beta root zeta (alphabetical); last after TAIL
  assert.deepEqual(compiler.traverse('root', A), ['first', 'mid', 'alpha', 'beta', 'root', 'zeta', 'last']);
  const ks = compiler.render('root', A);
  const posts = [...ks.matchAll(/^echo (\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(posts, ['first', 'mid', 'alpha', 'beta', 'root', 'zeta', 'last'], '<order> controls script order');
  rmSync(dir, { recursive: true });
});

test('a cycle in <order> is an error that names the cycle', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a', 'b', 'c']),
    'graphs/g/g.xml': graph(`<edge from="root"><to>a</to><to>b</to><to>c</to></edge>
      <order head="a" tail="b"/>
      <order head="b" tail="c"/>
      <order head="c" tail="a"/>`),
  });
  assert.throws(
    () => compiler.traverse('root', A),
    (e: Error & { code?: string }) => e.code === 'E_PROFILE_INVALID' && /<order> has a cycle: a → b → c → a/.test(e.message) && /g\.xml:\d+/.test(e.message),
  );
  rmSync(dir, { recursive: true });
});

test('graph check reports every problem of a broken graph at once; a broken file blocks only the appliances that reach it', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a', 'b', 'other']),
    'roles/r/broken.xml': '<kickstart>\n<post>\n</kickstart>',
    'roles/r/weird.xml': node('<frobnicate/>\n<package cond="a ==">x</package>'),
    'graphs/g/g.xml': graph(`<edge from="root" to="ghost"/>
      <edge from="a" to="b" cond="((("/>
      <edge from="other" to="weird"/>
      <order head="nobody" tail="a"/>`),
  });
  const problems = compiler.check();
  const codes = problems.map((p) => p.code).sort();
  // Errors whatever reaches them: the graph's bad cond, the malformed file, the bad tag and cond.
  assert.deepEqual(codes, ['E_COND_SYNTAX', 'E_COND_SYNTAX', 'E_XML_MALFORMED', 'E_XML_UNKNOWN_TAG']);
  for (const p of problems) assert.match(p.message, /\.xml:\d+: /, p.message);
  const r = compiler.report([
    { name: 'one', rootNode: 'root' },
    { name: 'two', rootNode: 'other' },
    { name: 'three', rootNode: 'a' },
  ]);
  assert.deepEqual(
    r.global.map((p) => p.code),
    ['E_COND_SYNTAX'],
    'a bad cond in the graph breaks every appliance',
  );
  assert.deepEqual(
    r.appliances.get('one')!.map((p) => p.code),
    ['E_GRAPH_UNKNOWN_NODE'],
    'root reaches ghost, which has no file',
  );
  assert.match(r.appliances.get('one')![0]!.message, /g\.xml:3: edge root → ghost/);
  assert.deepEqual(
    r.appliances
      .get('two')!
      .map((p) => p.code)
      .sort(),
    ['E_COND_SYNTAX', 'E_XML_UNKNOWN_TAG'],
    'other reaches weird.xml',
  );
  assert.deepEqual(r.appliances.get('three'), []);
  assert.deepEqual(
    r.unreached.map((p) => p.code),
    ['E_XML_MALFORMED'],
    'broken.xml is reached by no appliance',
  );
  assert.deepEqual(
    r.warnings.map((p) => p.code),
    ['E_GRAPH_UNKNOWN_NODE'],
    'an order naming a node without a file is a warning',
  );
  // The graph's bad cond is global: every render fails with it (and the appliance's own problems).
  assert.throws(
    () => compiler.render('root', A),
    (e: Error & { problems?: unknown[] }) => e.problems?.length === 1,
  );
  rmSync(dir, { recursive: true });
});

test('a broken node file or a missing one blocks only the appliances whose traversal reaches it', () => {
  const { dir, compiler } = tree({
    ...roles(['compute', 'nas', 'common', 'gpu']),
    'roles/r/broken.xml': '<kickstart>\n<post>\n</kickstart>',
    'roles/r/typo.xml': node('<main><reboott/></main>'),
    'graphs/g/g.xml': graph(`<edge from="compute"><to>common</to><to cond="gpu">gpu</to></edge>
      <edge from="nas" to="common"/>
      <edge from="nas" to="broken"/>
      <edge from="gpu" to="ghost"/>
      <edge from="typo-user" to="typo"/>`),
  });
  assert.match(compiler.render('compute', { ...A, gpu: 'no' }), /^echo common$/m, 'compute renders: broken.xml and ghost are not on its way');
  assert.throws(
    () => compiler.render('compute', { ...A, gpu: 'yes' }),
    (e: Error & { problems?: Array<{ code: string; message: string }> }) =>
      e.problems?.length === 1 && e.problems[0]!.code === 'E_GRAPH_UNKNOWN_NODE' && /gpu → ghost/.test(e.problems[0]!.message),
  );
  assert.throws(
    () => compiler.render('nas', A),
    (e: Error & { problems?: Array<{ code: string; message: string }> }) =>
      e.problems?.length === 1 && e.problems[0]!.code === 'E_XML_MALFORMED' && /broken\.xml:3/.test(e.problems[0]!.message),
  );
  const r = compiler.report([
    { name: 'compute', rootNode: 'compute' },
    { name: 'nas', rootNode: 'nas' },
  ]);
  // graph check follows every edge (any host could have gpu=yes): compute can reach ghost.
  assert.deepEqual(
    r.appliances.get('compute')!.map((p) => p.code),
    ['E_GRAPH_UNKNOWN_NODE'],
  );
  assert.deepEqual(
    r.appliances.get('nas')!.map((p) => p.code),
    ['E_XML_MALFORMED'],
  );
  assert.deepEqual(
    r.unreached.map((p) => p.code),
    ['E_XML_MAIN'],
    '<main><reboott> is an error of typo.xml, which no appliance reaches',
  );
  assert.match(r.unreached[0]!.message, /typo\.xml:3: <main><reboott>/);
  assert.deepEqual(r.warnings.map((p) => p.message.replace(/^.*: edge/, 'edge')).sort(), [
    'edge typo-user → typo: node typo-user has no node file (roles/*/typo-user.xml); no appliance reaches it',
  ]);
  rmSync(dir, { recursive: true });
});

test('a missing root node file is a clear error', () => {
  const { dir, compiler } = tree({ ...roles(['a']), 'graphs/g/g.xml': graph('') });
  assert.throws(() => compiler.render('nope', A), { code: 'E_NODE_MISSING' });
  rmSync(dir, { recursive: true });
});

test('dot output draws edges (conditional ones dashed) and orders', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a', 'b']),
    'graphs/g/g.xml': graph('<edge from="root" to="a"/><edge from="a" to="b" cond="x"/><order head="a" tail="b"/>'),
  });
  const dot = compiler.dot();
  assert.match(dot, /^digraph netroot \{/);
  assert.match(dot, /"root" -> "a";/);
  assert.match(dot, /"a" -> "b" \[label="x", style=dashed\];/);
  assert.match(dot, /"a" -> "b" \[color=gray/);
  rmSync(dir, { recursive: true });
});

test('order: an order naming an untraversed node neither pulls it in nor blocks the rest; HEAD-ordered nodes come first', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'x', 'y', 'z', 'elsewhere']),
    'graphs/g/g.xml': graph(`
      <edge from="root"><to>z</to><to>y</to><to>x</to></edge>
      <order head="elsewhere" tail="x"/>
      <order head="y"><tail>HEAD</tail></order>
      <order head="HEAD" tail="z"/>
      <order head="z" tail="y"/>`),
  });
  // y → HEAD together with HEAD → z → y is a cycle through the HEAD slot: refused, naming it.
  assert.throws(() => compiler.traverse('root', A), /<order> has a cycle: (HEAD → z → y → HEAD|y → HEAD → z → y|z → y → HEAD → z)/);
  rmSync(dir, { recursive: true });
  const ok = tree({
    ...roles(['root', 'x', 'y', 'z', 'elsewhere']),
    'graphs/g/g.xml': graph(`
      <edge from="root"><to>z</to><to>y</to><to>x</to></edge>
      <order head="elsewhere" tail="x"/>
      <order head="HEAD" tail="z"/>
      <order head="HEAD" tail="y"/>`),
  });
  // Rocks' OrderIterator: HEAD → z, HEAD → y, then HEAD → elsewhere (a root that does not lead to
  // HEAD); the reverse post-order puts the later children of HEAD first: elsewhere, x, y, z. x is
  // ordered (after elsewhere, which is not traversed: the chain still binds); root → TAIL slot.
  assert.deepEqual(ok.compiler.traverse('root', A), ['x', 'y', 'z', 'root']);
  assert.ok(!ok.compiler.traverse('root', A).includes('elsewhere'), 'an <order> never adds a node');
  rmSync(ok.dir, { recursive: true });
});

test("order: a cycle through TAIL is named too; TAIL before HEAD is Rocks' order, not a cycle", () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a']),
    'graphs/g/g.xml': graph('<edge from="root" to="a"/>\n<order head="TAIL" tail="a"/>\n<order head="a" tail="TAIL"/>'),
  });
  assert.throws(
    () => compiler.traverse('root', A),
    (e: Error & { code?: string }) => e.code === 'E_PROFILE_INVALID' && /cycle: TAIL → a → TAIL/.test(e.message) && /g\.xml:\d+/.test(e.message),
  );
  rmSync(dir, { recursive: true });
  // No implicit HEAD → TAIL: with TAIL → a → HEAD, Rocks walks from TAIL (the only root).
  const ok = tree({
    ...roles(['root', 'a']),
    'graphs/g/g.xml': graph('<edge from="root" to="a"/>\n<order head="TAIL" tail="a"/>\n<order head="a" tail="HEAD"/>'),
  });
  assert.deepEqual(ok.compiler.traverse('root', A), ['root', 'a']);
  rmSync(ok.dir, { recursive: true });
});

test('bad graph input: empty <to>, a cond that does not parse (entity-decoded first), unknown tags, text — all at once, each with file:line', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a']),
    'graphs/g/g.xml': graph(`<edge from="root"><to></to><to cond="a &gt;">a</to></edge>
<edge from="root" to="a" cond="a &amp;&amp; b"/>
<order head="root"><bogus>a</bogus></order>
<edge from="root">stray<to>a</to></edge>
<frobnicate/>`),
  });
  const got = compiler
    .check()
    .map((p) => `${p.code} ${(p.where ?? '').replace(/^.*\/graphs\/g\//, '')}`)
    .sort();
  assert.deepEqual(got, [
    'E_COND_SYNTAX g.xml:3',
    'E_COND_SYNTAX g.xml:4',
    'E_GRAPH_EDGE g.xml:3',
    'E_GRAPH_EDGE g.xml:5',
    'E_GRAPH_TAG g.xml:5',
    'E_GRAPH_TAG g.xml:7',
    'E_GRAPH_TEXT g.xml:6',
  ]);
  const msg = compiler
    .check()
    .map((p) => p.message)
    .join('\n');
  assert.match(msg, /bad cond "a >": unexpected end/);
  assert.match(msg, /bad cond "a && b": unexpected character "&"/);
  // Graph-file problems break every appliance.
  assert.throws(() => compiler.render('a', A), { code: 'E_PROFILE_INVALID' });
  rmSync(dir, { recursive: true });
});
