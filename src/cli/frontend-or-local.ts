// How a CLI command changes hosts: through the running frontend's REST API (its DHCP, iSCSI target
// and plugins are live there), or, when it is not running, with the same host service and plugins
// in this process (built-in plugins + the site plugins of <stateDir>/plugins, as the frontend loads
// them). Offline storage: volumes are created here, their exports come up when the frontend starts
// (it reconciles from the database); remote storage nodes are used directly.
// The first call decides: once the frontend is found down, the rest of the command stays local.
import { join } from 'node:path';
import type { CliContext } from './context.js';
import { ApiClient, FrontendDown } from './api-client.js';
import { DiscoveryEngine } from '../discovery/engine.js';
import { builtinPlugins } from '../discovery/plugins/index.js';
import { loadPluginsFrom } from '../discovery/plugin.js';
import { buildStorage } from '../app/storage.js';
import { DisklessRegenerator } from '../boot/diskless.js';
import { KickstartService } from '../boot/kickstart.js';
import { OverlayRenderer } from '../initrd/index.js';

export class FrontendOrLocal {
  private api: ApiClient | undefined;
  private local: DiscoveryEngine | undefined;
  constructor(private readonly ctx: CliContext) {}

  async run<T>(viaApi: (api: ApiClient) => Promise<T>, inProcess: (engine: DiscoveryEngine) => Promise<T>): Promise<T> {
    if (this.local === undefined) {
      try {
        this.api ??= new ApiClient(this.ctx.config);
        return await viaApi(this.api);
      } catch (e) {
        if (!(e instanceof FrontendDown)) throw e;
        this.local = await this.engine();
      }
    }
    return inProcess(this.local);
  }

  private async engine(): Promise<DiscoveryEngine> {
    const storage = buildStorage(this.ctx.config, this.ctx.logger(), { offline: true });
    const regenerator = new DisklessRegenerator(this.ctx.store, this.ctx.config, new KickstartService(this.ctx.store, this.ctx.config), new OverlayRenderer());
    const bootClone = (h: { name: string }) => regenerator.bootClone(h.name);
    const plugins = [...builtinPlugins({ storageNodes: storage.nodes, bootClone }), ...(await loadPluginsFrom(join(this.ctx.config.stateDir, 'plugins')))];
    plugins.sort((a, b) => a.name.localeCompare(b.name));
    return new DiscoveryEngine(this.ctx.store, this.ctx.config, plugins, this.ctx.logger());
  }
}
