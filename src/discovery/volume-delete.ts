// Deleting one iSCSI volume by name (`DELETE /api/v1/storage/volumes/<name>`). A volume a host's
// record still names is that host's disk: refused (409 E_VOLUME_IN_USE) unless `force`, which
// releases it the way `host remove` does (unexport, delete, clear the host's iscsi_* attributes,
// a storage.released event) and leaves the host without a disk until `update` allocates a new
// one. A volume no host names (one kept by `host remove --keep-volume`) is deleted from the node
// that holds it; the backend refuses one that is still exported (E_STORAGE_IN_USE).
import type { Store } from '../store/index.js';
import type { StorageNode } from '../storage/allocation.js';
import type { Logger } from '../log/logger.js';
import { UserError } from '../errors.js';
import { hostAttributes, recordedExport, releaseVolume } from './plugins/iscsi-allocation.js';

export interface DeletedVolume {
  node: string;
  volume: string;
  /** The host whose disk it was (force), or null. */
  host: string | null;
}

export async function deleteVolumeByName(
  store: Store,
  nodes: readonly StorageNode[],
  name: string,
  opts: { node?: string | undefined; force: boolean; logger: Logger },
): Promise<DeletedVolume> {
  for (const h of await store.hosts.list()) {
    let rec;
    try {
      rec = recordedExport(h.name, await hostAttributes(store, h.name));
    } catch {
      continue; // an incomplete record names no usable volume
    }
    if (!rec || rec.spec.volume !== name || (opts.node !== undefined && rec.node !== opts.node)) continue;
    if (!opts.force) throw new UserError('E_VOLUME_IN_USE', `volume ${name} is host ${h.name}'s disk (remove the host, or add ?force=1 to delete it anyway)`);
    await releaseVolume(h, nodes, { store, logger: opts.logger });
    return { node: rec.node, volume: name, host: h.name };
  }
  const holders: StorageNode[] = [];
  for (const n of nodes) {
    if (opts.node !== undefined && n.name !== opts.node) continue;
    if ((await n.backend.listVolumes()).some((v) => v.name === name)) holders.push(n);
  }
  if (holders.length === 0)
    throw new UserError(
      'E_STORAGE_NOT_FOUND',
      `no volume ${JSON.stringify(name)}${opts.node !== undefined ? ` on storage node ${JSON.stringify(opts.node)}` : ''}`,
    );
  if (holders.length > 1)
    throw new UserError('E_VOLUME_AMBIGUOUS', `volume ${name} is on storage nodes ${holders.map((n) => n.name).join(', ')}: name one with ?node=`);
  const node = holders[0]!;
  await node.backend.deleteVolume(name);
  await store.events.append({ kind: 'storage.deleted', detail: { node: node.name, volume: name } });
  opts.logger.info('iscsi volume deleted', { node: node.name, volume: name });
  return { node: node.name, volume: name, host: null };
}
