// ProfileCompiler: parses every node file (roles/<roll>/<name>.xml, with extend-/replace- site
// overrides) and the graph (graphs/<graph>/*.xml) once, caches the result, and renders a host's
// kickstart from an appliance root node and the host's resolved attributes. load() re-reads only
// when a file's mtime/size changed, so a request costs a traversal and a render, not a parse.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseXml, DEFAULT_MAX_FILE_BYTES } from './xml.js';
import { nodeFromXml, type NodeFile } from './node-file.js';
import { graphFromXml, traverse, orderNodes, byCodePoint, type Graph } from './graph.js';
import { renderNode, type Sections } from './render.js';
import { renderKickstart } from './kickstart-template.js';
import { checkCommentValue } from './kickstart-attributes.js';
import { MultiError, UserError, isNetrootError, type NetrootError } from '../errors.js';

export interface ProfileSources {
  rolesDir: string;
  graphsDir: string;
  graph: string;
  siteDir?: string;
  includeDir?: string;
  allowEval?: boolean;
  maxFileBytes?: number;
}
export type Attributes = Readonly<Record<string, string>>;

interface Loaded {
  signature: string;
  nodes: Map<string, NodeFile>;
  graph: Graph;
  problems: NetrootError[];
}

function listXml(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith('.xml')).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}

export class ProfileCompiler {
  private loaded: Loaded | undefined;
  constructor(private readonly src: ProfileSources) {}

  private files(): { roles: string[]; site: string[]; graph: string[] } {
    const rolls = (() => {
      try {
        return readdirSync(this.src.rolesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      } catch {
        return [];
      }
    })();
    return {
      roles: rolls.flatMap((r) => listXml(join(this.src.rolesDir, r))),
      site: this.src.siteDir ? listXml(this.src.siteDir) : [],
      graph: listXml(join(this.src.graphsDir, this.src.graph)),
    };
  }

  private signature(f: { roles: string[]; site: string[]; graph: string[] }): string {
    return [...f.roles, ...f.site, ...f.graph]
      .map((p) => {
        try {
          const s = statSync(p);
          return `${p}:${s.mtimeMs}:${s.size}`;
        } catch {
          return `${p}:gone`;
        }
      })
      .join('|');
  }

  private parseAll(): Loaded {
    const f = this.files();
    const signature = this.signature(f);
    if (this.loaded?.signature === signature) return this.loaded;
    const problems: NetrootError[] = [];
    const max = this.src.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const read = (p: string) => {
      try {
        return parseXml(readFileSync(p, 'utf8'), p, max);
      } catch (e) {
        // Unreadable files (EACCES, a directory named *.xml) are reported like bad ones, never thrown.
        problems.push(isNetrootError(e) ? e : new UserError('E_XML_READ', `cannot read: ${(e as Error).message}`, { where: p }));
        return null;
      }
    };
    const nodes = new Map<string, NodeFile>();
    if (f.roles.length === 0) problems.push(new UserError('E_ROLES_MISSING', `no node files in ${this.src.rolesDir}/<roll>/*.xml`));
    for (const p of f.roles) {
      const name = basename(p, '.xml');
      const x = read(p);
      if (!x) continue;
      if (nodes.has(name)) problems.push(new UserError('E_NODE_DUPLICATE', `node ${name} is defined twice (also ${nodes.get(name)!.path})`, { where: p }));
      nodes.set(name, nodeFromXml(name, p, x, problems));
    }
    for (const p of f.site) {
      const m = /^(extend|replace)-(.+)\.xml$/.exec(basename(p));
      if (!m) {
        problems.push(new UserError('E_SITE_FILE', `site files are extend-<node>.xml or replace-<node>.xml: ${basename(p)} would be ignored`, { where: p }));
        continue;
      }
      const x = read(p);
      if (!x) continue;
      const node = nodeFromXml(m[2]!, p, x, problems);
      const base = nodes.get(m[2]!);
      if (m[1] === 'extend' && !base) problems.push(new UserError('E_NODE_MISSING', `extends node ${m[2]}, which has no node file (roles/*/${m[2]}.xml)`, { where: p }));
      if (m[1] === 'replace' || !base) nodes.set(m[2]!, node);
      else nodes.set(m[2]!, { ...base, items: [...base.items, ...node.items.map((it) => ({ ...it, file: p }))] });
    }
    const graph: Graph = { edges: [], orders: [] };
    if (f.graph.length === 0) problems.push(new UserError('E_GRAPH_MISSING', `no graph files in ${join(this.src.graphsDir, this.src.graph)}`));
    for (const p of f.graph) {
      const x = read(p);
      if (x) graphFromXml(p, x, graph, problems);
    }
    for (const e of graph.edges) {
      for (const n of [e.from, e.to]) {
        if (!nodes.has(n)) problems.push(new UserError('E_GRAPH_UNKNOWN_NODE', `edge ${e.from} → ${e.to}: node ${n} has no node file (roles/*/${n}.xml)`, { where: e.where }));
      }
    }
    for (const o of graph.orders) {
      for (const n of [o.head, o.tail]) {
        if (n !== 'HEAD' && n !== 'TAIL' && !nodes.has(n)) problems.push(new UserError('E_GRAPH_UNKNOWN_NODE', `order ${o.head} → ${o.tail}: node ${n} has no node file`, { where: o.where }));
      }
    }
    try {
      const unfiltered: Graph = { edges: [], orders: graph.orders.map((o) => ({ ...o, filters: {} })) };
      orderNodes(unfiltered, [...nodes.keys()], {});
    } catch (e) {
      problems.push(e as NetrootError);
    }
    // File-level problems first, then by place: a stable, readable report.
    this.loaded = { signature, nodes, graph, problems };
    return this.loaded;
  }

  /** Parses (or reuses the cache); throws every problem at once. */
  load(): void {
    const l = this.parseAll();
    if (l.problems.length > 0) throw new MultiError('E_PROFILE_INVALID', `${l.problems.length} problem(s) in the roles and graph`, l.problems);
  }

  /** Names of every node file (shipped and site), even when other files have problems. */
  nodeNames(): string[] {
    return [...this.parseAll().nodes.keys()].sort(byCodePoint);
  }

  check(): NetrootError[] {
    return [...this.parseAll().problems];
  }

  traverse(rootNode: string, attrs: Attributes): string[] {
    this.load();
    const l = this.loaded!;
    if (!l.nodes.has(rootNode)) throw new UserError('E_NODE_MISSING', `root node ${rootNode} has no node file (roles/*/${rootNode}.xml)`);
    return orderNodes(l.graph, traverse(l.graph, rootNode, attrs), attrs);
  }

  render(rootNode: string, attrs: Attributes): string {
    const order = this.traverse(rootNode, attrs);
    const l = this.loaded!;
    const s: Sections = { main: [], packages: new Set(), pre: [], post: [] };
    const opts = { allowEval: this.src.allowEval ?? false, includeDir: this.src.includeDir ?? join(this.src.rolesDir, '..', 'include') };
    for (const n of order) renderNode(l.nodes.get(n)!, attrs, s, opts);
    // The header comment shows these: one line each (command-line attributes are checked in render.ts).
    for (const k of ['hostname', 'appliance'] as const) if (attrs[k] !== undefined) checkCommentValue(k, attrs[k]);
    return renderKickstart({
      hostname: attrs['hostname'] ?? '(no hostname)',
      appliance: attrs['appliance'] ?? rootNode,
      graph: this.src.graph,
      nodes: order.join(' '),
      main: s.main,
      // Sorted by name (ignoring the @ of groups and the - of removals), by code unit: LANG-independent.
      packages: [...s.packages].sort((a, b) => byCodePoint(a.replace(/^[-@]/, ''), b.replace(/^[-@]/, '')) || byCodePoint(a, b)),
      pre: s.pre,
      post: s.post,
    });
  }

  dot(rootNode?: string): string {
    this.load();
    const l = this.loaded!;
    let edges = l.graph.edges;
    if (rootNode) {
      const reach = new Set(traverse({ edges: edges.map((e) => ({ ...e, filters: {} })), orders: [] }, rootNode, {}));
      edges = edges.filter((e) => reach.has(e.from));
    }
    const q = (s: string) => JSON.stringify(s);
    const lines = ['digraph netroot {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
    for (const e of edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.filters.cond || e.filters.arch || e.filters.os ? ` [label=${q([e.filters.arch, e.filters.os, e.filters.cond].filter(Boolean).join(' '))}, style=dashed]` : ''};`);
    for (const o of l.graph.orders) if (!rootNode || edges.some((e) => e.from === o.head || e.to === o.head)) lines.push(`  ${q(o.head)} -> ${q(o.tail)} [color=gray, constraint=false, label="order"];`);
    lines.push('}');
    return lines.join('\n') + '\n';
  }
}
