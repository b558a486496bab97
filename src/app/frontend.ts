// Composition root: createFrontend(config, deps) wires the services; start() opens sockets,
// stop() closes them. Constructors open nothing, so a frontend can be built in tests and thrown
// away. Each service a later issue adds (DHCP, TFTP, XML-RPC, iSCSI) is started here in order and
// stopped in reverse; a start() that fails closes what it had opened, in reverse, then rejects.
import { powerDrivers } from './power.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { storeFromConfig, whenReady, type Store } from '../store/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import { KickstartService, DEFAULT_ATTRIBUTES, frontendFacts } from '../boot/kickstart.js';
import { Booter } from '../boot/booter.js';
import { InstallTokens } from '../boot/install-tokens.js';
import { DisklessRegenerator } from '../boot/diskless.js';
import { OverlayRenderer } from '../initrd/index.js';
import { RpcDispatcher } from '../rpc/index.js';
import { registerNetrootMethods } from './netroot-methods.js';
import { rpcRoute } from '../http/rpc-route.js';
import { bootRoutes } from '../http/boot-routes.js';
import { syncRoutes } from '../http/sync-routes.js';
import { CurrentPayload, nodeBySecret, SyncKeys } from '../sync/index.js';
import { restApi } from '../http/api.js';
import { checkApplianceGraph } from '../boot/appliance-check.js';
import { DiscoveryEngine } from '../discovery/engine.js';
import { DiscoveryHub } from '../discovery/hub.js';
import { loadPluginsFrom, type Plugin } from '../discovery/plugin.js';
import { builtinPlugins } from '../discovery/plugins/index.js';
import { ensureApiToken } from './api-token.js';
import { join } from 'node:path';
import { DhcpServer, RaResponder, type Icmp6Io } from '../dhcp/index.js';
import { dhcpDecider } from './dhcp-decider.js';
import { netmaskOf } from '../net/address.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { NetrootError } from '../errors.js';
import { buildStorage, type StorageSetup } from './storage.js';
import { reconcileStorage } from '../discovery/plugins/iscsi-allocation.js';
import { TftpServer } from '../tftp/index.js';
import { tftpResolver } from './tftp-resolver.js';
import { whoIs } from './who-is.js';
import { logSettings } from './log-settings.js';
import { Registry } from 'prom-client';
import { registerServiceMetrics, registerProcessMetrics, readiness } from './metrics.js';
import { staticRoutes } from '../http/static-routes.js';
import { graphDrawer } from './graph-svg.js';

export interface FrontendDeps {
  store?: Store;
  logger?: Logger;
  /** Raw ICMPv6 I/O for the router-advertisement responder (tests); default native/icmp6. */
  icmp6?: Icmp6Io;
  /**
   * This server's id in the store's `servers` table (`netroot serve` passes its heartbeat's): the
   * plugins name it in the claims they take, so another server can reclaim them once it is stale.
   */
  serverId?: string;
}

export interface Frontend {
  readonly config: Config;
  readonly store: Store;
  readonly http: HttpApp;
  readonly booter: Booter;
  readonly engine: DiscoveryEngine;
  readonly hub: DiscoveryHub;
  readonly rpc: RpcDispatcher;
  /** Storage nodes (the local embedded target + storage.nodes); the target listens after start(). */
  readonly storage: StorageSetup;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound HTTP port (differs from config when it asked for 0). */
  httpPort(): number;
  /** The TFTP server once started (tftp.enabled), for its port and metrics. */
  tftp(): TftpServer | undefined;
  /** The router-advertisement responder once started (dhcp.routerAdvertisement with DHCP on). */
  routerAdvertiser(): RaResponder | undefined;
}

function listen(server: Server, port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const hint = e.code === 'EACCES' ? ' (ports below 1024 need root; set another port)' : e.code === 'EADDRINUSE' ? ' (something else listens there)' : '';
      reject(new NetrootError('E_LISTEN', `${what}: cannot listen on ${host}:${port}: ${e.code ?? e.message}${hint}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export function createFrontend(config: Config, deps: FrontendDeps = {}): Frontend {
  const logger = deps.logger ?? createLogger(logSettings(config));
  const ownStore = deps.store === undefined;
  // Opening the database file is not a socket: it happens here, so every service shares one store.
  // A PostgreSQL store (store.url) connects in start(), first: unreachable, nothing else opens.
  const store: Store = deps.store ?? storeFromConfig(config);
  const kickstarts = new KickstartService(store, config);
  const booter = new Booter(store, config, kickstarts);
  const tokens = new InstallTokens(store);
  const storage = buildStorage(config, logger, { identify: whoIs(store) });
  const regenerator = new DisklessRegenerator(store, config, kickstarts, new OverlayRenderer());
  // A golden clone boots its OS at once (issue #20): 90-boot-action asks the regenerator.
  const plugins: Plugin[] = builtinPlugins({ storageNodes: storage.nodes, bootClone: (h) => regenerator.bootClone(h.name) });
  const engine = new DiscoveryEngine(store, config, plugins, logger.child({ svc: 'insert-ethers' }), undefined, deps.serverId);
  const hub = new DiscoveryHub(store, engine, logger.child({ svc: 'discovery' }));
  const syncKeys = new SyncKeys(config.stateDir);
  const rpc = new RpcDispatcher({ logger: logger.child({ svc: 'rpc' }), identify: whoIs(store) });
  registerNetrootMethods(rpc, {
    store,
    tokens,
    regenerator,
    changed: () => hub.changed(),
    setFacts: (host, attributes) => engine.setFacts(host, attributes, 'node'),
    nodeBySecret: async (from, secret) => {
      const auth = await nodeBySecret(store, syncKeys, from, secret);
      return auth.ok ? auth.host : null;
    },
  });
  let http: HttpApp | undefined;
  let server: Server | undefined;
  let dhcp: DhcpServer | undefined;
  let tftp: TftpServer | undefined;
  let ra: RaResponder | undefined;
  // What start() opened, in order. stop() and a failed start() close it in reverse (DESIGN: every
  // service start() opens registers its own stop; a failed start unwinds and the process exits
  // non-zero — an iSCSI portal left listening would keep a failed `netroot serve` alive forever).
  const opened: Array<{ name: string; stop: () => Promise<void> }> = [];
  // /metrics and /readyz (issue #15): one registry per frontend; each enabled service and whether it listens.
  const registry = new Registry();
  const listening = (): Record<string, boolean> => ({
    http: server?.listening ?? false,
    ...(storage.target ? { iscsi: storage.target.listening } : {}),
    ...(config.tftp.enabled ? { tftp: tftp?.listening ?? false } : {}),
    ...(config.dhcp.interfaces.length > 0 ? { dhcp: opened.some((o) => o.name === 'dhcp') } : {}),
  });
  registerProcessMetrics(registry);
  registerServiceMetrics(registry, {
    listening,
    hub,
    hosts: engine,
    iscsi: storage.target,
    ...(config.tftp.enabled ? { tftp: () => tftp } : {}),
    ...(config.dhcp.interfaces.length > 0 ? { dhcp: () => dhcp } : {}),
  });
  /** Stops everything opened, newest first; every stop runs even if one fails; the first error is returned. */
  const closeOpened = async (): Promise<unknown> => {
    let first: unknown;
    for (let o = opened.pop(); o; o = opened.pop()) {
      try {
        await o.stop();
      } catch (e) {
        logger.error('stop failed', { svc: o.name, error: e });
        first ??= e;
      }
    }
    return first;
  };
  const unwindOnFailure = async (open: () => Promise<void>): Promise<void> => {
    try {
      await open();
    } catch (e) {
      await closeOpened();
      // A server constructed but never listening is not running either.
      server = undefined;
      tftp = undefined;
      dhcp = undefined;
      ra = undefined;
      throw e;
    }
  };

  const f: Frontend = {
    config,
    store,
    booter,
    engine,
    hub,
    rpc,
    storage,
    get http() {
      http ??= createHttpApp({
        repos: store,
        kickstarts,
        tokens,
        logger: logger.child({ svc: 'http' }),
        maxInFlight: config.http.maxInFlight,
        retryAfterSeconds: config.http.retryAfterSeconds,
        limits: config.http,
        routers: [
          bootRoutes(store, booter, config.tftp.root, config.stateDir, logger.child({ svc: 'http' }), (h, r) => regenerator.ensureOverlay(h, r)),
          restApi({
            store,
            engine,
            hub,
            storage,
            kickstarts,
            token: ensureApiToken(config),
            logger: logger.child({ svc: 'storage' }),
            limits: config.http,
            facts: frontendFacts(config),
            defaultAttributes: DEFAULT_ATTRIBUTES,
            defaultGraph: config.profile.graph,
            checkGraph: (g, n) => checkApplianceGraph(config, g, n),
            powerDrivers: powerDrivers(config),
            bootSpec: (h) => booter.specForHost(h),
            drawGraph: graphDrawer(config, store),
          }).router,
          staticRoutes(),
          syncRoutes({
            repos: store,
            keys: syncKeys,
            current: new CurrentPayload(config.stateDir, config.sync.maxPayloadBytes),
            requestsPerMinute: config.http.syncRequestsPerMinute,
            logger: logger.child({ svc: 'sync' }),
          }),
          rpcRoute(rpc, config.http),
        ],
        registry,
        readiness: () => readiness(listening, store),
      });
      return http;
    },
    start: () =>
      unwindOnFailure(async () => {
        await whenReady(store);
        plugins.push(...(await loadPluginsFrom(join(config.stateDir, 'plugins'))));
        plugins.sort((a, b) => a.name.localeCompare(b.name));
        // The iSCSI target first, then every export the database records (a restart brings every
        // node's target back before DHCP can boot it).
        await storage.start();
        opened.push({ name: 'storage', stop: () => storage.stop() });
        await reconcileStorage(store, storage.nodes, logger.child({ svc: 'storage' }));
        server = createServer(f.http.app);
        f.http.applyServerLimits(server); // keep-alive, headers and request deadlines (http.*)
        await listen(server, config.http.port, config.http.host, 'http');
        const httpServer = server;
        opened.push({
          name: 'http',
          stop: async () => {
            await new Promise<void>((resolve) => {
              httpServer.close(() => resolve());
              httpServer.closeAllConnections();
            });
            server = undefined;
          },
        });
        logger.info('http listening', { host: config.http.host, port: f.httpPort() });
        if (config.tftp.enabled) {
          const t = config.tftp;
          tftp = new TftpServer({
            host: t.host,
            port: t.port,
            resolver: tftpResolver(store, booter, t.root),
            identify: whoIs(store),
            logger: logger.child({ svc: 'tftp' }),
            maxTransfers: t.maxTransfers,
            maxTransfersPerClient: t.maxTransfersPerClient,
            maxWindowBytes: t.maxWindowBytes,
            maxBufferedBytes: t.maxBufferedBytes,
            maxTimeoutS: t.maxTimeoutSeconds,
          });
          await tftp.start();
          const tftpServer = tftp;
          opened.push({
            name: 'tftp',
            stop: async () => {
              await tftpServer.stop();
              tftp = undefined;
            },
          });
        }
        if (config.dhcp.interfaces.length > 0) {
          const d = config.dhcp;
          const poolOn = d.poolStart !== '' && d.poolEnd !== '';
          dhcp = new DhcpServer({
            interfaces: [...d.interfaces],
            serverIp: config.network.frontendAddress,
            port: d.port,
            decider: dhcpDecider(booter),
            onDiscovery: (e) => hub.report({ mac: e.mac, arch: e.arch, vendorClass: e.vendorClass, interfaceName: e.interfaceName, giaddr: e.giaddr }),
            pool: poolOn
              ? {
                  start: d.poolStart,
                  end: d.poolEnd,
                  leaseSeconds: d.poolLeaseSeconds,
                  subnetMask: netmaskOf(config.network.privateNetwork),
                  router: config.network.router ?? null,
                  dns: [...config.network.dns],
                }
              : undefined,
            leaseFile: join(config.stateDir, 'dhcp-leases'),
            ipxeNoProxyDhcp: d.ipxeNoProxyDhcp,
            logger: logger.child({ svc: 'dhcp' }),
          });
          await dhcp.start();
          hub.setFeeders(d.interfaces);
          const dhcpServer = dhcp;
          opened.push({
            name: 'dhcp',
            stop: async () => {
              hub.setFeeders([]);
              await dhcpServer.stop();
              dhcp = undefined;
            },
          });
          // Issue #23: answer IPv6 router solicitations on the same interfaces, so iPXE's IPv6
          // configurator ends at once instead of holding every boot for ~16 s. After DHCP, so it
          // stops first.
          if (d.routerAdvertisement) {
            const responder = new RaResponder({
              interfaces: [...d.interfaces],
              maxPerSourcePerMinute: d.raMaxPerSourcePerMinute,
              maxPerSecond: d.raMaxPerSecond,
              logger: logger.child({ svc: 'ra' }),
              ...(deps.icmp6 ? { io: deps.icmp6 } : {}),
            });
            if (responder.start()) {
              ra = responder;
              opened.push({
                name: 'ra',
                stop: async () => {
                  await responder.stop();
                  ra = undefined;
                },
              });
            }
          }
        }
        // Several servers (issue #21): every heartbeat period, finish the adds of servers that died
        // mid-way (HostService.resumeAbandoned; one sweep at a time). Only a server has an id.
        if (deps.serverId) {
          const log = logger.child({ svc: 'insert-ethers' });
          let sweeping: Promise<unknown> | undefined;
          const timer = setInterval(() => {
            sweeping ??= engine
              .resumeAbandoned()
              .then(({ resumed }) => {
                if (resumed.length > 0) hub.changed();
              })
              .catch((e: unknown) => log.warn('resuming abandoned adds failed', { error: e }))
              .finally(() => (sweeping = undefined));
          }, config.servers.heartbeatSeconds * 1000);
          timer.unref();
          opened.push({
            name: 'resume-adds',
            stop: async () => {
              clearInterval(timer);
              await sweeping;
            },
          });
        }
      }),
    async stop() {
      const failed = await closeOpened();
      if (ownStore) await store.close();
      if (failed !== undefined) throw failed;
    },
    tftp: () => tftp,
    routerAdvertiser: () => ra,
    httpPort() {
      return (server?.address() as AddressInfo | null)?.port ?? config.http.port;
    },
  };
  return f;
}
