// What `netroot storage nodes|volumes|show` print, computed the same way by the REST API (the
// running frontend) and by the CLI when no frontend runs. Secrets are never part of a report:
// CHAP shows as the user name and `secret: "set"`.
import type { Store } from '../store/index.js';
import type { StorageNode } from '../storage/allocation.js';
import type { BackendKind, ExportInfo, VolumeInfo } from '../storage/spec.js';
import { UserError } from '../errors.js';
import { hostAttributes, recordedExport } from './plugins/iscsi-allocation.js';

export interface StorageNodeInfo {
  name: string;
  kind: BackendKind;
  /** The storage service URL of a remote node; null for the frontend's own. */
  url: string | null;
}

export interface StorageView {
  nodes: readonly StorageNode[];
  info: readonly StorageNodeInfo[];
  /** False when exports cannot be seen (the CLI without a running frontend). */
  live: boolean;
}

export interface NodeReport extends StorageNodeInfo {
  up: boolean;
  totalBytes: number | null;
  freeBytes: number | null;
  volumes: number | null;
  error: string | null;
}

export interface VolumeReport {
  node: string;
  volume: string;
  host: string | null;
  sizeBytes: number;
  allocatedBytes: number;
  target: string | null;
  initiator: string | null;
  portal: string | null;
  port: number | null;
  lun: number | null;
  chapUser: string | null;
  /** Served by the target right now; null when that cannot be known (offline CLI). */
  exported: boolean | null;
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function nodesReport(v: StorageView): Promise<NodeReport[]> {
  return Promise.all(
    v.nodes.map(async (n) => {
      const info = v.info.find((i) => i.name === n.name) ?? { name: n.name, kind: n.backend.kind, url: null };
      try {
        const [c, vols] = await Promise.all([n.backend.capacity(), n.backend.listVolumes()]);
        return { ...info, up: true, totalBytes: c.totalBytes, freeBytes: c.freeBytes, volumes: vols.length, error: null };
      } catch (e) {
        return { ...info, up: false, totalBytes: null, freeBytes: null, volumes: null, error: msg(e) };
      }
    }),
  );
}

/** Every volume on every reachable node, joined with the host that owns it (by its record). */
export async function volumesReport(store: Store, v: StorageView): Promise<{ volumes: VolumeReport[]; errors: Array<{ node: string; error: string }> }> {
  const owners = new Map<string, { host: string; node: string }>();
  for (const h of await store.hosts.list()) {
    try {
      const rec = recordedExport(h.name, await hostAttributes(store, h.name));
      if (rec) owners.set(`${rec.node}/${rec.spec.volume}`, { host: h.name, node: rec.node });
    } catch {
      // an incomplete record is reported by `storage show` / reconcile; the volume still lists
    }
  }
  const volumes: VolumeReport[] = [];
  const errors: Array<{ node: string; error: string }> = [];
  for (const n of v.nodes) {
    let vols: VolumeInfo[];
    let exps: ExportInfo[] = [];
    try {
      vols = await n.backend.listVolumes();
      if (v.live) exps = await n.backend.listExports();
    } catch (e) {
      errors.push({ node: n.name, error: msg(e) });
      continue;
    }
    for (const vol of vols) {
      const e = exps.find((x) => x.volume === vol.name);
      volumes.push({
        node: n.name,
        volume: vol.name,
        host: owners.get(`${n.name}/${vol.name}`)?.host ?? null,
        sizeBytes: vol.sizeBytes,
        allocatedBytes: vol.allocatedBytes,
        target: e?.targetIqn ?? null,
        initiator: e?.initiatorIqn ?? null,
        portal: e?.portal ?? null,
        port: e?.port ?? null,
        lun: e?.lun ?? null,
        chapUser: e?.chap.user ?? null,
        exported: v.live ? e !== undefined : null,
      });
    }
  }
  return { volumes, errors };
}

export interface ShowReport {
  host: string | null;
  node: string;
  volume: string;
  /** What the database records (no secret: `chapSecret` says only whether one is set). */
  record: {
    target: string;
    initiator: string;
    lun: number;
    chapUser: string;
    chapSecret: 'set';
    mutualChap: boolean;
    portal: string | null;
    port: string | null;
  } | null;
  backend: VolumeReport | null;
}

/** `storage show <host|volume>`: a host name first, else a volume name on any node. */
export async function showReport(store: Store, v: StorageView, name: string): Promise<ShowReport> {
  const { volumes } = await volumesReport(store, v);
  const host = await store.hosts.get(name);
  if (host) {
    const attrs = await hostAttributes(store, host.name);
    const rec = recordedExport(host.name, attrs);
    if (!rec) throw new UserError('E_STORAGE_NOT_FOUND', `host ${name} has no iSCSI volume`);
    return {
      host: host.name,
      node: rec.node,
      volume: rec.spec.volume,
      record: {
        target: rec.spec.targetIqn,
        initiator: rec.spec.initiatorIqn,
        lun: rec.spec.lun,
        chapUser: rec.spec.chap.user,
        chapSecret: 'set',
        mutualChap: rec.spec.chap.mutualUser !== undefined,
        portal: attrs['iscsi_portal'] ?? null,
        port: attrs['iscsi_port'] ?? null,
      },
      backend: volumes.find((x) => x.node === rec.node && x.volume === rec.spec.volume) ?? null,
    };
  }
  const vol = volumes.find((x) => x.volume === name);
  if (!vol) throw new UserError('E_STORAGE_NOT_FOUND', `no host or volume named ${JSON.stringify(name)}`);
  if (vol.host) return showReport(store, v, vol.host);
  return { host: vol.host, node: vol.node, volume: vol.volume, record: null, backend: vol };
}
