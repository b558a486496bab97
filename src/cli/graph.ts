// `netroot graph check` (every problem at once, exit 2 if any) and
// `netroot graph draw [--appliance A] [--format dot|svg]` (SVG through Debian graphviz's `dot`).
import { spawnSync } from 'node:child_process';
import type { CliContext } from './context.js';
import { parse, noExtra, badVerb } from './args.js';
import { UserError } from '../errors.js';
import { ProfileCompiler } from '../profile/index.js';

export const USAGE = `netroot graph check [--graph G]
       netroot graph draw [--graph G] [--appliance A] [--format dot|svg]`;

function compilerFor(ctx: CliContext, graph: string | undefined): ProfileCompiler {
  const p = ctx.config.profile;
  return new ProfileCompiler({ rolesDir: p.rolesDir, graphsDir: p.graphsDir, graph: graph ?? p.graph, siteDir: p.siteDir, includeDir: p.includeDir, allowEval: p.allowEval });
}

function haveDot(): boolean {
  const r = spawnSync('dot', ['-V'], { stdio: 'ignore' });
  return r.status === 0;
}

export async function graphCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'check': {
      const { values: v, positionals: p } = parse(rest, { graph: { type: 'string' } }, USAGE);
      noExtra(p, 0, USAGE);
      const compiler = compilerFor(ctx, v.graph);
      const problems = compiler.check();
      // An appliance of this graph whose root node has no node file can never get a kickstart.
      const graph = v.graph ?? ctx.config.profile.graph;
      const names = new Set(compiler.nodeNames());
      for (const a of await ctx.store.appliances.list()) {
        if (a.graph === graph && !names.has(a.rootNode)) problems.push(new UserError('E_NODE_MISSING', `root node ${a.rootNode} has no node file (roles/*/${a.rootNode}.xml)`, { where: `appliance ${a.name}` }));
      }
      if (v.json) ctx.io.out(JSON.stringify(problems.map((e) => ({ code: e.code, where: e.where ?? null, message: e.message })), null, 2) + '\n');
      if (problems.length === 0) {
        if (!v.json) ctx.io.out('graph ok\n');
        return 0;
      }
      if (!v.json) ctx.io.err(`netroot: ${problems.length} problem(s) in the graph:\n${problems.map((e) => `  ${e.message}`).join('\n')}\n`);
      return 2;
    }
    case 'draw': {
      const { values: v, positionals: p } = parse(rest, { graph: { type: 'string' }, appliance: { type: 'string' }, format: { type: 'string' } }, USAGE);
      noExtra(p, 0, USAGE);
      let root: string | undefined;
      if (v.appliance !== undefined) {
        const a = await ctx.store.appliances.get(v.appliance);
        if (!a) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(v.appliance)}`, { where: 'appliance' });
        root = a.rootNode;
      }
      const format = v.format ?? (haveDot() ? 'svg' : 'dot');
      if (format !== 'dot' && format !== 'svg') throw new UserError('E_USAGE', `--format must be dot or svg\nusage: ${USAGE}`);
      const dot = compilerFor(ctx, v.graph).dot(root);
      if (format === 'dot') {
        ctx.io.out(dot);
        return 0;
      }
      if (!haveDot()) throw new UserError('E_NO_GRAPHVIZ', 'SVG output needs graphviz: apt-get install graphviz (or use --format dot)');
      const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`dot failed: ${r.stderr}`);
      ctx.io.out(r.stdout);
      return 0;
    }
    default:
      throw badVerb('graph', verb, USAGE);
  }
}
