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
import { type ApplyResult, LocalBackend, type TargetExports } from './local.js';
import { sameExport, type ExportSpec, type VolumeInfo } from './spec.js';
import { FileVolumes } from './volumes.js';
import { GoldenVolumes, type GoldenBoot, type GoldenCreateResult } from './golden.js';
import { join } from 'node:path';

/** One target as src/iscsi's IscsiTarget.addTarget() takes it. */
export interface EmbeddedTargetConfig {
  iqn: string;
  /** With `clone`, `path` is the clone's delta and the LUN a copy-on-write clone (src/iscsi/lun-clone.ts). */
  luns: Array<{ lun: number; path: string; sizeBytes: number; clone?: { golden: string; map: string } }>;
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
  /** Optional: only the served targets' IQNs, without copying their definitions (asked at every export). */
  targetIqns?(): Iterable<string>;
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
  /**
   * Makes a new clone's delta and map (src/iscsi's LunClone.create, closed again); the composition
   * root passes it in, as it does the target. Without it cloneVolume() is E_STORAGE_UNSUPPORTED.
   */
  makeClone?: (o: { golden: string; delta: string; map: string; sizeBytes: number }) => Promise<void>;
  /**
   * Writes a clone's current content as one plain file `out` (src/iscsi's LunClone.flatten), for
   * promoteClone(). Without it promoteClone() is E_STORAGE_UNSUPPORTED.
   */
  flattenClone?: (o: { golden: string; delta: string; map: string; out: string }) => Promise<unknown>;
}

export function toTargetConfig(e: ExportSpec, vol: VolumeInfo, clone?: { golden: string; map: string }): EmbeddedTargetConfig {
  const c: EmbeddedTargetConfig = {
    iqn: e.targetIqn,
    luns: [{ lun: e.lun, path: vol.path!, sizeBytes: vol.sizeBytes, ...(clone ? { clone } : {}) }],
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

/** The export half over the embedded target (LocalBackend holds the lock around every call). */
export class EmbeddedExports implements TargetExports {
  readonly kind = 'embedded' as const;
  /** What we handed the target, with the volume size it was exported at. */
  private readonly applied = new Map<string, { spec: ExportSpec; sizeBytes: number }>();
  private readonly log: Logger;

  constructor(
    private readonly volumes: FileVolumes,
    private readonly opts: EmbeddedBackendOptions,
    private readonly golden: GoldenVolumes,
  ) {
    this.log = opts.logger ?? silentLogger;
  }

  address(): { portal: string; port: number } {
    return { portal: this.opts.portal, port: typeof this.opts.port === 'function' ? this.opts.port() : (this.opts.port ?? 3260) };
  }

  /** The embedded target enforces every field of a spec, sourceAddress included. */
  refuse(_e: ExportSpec): void {}

  private async liveIqns(): Promise<Set<string>> {
    const target = this.opts.target;
    if (target.targetIqns) return new Set(target.targetIqns());
    const s = new Set<string>();
    for (const t of await target.listTargets()) s.add(typeof t === 'string' ? t : t.iqn);
    return s;
  }

  async exporterOf(volume: string): Promise<string | undefined> {
    return [...this.applied.values()].find((a) => a.spec.volume === volume)?.spec.targetIqn;
  }

  async apply(e: ExportSpec): Promise<ApplyResult> {
    const live = await this.liveIqns();
    const vol = await this.volumes.require(e.volume);
    const other = [...this.applied.values()].find((a) => a.spec.volume === e.volume && a.spec.targetIqn !== e.targetIqn);
    if (other) throw new UserError('E_STORAGE_IN_USE', `volume ${e.volume} is already exported as ${other.spec.targetIqn}`);
    const cur = this.applied.get(e.targetIqn);
    const isLive = live.has(e.targetIqn);
    if (cur && isLive && sameExport(cur.spec, e) && cur.sizeBytes === vol.sizeBytes) return 'same';
    // A clone is exported only over the golden file it was made from (E_GOLDEN_CHANGED otherwise;
    // the target's LunClone.open checks the same identity against the clone's map).
    const goldenName = await this.volumes.cloneOf(e.volume);
    const clone = goldenName === null ? undefined : { golden: (await this.golden.verifyIdentity(goldenName)).path, map: this.volumes.cloneFiles(e.volume).map };
    if (isLive) await this.opts.target.removeTarget(e.targetIqn);
    this.applied.delete(e.targetIqn);
    await this.opts.target.addTarget(toTargetConfig(e, vol, clone));
    this.applied.set(e.targetIqn, { spec: e, sizeBytes: vol.sizeBytes });
    this.log.info('embedded export', { target: e.targetIqn, volume: e.volume, initiator: e.initiatorIqn });
    return isLive || cur ? 'updated' : 'added';
  }

  async remove(targetIqn: string): Promise<void> {
    if ((await this.liveIqns()).has(targetIqn)) await this.opts.target.removeTarget(targetIqn);
    this.applied.delete(targetIqn);
  }

  /** The exports this adapter made that the target still serves. */
  async list(): Promise<ExportSpec[]> {
    const live = await this.liveIqns();
    return [...this.applied.values()].filter((a) => live.has(a.spec.targetIqn)).map((a) => a.spec);
  }

  /**
   * Everything the embedded target serves belongs to netroot, so targets not wanted are removed
   * (including ones added by an earlier adapter instance before a restart of the frontend).
   */
  async prune(wanted: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const iqn of [...(await this.liveIqns())].sort()) {
      if (wanted.has(iqn)) continue;
      await this.opts.target.removeTarget(iqn);
      this.applied.delete(iqn);
      removed.push(iqn);
    }
    for (const iqn of [...this.applied.keys()]) if (!wanted.has(iqn)) this.applied.delete(iqn);
    return removed;
  }
}

/** The embedded target's StorageBackend: the volume store and EmbeddedExports. */
export class EmbeddedBackend extends LocalBackend<EmbeddedExports> {
  /** Golden volumes: `<volumesDir>/golden/` (golden.ts). */
  readonly golden: GoldenVolumes;
  private readonly makeClone: EmbeddedBackendOptions['makeClone'];
  private readonly flattenClone: EmbeddedBackendOptions['flattenClone'];

  constructor(opts: EmbeddedBackendOptions) {
    const volumes = new FileVolumes({ dir: opts.volumesDir, limitBytes: opts.limitBytes });
    const golden = new GoldenVolumes(join(volumes.dir, 'golden'));
    super(volumes, new EmbeddedExports(volumes, opts, golden));
    this.golden = golden;
    this.makeClone = opts.makeClone;
    this.flattenClone = opts.flattenClone;
  }

  async hasGolden(name: string): Promise<boolean> {
    return (await this.golden.get(name)) !== null;
  }

  async goldenBoot(name: string): Promise<GoldenBoot | null> {
    return (await this.golden.require(name)).boot ?? null;
  }

  /**
   * Makes volume `name` a copy-on-write clone of golden volume `golden`, of max(golden size,
   * sizeBytes) bytes. E_STORAGE_EXISTS when a volume of that name exists (reuse or delete it);
   * E_GOLDEN_CHANGED when the golden file is not the one recorded.
   */
  cloneVolume(name: string, golden: string, sizeBytes = 0): Promise<VolumeInfo> {
    return this.lock.run(async () => {
      const make = this.makeClone;
      if (!make) throw new UserError('E_STORAGE_UNSUPPORTED', 'this storage node cannot make clones (no clone maker configured)');
      const delta = this.volumes.pathOf(name);
      if (await this.volumes.get(name)) throw new UserError('E_STORAGE_EXISTS', `volume ${name} exists; delete it before cloning into it`);
      const g = await this.golden.verifyIdentity(golden);
      const size = Math.max(g.sizeBytes, sizeBytes);
      const cap = await this.volumes.capacity();
      if (size > cap.freeBytes) throw new UserError('E_STORAGE_FULL', `clone ${name} may grow to ${size} bytes, ${cap.freeBytes} free`);
      const files = this.volumes.cloneFiles(name);
      try {
        await make({ golden: g.path, delta, map: files.map, sizeBytes: size });
        await this.volumes.recordClone(name, golden);
      } catch (e) {
        await this.volumes.delete(name).catch(() => {});
        throw e;
      }
      return this.volumes.require(name);
    });
  }

  /**
   * Throws clone `name`'s delta away and re-clones it from the same golden volume, at the same size
   * (for `host set NAME boot=reset`). The clone must not be exported (E_STORAGE_IN_USE: unexport,
   * reset, export again); a plain volume is E_GOLDEN_SOURCE.
   */
  resetClone(name: string): Promise<VolumeInfo> {
    return this.lock.run(async () => {
      const make = this.makeClone;
      if (!make) throw new UserError('E_STORAGE_UNSUPPORTED', 'this storage node cannot make clones (no clone maker configured)');
      const cur = await this.volumes.require(name);
      const golden = await this.volumes.cloneOf(name);
      if (golden === null) throw new UserError('E_GOLDEN_SOURCE', `volume ${name} is not a clone; there is nothing to reset it to`);
      const by = await this.exports.exporterOf(name);
      if (by !== undefined) throw new UserError('E_STORAGE_IN_USE', `volume ${name} is exported as ${by}; unexport it first`);
      const g = await this.golden.verifyIdentity(golden);
      const files = this.volumes.cloneFiles(name);
      await this.volumes.delete(name);
      try {
        await make({ golden: g.path, delta: cur.path!, map: files.map, sizeBytes: cur.sizeBytes });
        await this.volumes.recordClone(name, golden);
      } catch (e) {
        await this.volumes.delete(name).catch(() => {});
        throw e;
      }
      return this.volumes.require(name);
    });
  }

  /**
   * `golden promote` (issue #20): clone `volume`'s current state (its golden volume's blocks under
   * its own writes) becomes a new golden volume — the next version of its golden volume's line
   * (1 + the highest version in the line), named `name` or `<first of the line>-v<version>`, with
   * `parent` = the clone's golden volume and its boot facts (same root file system). The clone and
   * every other clone keep their base: nothing existing is written. E_GOLDEN_SOURCE for a plain
   * volume (freeze it with `golden create --from`), E_GOLDEN_EXISTS for a taken name. Promote a
   * node that is powered off: a clone written meanwhile may change under the copy.
   */
  promoteClone(volume: string, opts: { name?: string | undefined; from: string }): Promise<GoldenCreateResult> {
    return this.lock.run(async () => {
      const flatten = this.flattenClone;
      if (!flatten) throw new UserError('E_STORAGE_UNSUPPORTED', 'this storage node cannot promote clones (no clone flattener configured)');
      const vol = await this.volumes.require(volume);
      const base = await this.volumes.cloneOf(volume);
      if (base === null)
        throw new UserError('E_GOLDEN_SOURCE', `volume ${volume} is not a clone (freeze a plain volume with: netroot golden create NAME --from HOST)`);
      const g = await this.golden.verifyIdentity(base);
      const { root, version } = await this.golden.nextVersion(base);
      const name = opts.name ?? `${root}-v${version}`;
      const files = this.volumes.cloneFiles(volume);
      return this.golden.createWith(name, { from: opts.from, boot: g.boot, version, parent: base }, async (out) => {
        await flatten({ golden: g.path, delta: vol.path!, map: files.map, out });
        return { reflinked: false };
      });
    });
  }

  /** Removes a golden volume; E_GOLDEN_IN_USE while any volume is a clone of it. */
  removeGolden(name: string): Promise<void> {
    return this.lock.run(async () => {
      await this.golden.require(name);
      const clones = await this.volumes.clonesOf(name);
      if (clones.length)
        throw new UserError(
          'E_GOLDEN_IN_USE',
          `golden volume ${name} has ${clones.length} clone(s): ${clones.slice(0, 10).join(', ')}${clones.length > 10 ? ', ...' : ''}`,
        );
      await this.golden.remove(name);
    });
  }
}
