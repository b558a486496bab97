// graph.ts on its own, without a compiler around it (fast: the first file the mutation run tries,
// see stryker.config.mjs): the model graphFromXml builds, the exact depth-first visit order, Rocks'
// OrderIterator list (HEAD, TAIL, gen) and the cycle it names. The compiler-level tests (files merged,
// problems per appliance, rendered order) are in graph.test.ts and rocks-order.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../src/profile/xml.js';
import {
  byCodePoint,
  edgesByFrom,
  graphFromXml,
  orderList,
  orderNodes,
  orderNodesBy,
  traverse,
  traverseGraph,
  type Edge,
  type Graph,
  type Order,
} from '../../src/profile/graph.js';
import type { NetrootError } from '../../src/errors.js';

function parseGraph(body: string, path = 'g.xml'): { g: Graph; problems: NetrootError[] } {
  const g: Graph = { edges: [], orders: [] };
  const problems: NetrootError[] = [];
  graphFromXml(path, parseXml(body, path), g, problems);
  return { g, problems };
}
const edgeLine = (e: Edge) =>
  `${e.from}>${e.to} ${e.where} ${e.prune ? 'prune' : 'follow'} arch=${e.filters.arch} os=${e.filters.os} release=${e.filters.release} cond=${e.filters.cond}`;
const orderLine = (o: Order) => `${o.head}>${o.tail} ${o.where} gen=${o.gen} arch=${o.filters.arch} cond=${o.filters.cond}`;
const problemLine = (p: NetrootError) => `${p.code} ${p.where} ${p.message.replace(/^\S+: /, '')}`;

test('graphFromXml: the three edge forms and three order forms, where (the child line when there is one), prune, filters AND-ed, gen precedence', () => {
  const { g, problems } = parseGraph(`<graph>
<description>text <edge from="no" to="never"/></description>
<copyright>c</copyright><changelog/>
<edge from="a" to="b" arch="x86_64" cond="x"/>
<edge from="a" os="linux">
  <to>c</to>
  <to cond="y" arch="x86_64,aarch64">d</to>
</edge>
<edge to="e" release="9">
  <from>f</from>
  <from arch="aarch64">g</from>
</edge>
<edge>
  <from>h</from>
  <to os="linux">i</to>
</edge>
<order head="HEAD" tail="a" gen="ord"/>
<order head="b" gen="ord" arch="x86_64">
  <tail gen="t">c</tail>
  <tail>d</tail>
</order>
<order tail="z" cond="q">
  <head gen="h">y</head>
</order>
<order>
  <head gen="h">p</head>
  <tail gen="t">q</tail>
</order>
</graph>`);
  assert.deepEqual(problems, []);
  assert.deepEqual(g.edges.map(edgeLine), [
    'a>b g.xml:4 follow arch=x86_64 os=undefined release=undefined cond=x',
    'a>c g.xml:6 prune arch=undefined os=linux release=undefined cond=undefined',
    'a>d g.xml:7 prune arch=x86_64,aarch64 os=linux release=undefined cond=y',
    'f>e g.xml:10 prune arch=undefined os=undefined release=9 cond=undefined',
    'g>e g.xml:11 prune arch=aarch64 os=undefined release=9 cond=undefined',
    'h>i g.xml:14 prune arch=undefined os=linux release=undefined cond=undefined',
  ]);
  assert.deepEqual(g.orders.map(orderLine), [
    'HEAD>a g.xml:17 gen=ord arch=undefined cond=undefined',
    'b>c g.xml:19 gen=t arch=x86_64 cond=undefined',
    'b>d g.xml:20 gen=ord arch=x86_64 cond=undefined',
    'y>z g.xml:23 gen=h arch=undefined cond=q',
    'p>q g.xml:26 gen=h arch=undefined cond=undefined',
  ]);
  // Child filters AND-ed with the edge's: both conds, lists intersected.
  const and = parseGraph('<graph><edge from="a" arch="x86_64,aarch64" cond="x"><to arch="aarch64" cond="y">b</to></edge></graph>');
  assert.deepEqual(and.g.edges.map(edgeLine), ['a>b g.xml:1 prune arch=aarch64 os=undefined release=undefined cond=(x) and (y)']);
  // An attribute-form edge with only a stray child is not a pruning edge.
  const stray = parseGraph('<graph>\n<edge from="a" to="b">\n<bogus>x</bogus>\n</edge>\n</graph>');
  assert.deepEqual(stray.g.edges.map(edgeLine), ['a>b g.xml:2 follow arch=undefined os=undefined release=undefined cond=undefined']);
  assert.deepEqual(stray.problems.map(problemLine), ['E_GRAPH_TAG g.xml:3 unknown tag <bogus> inside <edge>']);
});

test('graphFromXml: every problem with its code, file:line and message; a half edge or order adds nothing', () => {
  const { g, problems } = parseGraph(
    `<graf>
<edge from="a"/>
<edge to="b"/>
<order head="a"/>
<order><tail>b</tail></order>
<edge from="a">   <to>   </to></edge>
<order head="a">
  <tail>b</tail>
  <frob>c</frob>
</order>
<edge from="a" to="b">stray</edge>
<edge from="a" to="c" cond="(("/>
<edge from="a">
  <to cond="b &gt;">d</to>
</edge>
<nonsense/>
</graf>`,
    'graphs/g/x.xml',
  );
  assert.deepEqual(problems.map(problemLine), [
    'E_XML_ROOT graphs/g/x.xml:1 the root element must be <graph>, not <graf>',
    'E_GRAPH_EDGE graphs/g/x.xml:2 <edge> needs both from and to',
    'E_GRAPH_EDGE graphs/g/x.xml:3 <edge> needs both from and to',
    'E_GRAPH_EDGE graphs/g/x.xml:4 <order> needs both head and tail',
    'E_GRAPH_EDGE graphs/g/x.xml:5 <order> needs both head and tail',
    'E_GRAPH_EDGE graphs/g/x.xml:6 <to> inside <edge> names no node',
    'E_GRAPH_EDGE graphs/g/x.xml:6 <edge> needs both from and to',
    'E_GRAPH_TAG graphs/g/x.xml:9 unknown tag <frob> inside <order>',
    'E_GRAPH_TEXT graphs/g/x.xml:11 text inside <edge>',
    `E_COND_SYNTAX graphs/g/x.xml:12 ${problems[9]?.message.replace(/^\S+: /, '')}`,
    `E_COND_SYNTAX graphs/g/x.xml:14 ${problems[10]?.message.replace(/^\S+: /, '')}`,
    'E_GRAPH_TAG graphs/g/x.xml:16 unknown tag <nonsense>',
  ]);
  assert.match(problems[9]!.message, /^graphs\/g\/x\.xml:12: bad cond "\(\(": /);
  assert.match(problems[10]!.message, /^graphs\/g\/x\.xml:14: bad cond "b >": unexpected end/);
  // The root is read anyway; only the complete edges and orders are kept (a bad cond is still an edge).
  assert.deepEqual(
    g.edges.map((e) => `${e.from}>${e.to}`),
    ['a>b', 'a>c', 'a>d'],
  );
  assert.deepEqual(
    g.orders.map((o) => `${o.head}>${o.tail}`),
    ['a>b'],
  );
});

test('byCodePoint: UTF-16 code unit order, never locale collation', () => {
  assert.equal(byCodePoint('B', 'a'), -1);
  assert.equal(byCodePoint('a', 'B'), 1);
  assert.equal(byCodePoint('same', 'same'), 0);
  assert.equal(byCodePoint('a', 'ab'), -1);
  assert.deepEqual(['é', 'b', 'e', 'B', 'a', 'A', 'a'].sort(byCodePoint), ['A', 'B', 'a', 'a', 'b', 'e', 'é']);
});

test('edgesByFrom: every edge under the node it leaves, in file order', () => {
  const { g } = parseGraph('<graph><edge from="r" to="a"/><edge from="x" to="y"/><edge from="r" to="b"/><edge from="x"><to>z</to><to>a</to></edge></graph>');
  const by = edgesByFrom(g);
  assert.deepEqual([...by.keys()], ['r', 'x']);
  assert.deepEqual(
    by.get('r')!.map((e) => e.to),
    ['a', 'b'],
  );
  assert.deepEqual(
    by.get('x')!.map((e) => e.to),
    ['y', 'z', 'a'],
  );
});

test('traverseGraph: the exact depth-first pre-order (first edge first, each node once), not breadth-first', () => {
  // root → a → c → (e, back to root), then root → b → (c seen, d); d → a is seen.
  // Breadth-first would be root a b c d e; children in reverse file order root b d a c e.
  const { g } = parseGraph(`<graph>
<edge from="root" to="a"/>
<edge from="a" to="c"/>
<edge from="root" to="b"/>
<edge from="c" to="e"/>
<edge from="c" to="root"/>
<edge from="b"><to>c</to><to>d</to></edge>
<edge from="d" to="a"/>
</graph>`);
  const all = traverseGraph(g, 'root', undefined);
  assert.deepEqual(all.reached, ['root', 'a', 'c', 'e', 'b', 'd']);
  assert.deepEqual(all.nodes, ['a', 'b', 'c', 'd', 'e', 'root']);
  const hosted = traverseGraph(g, 'root', { arch: 'x86_64' }, edgesByFrom(g));
  assert.deepEqual(hosted.reached, ['root', 'a', 'c', 'e', 'b', 'd']);
  // A diamond: c is pushed by root and again by y before it is visited; it is still visited once.
  const diamond = parseGraph('<graph><edge from="root"><to>y</to><to>c</to></edge><edge from="y" to="c"/><edge from="c" to="leaf"/></graph>').g;
  assert.deepEqual(traverseGraph(diamond, 'root', {}).reached, ['root', 'y', 'c', 'leaf']);
  // A root with no edges is reached and kept alone.
  assert.deepEqual(traverseGraph(diamond, 'alone', {}), { nodes: ['alone'], reached: ['alone'] });
});

test('traverseGraph: a pruning edge that fails is not followed; a failing attribute-form edge is followed and drops the node it reaches first', () => {
  const { g } = parseGraph(`<graph>
<edge from="root"><to arch="aarch64">pruned</to><to>kept</to></edge>
<edge from="pruned" to="below-pruned"/>
<edge from="root" to="dropped" cond="gpu"/>
<edge from="dropped" to="child"/>
<edge from="root" to="later"/>
<edge from="later" to="dropped"/>
<edge from="kept" to="zed" os="linux"/>
</graph>`);
  const t = traverseGraph(g, 'root', { arch: 'x86_64', os: 'linux' });
  assert.deepEqual(t.reached, ['root', 'kept', 'zed', 'dropped', 'child', 'later']);
  // dropped is reached first through its false edge: later → dropped (true) does not bring it back.
  assert.deepEqual(t.nodes, ['child', 'kept', 'later', 'root', 'zed']);
  assert.deepEqual(traverse(g, 'root', { arch: 'x86_64', os: 'linux' }), ['child', 'kept', 'later', 'root', 'zed']);
  // With gpu true and arch aarch64 everything is kept; os=rhel drops zed only.
  assert.deepEqual(traverse(g, 'root', { arch: 'aarch64', os: 'rhel', gpu: 'yes' }), ['below-pruned', 'child', 'dropped', 'kept', 'later', 'pruned', 'root']);
  // attrs undefined (graph check: any host): every edge followed, every node kept.
  const any = traverseGraph(g, 'root', undefined);
  assert.deepEqual(any.reached, ['root', 'pruned', 'below-pruned', 'kept', 'zed', 'dropped', 'child', 'later']);
  assert.deepEqual(any.nodes, ['below-pruned', 'child', 'dropped', 'kept', 'later', 'pruned', 'root', 'zed']);
});

const list = (l: Array<{ name: string; gen: string | undefined }>) => l.map((d) => (d.gen === undefined ? d.name : `${d.name}[${d.gen}]`));

test("orderList: Rocks' OrderIterator — HEAD before roots, leaves before TAIL, reverse post-order, each node with its order's gen", () => {
  const { g } = parseGraph(`<graph>
<order head="HEAD" tail="first"/>
<order head="first" tail="mid"/>
<order head="TAIL" tail="last"/>
<order head="a" tail="b" gen="x"/>
<order head="first" tail="arm" arch="aarch64"/>
</graph>`);
  // HEAD → first → mid; pass 1 adds HEAD → TAIL and HEAD → a (roots, in first-seen order); pass 2
  // adds mid → TAIL, b → TAIL. The walk from HEAD finishes last, TAIL, mid, first, b, a, HEAD.
  assert.deepEqual(list(orderList(g, { arch: 'x86_64' })), ['HEAD', 'a', 'b[x]', 'first', 'mid', 'TAIL', 'last']);
  // With the arch order in force (and with attrs undefined: every order) arm is a leaf of first too.
  assert.deepEqual(list(orderList(g, { arch: 'aarch64' })), ['HEAD', 'a', 'b[x]', 'first', 'arm', 'mid', 'TAIL', 'last']);
  assert.deepEqual(list(orderList(g, undefined)), ['HEAD', 'a', 'b[x]', 'first', 'arm', 'mid', 'TAIL', 'last']);
  // No orders: HEAD then TAIL (HEAD → TAIL is added as TAIL is a root).
  assert.deepEqual(list(orderList({ edges: [], orders: [] }, {})), ['HEAD', 'TAIL']);
});

test('orderList: nodes that lead to HEAD are roots of their own and come before it; TAIL with successors', () => {
  const { g } = parseGraph('<graph><order head="y" tail="HEAD"/><order head="HEAD" tail="z"/><order head="w" tail="HEAD"/></graph>');
  // y and w lead to HEAD: no HEAD → y. Roots walked in first-seen order y, w: finished TAIL z HEAD y w.
  assert.deepEqual(list(orderList(g, {})), ['w', 'y', 'HEAD', 'z', 'TAIL']);
  // TAIL → a → HEAD: TAIL is the only root; m (a root) comes after HEAD; TAIL leads to every node,
  // so no leaf gets → TAIL.
  const t = parseGraph('<graph><order head="TAIL" tail="a"/><order head="a" tail="HEAD"/><order head="m" tail="n"/></graph>').g;
  assert.deepEqual(list(orderList(t, {})), ['TAIL', 'a', 'HEAD', 'm', 'n']);
});

test('orderNodesBy / orderNodes: only kept nodes, TAIL slot = every unnamed kept node by code unit, gen other than the generator dropped', () => {
  const { g } = parseGraph(`<graph>
<order head="HEAD" tail="first"/>
<order head="first" tail="mid"/>
<order head="TAIL" tail="last"/>
<order head="a" tail="b" gen="x"/>
</graph>`);
  const traversed = ['zz', 'b', 'first', 'last', 'Root', 'mid', 'a', 'root'];
  assert.deepEqual(orderNodes(g, traversed, {}), ['a', 'first', 'mid', 'Root', 'root', 'zz', 'last']);
  assert.deepEqual(orderNodes(g, traversed, {}, 'x'), ['a', 'b', 'first', 'mid', 'Root', 'root', 'zz', 'last']);
  assert.deepEqual(orderNodesBy(orderList(g, {}), ['mid', 'other'], 'kgen'), ['mid', 'other']);
  // HEAD and TAIL are slots, never output as nodes; with no kept node nothing is listed.
  assert.deepEqual(orderNodesBy(orderList(g, {}), []), []);
});

test('orderList: a cycle names the alphabetically first cycle found from the sorted candidates, at the first order on it', () => {
  // c → a leaves the cycle (a is a candidate too, but leads nowhere); the walk from a finds nothing,
  // the walk from b does; candidates in first-seen order would start at c.
  const { g } = parseGraph('<graph>\n<order head="c" tail="b"/>\n<order head="b" tail="c"/>\n<order head="c" tail="a"/>\n</graph>');
  assert.throws(
    () => orderList(g, {}),
    (e: NetrootError) => e.code === 'E_GRAPH_CYCLE' && e.where === 'g.xml:3' && e.message === 'g.xml:3: <order> has a cycle: b → c → b',
  );
  // Two cycles through x: successors are tried alphabetically (x → y → x, not x → z → x).
  const two = parseGraph('<graph>\n<order head="x" tail="z"/>\n<order head="x" tail="y"/>\n<order head="y" tail="x"/>\n<order head="z" tail="x"/>\n</graph>').g;
  assert.throws(() => orderList(two, undefined), { code: 'E_GRAPH_CYCLE', message: 'g.xml:3: <order> has a cycle: x → y → x' });
  // A longer cycle behind a dead end: the path is unwound after the dead end (no "d" in the cycle).
  const long = parseGraph(
    '<graph>\n<order head="p" tail="d"/>\n<order head="p" tail="q"/>\n<order head="q" tail="r"/>\n<order head="r" tail="p"/>\n<order head="d" tail="e"/>\n</graph>',
  ).g;
  assert.throws(() => orderList(long, {}), { code: 'E_GRAPH_CYCLE', message: 'g.xml:3: <order> has a cycle: p → q → r → p' });
  // A filtered-out order breaks the cycle for that host.
  const filtered = parseGraph('<graph><order head="a" tail="b"/><order head="b" tail="a" arch="aarch64"/></graph>').g;
  assert.deepEqual(list(orderList(filtered, { arch: 'x86_64' })), ['HEAD', 'a', 'b', 'TAIL']);
  assert.throws(() => orderList(filtered, { arch: 'aarch64' }), { code: 'E_GRAPH_CYCLE' });
  // A self-loop is a cycle too.
  assert.throws(() => orderList(parseGraph('<graph><order head="s" tail="s"/></graph>').g, {}), { message: 'g.xml:1: <order> has a cycle: s → s' });
});
