// What an appliance must satisfy before it is stored (`netroot appliance add` and the REST API's
// POST/PATCH /api/v1/appliances share it): its root node has a node file in the graph's roles (or
// a site replace-/extend- file) and its graph exists, or no host of it could ever get a kickstart.
// Refused now, naming the field, rather than at a node's install.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProfileCompiler, rollsFile } from '../profile/index.js';
import type { Config } from '../config/index.js';
import { UserError } from '../errors.js';

/** Throws E_NODE_MISSING (where: root-node) or E_GRAPH_MISSING (where: graph). */
export function checkApplianceGraph(config: Config, graph: string, rootNode: string): void {
  const prof = config.profile;
  const compiler = new ProfileCompiler({
    rolesDir: prof.rolesDir,
    graphsDir: prof.graphsDir,
    graph,
    siteDir: prof.siteDir,
    rollsFile: rollsFile(config.stateDir),
  });
  if (!compiler.nodeNames().includes(rootNode))
    throw new UserError('E_NODE_MISSING', `root node ${JSON.stringify(rootNode)} has no node file (roles/*/${rootNode}.xml or a site replace-/extend- file)`, {
      where: 'root-node',
    });
  if (!existsSync(join(prof.graphsDir, graph)) && !compiler.rolls().some((r) => existsSync(join(r.dir, 'graphs', graph))))
    throw new UserError('E_GRAPH_MISSING', `no graph ${JSON.stringify(graph)} in ${prof.graphsDir}`, { where: 'graph' });
}
