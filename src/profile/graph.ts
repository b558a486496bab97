// Rocks graph XML: all files of graphs/<graph>/ merged (files by name, then document order). Edges
// (three forms, child filters AND-ed with the edge's) and orders (three forms, HEAD/TAIL special).
// Semantics follow Rocks (rocks/profile.py, commands/list/node/xml), see docs/ROCKS.md:
// - Traversal: depth-first from the appliance's root, each node once, edges in file order. An edge
//   written with <to>/<from> children is left out when its filters fail (Rocks prunes it while
//   parsing). An edge written as <edge from= to= cond=/> is always followed; its filters decide
//   whether the node it reaches FIRST is kept: a dropped node adds nothing, but its own edges are
//   still followed.
// - Order: Rocks' OrderIterator over the whole <order> graph, whatever the traversal: every root
//   that does not lead to HEAD gets HEAD → root; every leaf not reachable from TAIL gets leaf → TAIL;
//   the result is the reverse post-order of a depth-first walk (roots and children in first-seen
//   order: Rocks walks a Python 2 dict here; netroot uses the files' order so the result is
//   deterministic). Chains through nodes outside the traversal still bind. Then the kept nodes are
//   listed in that order, the TAIL slot holding every kept node that no <order> names,
//   alphabetically (by code unit). An <order gen="x"> with x other than kgen drops the node it
//   reaches, as in Rocks. A cycle is an error that names it (Rocks would silently drop nodes).
import type { XElement } from './xml.js';
import { isElement, textOf } from './xml.js';
import { andFilters, filtersOf, parseCond, passes, type Filters } from './cond.js';
import { UserError, type NetrootError } from '../errors.js';

/** `prune`: written with <to>/<from> children, left out when its filters fail; otherwise it is followed and its filters decide whether the node it reaches is kept. */
export interface Edge {
  from: string;
  to: string;
  filters: Filters;
  where: string;
  prune: boolean;
}
export interface Order {
  head: string;
  tail: string;
  filters: Filters;
  where: string;
  gen?: string | undefined;
}
export interface Graph {
  edges: Edge[];
  orders: Order[];
}

function condProblems(f: Filters, where: string, problems: NetrootError[]): void {
  if (f.cond === undefined) return;
  try {
    parseCond(f.cond);
  } catch (e) {
    problems.push(new UserError('E_COND_SYNTAX', (e as Error).message, { where }));
  }
}

export function graphFromXml(path: string, root: XElement, into: Graph, problems: NetrootError[]): void {
  if (root.tag !== 'graph')
    problems.push(new UserError('E_XML_ROOT', `the root element must be <graph>, not <${root.tag}>`, { where: `${path}:${root.line}` }));
  for (const c of root.children) {
    if (!isElement(c)) continue;
    const where = `${path}:${c.line}`;
    if (c.tag === 'description' || c.tag === 'copyright' || c.tag === 'changelog') continue;
    if (c.tag === 'edge' || c.tag === 'order') {
      const isEdge = c.tag === 'edge';
      const [a, b] = isEdge ? ['from', 'to'] : ['head', 'tail'];
      const base = filtersOf(c.attrs, false);
      const gen = c.attrs['gen'];
      let children = false;
      condProblems(base, where, problems);
      const heads: Array<[string, Filters, string, string | undefined]> = [];
      const tails: Array<[string, Filters, string, string | undefined]> = [];
      if (c.attrs[a!]) heads.push([c.attrs[a!]!, {}, where, undefined]);
      if (c.attrs[b!]) tails.push([c.attrs[b!]!, {}, where, undefined]);
      for (const k of c.children) {
        if (!isElement(k)) {
          if (k.text.trim()) problems.push(new UserError('E_GRAPH_TEXT', `text inside <${c.tag}>`, { where }));
          continue;
        }
        const kw = `${path}:${k.line}`;
        const f = filtersOf(k.attrs, false);
        condProblems(f, kw, problems);
        const name = textOf(k).trim();
        if (!name) problems.push(new UserError('E_GRAPH_EDGE', `<${k.tag}> inside <${c.tag}> names no node`, { where: kw }));
        else if (k.tag === a) heads.push([name, f, kw, k.attrs['gen']]);
        else if (k.tag === b) tails.push([name, f, kw, k.attrs['gen']]);
        else problems.push(new UserError('E_GRAPH_TAG', `unknown tag <${k.tag}> inside <${c.tag}>`, { where: kw }));
        if (k.tag === a || k.tag === b) children = true;
      }
      if (heads.length === 0 || tails.length === 0) {
        problems.push(new UserError('E_GRAPH_EDGE', `<${c.tag}> needs both ${a} and ${b}`, { where }));
        continue;
      }
      for (const [h, hf, hw, hg] of heads) {
        for (const [t, tf, tw, tg] of tails) {
          const filters = andFilters(andFilters(base, hf), tf);
          const w = hw !== where ? hw : tw;
          if (isEdge) into.edges.push({ from: h, to: t, filters, where: w, prune: children });
          else into.orders.push({ head: h, tail: t, filters, where: w, gen: hg ?? tg ?? gen });
        }
      }
      continue;
    }
    problems.push(new UserError('E_GRAPH_TAG', `unknown tag <${c.tag}>`, { where }));
  }
}

/** "Alphabetical" is by UTF-16 code unit, never locale collation: the order must not depend on LANG. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Traversal {
  /** Kept nodes, alphabetical (Rocks lists them so; the order comes from orderNodes). */
  nodes: string[];
  /** Every node reached, kept or dropped, in visit order. */
  reached: string[];
}

/** Every edge by the node it leaves, in file order (what traverseGraph walks; the compiler keeps one per parse). */
export function edgesByFrom(g: Graph): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>();
  for (const e of g.edges) {
    const l = out.get(e.from);
    if (l) l.push(e);
    else out.set(e.from, [e]);
  }
  return out;
}

/**
 * Depth-first from root, each node once, edges in file order. Pruning edges whose filters fail are
 * not followed; other edges are followed and decide whether the node they reach first is kept.
 * `attrs` undefined: every edge followed and every node kept (what any host could reach).
 * `byFrom` is edgesByFrom(g), passed when the caller keeps it.
 */
export function traverseGraph(
  g: Graph,
  root: string,
  attrs: Readonly<Record<string, string>> | undefined,
  byFrom: ReadonlyMap<string, readonly Edge[]> = edgesByFrom(g),
): Traversal {
  const seen = new Set<string>();
  const reached: string[] = [];
  const kept: string[] = [];
  // Iterative pre-order DFS (the same visit order as Rocks' recursive one): children pushed in
  // reverse so the first edge is followed first; a node is visited when popped, through that edge.
  // A pruning edge whose filters fail is skipped here, when its node is visited (filters are pure:
  // the same as leaving it out beforehand).
  const stack: Array<[string, Edge | undefined]> = [[root, undefined]];
  while (stack.length > 0) {
    const [n, via] = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    reached.push(n);
    if (attrs === undefined || via === undefined || via.prune || passes(via.filters, attrs)) kept.push(n);
    const next = byFrom.get(n);
    if (next === undefined) continue;
    for (let i = next.length - 1; i >= 0; i--) {
      const e = next[i]!;
      if (attrs !== undefined && e.prune && !passes(e.filters, attrs)) continue;
      if (!seen.has(e.to)) stack.push([e.to, e]);
    }
  }
  // sort() without a comparator compares strings by UTF-16 code unit: byCodePoint, without a call per comparison.
  return { nodes: kept.sort(), reached };
}

/** Kept nodes of the traversal (alphabetical); see traverseGraph. */
export function traverse(g: Graph, root: string, attrs: Readonly<Record<string, string>>): string[] {
  return traverseGraph(g, root, attrs).nodes;
}

interface OrderEdge {
  to: string;
  gen: string | undefined;
}

/**
 * Rocks' OrderIterator on the <order> graph (orders whose own filters fail left out): the list of
 * every node named by an order, HEAD and TAIL included, each with the `gen` of the order that
 * reached it. Throws E_GRAPH_CYCLE naming a cycle.
 */
export function orderList(g: Graph, attrs: Readonly<Record<string, string>> | undefined): Array<{ name: string; gen: string | undefined }> {
  const orders = g.orders.filter((o) => attrs === undefined || passes(o.filters, attrs));
  const adj = new Map<string, OrderEdge[]>();
  const indeg = new Map<string, number>();
  const outdeg = new Map<string, number>();
  const addNode = (n: string) => {
    if (adj.has(n)) return;
    adj.set(n, []);
    indeg.set(n, 0);
    outdeg.set(n, 0);
  };
  const addEdge = (a: string, b: string, gen: string | undefined) => {
    adj.get(a)!.push({ to: b, gen });
    outdeg.set(a, outdeg.get(a)! + 1);
    indeg.set(b, indeg.get(b)! + 1);
  };
  for (const o of orders) {
    addNode(o.head);
    addNode(o.tail);
    addEdge(o.head, o.tail, o.gen);
  }
  addNode('HEAD');
  addNode('TAIL');
  const nodes = [...adj.keys()];
  checkCycle(nodes, adj, orders);
  const reach = (from: string, reverse: boolean): Set<string> => {
    const back = new Map<string, string[]>();
    if (reverse) for (const [a, es] of adj) for (const e of es) (back.get(e.to) ?? back.set(e.to, []).get(e.to)!).push(a);
    const seen = new Set<string>([from]);
    const stack = [from];
    while (stack.length > 0) {
      const n = stack.pop()!;
      for (const m of reverse ? (back.get(n) ?? []) : adj.get(n)!.map((e) => e.to)) {
        if (!seen.has(m)) {
          seen.add(m);
          stack.push(m);
        }
      }
    }
    return seen;
  };
  // Pass 1: a root that does not lead to HEAD comes after HEAD.
  const toHead = reach('HEAD', true);
  for (const n of nodes) if (!toHead.has(n) && indeg.get(n) === 0) addEdge('HEAD', n, undefined);
  // Pass 2: a leaf that TAIL does not lead to comes before TAIL.
  const fromTail = reach('TAIL', false);
  for (const n of nodes) if (!fromTail.has(n) && outdeg.get(n) === 0) addEdge(n, 'TAIL', undefined);
  // Pass 3: reverse post-order of a depth-first walk from every root.
  const visited = new Set<string>();
  const finished: Array<{ name: string; gen: string | undefined }> = [];
  for (const r of nodes) {
    if (visited.has(r) || indeg.get(r)! > 0) continue;
    visited.add(r);
    const stack: Array<{ name: string; gen: string | undefined; i: number }> = [{ name: r, gen: undefined, i: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const es = adj.get(top.name)!;
      if (top.i < es.length) {
        const e = es[top.i++]!;
        if (!visited.has(e.to)) {
          visited.add(e.to);
          stack.push({ name: e.to, gen: e.gen, i: 0 });
        }
        continue;
      }
      stack.pop();
      finished.push({ name: top.name, gen: top.gen });
    }
  }
  return finished.reverse();
}

function checkCycle(nodes: string[], adj: Map<string, OrderEdge[]>, orders: Order[]): void {
  const indeg = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const es of adj.values()) for (const e of es) indeg.set(e.to, indeg.get(e.to)! + 1);
  const ready = nodes.filter((n) => indeg.get(n) === 0);
  let done = 0;
  while (ready.length > 0) {
    const n = ready.pop()!;
    done++;
    for (const e of adj.get(n)!) {
      indeg.set(e.to, indeg.get(e.to)! - 1);
      if (indeg.get(e.to) === 0) ready.push(e.to);
    }
  }
  if (done === nodes.length) return;
  const succ = new Map<string, Set<string>>(nodes.map((n) => [n, new Set(adj.get(n)!.map((e) => e.to))]));
  const cycle = findCycle(
    nodes.filter((n) => indeg.get(n)! > 0),
    succ,
  );
  const pairs = cycle.slice(1).map((t, i) => [cycle[i]!, t] as const);
  const e = pairs.map(([h, t]) => orders.find((x) => x.head === h && x.tail === t)).find((x) => x !== undefined);
  throw new UserError('E_GRAPH_CYCLE', `<order> has a cycle: ${cycle.join(' → ')}`, { where: e?.where });
}

/** Final node order for the kept nodes of a traversal (see the file comment). */
export function orderNodes(g: Graph, traversed: readonly string[], attrs: Readonly<Record<string, string>>, generator = 'kgen'): string[] {
  return orderNodesBy(orderList(g, attrs), traversed, generator);
}

/** orderNodes with the host's orderList already made (the same for every host when no <order> has a filter). */
export function orderNodesBy(deps: ReadonlyArray<{ name: string; gen: string | undefined }>, traversed: readonly string[], generator = 'kgen'): string[] {
  const kept = new Set(traversed);
  const named = new Set(deps.map((d) => d.name));
  const unordered = traversed.filter((n) => !named.has(n)).sort(); // by code unit, as byCodePoint
  const out: string[] = [];
  for (const d of deps) {
    if (d.name === 'TAIL') out.push(...unordered);
    else if (kept.has(d.name) && (d.gen === undefined || d.gen === generator)) out.push(d.name);
  }
  return out;
}

/**
 * A cycle among the nodes the topological sort left over. Every successor of a leftover node is a
 * leftover too (the edge to it was never removed), so the walk never leaves them.
 */
function findCycle(candidates: string[], succ: Map<string, Set<string>>): string[] {
  for (const start of candidates.sort()) {
    const path: string[] = [];
    const onPath = new Set<string>();
    const dfs = (n: string): string[] | null => {
      path.push(n);
      onPath.add(n);
      for (const s of [...succ.get(n)!].sort()) {
        if (onPath.has(s)) return [...path.slice(path.indexOf(s)), s];
        const r = dfs(s);
        if (r) return r;
      }
      path.pop();
      onPath.delete(n);
      return null;
    };
    const r = dfs(start);
    if (r) return r;
  }
  return candidates;
}
