// Edge cases of graph.ts the mutation run showed open (docs/mutation/profile-graph.md): `phase` is no
// graph filter, Rocks' OrderIterator tie-breaks that depend on exactly which HEAD → n and n → TAIL
// edges are added, the default generator, and which cycle (and which <order>) an error names.
// A file of its own so that an incremental mutation run re-runs only the mutants it covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../src/profile/xml.js';
import { graphFromXml, orderList, orderNodes, traverseGraph, type Graph } from '../../src/profile/graph.js';
import type { NetrootError } from '../../src/errors.js';

function parseGraph(body: string): Graph {
  const g: Graph = { edges: [], orders: [] };
  const problems: NetrootError[] = [];
  graphFromXml('g.xml', parseXml(body, 'g.xml'), g, problems);
  assert.deepEqual(problems, []);
  return g;
}
const names = (g: Graph, attrs: Record<string, string> = {}) => orderList(g, attrs).map((d) => d.name);
const cycle = (body: string, message: string) => assert.throws(() => orderList(parseGraph(body), {}), { code: 'E_GRAPH_CYCLE', message });

test('a phase attribute on an edge, a <to> or an order is not a filter (graph files have no phases)', () => {
  const g = parseGraph(`<graph>
<edge from="root" to="x" phase="reconfigure"/>
<edge from="root"><to phase="reconfigure">y</to></edge>
<order head="y" tail="x" phase="reconfigure"/>
</graph>`);
  for (const e of [...g.edges, ...g.orders]) assert.equal(e.filters.phase, undefined);
  assert.deepEqual(traverseGraph(g, 'root', { arch: 'x86_64' }).nodes, ['root', 'x', 'y']);
  assert.deepEqual(orderNodes(g, ['root', 'x', 'y'], {}), ['y', 'x', 'root']);
});

test('orderList: HEAD → n only for roots (a node with a predecessor is reached through it)', () => {
  // x is named before its root R2: HEAD → x would walk x before R1 and give HEAD R2 R1 w x y TAIL.
  assert.deepEqual(names(parseGraph('<graph><order head="x" tail="y"/><order head="R1" tail="w"/><order head="R2" tail="x"/></graph>')), [
    'HEAD',
    'R2',
    'x',
    'y',
    'R1',
    'w',
    'TAIL',
  ]);
});

test('orderList: n → TAIL only for leaves (n → last with TAIL → last leaves n free of TAIL)', () => {
  // n is not a leaf: no n → TAIL, so TAIL (a root, after HEAD) comes first and n after it.
  assert.deepEqual(names(parseGraph('<graph><order head="n" tail="last"/><order head="TAIL" tail="last"/></graph>')), ['HEAD', 'TAIL', 'n', 'last']);
});

test('orderNodes: the default generator is kgen', () => {
  const g = parseGraph('<graph><order head="HEAD"><tail gen="kgen">a</tail><tail gen="other">b</tail></order></graph>');
  assert.deepEqual(orderNodes(g, ['a', 'b', 'c'], {}), ['a', 'c']);
});

test('cycles: searched only from nodes left over by the topological sort, named from where the cycle starts, at the order that closes its first step', () => {
  // a (no predecessor) leads into z ↔ y; b ↔ c is the alphabetically first cycle among the leftovers.
  cycle(
    '<graph>\n<order head="a" tail="z"/>\n<order head="z" tail="y"/>\n<order head="y" tail="z"/>\n<order head="b" tail="c"/>\n<order head="c" tail="b"/>\n</graph>',
    'g.xml:5: <order> has a cycle: b → c → b',
  );
  // The walk from a (a leftover downstream of p ↔ q) meets b ↔ c: the cycle starts at b, not a.
  cycle(
    '<graph>\n<order head="p" tail="q"/>\n<order head="q" tail="p"/>\n<order head="p" tail="a"/>\n<order head="a" tail="b"/>\n<order head="b" tail="c"/>\n<order head="c" tail="b"/>\n</graph>',
    'g.xml:6: <order> has a cycle: b → c → b',
  );
  // where is the order b → c itself: not a → c (same tail) nor b → z (same head), both earlier.
  cycle(
    '<graph>\n<order head="a" tail="c"/>\n<order head="b" tail="z"/>\n<order head="b" tail="c"/>\n<order head="c" tail="b"/>\n</graph>',
    'g.xml:4: <order> has a cycle: b → c → b',
  );
});
