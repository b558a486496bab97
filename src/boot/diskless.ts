// Install → diskless. On netroot.installComplete the node's initrd overlay (initiator, target,
// portal, CHAP secret, root UUID) and its kernel arguments (dracut-compatible, no secret) are
// regenerated, and only then — in one transaction that also spends the install token — the boot
// action flips to `os`. A failure anywhere before that commit leaves the node booting what it
// booted before. Overlays are content-addressed (overlay-<sha>.img), so writing a new one never
// changes the file the current boot record points at.
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { BootRecord, Host, Repos, Store } from '../store/index.js';
import type { KickstartService } from './kickstart.js';
import { NetrootError, UserError } from '../errors.js';
import type { NodeBootInfo } from '../initrd/index.js';
import { imageBootFiles, OS_IMAGE_ATTRIBUTE } from './os-image.js';
import { writeFileAtomic } from '../atomic-file.js';
import { CLONE_ID_ATTRIBUTE, CLONE_IMAGE_ATTRIBUTE, CLONE_OF_ATTRIBUTE, CLONE_ROOT_UUID_ATTRIBUTE } from '../discovery/plugins/iscsi-allocation.js';

export type { NodeBootInfo };

/** What src/initrd provides: the overlay archive and the kernel arguments for a node. */
export interface OverlayBuilder {
  renderOverlay(info: NodeBootInfo): Promise<Buffer>;
  kernelArgs(info: NodeBootInfo): string;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function nodeDir(config: Config, host: string): string {
  return join(config.stateDir, 'nodes', host);
}

/** The final name of an overlay; temporaries (atomic-file.ts: ".<name>.<pid>-<n>-<rand>.tmp") never match. */
const OVERLAY_FILE = /^overlay-[0-9a-f]{16}\.img$/;

/** An overlay's content-addressed file name. */
function overlayName(overlay: Buffer): string {
  return `overlay-${createHash('sha256').update(overlay).digest('hex').slice(0, 16)}.img`;
}

export class DisklessRegenerator {
  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly kickstarts: KickstartService,
    private readonly builder: OverlayBuilder,
  ) {}

  async bootInfo(host: Host, rootUuid: string): Promise<NodeBootInfo> {
    if (!UUID.test(rootUuid)) throw new UserError('E_BAD_ROOT_UUID', 'root_uuid is not a filesystem UUID');
    const a = await this.kickstarts.attributesOf(host);
    const need = (k: string) => {
      const v = a[k];
      if (!v) throw new UserError('E_NO_ISCSI', `${host.name} has no ${k} attribute (no iSCSI volume allocated)`);
      return v;
    };
    return {
      hostname: host.name,
      initiatorIqn: need('iscsi_initiator'),
      targetIqn: need('iscsi_target'),
      portal: need('iscsi_portal'),
      port: Number(need('iscsi_port')),
      lun: Number(need('iscsi_lun')),
      chapUser: a['iscsi_user'] || undefined,
      chapSecret: a['iscsi_secret'] || undefined,
      rootUuid: rootUuid.toLowerCase(),
      interface: this.config.boot.disklessInterface,
      // The boot NIC: the interface name above is bound to its MAC (ifname=), so the name holds
      // whatever the distribution renames the NIC to.
      mac: host.interfaces[0]?.mac,
    };
  }

  /**
   * Regenerates the node's overlay and kernel arguments and flips it to `os`.
   * `spend` runs inside the flip's transaction (the install token is consumed there); if it throws,
   * nothing changes.
   */
  async regenerate(hostName: string, rootUuid: string, spend: (tx: Repos) => Promise<void>): Promise<BootRecord> {
    const host = await this.store.hosts.get(hostName);
    if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(hostName)}`);
    const info = await this.bootInfo(host, rootUuid);
    const image = (await this.kickstarts.storedAttributesOf(host))[OS_IMAGE_ATTRIBUTE];
    return this.writeBoot(host, info, image, async (tx, name) => {
      await spend(tx);
      await tx.hosts.update(host.name, { bootAction: 'os', state: 'installed', stateDetail: null });
      await tx.events.append({ kind: 'host.installed', host: host.name, detail: { rootUuid: info.rootUuid, overlay: name, ...(image ? { image } : {}) } });
    });
  }

  /**
   * A golden clone (issue #20) boots its OS without an install: its overlay carries the clone id
   * (the first-boot personalisation runs once per id) and the role's <firstboot> sections, its
   * kernel arguments the golden root's UUID, its kernel and initrd the golden's OS image (else the
   * host's `os_image`, else the shared diskless ones); boot action `os`, state `installed`.
   * False (nothing written) when the host is not a clone or its golden volume records no root UUID.
   */
  async bootClone(hostName: string): Promise<boolean> {
    const host = await this.store.hosts.get(hostName);
    if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(hostName)}`);
    const a = await this.kickstarts.storedAttributesOf(host);
    const golden = a[CLONE_OF_ATTRIBUTE];
    const rootUuid = a[CLONE_ROOT_UUID_ATTRIBUTE];
    const cloneId = a[CLONE_ID_ATTRIBUTE];
    if (!golden || !rootUuid || !cloneId) return false;
    const image = a[CLONE_IMAGE_ATTRIBUTE] || a[OS_IMAGE_ATTRIBUTE] || undefined;
    const info: NodeBootInfo = { ...(await this.bootInfo(host, rootUuid)), cloneId, firstboot: await this.kickstarts.firstboot(host) };
    await this.writeBoot(host, info, image, async (tx, name) => {
      await tx.hosts.update(host.name, { bootAction: 'os', state: 'installed', stateDetail: `clone of golden volume ${golden}` });
      await tx.events.append({ kind: 'host.cloned', host: host.name, detail: { golden, rootUuid: info.rootUuid, overlay: name, ...(image ? { image } : {}) } });
    });
    return true;
  }

  /** Writes the overlay (content-addressed), then the boot record and `then` in one transaction. */
  private async writeBoot(
    host: Host,
    info: NodeBootInfo,
    image: string | undefined,
    then: (tx: Repos, overlayName: string) => Promise<void>,
  ): Promise<BootRecord> {
    const overlay = await this.builder.renderOverlay(info);
    const extra = this.config.boot.disklessArgs.trim();
    const args = `${this.builder.kernelArgs(info)}${extra ? ' ' + extra : ''}`;
    if (info.chapSecret && args.includes(info.chapSecret)) throw new Error('refusing kernel arguments that contain the CHAP secret');
    // The image's own kernel and dracut initrd when the host has an os_image; else the shared ones.
    const files = image ? await imageBootFiles(this.kickstarts.images, image) : null;
    const dir = nodeDir(this.config, host.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const name = overlayName(overlay);
    // Concurrent calls for one node (one token, replayed) each write their own temporary (unique
    // name, O_EXCL) and rename it onto the same content-addressed name; only the transaction below
    // decides which call wins, the others fail with E_TOKEN_USED.
    await writeFileAtomic(join(dir, name), overlay, { mode: 0o600, durable: true });
    const record = await this.store.transaction(async (tx) => {
      const r = await tx.boot.put({
        host: host.name,
        kernel: files?.kernel ?? this.config.boot.disklessKernel,
        initrd: files?.initrd ?? this.config.boot.disklessInitrd,
        overlay: join('nodes', host.name, name),
        args,
      });
      await then(tx, name);
      return r;
    });
    // Older overlays are no longer referenced by any record. Another call's temporary is left alone.
    for (const f of await readdir(dir)) if (OVERLAY_FILE.test(f) && f !== name) await unlink(join(dir, f)).catch(() => {});
    return record;
  }

  /**
   * Makes the overlay file the boot record names exist in this server's state directory (issue #21:
   * another server sharing the database ran installComplete and wrote it in its own). It is
   * rendered again from the database (attributes, the root UUID in the recorded kernel arguments);
   * the render is reproducible (initrd/: fixed inodes, mtime 0, gzip without time), so it must hash
   * to the recorded content-addressed name: anything else (the host's iSCSI record changed since) is
   * E_OVERLAY_MISSING, and nothing is written.
   */
  async ensureOverlay(host: Host, rec: BootRecord): Promise<void> {
    if (!rec.overlay) return;
    const path = join(this.config.stateDir, rec.overlay);
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return;
    const missing = (why: string) =>
      new NetrootError('E_OVERLAY_MISSING', `${host.name}: overlay ${rec.overlay} is not in this server's state directory and cannot be rebuilt: ${why}`);
    const m = /^nodes\/([^/]+)\/(overlay-[0-9a-f]{16}\.img)$/.exec(rec.overlay);
    if (!m || m[1] !== host.name) throw missing('not a node overlay path');
    const uuid = /(?:^| )root=UUID=([0-9a-fA-F-]{36})(?= |$)/.exec(rec.args)?.[1];
    if (!uuid) throw missing('no root=UUID= in the recorded kernel arguments');
    const overlay = await this.builder.renderOverlay(await this.bootInfo(host, uuid));
    if (overlayName(overlay) !== m[2]) throw missing("the host's boot settings changed since it was recorded (reinstall it)");
    await mkdir(nodeDir(this.config, host.name), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, overlay, { mode: 0o600, durable: true });
  }
}
