// StorageBackend over netroot's own in-process iSCSI target (src/iscsi). The adapter codes
// against EmbeddedTargetLike — the slice of `IscsiTarget` it needs — so it does not import
// src/iscsi (storage sits below the servers in DESIGN's dependency order; the composition root
// hands the running target in).
//
// The embedded target is the only backend that enforces ExportSpec.sourceAddress
// (allowedAddresses), together with the initiator name and CHAP.
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { UserError } from '../errors.js';
import type { StorageBackend } from './backend.js';
import {
  sameExport,
  validateDesired,
  validateExportSpec,
  type ExportInfo,
  type ExportSpec,
  type ReconcileResult,
  type VolumeInfo,
  type VolumeSpec,
} from './spec.js';
import { FileVolumes } from './volumes.js';
import { assertIqn } from './iqn.js';
import { Mutex } from './util.js';

/** One target as src/iscsi's IscsiTarget.addTarget() takes it. */
export interface EmbeddedTargetConfig {
  iqn: string;
  luns: Array<{ lun: number; path: string; sizeBytes: number }>;
  allowedInitiators: string[];
  chap?: { user: string; secret: string; mutualUser?: string; mutualSecret?: string };
  allowedAddresses?: string[];
}

/** What the adapter needs from src/iscsi's IscsiTarget (sync or async results both work). */
export interface EmbeddedTargetLike {
  addTarget(t: EmbeddedTargetConfig): unknown;
  removeTarget(iqn: string): unknown;
  /** Targets currently served: configs, or anything with an `iqn`, or bare IQN strings. */
  listTargets(): Iterable<{ iqn: string } | string> | Promise<Iterable<{ iqn: string } | string>>;
}

export interface EmbeddedBackendOptions {
  target: EmbeddedTargetLike;
  volumesDir: string;
  limitBytes?: number;
  /** Address and port initiators use to reach the embedded target. */
  portal: string;
  /** A function when the port is only known once the target listens (port 0 in tests). */
  port?: number | (() => number);
  logger?: Logger;
}

export function toTargetConfig(e: ExportSpec, vol: VolumeInfo): EmbeddedTargetConfig {
  const c: EmbeddedTargetConfig = {
    iqn: e.targetIqn,
    luns: [{ lun: e.lun, path: vol.path!, sizeBytes: vol.sizeBytes }],
    allowedInitiators: [e.initiatorIqn],
    chap: { user: e.chap.user, secret: e.chap.secret },
  };
  if (e.chap.mutualUser && e.chap.mutualSecret) {
    c.chap!.mutualUser = e.chap.mutualUser;
    c.chap!.mutualSecret = e.chap.mutualSecret;
  }
  if (e.sourceAddress) c.allowedAddresses = [e.sourceAddress];
  return c;
}

export class EmbeddedBackend implements StorageBackend {
  readonly kind = 'embedded' as const;
  readonly volumes: FileVolumes;
  private readonly opts: EmbeddedBackendOptions;
  private readonly log: Logger;
  private readonly mutex = new Mutex();
  /** What we handed the target, with the volume size it was exported at. */
  private readonly applied = new Map<string, { spec: ExportSpec; sizeBytes: number }>();

  constructor(opts: EmbeddedBackendOptions) {
    this.opts = opts;
    this.volumes = new FileVolumes({ dir: opts.volumesDir, limitBytes: opts.limitBytes });
    this.log = opts.logger ?? silentLogger;
  }

  private info(e: ExportSpec): ExportInfo {
    return { ...e, chap: { ...e.chap }, portal: this.opts.portal, port: typeof this.opts.port === 'function' ? this.opts.port() : (this.opts.port ?? 3260) };
  }

  private async liveIqns(): Promise<Set<string>> {
    const s = new Set<string>();
    for (const t of await this.opts.target.listTargets()) s.add(typeof t === 'string' ? t : t.iqn);
    return s;
  }

  capacity() {
    return this.volumes.capacity();
  }
  createVolume(v: VolumeSpec): Promise<VolumeInfo> {
    return this.mutex.run(() => this.volumes.create(v));
  }
  /** Grows the file; an exported LUN is re-added with the new size by the next reconcile. */
  resizeVolume(name: string, sizeBytes: number): Promise<VolumeInfo> {
    return this.mutex.run(() => this.volumes.resize(name, sizeBytes));
  }
  listVolumes(): Promise<VolumeInfo[]> {
    return this.volumes.list();
  }
  deleteVolume(name: string): Promise<void> {
    return this.mutex.run(async () => {
      this.volumes.pathOf(name);
      const user = [...this.applied.values()].find((a) => a.spec.volume === name);
      if (user) throw new UserError('E_STORAGE_IN_USE', `volume ${name} is exported as ${user.spec.targetIqn}; unexport it first`);
      await this.volumes.delete(name);
    });
  }

  async exportVolume(spec: ExportSpec): Promise<ExportInfo> {
    const e = validateExportSpec(spec);
    return this.mutex.run(async () => {
      await this.apply(e, await this.liveIqns());
      return this.info(e);
    });
  }

  private async apply(e: ExportSpec, live: Set<string>): Promise<'added' | 'updated' | 'same'> {
    const vol = await this.volumes.require(e.volume);
    const other = [...this.applied.values()].find((a) => a.spec.volume === e.volume && a.spec.targetIqn !== e.targetIqn);
    if (other) throw new UserError('E_STORAGE_IN_USE', `volume ${e.volume} is already exported as ${other.spec.targetIqn}`);
    const cur = this.applied.get(e.targetIqn);
    const isLive = live.has(e.targetIqn);
    if (cur && isLive && sameExport(cur.spec, e) && cur.sizeBytes === vol.sizeBytes) return 'same';
    if (isLive) await this.opts.target.removeTarget(e.targetIqn);
    this.applied.delete(e.targetIqn);
    await this.opts.target.addTarget(toTargetConfig(e, vol));
    this.applied.set(e.targetIqn, { spec: e, sizeBytes: vol.sizeBytes });
    this.log.info('embedded export', { target: e.targetIqn, volume: e.volume, initiator: e.initiatorIqn });
    return isLive || cur ? 'updated' : 'added';
  }

  async unexport(targetIqn: string): Promise<void> {
    assertIqn(targetIqn, 'target IQN');
    return this.mutex.run(async () => {
      if ((await this.liveIqns()).has(targetIqn)) await this.opts.target.removeTarget(targetIqn);
      this.applied.delete(targetIqn);
    });
  }

  /** The exports this adapter made that the target still serves. */
  async listExports(): Promise<ExportInfo[]> {
    const live = await this.liveIqns();
    return [...this.applied.values()]
      .filter((a) => live.has(a.spec.targetIqn))
      .map((a) => this.info(a.spec))
      .sort((a, b) => (a.targetIqn < b.targetIqn ? -1 : 1));
  }

  /**
   * Everything the embedded target serves belongs to netroot, so targets not desired are removed
   * (including ones added by an earlier adapter instance before a restart of the frontend).
   */
  async reconcile(desired: ExportSpec[]): Promise<ReconcileResult> {
    const want = validateDesired(desired);
    return this.mutex.run(async () => {
      const res: ReconcileResult = { added: [], removed: [], updated: [] };
      const wanted = new Set(want.map((e) => e.targetIqn));
      const live = await this.liveIqns();
      for (const iqn of [...live].sort()) {
        if (wanted.has(iqn)) continue;
        await this.opts.target.removeTarget(iqn);
        this.applied.delete(iqn);
        live.delete(iqn);
        res.removed.push(iqn);
      }
      for (const iqn of [...this.applied.keys()]) if (!wanted.has(iqn)) this.applied.delete(iqn);
      for (const e of want) {
        const r = await this.apply(e, live);
        if (r === 'added') res.added.push(e.targetIqn);
        if (r === 'updated') res.updated.push(e.targetIqn);
        live.add(e.targetIqn);
      }
      return res;
    });
  }
}
