// The frontend's storage nodes, built from configuration (storage.*, iscsi.*):
//  - "local" (storage.local, default on): the frontend itself, with netroot's embedded iSCSI
//    target listening on iscsi.host:iscsi.port and volumes under storage.volumesDir; nodes reach
//    it at iscsi.portal (default network.frontendAddress). storage.backend tgt/lio drive a Linux
//    target on this machine instead; rbd keeps the volumes in a Ceph pool (storage.rbd) and exports
//    them through tgtd on this machine.
//  - storage.nodes[]: remote storage nodes running `netroot storage serve` (RemoteBackend).
// Nothing here opens a socket until start(); stop() closes the embedded target.
//
// Offline mode (the CLI when the frontend is not running): the local node's volumes are real
// files, but exports go to a target that serves nothing. The database's host attributes stay the
// truth: the frontend's start() reconciles every export from them.
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { IscsiTarget, LunClone, type IdentifyPeer, type IscsiTargetSettings } from '../iscsi/index.js';
import { EmbeddedBackend, type EmbeddedTargetConfig, type EmbeddedTargetLike } from '../storage/embedded.js';
import { TgtBackend } from '../storage/tgt.js';
import { LioBackend } from '../storage/lio.js';
import { RbdBackend } from '../storage/rbd.js';
import { RemoteBackend } from '../storage/remote.js';
import type { StorageNode } from '../storage/allocation.js';
import type { StorageNodeInfo, StorageView } from '../discovery/storage-report.js';

export const LOCAL_NODE = 'local';

/** The embedded target's settings from iscsi.* (the frontend's local node and `storage serve`). */
export function targetSettings(iscsi: Config['iscsi']): Required<IscsiTargetSettings> {
  return {
    pingIdleMs: iscsi.pingIdleSeconds * 1000,
    pingTimeoutMs: iscsi.pingTimeoutSeconds * 1000,
    maxSessions: iscsi.maxSessions,
    loginTimeoutMs: iscsi.loginTimeoutSeconds * 1000,
    loginIdleMs: iscsi.loginIdleSeconds * 1000,
    maxLoginConnections: iscsi.maxLoginConnections,
    maxLoginConnectionsPerSource: iscsi.maxLoginConnectionsPerSource,
    maxDiscoverySessions: iscsi.maxDiscoverySessions,
    maxDiscoverySessionsPerSource: iscsi.maxDiscoverySessionsPerSource,
    discoveryIdleMs: iscsi.discoveryIdleSeconds * 1000,
    discoveryMaxMs: iscsi.discoveryMaxSeconds * 1000,
  };
}

export interface StorageSetup extends StorageView {
  readonly nodes: readonly StorageNode[];
  readonly info: readonly StorageNodeInfo[];
  /** The embedded target, when the local node uses it. */
  readonly target: IscsiTarget | undefined;
  /** The port the local target listens on (the bound one after start()). */
  iscsiPort(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Accepts target definitions and serves none (offline CLI; see the header). */
class OfflineTarget implements EmbeddedTargetLike {
  addTarget(_t: EmbeddedTargetConfig): void {}
  removeTarget(_iqn: string): void {}
  listTargets(): string[] {
    return [];
  }
}

/** EmbeddedBackend's clone maker: src/iscsi's LunClone.create, closed again (the target opens it at export). */
export async function makeClone(o: { golden: string; delta: string; map: string; sizeBytes: number }): Promise<void> {
  await (await LunClone.create(o)).close();
}

export function buildStorage(config: Config, logger: Logger, opts: { offline?: boolean; identify?: IdentifyPeer } = {}): StorageSetup {
  const s = config.storage;
  const nodes: StorageNode[] = [];
  const info: StorageNodeInfo[] = [];
  const portal = config.iscsi.portal || config.network.frontendAddress;
  const limitBytes = s.localLimitGiB > 0 ? Math.floor((s.localLimitGiB * 2 ** 30) / 512) * 512 : undefined;
  let target: IscsiTarget | undefined;
  const iscsiPort = () => (target && target.port > 0 ? target.port : config.iscsi.port);

  if (s.local && config.iscsi.enabled) {
    const log = logger.child({ svc: 'storage', node: LOCAL_NODE });
    let backend;
    if (s.backend === 'embedded') {
      let t: EmbeddedTargetLike;
      if (opts.offline) t = new OfflineTarget();
      else
        t = target = new IscsiTarget({
          host: config.iscsi.host,
          port: config.iscsi.port,
          ...targetSettings(config.iscsi),
          logger: logger.child({ svc: 'iscsi' }),
          ...(opts.identify ? { identify: opts.identify } : {}),
        });
      backend = new EmbeddedBackend({
        target: t,
        volumesDir: s.volumesDir,
        limitBytes,
        portal,
        port: iscsiPort,
        logger: log,
        makeClone,
        flattenClone: (o) => LunClone.flatten(o),
      });
    } else if (s.backend === 'tgt') {
      backend = new TgtBackend({
        volumesDir: s.volumesDir,
        portal,
        port: config.iscsi.port,
        limitBytes,
        logger: log,
        ...(s.tgtControlPort ? { controlPort: s.tgtControlPort } : {}),
      });
    } else if (s.backend === 'rbd') {
      backend = new RbdBackend({
        pool: s.rbd.pool,
        conf: s.rbd.conf,
        clientId: s.rbd.clientId,
        keyring: s.rbd.keyring,
        timeoutSeconds: s.rbd.timeoutSeconds,
        stateDir: join(config.stateDir, 'rbd'),
        portal,
        port: config.iscsi.port,
        ...(s.rbd.limitGiB > 0 ? { limitBytes: Math.floor((s.rbd.limitGiB * 2 ** 30) / 512) * 512 } : {}),
        logger: log,
        ...(s.tgtControlPort ? { controlPort: s.tgtControlPort } : {}),
      });
    } else {
      backend = new LioBackend({
        volumesDir: s.volumesDir,
        portal,
        port: config.iscsi.port,
        listenAddress: config.iscsi.host,
        listenPort: config.iscsi.port,
        limitBytes,
        logger: log,
      });
    }
    nodes.push({ name: LOCAL_NODE, backend });
    info.push({ name: LOCAL_NODE, kind: s.backend, url: null });
  }
  for (const n of s.nodes) {
    nodes.push({ name: n.name, backend: new RemoteBackend({ url: n.url, token: n.token, kind: n.backend }) });
    info.push({ name: n.name, kind: n.backend, url: n.url });
  }

  return {
    nodes,
    info,
    live: !opts.offline,
    get target() {
      return target;
    },
    iscsiPort,
    async start() {
      await target?.start();
    },
    async stop() {
      await target?.stop();
    },
  };
}
