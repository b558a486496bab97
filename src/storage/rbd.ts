// StorageBackend over Ceph RBD (`storage.backend: rbd`, issue #20): volumes are RBD images
// (rbd-volumes.ts, through the rbd/ceph CLIs), exported by tgtd's rbd backing store (Debian
// tgt-rbd: `tgtadm --op new --mode logicalunit --bstype rbd --backing-store <pool>/<image>
// --bsopts conf=…;id=…`). The export half is tgt.ts's TgtExports unchanged (one target per node,
// LUN ≥ 1, initiator-name ACL, CHAP accounts, the state file), so CHAP, reconcile and the
// allocation plugin behave as with the tgt backend.
//
// Clones: golden volumes are images with a protected snapshot; a volume cloned from one is an RBD
// snapshot clone (copy-on-write in the cluster). `removeGolden` refuses while `rbd children` lists
// any. The cluster unreachable: every rbd/ceph call gives up after `timeoutSeconds` with
// E_RBD_DOWN (the allocation plugin then rolls back); tgtd keeps serving the images it has open as
// long as it reaches the OSDs (librbd inside tgtd does not need the mon for I/O).
import { join } from 'node:path';
import type { CloningBackend } from './backend.js';
import { LocalBackend } from './local.js';
import type { VolumeInfo } from './spec.js';
import { TgtExports, type TgtBackendOptions } from './tgt.js';
import { RbdVolumes, type RbdGoldenInfo } from './rbd-volumes.js';
import { UserError } from '../errors.js';
import { nextVersionIn, type GoldenBoot, type GoldenOrigin } from './golden.js';

export interface RbdBackendOptions extends Omit<TgtBackendOptions, 'volumesDir' | 'stateFile'> {
  pool: string;
  /** The cluster's ceph.conf. */
  conf: string;
  /** cephx client id (client.<id>). */
  clientId: string;
  /** The client's keyring (a secret: only its path is ever passed or logged). */
  keyring: string;
  timeoutSeconds?: number;
  /** Where the tgt state file and tgtd's conf live (the frontend's stateDir/rbd). */
  stateDir: string;
  rbd?: string;
  ceph?: string;
}

export class RbdBackend extends LocalBackend<TgtExports, RbdVolumes> implements CloningBackend {
  constructor(opts: RbdBackendOptions) {
    const volumes = new RbdVolumes({
      pool: opts.pool,
      conf: opts.conf,
      clientId: opts.clientId,
      keyring: opts.keyring,
      ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
      ...(opts.limitBytes !== undefined ? { limitBytes: opts.limitBytes } : {}),
      ...(opts.rbd ? { rbd: opts.rbd } : {}),
      ...(opts.ceph ? { ceph: opts.ceph } : {}),
      tgtConf: join(opts.stateDir, 'tgt-ceph.conf'),
    });
    super(volumes, new TgtExports(volumes, { ...opts, kind: 'rbd', stateFile: join(opts.stateDir, 'rbd-tgt-exports.json') }));
  }

  async hasGolden(name: string): Promise<boolean> {
    return (await this.volumes.goldenSize(name)) !== null;
  }

  /** Volume `name` as an RBD clone of golden `golden` (E_STORAGE_EXISTS if the volume exists). */
  cloneVolume(name: string, golden: string, sizeBytes?: number): Promise<VolumeInfo> {
    return this.lock.run(() => this.volumes.clone(name, golden, sizeBytes));
  }

  /** Removes an unexported clone and clones it again at the same size (E_GOLDEN_SOURCE for a plain volume). */
  resetClone(name: string): Promise<VolumeInfo> {
    return this.lock.run(async () => {
      const cur = await this.volumes.require(name);
      const golden = await this.volumes.cloneOf(name);
      if (golden === null) throw new UserError('E_GOLDEN_SOURCE', `volume ${name} is not a clone; there is nothing to reset it to`);
      const by = await this.exports.exporterOf(name);
      if (by !== undefined) throw new UserError('E_STORAGE_IN_USE', `volume ${name} is exported as ${by}; unexport it first`);
      if ((await this.volumes.goldenSize(golden)) === null) throw new UserError('E_GOLDEN_NOT_FOUND', `clone ${name}'s golden volume ${golden} is gone`);
      await this.volumes.delete(name);
      return this.volumes.clone(name, golden, cur.sizeBytes);
    });
  }

  // ---- golden volumes (for `netroot golden` on an rbd node) ----

  /**
   * Freezes volume `volume` as golden volume `name`: a copy inside the cluster of one instant of it
   * (a snapshot, so even an exported volume is copied crash-consistent; power the host off first
   * for a clean file system), then the golden's protected snapshot. E_GOLDEN_SOURCE for a clone or
   * a missing volume, E_GOLDEN_EXISTS.
   */
  freezeGolden(name: string, volume: string, from: string | GoldenOrigin): Promise<RbdGoldenInfo> {
    return this.lock.run(() => this.volumes.createGolden(name, { volume }, from));
  }

  /** Golden volume `name` from an image file (raw), e.g. an OS image installed once. */
  importGolden(name: string, file: string, from: string | GoldenOrigin): Promise<RbdGoldenInfo> {
    return this.lock.run(() => this.volumes.createGolden(name, { file }, from));
  }

  /** How clones of golden `name` boot without installing (its record's `boot`), or null. */
  async goldenBoot(name: string): Promise<GoldenBoot | null> {
    return (await this.volumes.requireGolden(name)).boot ?? null;
  }

  /**
   * `golden promote` on rbd, with the embedded target's semantics (embedded.ts promoteClone): clone
   * `volume`'s current content (`rbd cp` of a snapshot of it, which reads through to the golden
   * snapshot: a flattened copy) becomes a new golden volume, the next version of its golden
   * volume's line, named `name` or `<first of the line>-v<version>`, with `parent` = the clone's
   * golden volume and its boot facts. The clone and every other clone keep their base.
   * E_GOLDEN_SOURCE for a plain volume, E_GOLDEN_EXISTS for a taken name.
   */
  promoteClone(volume: string, opts: { name?: string | undefined; from: string }): Promise<RbdGoldenInfo> {
    return this.lock.run(async () => {
      await this.volumes.require(volume);
      const base = await this.volumes.cloneOf(volume);
      if (base === null)
        throw new UserError('E_GOLDEN_SOURCE', `volume ${volume} is not a clone (freeze a plain volume with: netroot golden create NAME --from HOST)`);
      const g = await this.volumes.requireGolden(base);
      const { root, version } = nextVersionIn(await this.volumes.listGolden(), base);
      const name = opts.name ?? `${root}-v${version}`;
      return this.volumes.createGolden(name, { volume, flatten: true }, { from: opts.from, boot: g.boot, version, parent: base });
    });
  }

  /** Whether golden `name`'s snapshot is still protected (`golden show --verify`). */
  goldenProtected(name: string): Promise<boolean> {
    return this.volumes.goldenProtected(name);
  }

  listGolden(): Promise<RbdGoldenInfo[]> {
    return this.volumes.listGolden();
  }

  requireGolden(name: string): Promise<RbdGoldenInfo> {
    return this.volumes.requireGolden(name);
  }

  clonesOf(golden: string): Promise<string[]> {
    return this.volumes.clonesOf(golden);
  }

  /** E_GOLDEN_IN_USE while clones exist (`rbd children`). */
  removeGolden(name: string): Promise<void> {
    return this.lock.run(() => this.volumes.removeGolden(name));
  }
}
