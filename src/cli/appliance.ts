// `netroot appliance list|add|remove`.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { table, json } from './output.js';
import { UserError } from '../errors.js';
import { validHostname } from '../discovery/host-service.js';
import { checkApplianceGraph } from '../boot/appliance-check.js';

export const USAGE = `netroot appliance list [--json]
       netroot appliance add NAME --root-node NODE [--basename B] [--graph G] [--no-discover]
       netroot appliance remove NAME`;

export async function applianceCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'list': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const list = await ctx.store.appliances.list();
      ctx.io.out(v.json ? json(list) : table(['APPLIANCE', 'BASENAME', 'GRAPH', 'ROOT NODE', 'DISCOVER'], list.map((a) => [a.name, a.basename, a.graph, a.rootNode, a.discoverable ? 'yes' : 'no'])));
      return 0;
    }
    case 'add': {
      const { values: v, positionals: p } = parse(rest, { 'root-node': { type: 'string' }, basename: { type: 'string' }, graph: { type: 'string' }, 'no-discover': { type: 'boolean' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const name = validHostname(p[0]!);
      const rootNode = v['root-node'];
      if (!rootNode) throw new UserError('E_USAGE', `--root-node is required\nusage: ${USAGE}`, { where: 'root-node' });
      const graph = v.graph ?? ctx.config.profile.graph;
      checkApplianceGraph(ctx.config, graph, rootNode);
      const a = await ctx.store.appliances.add({
        name, basename: validHostname(v.basename ?? name), graph, rootNode, discoverable: !v['no-discover'],
      });
      ctx.io.out(v.json ? json(a) : `added appliance ${a.name}\n`);
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
