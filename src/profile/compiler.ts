// ProfileCompiler: parses every node file (roles/<roll>/<name>.xml and the site rolls'
// <dir>/nodes/<name>.xml, with extend-/replace- site overrides) and the graph (graphs/<graph>/*.xml
// and each site roll's <dir>/graphs/<graph>/*.xml) once, caches the result, and renders a host's
// kickstart from an appliance root node and the host's resolved attributes. load() re-reads only
// when a file's mtime/size changed, so a request costs a traversal and a render, not a parse.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseXml, DEFAULT_MAX_FILE_BYTES } from './xml.js';
import { nodeFromXml, type Ignored, type NodeFile } from './node-file.js';
import { graphFromXml, traverseGraph, edgesByFrom, orderList, orderNodesBy, byCodePoint, type Edge, type Graph, type Traversal } from './graph.js';
import { noFilters } from './cond.js';
import { renderNode, type Sections } from './render.js';
import { renderKickstart } from './kickstart-template.js';
import { checkCommentValue } from './kickstart-attributes.js';
import { readRolls, type Roll } from './rolls.js';
import { MultiError, UserError, isNetrootError, type NetrootError } from '../errors.js';

export interface ProfileSources {
  rolesDir: string;
  graphsDir: string;
  graph: string;
  siteDir?: string;
  includeDir?: string;
  allowEval?: boolean;
  maxFileBytes?: number;
  /**
   * `<stateDir>/rolls.json` (rolls.ts): site rolls in Rocks' layout, read on each load. Their node
   * files come after netroot's own roles (a name defined twice with different content is
   * E_NODE_DUPLICATE naming both files), their graph files after netroot's own.
   */
  rollsFile?: string;
}
export type Attributes = Readonly<Record<string, string>>;

/**
 * Every file the parse read, with its mtime and size then (size -1: gone). Compared number by
 * number on each load() rather than joined into one string: the check runs on every request.
 */
interface Signature {
  paths: string[];
  stamps: Float64Array;
}

interface Loaded {
  signature: Signature;
  nodes: Map<string, NodeFile>;
  graph: Graph;
  /** Problems that break every appliance: graph files, the roles/site directories, <order> cycles. */
  global: NetrootError[];
  /** Problems of one node file (or its site extend-/replace- file), by node name. */
  byNode: Map<string, NetrootError[]>;
  /** Not errors: tags netroot does not act on (once per tag), orders naming nodes without a file. */
  warnings: NetrootError[];
  /** edgesByFrom(graph): made once per parse, not per request. */
  byFrom: Map<string, Edge[]>;
  /** orderList(graph) when no <order> has a filter: then it is every host's; else undefined (made per host). */
  orderAll: Array<{ name: string; gen: string | undefined }> | undefined;
}

/** What `graph check` reports: see ProfileCompiler.report. */
export interface ProfileReport {
  /** Break every appliance. */
  global: NetrootError[];
  /** Per appliance (by the name given), the problems its traversal reaches. */
  appliances: Map<string, NetrootError[]>;
  /** Problems of node files no given appliance reaches (still errors: the file is wrong). */
  unreached: NetrootError[];
  warnings: NetrootError[];
}

function sameBytes(a: string, b: string, max: number): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    if (!sa.isFile() || !sb.isFile() || sa.size !== sb.size || sa.size > max) return false;
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** readdir's names → the sorted *.xml paths, kept per folder: the same names give the same paths without a join each. */
type Listings = Map<string, { names: string[]; paths: string[] }>;

function listXml(dir: string, listings: Listings): string[] {
  // A missing folder (often the site one) is checked on every request: no exception for it.
  if (!existsSync(dir)) return [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const last = listings.get(dir);
  if (last && last.names.length === names.length && last.names.every((n, i) => n === names[i])) return last.paths;
  const paths = names
    .filter((n) => n.endsWith('.xml'))
    .sort()
    .map((n) => join(dir, n));
  listings.set(dir, { names, paths });
  return paths;
}

function sameSignature(a: Signature, b: Signature): boolean {
  if (a.paths.length !== b.paths.length) return false;
  for (let i = 0; i < a.paths.length; i++) if (a.paths[i] !== b.paths[i]) return false;
  for (let i = 0; i < a.stamps.length; i++) if (a.stamps[i] !== b.stamps[i]) return false;
  return true;
}

export class ProfileCompiler {
  private loaded: Loaded | undefined;
  private readonly listings: Listings = new Map();
  private rollsCache: { mtime: number; size: number; rolls: Roll[] } | undefined;
  constructor(private readonly src: ProfileSources) {}

  /** The recorded site rolls (re-read only when rolls.json's mtime or size changed). */
  rolls(): Roll[] {
    const file = this.src.rollsFile;
    if (!file) return [];
    let st: { mtimeMs: number; size: number } | undefined;
    try {
      st = statSync(file);
    } catch {
      st = undefined;
    }
    if (!st) return [];
    if (this.rollsCache && this.rollsCache.mtime === st.mtimeMs && this.rollsCache.size === st.size) return this.rollsCache.rolls;
    const rolls = readRolls(file);
    this.rollsCache = { mtime: st.mtimeMs, size: st.size, rolls };
    return rolls;
  }

  private files(): { roles: string[]; site: string[]; graph: string[] } {
    const rolls = (() => {
      try {
        return readdirSync(this.src.rolesDir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
          .sort();
      } catch {
        return [];
      }
    })();
    const site = this.rolls();
    return {
      roles: [
        ...rolls.flatMap((r) => listXml(join(this.src.rolesDir, r), this.listings)),
        ...site.flatMap((r) => listXml(join(r.dir, 'nodes'), this.listings)),
      ],
      site: this.src.siteDir ? listXml(this.src.siteDir, this.listings) : [],
      graph: [
        ...listXml(join(this.src.graphsDir, this.src.graph), this.listings),
        ...site.flatMap((r) => listXml(join(r.dir, 'graphs', this.src.graph), this.listings)),
      ],
    };
  }

  private signature(f: { roles: string[]; site: string[]; graph: string[] }): Signature {
    const paths = [...f.roles, ...f.site, ...f.graph];
    const stamps = new Float64Array(paths.length * 2);
    for (let i = 0; i < paths.length; i++) {
      try {
        const s = statSync(paths[i]!);
        stamps[2 * i] = s.mtimeMs;
        stamps[2 * i + 1] = s.size;
      } catch {
        stamps[2 * i] = -1;
        stamps[2 * i + 1] = -1;
      }
    }
    return { paths, stamps };
  }

  private parseAll(): Loaded {
    const f = this.files();
    const signature = this.signature(f);
    if (this.loaded && sameSignature(this.loaded.signature, signature)) return this.loaded;
    const global: NetrootError[] = [];
    const byNode = new Map<string, NetrootError[]>();
    const ignored: Ignored[] = [];
    const max = this.src.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const read = (p: string, problems: NetrootError[]) => {
      try {
        return parseXml(readFileSync(p, 'utf8'), p, max);
      } catch (e) {
        // Unreadable files (EACCES, a directory named *.xml) are reported like bad ones, never thrown.
        problems.push(isNetrootError(e) ? e : new UserError('E_XML_READ', `cannot read: ${(e as Error).message}`, { where: p }));
        return null;
      }
    };
    const problemsOf = (name: string) => byNode.get(name) ?? byNode.set(name, []).get(name)!;
    const nodes = new Map<string, NodeFile>();
    if (f.roles.length === 0)
      global.push(
        new UserError('E_ROLES_MISSING', `no node files in ${this.src.rolesDir}/<roll>/*.xml${this.src.rollsFile ? " nor in a site roll's nodes/" : ''}`),
      );
    const paths = new Map<string, string>();
    const dupWarnings: NetrootError[] = [];
    for (const p of f.roles) {
      const name = basename(p, '.xml');
      const problems = problemsOf(name);
      if (paths.has(name)) {
        // Rolls often carry the same node file (Rocks' base and core both ship client.xml): the
        // same bytes are one node; different ones are a conflict netroot will not settle.
        if (sameBytes(p, paths.get(name)!, max)) {
          dupWarnings.push(new UserError('W_NODE_DUPLICATE', `node ${name} is also ${paths.get(name)!}, with the same content: one node`, { where: p }));
          continue;
        }
        problems.push(new UserError('E_NODE_DUPLICATE', `node ${name} is defined twice with different content (also ${paths.get(name)!})`, { where: p }));
      }
      paths.set(name, p);
      const x = read(p, problems);
      if (!x) continue;
      nodes.set(name, nodeFromXml(name, p, x, problems, ignored));
    }
    for (const p of f.site) {
      const m = /^(extend|replace)-(.+)\.xml$/.exec(basename(p));
      if (!m) {
        global.push(new UserError('E_SITE_FILE', `site files are extend-<node>.xml or replace-<node>.xml: ${basename(p)} would be ignored`, { where: p }));
        continue;
      }
      const problems = problemsOf(m[2]!);
      const x = read(p, problems);
      if (!x) continue;
      const node = nodeFromXml(m[2]!, p, x, problems, ignored);
      const base = nodes.get(m[2]!);
      if (m[1] === 'extend' && !base && !paths.has(m[2]!))
        problems.push(new UserError('E_NODE_MISSING', `extends node ${m[2]}, which has no node file (roles/*/${m[2]}.xml)`, { where: p }));
      if (m[1] === 'replace' || !base) nodes.set(m[2]!, node);
      else nodes.set(m[2]!, { ...base, items: [...base.items, ...node.items.map((it) => ({ ...it, file: p }))] });
      // A replace- file stands for the shipped one: the shipped file's problems no longer matter.
      if (m[1] === 'replace')
        byNode.set(
          m[2]!,
          problems.filter((e) => (e.where ?? '').startsWith(p)),
        );
    }
    const graph: Graph = { edges: [], orders: [] };
    if (f.graph.length === 0)
      global.push(
        new UserError(
          'E_GRAPH_MISSING',
          `no graph files in ${join(this.src.graphsDir, this.src.graph)}${this.src.rollsFile ? ` nor in a site roll's graphs/${this.src.graph}/` : ''}`,
        ),
      );
    for (const p of f.graph) {
      const x = read(p, global);
      if (x) graphFromXml(p, x, graph, global);
    }
    const warnings: NetrootError[] = [...dupWarnings];
    const known = (n: string) => nodes.has(n) || byNode.has(n);
    const warned = new Set<string>();
    for (const o of graph.orders) {
      for (const n of [o.head, o.tail]) {
        if (n === 'HEAD' || n === 'TAIL' || known(n) || warned.has(`${n} ${o.where}`)) continue;
        warned.add(`${n} ${o.where}`);
        // Rocks orders every name, file or not; netroot too: only a warning (a likely typo).
        warnings.push(new UserError('E_GRAPH_UNKNOWN_NODE', `order ${o.head} → ${o.tail}: node ${n} has no node file`, { where: o.where }));
      }
    }
    let orderAll: Loaded['orderAll'];
    try {
      const all = orderList(graph, undefined);
      if (graph.orders.every((o) => noFilters(o.filters))) orderAll = all;
    } catch (e) {
      global.push(e as NetrootError);
    }
    const byTag = new Map<string, Ignored[]>();
    for (const i of ignored) (byTag.get(i.tag) ?? byTag.set(i.tag, []).get(i.tag)!).push(i);
    for (const [tag, uses] of byTag) {
      const what = tag.startsWith('main/') ? `<main><${tag.slice(5)}> is not a RHEL 8/9 kickstart command` : `<${tag}> is a Rocks tag netroot does not act on`;
      warnings.push(
        new UserError('W_IGNORED_TAG', `ignored: ${what} (${uses.length} use${uses.length === 1 ? '' : 's'}; first here)`, { where: uses[0]!.where }),
      );
    }
    for (const [n, l] of byNode) if (l.length === 0) byNode.delete(n);
    this.loaded = { signature, nodes, graph, global, byNode, warnings, byFrom: edgesByFrom(graph), orderAll };
    return this.loaded;
  }

  /** Problems an appliance rooted at `root` runs into, following every edge (any host) or the host's. */
  private reachProblems(l: Loaded, root: string, attrs: Attributes | undefined, t: Traversal = traverseGraph(l.graph, root, attrs, l.byFrom)): NetrootError[] {
    if (!l.nodes.has(root) && !l.byNode.has(root)) return [new UserError('E_NODE_MISSING', `root node ${root} has no node file (roles/*/${root}.xml)`)];
    const kept = new Set(t.nodes);
    const out: NetrootError[] = [];
    for (const n of t.reached) {
      // A node its edge's cond drops is never read (Rocks does not parse it either).
      if (!kept.has(n)) continue;
      const own = l.byNode.get(n);
      if (own) out.push(...own);
      else if (!l.nodes.has(n)) {
        const e = l.graph.edges.find((x) => x.to === n);
        out.push(new UserError('E_GRAPH_UNKNOWN_NODE', `edge ${e?.from ?? '?'} → ${n}: node ${n} has no node file (roles/*/${n}.xml)`, { where: e?.where }));
      }
    }
    return out;
  }

  /** Parses (or reuses the cache); throws the problems that break every appliance. */
  load(): void {
    const l = this.parseAll();
    if (l.global.length > 0) throw new MultiError('E_PROFILE_INVALID', `${l.global.length} problem(s) in the roles and graph`, l.global);
  }

  /**
   * Every problem, sorted out: global ones, per appliance (what its traversal can reach with any
   * host's attributes: every edge followed), node files no appliance reaches, and warnings. An
   * edge to a missing node file is an error only for the appliances that reach it; unreached, it
   * is a warning.
   */
  report(appliances: ReadonlyArray<{ name: string; rootNode: string }>): ProfileReport {
    const l = this.parseAll();
    const perAppliance = new Map<string, NetrootError[]>();
    const reached = new Set<NetrootError>();
    const reachedNodes = new Set<string>();
    for (const a of appliances) {
      const p = this.reachProblems(l, a.rootNode, undefined);
      perAppliance.set(a.name, p);
      for (const e of p) reached.add(e);
      if (l.nodes.has(a.rootNode) || l.byNode.has(a.rootNode))
        for (const n of traverseGraph(l.graph, a.rootNode, undefined, l.byFrom).reached) reachedNodes.add(n);
    }
    const unreached = [...l.byNode.entries()].filter(([n]) => !reachedNodes.has(n)).flatMap(([, p]) => p);
    const warnings = [...l.warnings];
    const seen = new Set<string>();
    for (const e of l.graph.edges) {
      for (const n of [e.from, e.to]) {
        if (l.nodes.has(n) || l.byNode.has(n) || reachedNodes.has(n) || seen.has(`${n} ${e.where}`)) continue;
        seen.add(`${n} ${e.where}`);
        warnings.push(
          new UserError('E_GRAPH_UNKNOWN_NODE', `edge ${e.from} → ${e.to}: node ${n} has no node file (roles/*/${n}.xml); no appliance reaches it`, {
            where: e.where,
          }),
        );
      }
    }
    return { global: [...l.global], appliances: perAppliance, unreached, warnings };
  }

  /** Names of every node file (shipped and site), even when other files have problems. */
  nodeNames(): string[] {
    const l = this.parseAll();
    return [...new Set([...l.nodes.keys(), ...l.byNode.keys()])].sort(byCodePoint);
  }

  /** Every error (global and every node file's), whatever reaches it; warnings are in report(). */
  check(): NetrootError[] {
    const l = this.parseAll();
    return [...l.global, ...[...l.byNode.values()].flat()];
  }

  /** Warnings only (see report()). */
  warnings(): NetrootError[] {
    return this.report([]).warnings;
  }

  /**
   * The host's node order. Throws every problem this host's traversal reaches (global ones, its
   * node files', missing node files): a broken file elsewhere never blocks it.
   */
  traverse(rootNode: string, attrs: Attributes): string[] {
    this.load();
    const l = this.loaded!;
    if (!l.nodes.has(rootNode) && !l.byNode.has(rootNode))
      throw new UserError('E_NODE_MISSING', `root node ${rootNode} has no node file (roles/*/${rootNode}.xml)`);
    // One traversal serves both the problems it reaches and the order.
    const t = traverseGraph(l.graph, rootNode, attrs, l.byFrom);
    const problems = this.reachProblems(l, rootNode, attrs, t);
    if (problems.length > 0) throw new MultiError('E_PROFILE_INVALID', `${problems.length} problem(s) in the roles and graph`, problems);
    return orderNodesBy(l.orderAll ?? orderList(l.graph, attrs), t.nodes);
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
      // Sorted by name (ignoring the @ of groups, the @^ of environments and the - of removals), by code unit: LANG-independent.
      packages: [...s.packages]
        .map((p) => ({ p, key: p.charCodeAt(0) === 0x2d || p.charCodeAt(0) === 0x40 || p.charCodeAt(0) === 0x5e ? p.replace(/^-?@?\^?/, '') : p }))
        .sort((a, b) => byCodePoint(a.key, b.key) || byCodePoint(a.p, b.p))
        .map((x) => x.p),
      pre: s.pre,
      post: s.post,
    });
  }

  /**
   * The host's <firstboot> sections (issue #20) as one POSIX shell script body, in node order (the
   * same traversal and filters as the kickstart): each block runs in a subshell, or through its
   * `interpreter` with the block on standard input; a failing block is reported and the next runs.
   * Empty when no traversed node has one.
   */
  firstboot(rootNode: string, attrs: Attributes): string {
    const order = this.traverse(rootNode, attrs);
    const l = this.loaded!;
    const s: Sections = { main: [], packages: new Set(), pre: [], post: [], firstboot: [] };
    const opts = { allowEval: this.src.allowEval ?? false, includeDir: this.src.includeDir ?? join(this.src.rolesDir, '..', 'include') };
    // Only the <firstboot> blocks and the file's top-level <var>s: nothing of the kickstart is
    // rendered (no <eval> runs, no install-time attribute such as install_token is needed).
    for (const n of order) {
      const node = l.nodes.get(n)!;
      renderNode({ ...node, items: node.items.filter((it) => it.kind === 'var' || (it.kind === 'script' && it.section === 'firstboot')) }, attrs, s, opts);
    }
    return (s.firstboot ?? [])
      .filter((b) => b.body.trim() !== '')
      .map((b) => {
        const what = `netroot-firstboot: node ${b.node}`;
        if (b.interpreter === undefined) return `# node: ${b.node}\n(\n${b.body}\n) || echo "${what} failed (status $?)"\n`;
        // The block is the interpreter's standard input: a quoted here-document (no expansion).
        if (/^NETROOT_FIRSTBOOT_EOF$/m.test(b.body))
          throw new UserError('E_XML_FIRSTBOOT', `<firstboot> of node ${b.node} contains the line NETROOT_FIRSTBOOT_EOF, which would end it early`);
        if (!/^[A-Za-z0-9_./+-]+$/.test(b.interpreter))
          throw new UserError('E_XML_FIRSTBOOT', `<firstboot interpreter> of node ${b.node} must be one path (letters, digits, . _ / + -)`);
        return `# node: ${b.node}\n${b.interpreter} <<'NETROOT_FIRSTBOOT_EOF' || echo "${what} failed (status $?)"\n${b.body}\nNETROOT_FIRSTBOOT_EOF\n`;
      })
      .join('\n');
  }

  dot(rootNode?: string): string {
    this.load();
    const l = this.loaded!;
    let edges = l.graph.edges;
    if (rootNode) {
      const reach = new Set(traverseGraph(l.graph, rootNode, undefined, l.byFrom).reached);
      edges = edges.filter((e) => reach.has(e.from));
    }
    const q = (s: string) => JSON.stringify(s);
    const lines = ['digraph netroot {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
    for (const e of edges)
      lines.push(
        `  ${q(e.from)} -> ${q(e.to)}${e.filters.cond || e.filters.arch || e.filters.os ? ` [label=${q([e.filters.arch, e.filters.os, e.filters.cond].filter(Boolean).join(' '))}, style=dashed]` : ''};`,
      );
    for (const o of l.graph.orders)
      if (!rootNode || edges.some((e) => e.from === o.head || e.to === o.head))
        lines.push(`  ${q(o.head)} -> ${q(o.tail)} [color=gray, constraint=false, label="order"];`);
    lines.push('}');
    return lines.join('\n') + '\n';
  }
}
