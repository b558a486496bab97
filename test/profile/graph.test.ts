import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';

const roles = (names: string[]) => Object.fromEntries(names.map((n) => [`roles/r/${n}.xml`, node(`<post>echo ${n}</post>`)]));
const A = { arch: 'x86_64', os: 'linux', gpu: 'no' };

test('traversal: depth-first from the root, each node once, false edges not followed; all three edge forms', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a', 'b', 'c', 'd', 'e', 'gpu', 'arm']),
    'graphs/g/1.xml': graph(`
      <edge from="root" to="a"/>
      <edge from="root"><to>b</to><to cond="gpu">gpu</to></edge>
      <edge to="c"><from>a</from><from>b</from></edge>
      <edge from="c" to="root"/>
      <edge from="b" to="arm" arch="aarch64"/>`),
    'graphs/g/2.xml': graph('<edge from="gpu" to="d"/><edge from="c" to="e" cond="not gpu"/>'),
  });
  const t = compiler.traverse('root', A);
  assert.deepEqual([...t].sort(), ['a', 'b', 'c', 'e', 'root']);
  rmSync(dir, { recursive: true });
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
  assert.throws(() => compiler.traverse('root', A), (e: Error & { code?: string }) => e.code === 'E_PROFILE_INVALID' && /<order> has a cycle: a → b → c → a/.test(e.message) && /g\.xml:\d+/.test(e.message));
  rmSync(dir, { recursive: true });
});

test('graph check reports every problem of a broken graph at once', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a', 'b']),
    'roles/r/broken.xml': '<kickstart>\n<post>\n</kickstart>',
    'roles/r/weird.xml': node('<frobnicate/>\n<package cond="a ==">x</package>'),
    'graphs/g/g.xml': graph(`<edge from="root" to="ghost"/>
      <edge from="a" to="b" cond="((("/>
      <order head="a" tail="b"/>
      <order head="b" tail="a"/>
      <order head="nobody" tail="a"/>`),
  });
  const problems = compiler.check();
  const codes = problems.map((p) => p.code).sort();
  assert.deepEqual(codes, ['E_COND_SYNTAX', 'E_COND_SYNTAX', 'E_GRAPH_CYCLE', 'E_GRAPH_UNKNOWN_NODE', 'E_GRAPH_UNKNOWN_NODE', 'E_XML_MALFORMED', 'E_XML_UNKNOWN_TAG']);
  for (const p of problems) assert.match(p.message, /\.xml:\d+: /, p.message);
  assert.throws(() => compiler.render('root', A), (e: Error & { problems?: unknown[] }) => e.problems?.length === problems.length);
  rmSync(dir, { recursive: true });
});

test('a missing root node file is a clear error', () => {
  const { dir, compiler } = tree({ ...roles(['a']), 'graphs/g/g.xml': graph('') });
  assert.throws(() => compiler.render('nope', A), { code: 'E_NODE_MISSING' });
  rmSync(dir, { recursive: true });
});

test('dot output draws edges (conditional ones dashed) and orders', () => {
  const { dir, compiler } = tree({ ...roles(['root', 'a', 'b']), 'graphs/g/g.xml': graph('<edge from="root" to="a"/><edge from="a" to="b" cond="x"/><order head="a" tail="b"/>') });
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
  // y, z ordered after HEAD (alphabetical tie); x and root unordered → TAIL slot, alphabetical.
  assert.deepEqual(ok.compiler.traverse('root', A), ['y', 'z', 'root', 'x']);
  assert.ok(!ok.compiler.traverse('root', A).includes('elsewhere'), 'an <order> never adds a node');
  rmSync(ok.dir, { recursive: true });
});

test('order: a cycle through TAIL is named too', () => {
  const { dir, compiler } = tree({
    ...roles(['root', 'a']),
    'graphs/g/g.xml': graph('<edge from="root" to="a"/>\n<order head="TAIL" tail="a"/>\n<order head="a" tail="HEAD"/>'),
  });
  assert.throws(() => compiler.traverse('root', A), (e: Error & { code?: string }) => e.code === 'E_PROFILE_INVALID' && /cycle: HEAD → TAIL → a → HEAD/.test(e.message) && /g\.xml:\d+/.test(e.message));
  rmSync(dir, { recursive: true });
});
