// Built-in plugin: a diskless node's iSCSI root volume, allocated when insert-ethers adds it.
//
// Which hosts: those whose resolved `diskless` attribute (global < appliance < host) is true; the
// shipped appliance compute-diskless sets it (store migration 3). Others get nothing.
// added(host): picks the storage node with the most free capacity that fits (size: attribute
// `iscsi_volume_size`, else storage.defaultVolumeGiB), creates the volume <host>, exports it as
// target iqn.<date>.<domain>:<host> for the node's own initiator iqn.…:initiator.<host> only, with
// fresh per-node CHAP credentials, and stores the host attributes the kickstart
// (roles/diskless/diskless.xml) and the boot code (src/boot) read:
//   iscsi_initiator iscsi_target iscsi_portal iscsi_port iscsi_lun iscsi_user iscsi_secret
//   (+ iscsi_mutual_user iscsi_mutual_secret with storage.mutualChap)
// and, for netroot itself, iscsi_storage_node (which node) and iscsi_volume (the volume name).
// If any step fails, what this plugin made is undone before it throws; when a later plugin
// fails, the engine calls removed() and the volume goes too.
// removed(host): unexport; delete the volume unless ctx.keepVolume. changed(host): allocates for a
// host that became diskless and has no volume yet (never releases one). A volume of the host's name
// that already exists (kept by `--remove --keep-volume`) is reused by the next add of that name,
// on the node that holds it, and a rollback of that add keeps it.
// update(): allocates for diskless hosts that have no volume yet, then reconciles every storage
// node against the database. addedBatch(hosts): added() for each, BATCH_ALLOCATIONS at once; each
// host's failure is its own (rolled back alone).
// golden=NAME (appliance or host attribute): the new volume is a clone of golden volume NAME, on the
// storage node that holds it (E_GOLDEN_NOT_FOUND when none does; E_STORAGE_DOWN naming each node's
// error, e.g. E_RBD_DOWN, when a node that might hold it did not answer), instead of an empty volume; the
// host also gets the clone attributes (iscsi_golden, iscsi_clone_id, iscsi_root_uuid,
// iscsi_golden_image) that let 90-boot-action boot it without an install.
// A name-based initiator IQN means `insert-ethers --replace` (same host, new MAC) keeps access.
// Secrets never go to logs or error messages.
import type { Host, Repos, Store } from '../../store/index.js';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../log/logger.js';
import type { Plugin, PluginContext } from '../plugin.js';
import { NetrootError, UserError } from '../../errors.js';
import { pickStorageNode, volumeSizeFor, type StorageNode } from '../../storage/allocation.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { canClone, defaultLun, exportAttributes, type CloningBackend } from '../../storage/backend.js';
import type { ExportSpec, ReconcileResult } from '../../storage/spec.js';
import { initiatorIqnFor, targetIqnFor } from '../../storage/iqn.js';
import { generateNodeChap } from '../../storage/secrets.js';
import { abandonedClaim, claimValue } from '../claims.js';

export const STORAGE_NODE_ATTRIBUTE = 'iscsi_storage_node';
export const VOLUME_ATTRIBUTE = 'iscsi_volume';
/** Set when added() found the volume already there (kept by an earlier --remove --keep-volume). */
export const REUSED_ATTRIBUTE = 'iscsi_volume_reused';
/** Appliance or host attribute: allocate a copy-on-write clone of this golden volume (issue #20). */
export const GOLDEN_ATTRIBUTE = 'golden';
/**
 * Host attribute held while one process allocates the host's volume (issue #21: several servers on
 * one database). Taken and checked under the store's write lock, so of two servers (or a server and
 * `insert-ethers --update`) allocating the same host at once exactly one creates a volume; the other
 * is refused with E_STORAGE_CLAIMED before it touches any storage node. Removed when the allocation
 * is recorded or undone. Its value is `<claim id>`, and ` server=<id>` when a `netroot serve` took
 * it (its row in the servers table, PluginContext.serverId). A server killed mid-way (kill -9, a
 * crash) leaves it: once that server's heartbeat is older than servers.staleSeconds on the
 * DATABASE's clock (or its row is gone), the claim is abandoned and the next allocation of the host
 * takes it over under the same write lock (event `storage.claim-reclaimed`). A claim of a CLI
 * process (no server id) never expires: `netroot attr unset iscsi_allocating --host H` frees it.
 */
export const CLAIM_ATTRIBUTE = 'iscsi_allocating';

export { abandonedClaim, claimServer, claimValue } from '../claims.js';

/**
 * Host attributes of a clone (issue #20), the boot side's input (src/boot/diskless.ts bootClone):
 * which golden volume it was cloned from, this clone's id (new at every clone and reset: the
 * first-boot personalisation runs once per id), and, when the golden record knows them, the root
 * file system's UUID and the OS image that boots it.
 */
export const CLONE_OF_ATTRIBUTE = 'iscsi_golden';
export const CLONE_ID_ATTRIBUTE = 'iscsi_clone_id';
export const CLONE_ROOT_UUID_ATTRIBUTE = 'iscsi_root_uuid';
export const CLONE_IMAGE_ATTRIBUTE = 'iscsi_golden_image';
/** Every host attribute this plugin writes (and removes). */
export const ISCSI_HOST_ATTRIBUTES = [
  'iscsi_initiator',
  'iscsi_target',
  'iscsi_portal',
  'iscsi_port',
  'iscsi_lun',
  'iscsi_user',
  'iscsi_secret',
  'iscsi_mutual_user',
  'iscsi_mutual_secret',
  STORAGE_NODE_ATTRIBUTE,
  VOLUME_ATTRIBUTE,
  REUSED_ATTRIBUTE,
  CLAIM_ATTRIBUTE,
  CLONE_OF_ATTRIBUTE,
  CLONE_ID_ATTRIBUTE,
  CLONE_ROOT_UUID_ATTRIBUTE,
  CLONE_IMAGE_ATTRIBUTE,
] as const;

/** A fresh clone id: 16 hex digits (it only has to differ from the clone's previous ones). */
export function newCloneId(): string {
  return randomBytes(8).toString('hex');
}

/** The clone attributes for a new clone of `golden` on backend `b`. */
async function cloneAttributes(b: CloningBackend, golden: string): Promise<Record<string, string>> {
  const boot = b.goldenBoot ? await b.goldenBoot(golden) : null;
  return {
    [CLONE_OF_ATTRIBUTE]: golden,
    [CLONE_ID_ATTRIBUTE]: newCloneId(),
    ...(boot ? { [CLONE_ROOT_UUID_ATTRIBUTE]: boot.rootUuid } : {}),
    ...(boot?.osImage ? { [CLONE_IMAGE_ATTRIBUTE]: boot.osImage } : {}),
  };
}

const TRUE = /^(1|true|yes|on)$/i;

/** global < appliance < host attribute values for a host (what the allocation decisions read). */
export async function allocationAttributes(repos: Repos, host: Host): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // The three reads at once (PostgreSQL: one round trip apiece on pooled connections), applied in order.
  const levels = await Promise.all(
    (
      [
        ['global', ''],
        ['appliance', host.appliance],
        ['host', host.name],
      ] as const
    ).map(([scope, target]) => repos.attributes.list({ scope, target })),
  );
  for (const level of levels) for (const a of level) out[a.name] = a.value;
  return out;
}

/** The host's own (host-scope) attributes: where its iSCSI record lives. */
export async function hostAttributes(repos: Repos, host: string): Promise<Record<string, string>> {
  return Object.fromEntries((await repos.attributes.list({ scope: 'host', target: host })).map((a) => [a.name, a.value]));
}

export function isDiskless(attrs: Readonly<Record<string, string>>): boolean {
  return TRUE.test(attrs['diskless'] ?? '');
}

/** The export recorded in a host's attributes, or null when it has none. */
export function recordedExport(host: string, attrs: Readonly<Record<string, string>>): { node: string; spec: ExportSpec } | null {
  const node = attrs[STORAGE_NODE_ATTRIBUTE];
  if (!node) return null;
  const need = (k: string) => {
    const v = attrs[k];
    if (v === undefined || v === '')
      throw new NetrootError('E_STORAGE_RECORD', `host ${host}: attribute ${k} is missing (its iSCSI record is incomplete; run insert-ethers --update)`);
    return v;
  };
  const spec: ExportSpec = {
    volume: need(VOLUME_ATTRIBUTE),
    targetIqn: need('iscsi_target'),
    initiatorIqn: need('iscsi_initiator'),
    chap: { user: need('iscsi_user'), secret: need('iscsi_secret') },
    lun: Number(need('iscsi_lun')),
  };
  if (attrs['iscsi_mutual_user'] && attrs['iscsi_mutual_secret']) {
    spec.chap.mutualUser = attrs['iscsi_mutual_user'];
    spec.chap.mutualSecret = attrs['iscsi_mutual_secret'];
  }
  return { node, spec };
}

function nodeNamed(nodes: readonly StorageNode[], name: string, host: string): StorageNode {
  const n = nodes.find((x) => x.name === name);
  if (!n)
    throw new UserError('E_STORAGE_NODE_UNKNOWN', `host ${host}'s volume is on storage node ${JSON.stringify(name)}, which is not configured (storage.nodes)`);
  return n;
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Creates (or re-exports, when recorded) the host's volume and writes its attributes. */
export async function allocateVolume(
  host: Host,
  nodes: readonly StorageNode[],
  ctx: { store: Store; config: Config; logger: Logger; signal?: AbortSignal | undefined; serverId?: string | undefined },
  /** The host's allocationAttributes when the caller has just read them (addedBatch). */
  known?: Record<string, string>,
): Promise<void> {
  const attrs = known ?? (await allocationAttributes(ctx.store, host));
  // The claim, under the write lock: recorded already (re-export), claimed by another process
  // (refused), or ours (allocate, then record and drop the claim in one transaction).
  // A claim left by a server that died (stale heartbeat, database clock) is taken over.
  const claim = claimValue(randomUUID(), ctx.serverId);
  const { own, reclaimed } = await ctx.store.transaction(async (tx) => {
    if (!(await tx.hosts.get(host.name))) throw new NetrootError('E_STORAGE_HOST_GONE', `host ${host.name} was removed while its volume was being allocated`);
    const a = await hostAttributes(tx, host.name);
    const recorded = recordedExport(host.name, a);
    if (recorded) return { own: recorded, reclaimed: null };
    const held = a[CLAIM_ATTRIBUTE];
    const abandoned = held ? await abandonedClaim(tx, held, ctx.config.servers.staleSeconds) : null;
    if (held && !abandoned)
      throw new NetrootError(
        'E_STORAGE_CLAIMED',
        `host ${host.name}: its volume is being allocated by another netroot process (host attribute ${CLAIM_ATTRIBUTE}; if none is, free it with \`netroot attr unset ${CLAIM_ATTRIBUTE} --host ${host.name}\`)`,
      );
    if (abandoned) await tx.events.append({ kind: 'storage.claim-reclaimed', host: host.name, detail: { ...abandoned } });
    await tx.attributes.set({ scope: 'host', target: host.name, name: CLAIM_ATTRIBUTE, value: claim });
    return { own: undefined, reclaimed: abandoned };
  });
  if (reclaimed)
    ctx.logger.warn('allocation claim of a dead server taken over', { host: host.name, server: reclaimed.server, heartbeatAgeSeconds: reclaimed.ageSeconds });
  if (own) {
    // Already allocated (update(), another server, or a host re-added after --keep-volume with its record): re-export.
    await nodeNamed(nodes, own.node, host.name).backend.exportVolume(own.spec);
    return;
  }
  try {
    await allocateClaimed(host, attrs, claim, nodes, ctx);
  } catch (e) {
    // Ours still (the recording transaction did not commit): give the host back.
    await ctx.store
      .transaction(async (tx) => {
        if ((await hostAttributes(tx, host.name))[CLAIM_ATTRIBUTE] === claim) await tx.attributes.unset('host', host.name, CLAIM_ATTRIBUTE);
      })
      .catch((u: unknown) => ctx.logger.warn('allocation claim not released', { host: host.name, error: u }));
    throw e;
  }
}

/** allocateVolume's work once this process holds the host's claim. */
async function allocateClaimed(
  host: Host,
  attrs: Record<string, string>,
  claim: string,
  nodes: readonly StorageNode[],
  ctx: { store: Store; config: Config; logger: Logger; signal?: AbortSignal | undefined },
): Promise<void> {
  const sizeBytes = volumeSizeFor(attrs, ctx.config.storage.defaultVolumeGiB);
  // A volume of this name kept by `--remove --keep-volume` is the host's data: reuse it where it is.
  let node: StorageNode | undefined;
  let reused = false;
  for (const n of nodes) {
    const b = n.backend;
    const has = b.getVolume
      ? (await b.getVolume(host.name).catch(() => null)) !== null
      : (await b.listVolumes().catch(() => [])).some((v) => v.name === host.name);
    if (has) {
      node = n;
      reused = true;
      break;
    }
  }
  // Attribute golden=NAME: the volume is a copy-on-write clone of that golden volume, made on the
  // storage node that holds it (issue #20).
  const golden = reused ? undefined : attrs[GOLDEN_ATTRIBUTE] || undefined;
  if (golden !== undefined) {
    // A node that does not answer (Ceph down: E_RBD_DOWN, a remote node: E_STORAGE_DOWN) may be
    // the one holding it: that is E_STORAGE_DOWN naming each node's error, not "not found".
    const unanswered: string[] = [];
    for (const n of nodes) {
      if (!canClone(n.backend)) continue;
      try {
        if (await n.backend.hasGolden(golden)) {
          node = n;
          break;
        }
      } catch (e) {
        unanswered.push(`${n.name} (${e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e)})`);
      }
    }
    if (!node && unanswered.length)
      throw new NetrootError(
        'E_STORAGE_DOWN',
        `host ${host.name}: golden volume ${golden} is not on any storage node that answered; no answer from: ${unanswered.join(', ')}`,
      );
    if (!node)
      throw new UserError(
        'E_GOLDEN_NOT_FOUND',
        `host ${host.name}: no storage node holds golden volume ${golden} (attribute ${GOLDEN_ATTRIBUTE}; netroot golden list)`,
      );
  }
  node ??= (await pickStorageNode(nodes, sizeBytes)).node;
  const spec: ExportSpec = {
    volume: host.name,
    targetIqn: targetIqnFor(ctx.config.storage, host.name),
    initiatorIqn: initiatorIqnFor(ctx.config.storage, host.name),
    chap: generateNodeChap(host.name, { mutual: ctx.config.storage.mutualChap }),
    lun: defaultLun(node.backend.kind),
  };
  const target = node;
  let created = false;
  let exported = false;
  let cloned: Record<string, string> = {};
  let taken = false;
  try {
    // Cancelled (the hook's time limit passed): stop between steps; the catch undoes what was made.
    ctx.signal?.throwIfAborted();
    if (!reused) {
      const b = node.backend;
      if (golden !== undefined && canClone(b)) {
        await b.cloneVolume(spec.volume, golden, sizeBytes);
        created = true;
        cloned = await cloneAttributes(b, golden);
      } else await b.createVolume({ name: spec.volume, sizeBytes });
      created = true;
    }
    ctx.signal?.throwIfAborted();
    const info = await node.backend.exportVolume(spec);
    exported = true;
    ctx.signal?.throwIfAborted();
    const values: Record<string, string> = { ...exportAttributes(info), [STORAGE_NODE_ATTRIBUTE]: node.name, [VOLUME_ATTRIBUTE]: spec.volume, ...cloned };
    if (reused) values[REUSED_ATTRIBUTE] = 'true';
    await ctx.store.transaction(async (tx) => {
      // A host removed meanwhile (its add timed out and was rolled back) must not get a record.
      if (!(await tx.hosts.get(host.name))) throw new NetrootError('E_STORAGE_HOST_GONE', `host ${host.name} was removed while its volume was being allocated`);
      if ((await hostAttributes(tx, host.name))[CLAIM_ATTRIBUTE] !== claim) {
        // Taken over (this server was judged dead): the volume and target of this name are the
        // new holder's now, so nothing below may be undone.
        taken = true;
        throw new NetrootError('E_STORAGE_CLAIMED', `host ${host.name}: its allocation claim was taken from this process (host attribute ${CLAIM_ATTRIBUTE})`);
      }
      await tx.attributes.unset('host', host.name, CLAIM_ATTRIBUTE);
      await tx.attributes.setMany(Object.entries(values).map(([name, value]) => ({ scope: 'host' as const, target: host.name, name, value })));
      await tx.events.append({
        kind: 'storage.allocated',
        host: host.name,
        detail: { node: target.name, volume: spec.volume, target: spec.targetIqn, sizeBytes, reused, ...(golden !== undefined ? { golden } : {}) },
      });
    });
    ctx.logger.info('iscsi volume allocated', { host: host.name, node: target.name, target: spec.targetIqn, sizeBytes, reused });
  } catch (e) {
    if (taken) {
      // Our export may have replaced the new holder's (same target, other CHAP): serve what is
      // recorded, when it is. A holder that exported before us and records after this is left with
      // our CHAP on the target until the next reconcile: servers.staleSeconds must exceed any pause
      // of a live server (a stopped process, a long GC), which is what makes its claim look abandoned.
      const rec = recordedExport(host.name, await hostAttributes(ctx.store, host.name).catch(() => ({})));
      if (rec)
        await nodeNamed(nodes, rec.node, host.name)
          .backend.exportVolume(rec.spec)
          .catch(() => {});
      throw e;
    }
    const undo: string[] = [];
    if (exported) await target.backend.unexport(spec.targetIqn).catch((u) => undo.push(`unexport: ${msg(u)}`));
    if (created && undo.length === 0) await target.backend.deleteVolume(spec.volume).catch((u) => undo.push(`delete volume: ${msg(u)}`));
    if (undo.length) throw new NetrootError('E_STORAGE_ROLLBACK', `storage node ${target.name}: ${msg(e)}; could not undo (${undo.join('; ')})`, { cause: e });
    throw e;
  }
}

/**
 * `boot=reset` (issue #20): throws the host's clone's delta away and re-clones it from its golden
 * volume — unexport, reset, export the same spec again (the host keeps its target and CHAP; live
 * sessions drop). E_GOLDEN_SOURCE when the host has no volume or its volume is not a clone; a
 * failed reset leaves the volume unexported and says so (`storage reconcile` re-exports it).
 */
export async function resetHostVolume(host: Host, nodes: readonly StorageNode[], ctx: { store: Store; logger: Logger }): Promise<void> {
  const rec = recordedExport(host.name, await hostAttributes(ctx.store, host.name));
  if (!rec) throw new UserError('E_GOLDEN_SOURCE', `host ${host.name} has no iSCSI volume to reset`);
  const node = nodeNamed(nodes, rec.node, host.name);
  const b = node.backend;
  if (!canClone(b)) throw new UserError('E_STORAGE_UNSUPPORTED', `storage node ${node.name} (${b.kind}) has no clones to reset`);
  await b.unexport(rec.spec.targetIqn);
  try {
    await b.resetClone(rec.spec.volume);
  } catch (e) {
    // A plain volume (or a golden file that changed) is still there: serve it again as it was.
    await b.exportVolume(rec.spec).catch(() => {});
    throw e;
  }
  await b.exportVolume(rec.spec);
  // A new clone id: the first-boot personalisation runs again on the fresh clone.
  await ctx.store.transaction(async (tx) => {
    await tx.attributes.set({ scope: 'host', target: host.name, name: CLONE_ID_ATTRIBUTE, value: newCloneId() });
    await tx.events.append({ kind: 'storage.reset', host: host.name, detail: { node: node.name, volume: rec.spec.volume } });
  });
  ctx.logger.info('iscsi clone reset', { host: host.name, node: node.name, volume: rec.spec.volume });
}

/** Unexports the host's volume and, unless keepVolume, deletes it; clears its attributes. */
export async function releaseVolume(
  host: Host,
  nodes: readonly StorageNode[],
  ctx: { store: Store; logger: Logger; keepVolume?: boolean | undefined; rollback?: boolean | undefined },
): Promise<void> {
  const attrs = await hostAttributes(ctx.store, host.name);
  const rec = recordedExport(host.name, attrs);
  if (!rec) return;
  const node = nodeNamed(nodes, rec.node, host.name);
  await node.backend.unexport(rec.spec.targetIqn);
  // Undoing a failed add never destroys a kept volume this add only reused.
  const keep = ctx.keepVolume === true || (ctx.rollback === true && attrs[REUSED_ATTRIBUTE] === 'true');
  if (!keep) await node.backend.deleteVolume(rec.spec.volume);
  await ctx.store.transaction(async (tx) => {
    for (const name of ISCSI_HOST_ATTRIBUTES) await tx.attributes.unset('host', host.name, name);
    await tx.events.append({ kind: 'storage.released', host: host.name, detail: { node: rec.node, volume: rec.spec.volume, kept: keep } });
  });
  ctx.logger.info('iscsi volume released', { host: host.name, node: rec.node, volume: rec.spec.volume, kept: keep });
}

export interface NodeReconcile {
  node: string;
  result?: ReconcileResult;
  error?: string;
}

/**
 * Makes every storage node serve exactly the exports the database records for it (frontend start,
 * `netroot storage reconcile`, insert-ethers --update). A node that fails is reported, not thrown:
 * the others are still reconciled.
 */
export async function reconcileStorage(
  store: Store,
  nodes: readonly StorageNode[],
  logger: Logger,
  opts: { skip?: readonly string[] } = {},
): Promise<NodeReconcile[]> {
  const desired = new Map<string, ExportSpec[]>(nodes.map((n) => [n.name, []]));
  for (const h of await store.hosts.list()) {
    let rec;
    try {
      rec = recordedExport(h.name, await hostAttributes(store, h.name));
    } catch (e) {
      logger.warn('storage reconcile: skipping host', { host: h.name, error: msg(e) });
      continue;
    }
    if (!rec) continue;
    const list = desired.get(rec.node);
    if (list) list.push(rec.spec);
    else logger.warn('storage reconcile: host on an unconfigured storage node', { host: h.name, node: rec.node });
  }
  const out: NodeReconcile[] = [];
  for (const n of nodes) {
    if (opts.skip?.includes(n.name)) continue;
    try {
      const result = await n.backend.reconcile(desired.get(n.name) ?? []);
      out.push({ node: n.name, result });
      logger.info('storage reconciled', { node: n.name, added: result.added.length, updated: result.updated.length, removed: result.removed.length });
    } catch (e) {
      out.push({ node: n.name, error: msg(e) });
      logger.warn('storage reconcile failed', { node: n.name, error: msg(e) });
    }
  }
  return out;
}

/** Allocations one batch runs at once (addedBatch): enough to overlap their I/O waits, few enough
 * that a storage node sees a handful of requests, not a rack's. */
export const BATCH_ALLOCATIONS = 8;

export function iscsiAllocationPlugin(nodes: readonly StorageNode[]): Plugin {
  return {
    name: '40-iscsi-allocation',
    async added(host: Host, ctx: PluginContext) {
      if (!isDiskless(await allocationAttributes(ctx.store, host))) return;
      await allocateVolume(host, nodes, ctx);
    },
    // A batch (insert-ethers naming many machines at once): the same allocation per host, up to
    // BATCH_ALLOCATIONS at once so their file and storage-node round trips overlap (each host's
    // claim, creation under the backend's lock and record are as for one); a host whose allocation
    // fails is answered alone (it undid its own steps) and rolled back alone.
    async addedBatch(hosts: readonly Host[], ctx: PluginContext) {
      const refused = new Map<string, Error>();
      let next = 0;
      const worker = async () => {
        for (let h = hosts[next++]; h !== undefined; h = hosts[next++]) {
          ctx.signal?.throwIfAborted();
          try {
            const attrs = await allocationAttributes(ctx.store, h);
            if (isDiskless(attrs)) await allocateVolume(h, nodes, ctx, attrs);
          } catch (e) {
            refused.set(h.name, e as Error);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(BATCH_ALLOCATIONS, hosts.length) }, worker));
      return refused;
    },
    async removed(host: Host, ctx: PluginContext) {
      await releaseVolume(host, nodes, ctx);
    },
    // A host that became diskless (`host set NAME appliance=compute-diskless`, a `diskless` host
    // attribute) gets its volume now, as `update()` would. One that stops being diskless keeps its
    // volume: deleting data is `host remove`'s, never a side effect of a change.
    async changed(host: Host, ctx: PluginContext) {
      if (!isDiskless(await allocationAttributes(ctx.store, host)) || (await hostAttributes(ctx.store, host.name))[STORAGE_NODE_ATTRIBUTE]) return;
      await allocateVolume(host, nodes, ctx);
    },
    async reset(host: Host, ctx: PluginContext) {
      await resetHostVolume(host, nodes, ctx);
    },
    async update(ctx: PluginContext) {
      const failed: string[] = [];
      for (const h of await ctx.store.hosts.list()) {
        if (!isDiskless(await allocationAttributes(ctx.store, h)) || (await hostAttributes(ctx.store, h.name))[STORAGE_NODE_ATTRIBUTE]) continue;
        await allocateVolume(h, nodes, ctx).catch((e) => {
          // Another server is allocating it right now: once is enough (it reports its own failure).
          if (e instanceof NetrootError && e.code === 'E_STORAGE_CLAIMED') ctx.logger.warn('iscsi volume being allocated elsewhere', { host: h.name });
          else failed.push(`${h.name}: ${msg(e)}`);
        });
      }
      const r = await reconcileStorage(ctx.store, nodes, ctx.logger);
      for (const x of r) if (x.error) failed.push(`storage node ${x.node}: ${x.error}`);
      if (failed.length) throw new NetrootError('E_STORAGE_UPDATE', `iSCSI allocation: ${failed.join('; ')}`);
    },
  };
}
