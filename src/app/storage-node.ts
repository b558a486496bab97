// `netroot storage serve`: a storage node — a StorageBackend (netroot's embedded iSCSI target,
// tgtd on this machine, or RBD images of a Ceph pool exported by that tgtd) behind the storage service's HTTP API (src/storage/storage-service.ts),
// guarded by this node's bearer token. The frontend lists it in storage.nodes and reconciles it
// from its database (at its start, on `netroot storage reconcile`, on insert-ethers --update): the
// node keeps no database of its own, so after a restart of this process its targets come back
// with the frontend's next reconcile.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { IscsiTarget, type IscsiTargetSettings } from '../iscsi/index.js';
import { EmbeddedBackend } from '../storage/embedded.js';
import { TgtBackend } from '../storage/tgt.js';
import { RbdBackend } from '../storage/rbd.js';
import type { StorageBackend } from '../storage/backend.js';
import { createStorageServiceHandler } from '../storage/storage-service.js';
import { NetrootError } from '../errors.js';

export interface StorageNodeOptions {
  backend: 'embedded' | 'tgt' | 'rbd';
  /** backend rbd: the cluster (config storage.rbd) and where its tgt state lives. */
  rbd?: { pool: string; conf: string; clientId: string; keyring: string; timeoutSeconds: number; stateDir: string };
  /** backend tgt/rbd: tgtd's control port (0: its default). */
  tgtControlPort?: number;
  token: string;
  httpHost: string;
  httpPort: number;
  iscsiHost: string;
  iscsiPort: number;
  /** The address initiators use to reach this node's targets. */
  portal: string;
  volumesDir: string;
  limitBytes?: number | undefined;
  logger: Logger;
  /** The embedded target's limits and timers (iscsi.* settings, via targetSettings()). */
  target?: IscsiTargetSettings;
}

export interface StorageNodeService {
  readonly backend: StorageBackend;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpPort(): number;
  iscsiPort(): number;
}

export function createStorageNode(o: StorageNodeOptions): StorageNodeService {
  let target: IscsiTarget | undefined;
  const iscsiPort = () => (target && target.port > 0 ? target.port : o.iscsiPort);
  let backend: StorageBackend;
  if (o.backend === 'embedded') {
    target = new IscsiTarget({ host: o.iscsiHost, port: o.iscsiPort, ...o.target, logger: o.logger.child({ svc: 'iscsi' }) });
    backend = new EmbeddedBackend({ target, volumesDir: o.volumesDir, limitBytes: o.limitBytes, portal: o.portal, port: iscsiPort, logger: o.logger });
  } else if (o.backend === 'rbd') {
    if (!o.rbd) throw new NetrootError('E_RBD_CONFIG', 'backend rbd needs its cluster settings (storage.rbd)', { user: true });
    const ctl = o.tgtControlPort ? { controlPort: o.tgtControlPort } : {};
    backend = new RbdBackend({ ...o.rbd, portal: o.portal, port: o.iscsiPort, limitBytes: o.limitBytes, logger: o.logger, ...ctl });
  } else {
    const ctl = o.tgtControlPort ? { controlPort: o.tgtControlPort } : {};
    backend = new TgtBackend({ volumesDir: o.volumesDir, portal: o.portal, port: o.iscsiPort, limitBytes: o.limitBytes, logger: o.logger, ...ctl });
  }
  // Validates the token (≥ 32 characters) before anything listens.
  const handler = createStorageServiceHandler({ backend, token: o.token, logger: o.logger });
  let server: Server | undefined;
  return {
    backend,
    async start() {
      await target?.start();
      const s = createServer(handler);
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', (e: NodeJS.ErrnoException) =>
            reject(new NetrootError('E_LISTEN', `storage service: cannot listen on ${o.httpHost}:${o.httpPort}: ${e.code ?? e.message}`)),
          );
          s.listen(o.httpPort, o.httpHost, () => resolve());
        });
      } catch (e) {
        // A failed start closes what it opened (the iSCSI portal would keep the process alive).
        await target?.stop();
        throw e;
      }
      server = s;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s)
        await new Promise<void>((r) => {
          s.close(() => r());
          s.closeAllConnections();
        });
      await target?.stop();
    },
    httpPort: () => (server?.address() as AddressInfo | null)?.port ?? o.httpPort,
    iscsiPort,
  };
}
