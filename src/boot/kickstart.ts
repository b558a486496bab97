// Host → kickstart: resolves the host's attributes from the store and renders its appliance's
// graph from the root node. One ProfileCompiler per graph, parsed once and reused (it reloads
// only files whose mtime changed), so a request costs a traversal and a render, not a parse.
import type { Config } from '../config/index.js';
import { ProfileCompiler, DEFAULT_GLOBAL_ATTRIBUTES } from '../profile/index.js';
import { resolveAttributes, attributeMap, type FrontendFacts, type Host, type Repos } from '../store/index.js';
import { UserError } from '../errors.js';

export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = DEFAULT_GLOBAL_ATTRIBUTES;

export function frontendFacts(c: Config): FrontendFacts {
  return {
    frontendAddress: c.network.frontendAddress,
    privateNetwork: c.network.privateNetwork,
    domain: c.network.domain,
    httpPort: c.http.port,
    iscsiPort: c.iscsi.port,
  };
}

export class KickstartService {
  private readonly compilers = new Map<string, ProfileCompiler>();

  constructor(
    private readonly repos: Repos,
    private readonly config: Config,
  ) {}

  compiler(graph: string): ProfileCompiler {
    let c = this.compilers.get(graph);
    if (!c) {
      const p = this.config.profile;
      c = new ProfileCompiler({ rolesDir: p.rolesDir, graphsDir: p.graphsDir, graph, siteDir: p.siteDir, includeDir: p.includeDir, allowEval: p.allowEval });
      this.compilers.set(graph, c);
    }
    c.load();
    return c;
  }

  async attributesOf(host: Host): Promise<Record<string, string>> {
    return attributeMap(await resolveAttributes(this.repos, host, frontendFacts(this.config), DEFAULT_ATTRIBUTES));
  }

  /**
   * The host's kickstart. `installToken` is minted by the HTTP route when the node itself fetches
   * it; a preview (`netroot kickstart`) shows a placeholder, so it never invalidates a real one.
   */
  async render(host: Host, installToken?: string): Promise<string> {
    const appliance = await this.repos.appliances.get(host.appliance);
    if (!appliance) throw new UserError('E_APPLIANCE_NOT_FOUND', `host ${host.name} has unknown appliance ${host.appliance}`);
    const attrs = await this.attributesOf(host);
    attrs['install_token'] = installToken ?? 'PREVIEW-token-is-issued-when-the-node-fetches-its-kickstart';
    return this.compiler(appliance.graph).render(appliance.rootNode, attrs);
  }
}
