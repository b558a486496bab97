// Rocks graph XML: all files of graphs/<graph>/ merged. Edges (three forms, child filters AND-ed
// with the edge's) and orders (three forms, HEAD/TAIL special). Traversal is depth-first from the
// appliance's root, each node once, following edges whose filters pass. Node order: a topological
// sort of the <order> graph with ties broken alphabetically; traversed nodes that no <order> names
// are placed at the TAIL slot, alphabetically (deterministic). A cycle is an error naming it.
import type { XElement } from './xml.js';
import { isElement, textOf } from './xml.js';
import { andFilters, filtersOf, parseCond, passes, type Filters } from './cond.js';
import { UserError, type NetrootError } from '../errors.js';

export interface Edge { from: string; to: string; filters: Filters; where: string }
export interface Order { head: string; tail: string; filters: Filters; where: string }
export interface Graph { edges: Edge[]; orders: Order[] }

function condProblems(f: Filters, where: string, problems: NetrootError[]): void {
  if (f.cond === undefined) return;
  try {
    parseCond(f.cond);
  } catch (e) {
    problems.push(new UserError('E_COND_SYNTAX', (e as Error).message, { where }));
  }
}

export function graphFromXml(path: string, root: XElement, into: Graph, problems: NetrootError[]): void {
  if (root.tag !== 'graph') problems.push(new UserError('E_XML_ROOT', `the root element must be <graph>, not <${root.tag}>`, { where: `${path}:${root.line}` }));
  for (const c of root.children) {
    if (!isElement(c)) continue;
    const where = `${path}:${c.line}`;
    if (c.tag === 'description' || c.tag === 'copyright' || c.tag === 'changelog') continue;
    if (c.tag === 'edge' || c.tag === 'order') {
      const isEdge = c.tag === 'edge';
      const [a, b] = isEdge ? ['from', 'to'] : ['head', 'tail'];
      const base = filtersOf(c.attrs);
      condProblems(base, where, problems);
      const heads: Array<[string, Filters, string]> = [];
      const tails: Array<[string, Filters, string]> = [];
      if (c.attrs[a!]) heads.push([c.attrs[a!]!, {}, where]);
      if (c.attrs[b!]) tails.push([c.attrs[b!]!, {}, where]);
      for (const k of c.children) {
        if (!isElement(k)) {
          if ((k.text ?? '').trim()) problems.push(new UserError('E_GRAPH_TEXT', `text inside <${c.tag}>`, { where }));
          continue;
        }
        const kw = `${path}:${k.line}`;
        const f = filtersOf(k.attrs);
        condProblems(f, kw, problems);
        const name = textOf(k).trim();
        if (k.tag === a) heads.push([name, f, kw]);
        else if (k.tag === b) tails.push([name, f, kw]);
        else problems.push(new UserError('E_GRAPH_TAG', `unknown tag <${k.tag}> inside <${c.tag}>`, { where: kw }));
      }
      if (heads.length === 0 || tails.length === 0) {
        problems.push(new UserError('E_GRAPH_EDGE', `<${c.tag}> needs both ${a} and ${b}`, { where }));
        continue;
      }
      for (const [h, hf, hw] of heads) {
        for (const [t, tf, tw] of tails) {
          const filters = andFilters(andFilters(base, hf), tf);
          const w = hw !== where ? hw : tw;
          if (isEdge) into.edges.push({ from: h, to: t, filters, where: w });
          else into.orders.push({ head: h, tail: t, filters, where: w });
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

/** Depth-first traversal from root; each node once; edges whose filters fail are not followed. */
export function traverse(g: Graph, root: string, attrs: Readonly<Record<string, string>>): string[] {
  const out = new Map<string, Edge[]>();
  for (const e of g.edges) {
    const l = out.get(e.from) ?? [];
    l.push(e);
    out.set(e.from, l);
  }
  const seen = new Set<string>();
  const order: string[] = [];
  const stack: string[] = [root];
  // Iterative pre-order DFS; children pushed in reverse so the first edge is followed first.
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    order.push(n);
    const next = (out.get(n) ?? []).filter((e) => passes(e.filters, attrs)).map((e) => e.to);
    for (let i = next.length - 1; i >= 0; i--) if (!seen.has(next[i]!)) stack.push(next[i]!);
  }
  return order;
}

/** Final node order for the traversed set (see the file comment). */
export function orderNodes(g: Graph, traversed: readonly string[], attrs: Readonly<Record<string, string>>): string[] {
  const present = new Set(traversed);
  const edges = g.orders.filter((o) => passes(o.filters, attrs) && (present.has(o.head) || o.head === 'HEAD' || o.head === 'TAIL') && (present.has(o.tail) || o.tail === 'HEAD' || o.tail === 'TAIL'));
  const ordered = new Set<string>();
  for (const e of edges) for (const n of [e.head, e.tail]) if (n !== 'HEAD' && n !== 'TAIL') ordered.add(n);
  const nodes = new Set<string>(['HEAD', 'TAIL', ...ordered]);
  const succ = new Map<string, Set<string>>();
  const indeg = new Map<string, number>();
  for (const n of nodes) {
    succ.set(n, new Set());
    indeg.set(n, 0);
  }
  const link = (a: string, b: string) => {
    if (a === b || succ.get(a)!.has(b)) return;
    succ.get(a)!.add(b);
    indeg.set(b, indeg.get(b)! + 1);
  };
  for (const e of edges) link(e.head, e.tail);
  link('HEAD', 'TAIL');
  const result: string[] = [];
  const ready = [...nodes].filter((n) => indeg.get(n) === 0);
  while (ready.length > 0) {
    // Ordered nodes first (alphabetical); the TAIL slot only when nothing else is ready.
    ready.sort((x, y) => (x === 'TAIL' ? 1 : y === 'TAIL' ? -1 : x === 'HEAD' ? -1 : y === 'HEAD' ? 1 : byCodePoint(x, y)));
    const n = ready.shift()!;
    result.push(n);
    for (const s of succ.get(n)!) {
      indeg.set(s, indeg.get(s)! - 1);
      if (indeg.get(s) === 0) ready.push(s);
    }
  }
  if (result.length < nodes.size) {
    const cycle = findCycle([...nodes].filter((n) => !result.includes(n)), succ);
    // Cite the first <order> on the cycle (HEAD → TAIL is implicit and has no place in a file).
    const pairs = cycle.slice(1).map((t, i) => [cycle[i]!, t] as const);
    const e = pairs.map(([h, t]) => edges.find((x) => x.head === h && x.tail === t)).find((x) => x !== undefined);
    throw new UserError('E_GRAPH_CYCLE', `<order> has a cycle: ${cycle.join(' → ')}`, { where: e?.where });
  }
  const unordered = traversed.filter((n) => !ordered.has(n)).sort(byCodePoint);
  return result.flatMap((n) => (n === 'TAIL' ? unordered : n === 'HEAD' ? [] : [n]));
}

function findCycle(candidates: string[], succ: Map<string, Set<string>>): string[] {
  const inCand = new Set(candidates);
  for (const start of candidates.sort()) {
    const path: string[] = [];
    const onPath = new Set<string>();
    const dfs = (n: string): string[] | null => {
      path.push(n);
      onPath.add(n);
      for (const s of [...succ.get(n)!].sort()) {
        if (!inCand.has(s)) continue;
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
