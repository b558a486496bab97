// Host → kickstart: resolves the host's attributes from the store and renders its appliance's
// graph from the root node. One ProfileCompiler per graph, parsed once and reused (it reloads
// only files whose mtime changed), so a request costs a traversal and a render, not a parse.
import type { Config } from '../config/index.js';
import { ProfileCompiler, DEFAULT_GLOBAL_ATTRIBUTES, rollsFile } from '../profile/index.js';
import { resolveAttributes, attributeMap, type FrontendFacts, type Host, type Repos } from '../store/index.js';
import { UserError } from '../errors.js';
import { ImageRegistry } from '../image/index.js';
import { imageBootFiles, OS_IMAGE_ATTRIBUTE } from './os-image.js';
import { SyncKeys } from '../sync/index.js';

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
  readonly images: ImageRegistry;
  private readonly syncKeys: SyncKeys;

  constructor(
    private readonly repos: Repos,
    private readonly config: Config,
  ) {
    this.images = new ImageRegistry(config.tftp.root);
    this.syncKeys = new SyncKeys(config.stateDir);
  }

  /**
   * What the sync-client role (roles/sync) writes into the node: the frontend's public key, the
   * range and the poll interval, and — only in the node's own kickstart — its fetch secret
   * (src/sync/keys.ts nodeSecret; a preview shows a placeholder, like install_token). A preview
   * creates no key: before the first live kickstart or `sync users` it shows a placeholder key too.
   */
  private syncAttributes(host: Host, live: boolean): Record<string, string> {
    const s = this.config.sync;
    return {
      sync_secret: live ? this.syncKeys.nodeSecret(host.name) : 'PREVIEW-sync-secret-is-sent-only-to-the-node',
      sync_public_key: live ? this.syncKeys.publicKeySpki() : (this.syncKeys.existingPublicKeySpki() ?? 'PREVIEW-no-sync-key-yet'),
      sync_min_uid: String(s.minUid),
      sync_max_uid: String(s.maxUid),
      sync_max_bytes: String(s.maxPayloadBytes),
      sync_poll_seconds: String(s.pollSeconds),
    };
  }

  /** The graph's compiler, loaded (throws what breaks every appliance). */
  compiler(graph: string): ProfileCompiler {
    const c = this.cached(graph);
    c.load();
    return c;
  }

  private cached(graph: string): ProfileCompiler {
    let c = this.compilers.get(graph);
    if (!c) {
      const p = this.config.profile;
      c = new ProfileCompiler({
        rolesDir: p.rolesDir,
        graphsDir: p.graphsDir,
        graph,
        siteDir: p.siteDir,
        includeDir: p.includeDir,
        allowEval: p.allowEval,
        rollsFile: rollsFile(this.config.stateDir),
      });
      this.compilers.set(graph, c);
    }
    return c;
  }

  /** The host's attributes as stored and resolved, with nothing derived from its OS image. */
  async storedAttributesOf(host: Host): Promise<Record<string, string>> {
    return attributeMap(await resolveAttributes(this.repos, host, frontendFacts(this.config), DEFAULT_ATTRIBUTES));
  }

  /**
   * The host's attributes; with `os_image` set, Kickstart_LiveImage is that image's root tarball
   * (the image decides what is installed) and a missing or incomplete image is an error
   * (E_IMAGE_NOT_FOUND / E_IMAGE_INCOMPLETE) rather than a kickstart that installs something else.
   */
  async attributesOf(host: Host): Promise<Record<string, string>> {
    const a = await this.storedAttributesOf(host);
    const name = a[OS_IMAGE_ATTRIBUTE];
    if (name) {
      const files = await imageBootFiles(this.images, name);
      a['Kickstart_LiveImage'] = `http://${this.config.network.frontendAddress}:${this.config.http.port}/boot/files/${files.rootTarball}`;
      a['os_image_kernel_version'] = files.manifest.kernelVersion;
      a['os_image_distribution'] = files.manifest.distribution;
    }
    return a;
  }

  /**
   * The host's <firstboot> sections as one shell body (issue #20: what a golden clone runs once).
   * It goes only into the host's own initrd overlay (which already carries its CHAP secret), so it
   * gets the host's own sync attributes, secret included: a clone carries its origin's sync.conf,
   * and the sync-client role's <firstboot> puts the clone's own secret in it.
   */
  async firstboot(host: Host): Promise<string> {
    const appliance = await this.repos.appliances.get(host.appliance);
    if (!appliance) throw new UserError('E_APPLIANCE_NOT_FOUND', `host ${host.name} has unknown appliance ${host.appliance}`);
    const attrs = await this.attributesOf(host);
    Object.assign(attrs, this.syncAttributes(host, true));
    return this.cached(appliance.graph).firstboot(appliance.rootNode, attrs);
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
    Object.assign(attrs, this.syncAttributes(host, installToken !== undefined));
    // render() loads (checks every file's mtime and size) and throws what compiler() would: once per request.
    return this.cached(appliance.graph).render(appliance.rootNode, attrs);
  }
}
