// `netroot graph check` (every problem at once: errors that break every appliance, errors per
// appliance whose traversal reaches them, errors of files no appliance reaches, warnings; exit 2 if
// any error, 0 with warnings only) and
// `netroot graph draw [--appliance A] [--format dot|svg]` (SVG through Debian graphviz's `dot`).
import { spawnSync } from 'node:child_process';
import type { CliContext } from './context.js';
import { parse, noExtra, badVerb } from './args.js';
import { UserError, type NetrootError } from '../errors.js';
import { ProfileCompiler, rollsFile } from '../profile/index.js';

export const USAGE = `netroot graph check [--graph G] [--json]
       netroot graph draw [--graph G] [--appliance A] [--format dot|svg]`;

function compilerFor(ctx: CliContext, graph: string | undefined): ProfileCompiler {
  const p = ctx.config.profile;
  return new ProfileCompiler({
    rolesDir: p.rolesDir,
    graphsDir: p.graphsDir,
    graph: graph ?? p.graph,
    siteDir: p.siteDir,
    includeDir: p.includeDir,
    allowEval: p.allowEval,
    rollsFile: rollsFile(ctx.config.stateDir),
  });
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
      const graph = v.graph ?? ctx.config.profile.graph;
      const appliances = (await ctx.store.appliances.list()).filter((a) => a.graph === graph);
      const r = compiler.report(appliances.map((a) => ({ name: a.name, rootNode: a.rootNode })));
      // One entry per problem: an error breaks every appliance (global), the appliances whose
      // traversal reaches it, or none (a bad file no appliance uses); a warning breaks nothing.
      type Entry = { severity: 'error' | 'warning'; e: NetrootError; appliances: string[] | 'all' };
      const entries: Entry[] = r.global.map((e) => ({ severity: 'error', e, appliances: 'all' }));
      const byKey = new Map<string, Entry>();
      for (const [name, problems] of r.appliances) {
        for (const e0 of problems) {
          // An appliance whose root node has no node file can never get a kickstart.
          const e = e0.code === 'E_NODE_MISSING' && e0.where === undefined ? new UserError('E_NODE_MISSING', e0.message, { where: `appliance ${name}` }) : e0;
          const key = `${e.code} ${e.where ?? ''} ${e.message}`;
          const seen = byKey.get(key);
          if (seen) (seen.appliances as string[]).push(name);
          else {
            const entry: Entry = { severity: 'error', e, appliances: [name] };
            byKey.set(key, entry);
            entries.push(entry);
          }
        }
      }
      for (const e of r.unreached) entries.push({ severity: 'error', e, appliances: [] });
      for (const e of r.warnings) entries.push({ severity: 'warning', e, appliances: [] });
      const errors = entries.filter((x) => x.severity === 'error').length;
      if (v.json)
        ctx.io.out(
          JSON.stringify(
            entries.map((x) => ({ code: x.e.code, where: x.e.where ?? null, message: x.e.message, severity: x.severity, appliances: x.appliances })),
            null,
            2,
          ) + '\n',
        );
      if (entries.length === 0) {
        if (!v.json) ctx.io.out('graph ok\n');
        return 0;
      }
      if (!v.json) {
        const line = (x: Entry) =>
          x.severity === 'warning'
            ? `  warning: ${x.e.message}`
            : x.appliances === 'all'
              ? `  ${x.e.message}`
              : x.appliances.length === 0
                ? `  ${x.e.message} (no appliance reaches it)`
                : `  broken for appliance ${x.appliances.join(', ')}: ${x.e.message}`;
        const ok = appliances.filter((a) => (r.appliances.get(a.name) ?? []).length === 0 && r.global.length === 0).map((a) => a.name);
        const summary =
          errors === 0 ? 'graph ok' : `${ok.length} of ${appliances.length} appliance(s) without a problem${ok.length > 0 ? ` (${ok.join(', ')})` : ''}`;
        ctx.io.err(
          `netroot: ${entries.length} problem(s) in the graph:\n${entries.map(line).join('\n')}\n${summary}; ${errors} error(s), ${entries.length - errors} warning(s)\n`,
        );
        if (errors === 0) ctx.io.out('graph ok\n');
      }
      return errors > 0 ? 2 : 0;
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
