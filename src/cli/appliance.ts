// `netroot appliance list|add|set|remove`.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { table, json } from './output.js';
import { UserError } from '../errors.js';
import { validHostname } from '../validate/hostname.js';
import { checkApplianceGraph } from '../boot/appliance-check.js';
import type { AppliancePatch } from '../store/index.js';

export const USAGE = `netroot appliance list [--json]
       netroot appliance add NAME --root-node NODE [--basename B] [--graph G] [--no-discover]
       netroot appliance set NAME [--basename B] [--graph G] [--root-node NODE] [--discover | --no-discover]
       netroot appliance remove NAME`;

export async function applianceCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'list': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const list = await ctx.store.appliances.list();
      ctx.io.out(
        v.json
          ? json(list)
          : table(
              ['APPLIANCE', 'BASENAME', 'GRAPH', 'ROOT NODE', 'DISCOVER'],
              list.map((a) => [a.name, a.basename, a.graph, a.rootNode, a.discoverable ? 'yes' : 'no']),
            ),
      );
      return 0;
    }
    case 'add': {
      const { values: v, positionals: p } = parse(
        rest,
        { 'root-node': { type: 'string' }, basename: { type: 'string' }, graph: { type: 'string' }, 'no-discover': { type: 'boolean' } },
        USAGE,
      );
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const name = validHostname(p[0]!);
      const rootNode = v['root-node'];
      if (!rootNode) throw new UserError('E_USAGE', `--root-node is required\nusage: ${USAGE}`, { where: 'root-node' });
      const graph = v.graph ?? ctx.config.profile.graph;
      checkApplianceGraph(ctx.config, graph, rootNode);
      const a = await ctx.store.appliances.add({
        name,
        basename: validHostname(v.basename ?? name),
        graph,
        rootNode,
        discoverable: !v['no-discover'],
      });
      ctx.io.out(v.json ? json(a) : `added appliance ${a.name}\n`);
      return 0;
    }
    case 'set': {
      const { values: v, positionals: p } = parse(
        rest,
        {
          'root-node': { type: 'string' },
          basename: { type: 'string' },
          graph: { type: 'string' },
          discover: { type: 'boolean' },
          'no-discover': { type: 'boolean' },
        },
        USAGE,
      );
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      if (v.discover && v['no-discover']) throw new UserError('E_USAGE', `give --discover or --no-discover, not both\nusage: ${USAGE}`);
      const patch: AppliancePatch = {};
      if (v.basename !== undefined) patch.basename = validHostname(v.basename);
      if (v.graph !== undefined) patch.graph = v.graph;
      if (v['root-node'] !== undefined) patch.rootNode = v['root-node'];
      if (v.discover || v['no-discover']) patch.discoverable = v.discover === true;
      if (Object.keys(patch).length === 0)
        throw new UserError('E_USAGE', `nothing to set: give --basename, --graph, --root-node, --discover or --no-discover\nusage: ${USAGE}`);
      const cur = await ctx.store.appliances.get(p[0]!);
      if (!cur) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(p[0])}`, { where: 'appliance' });
      // The appliance as it will be must still compile: its root node in its (maybe new) graph's roles.
      if (patch.graph !== undefined || patch.rootNode !== undefined) checkApplianceGraph(ctx.config, patch.graph ?? cur.graph, patch.rootNode ?? cur.rootNode);
      const a = await ctx.store.appliances.update(cur.name, patch);
      ctx.io.out(v.json ? json(a) : `updated appliance ${a.name}\n`);
      return 0;
    }
    case 'remove': {
      const { positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      await ctx.store.appliances.remove(p[0]!);
      ctx.io.out(`removed appliance ${p[0]}\n`);
      return 0;
    }
    default:
      throw badVerb('appliance', verb, USAGE);
  }
}
