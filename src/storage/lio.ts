// StorageBackend over the Linux kernel target (LIO), written straight into configfs the way
// rtslib-fb does it (targetcli's library), without Python:
//
//   <root>/target/core/fileio_<N>/<volume>/        one HBA per storage object, N = lowest free index
//       control      "fd_dev_name=<file>,fd_dev_size=<bytes>[,fd_buffered_io=1]"
//       udev_path    <file>           wwn/vpd_unit_serial  <uuid>        enable  1
//   <root>/target/iscsi/<target iqn>/tpgt_1/
//       lun/lun_<L>/<alias> → <root>/target/core/fileio_<N>/<volume>
//       np/<ip>:<port>/
//       acls/<initiator iqn>/auth/{userid,password[,userid_mut,password_mut]}
//       acls/<initiator iqn>/lun_<L>/<alias> → ../../../lun/lun_<L>  (absolute, like rtslib)
//       attrib/{authentication=1,generate_node_acls=0,cache_dynamic_acls=0}  param/AuthMethod=CHAP
//       enable  1
//
// `root` defaults to /sys/kernel/config. On a real configfs, mkdir creates an item with its
// attribute files and default groups, and items are removed with rmdir (attributes cannot be
// unlinked). With mode 'directory' (any ordinary directory standing in for configfs, as in the
// tests) we create the parent directories ourselves and remove items recursively. The wwn and
// the link aliases are derived from the names (rtslib uses random ones), so a re-created export
// shows the initiator the same disk serial and the trees are reproducible.
//
// LIO ACLs are per initiator name; there is no per-address restriction, so specs with
// sourceAddress are refused (E_STORAGE_UNSUPPORTED). configfs keeps the CHAP passwords readable
// by root, so listExports() and reconcile() read everything back from the tree: no state file.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm, rmdir, statfs, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import type { ApplyResult, TargetExports } from './local.js';
import { sameExport, type ExportSpec, type VolumeInfo } from './spec.js';
import { FileVolumes } from './volumes.js';
import { FileCloningBackend } from './file-clones.js';

const CONFIGFS_MAGIC = 0x62656570;
const TPG = 'tpgt_1';

export interface LioBackendOptions {
  volumesDir: string;
  limitBytes?: number;
  /** The configfs mount point; default /sys/kernel/config. */
  configfsRoot?: string;
  /** 'kernel' for a real configfs, 'directory' for a stand-in; default: detected with statfs. */
  mode?: 'kernel' | 'directory';
  /** The network portal each target listens on (np/<address>:<port>); default 0.0.0.0:3260. */
  listenAddress?: string;
  listenPort?: number;
  /** Address and port initiators use (ExportInfo.portal/port); port defaults to listenPort. */
  portal: string;
  port?: number;
  /** fd_buffered_io=1 (write-back through the page cache) — targetcli's default for fileio. */
  writeBack?: boolean;
  logger?: Logger;
}

/** What one target looks like in the tree (read back by inspect()). */
interface LiveExport {
  spec: ExportSpec;
  backstore: string | null;
  sizeBytes: number | null;
  portals: string[];
  enabled: boolean;
}

/** The export half over the kernel target's configfs tree (LocalBackend holds the lock around every call but list()). */
export class LioExports implements TargetExports {
  readonly kind = 'lio' as const;
  readonly root: string;
  private readonly log: Logger;
  private mode: 'kernel' | 'directory' | undefined;

  constructor(
    private readonly volumes: FileVolumes,
    private readonly opts: LioBackendOptions,
  ) {
    this.root = opts.configfsRoot ?? '/sys/kernel/config';
    this.mode = opts.mode;
    this.log = opts.logger ?? silentLogger;
  }

  private get T(): string {
    return join(this.root, 'target');
  }
  private get listen(): string {
    const a = this.opts.listenAddress ?? '0.0.0.0';
    return `${a.includes(':') ? `[${a}]` : a}:${this.opts.listenPort ?? 3260}`;
  }
  address(): { portal: string; port: number } {
    return { portal: this.opts.portal, port: this.opts.port ?? this.opts.listenPort ?? 3260 };
  }

  private async fsMode(): Promise<'kernel' | 'directory'> {
    if (!this.mode) {
      try {
        this.mode = (await statfs(this.root)).type === CONFIGFS_MAGIC ? 'kernel' : 'directory';
      } catch {
        throw new NetrootError(
          'E_STORAGE_DOWN',
          `configfs root ${this.root} is missing (mount -t configfs none /sys/kernel/config; modprobe target_core_mod iscsi_target_mod)`,
        );
      }
    }
    return this.mode;
  }

  // ---- configfs primitives ----

  private async mkItem(path: string): Promise<void> {
    if ((await this.fsMode()) === 'directory') await mkdir(path, { recursive: true });
    else
      await mkdir(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
  }

  private async setAttr(path: string, value: string): Promise<void> {
    if ((await this.fsMode()) === 'directory') await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, value);
  }

  private async rmItem(path: string): Promise<void> {
    try {
      if ((await this.fsMode()) === 'directory') await rm(path, { recursive: true });
      else await rmdir(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  private async rmLinks(dir: string): Promise<void> {
    for (const n of await ls(dir)) if ((await lstat(join(dir, n))).isSymbolicLink()) await unlink(join(dir, n));
  }

  async exporterOf(volume: string): Promise<string | undefined> {
    return (await this.inspect()).find((x) => x.spec.volume === volume)?.spec.targetIqn;
  }

  // ---- reading the tree ----

  /** Backstore directories: volume file path → configfs path. */
  private async backstores(): Promise<Map<string, { dir: string; index: number; name: string }>> {
    const out = new Map<string, { dir: string; index: number; name: string }>();
    for (const hba of await ls(join(this.T, 'core'))) {
      const m = /^fileio_(\d+)$/.exec(hba);
      if (!m) continue;
      for (const so of await ls(join(this.T, 'core', hba))) {
        const dir = join(this.T, 'core', hba, so);
        if (!(await lstat(dir)).isDirectory()) continue;
        const dev = (await readAttr(join(dir, 'udev_path'))) ?? '';
        out.set(dev, { dir, index: Number(m[1]), name: so });
      }
    }
    return out;
  }

  private async usedHbaIndexes(): Promise<Set<number>> {
    const s = new Set<number>();
    for (const hba of await ls(join(this.T, 'core'))) {
      const m = /^[a-z_]+_(\d+)$/.exec(hba);
      if (m) s.add(Number(m[1]));
    }
    return s;
  }

  /** Every iSCSI target in the tree whose LUN is a file of our volumes directory. */
  private async inspect(): Promise<LiveExport[]> {
    await this.fsMode();
    const out: LiveExport[] = [];
    const base = join(this.T, 'iscsi');
    for (const iqn of await ls(base)) {
      const tpg = join(base, iqn, TPG);
      if (iqn === 'discovery_auth' || !(await isDir(tpg))) continue;
      let lunNo = -1;
      let backstore: string | null = null;
      for (const l of await ls(join(tpg, 'lun'))) {
        const m = /^lun_(\d+)$/.exec(l);
        if (!m) continue;
        for (const n of await ls(join(tpg, 'lun', l))) {
          const p = join(tpg, 'lun', l, n);
          if ((await lstat(p)).isSymbolicLink()) {
            lunNo = Number(m[1]);
            backstore = await readlink(p);
          }
        }
      }
      if (backstore === null) continue;
      const dev = (await readAttr(join(backstore, 'udev_path'))) ?? '';
      const volume = this.volumes.nameOf(dev);
      if (volume === null) continue;
      const acls = await ls(join(tpg, 'acls'));
      const init = acls[0] ?? '';
      const auth = join(tpg, 'acls', init, 'auth');
      const chap: ExportSpec['chap'] = { user: (await readAttr(join(auth, 'userid'))) ?? '', secret: (await readAttr(join(auth, 'password'))) ?? '' };
      const mu = await readAttr(join(auth, 'userid_mut'));
      const ms = await readAttr(join(auth, 'password_mut'));
      if (mu && ms) {
        chap.mutualUser = mu;
        chap.mutualSecret = ms;
      }
      const mapped = acls.length === 1 && (await isDir(join(tpg, 'acls', init, `lun_${lunNo}`)));
      out.push({
        spec: { volume, targetIqn: iqn, initiatorIqn: mapped ? init : '', chap, lun: lunNo },
        backstore,
        sizeBytes: await this.backstoreSize(backstore),
        portals: await ls(join(tpg, 'np')),
        enabled: (await readAttr(join(tpg, 'enable'))) === '1',
      });
    }
    return out.sort((a, b) => (a.spec.targetIqn < b.spec.targetIqn ? -1 : 1));
  }

  /** fd_dev_size: from `info` on a kernel configfs ("... Size: N ..."), from our `control` in a stand-in. */
  private async backstoreSize(dir: string): Promise<number | null> {
    const info = await readAttr(join(dir, 'info'));
    const m = info ? /(?:^|[^A-Za-z])Size:\s*(\d+)/.exec(info) : null; // not "SectorSize:"
    if (m) return Number(m[1]);
    const control = await readAttr(join(dir, 'control'));
    const c = control ? /fd_dev_size=(\d+)/.exec(control) : null;
    return c ? Number(c[1]) : null;
  }

  private async matches(live: LiveExport, e: ExportSpec): Promise<boolean> {
    if (!sameExport(live.spec, e) || !live.enabled || live.portals.length !== 1 || live.portals[0] !== this.listen) return false;
    const v = await this.volumes.get(e.volume);
    return v !== null && live.sizeBytes === v.sizeBytes;
  }

  // ---- writing ----

  /** LIO ACLs are per initiator name: a sourceAddress cannot be enforced (file header). */
  refuse(e: ExportSpec): void {
    if (e.sourceAddress !== undefined)
      throw new UserError('E_STORAGE_UNSUPPORTED', 'LIO ACLs name initiators only; a sourceAddress restriction cannot be enforced and is refused');
  }

  async apply(e: ExportSpec): Promise<ApplyResult> {
    const live = await this.inspect();
    const vol = await this.volumes.require(e.volume);
    const other = live.find((x) => x.spec.volume === e.volume && x.spec.targetIqn !== e.targetIqn);
    if (other) throw new UserError('E_STORAGE_IN_USE', `volume ${e.volume} is already exported as ${other.spec.targetIqn}`);
    const cur = live.find((x) => x.spec.targetIqn === e.targetIqn);
    if (cur && (await this.matches(cur, e))) return 'same';
    if (cur) await this.removeTarget(e.targetIqn);
    try {
      await this.create(e, vol);
    } catch (err) {
      await this.removeTarget(e.targetIqn).catch(() => undefined);
      throw err;
    }
    this.log.info('lio export', { target: e.targetIqn, volume: e.volume, initiator: e.initiatorIqn });
    return cur ? 'updated' : 'added';
  }

  private async create(e: ExportSpec, vol: VolumeInfo): Promise<void> {
    const T = this.T;
    await this.mkItem(T);
    await this.mkItem(join(T, 'core'));
    // Storage object: one fileio HBA per volume, as rtslib does.
    const used = await this.usedHbaIndexes();
    let n = 0;
    while (used.has(n)) n++;
    const so = join(T, 'core', `fileio_${n}`, e.volume);
    await this.mkItem(join(T, 'core', `fileio_${n}`));
    await this.mkItem(so);
    await this.setAttr(join(so, 'control'), `fd_dev_name=${vol.path},fd_dev_size=${vol.sizeBytes}${this.opts.writeBack === false ? '' : ',fd_buffered_io=1'}`);
    await this.setAttr(join(so, 'udev_path'), vol.path!);
    await this.setAttr(join(so, 'enable'), '1');
    await this.setAttr(join(so, 'wwn', 'vpd_unit_serial'), unitSerial(e.volume));
    // Target, TPG, LUN, portal.
    const tpg = join(T, 'iscsi', e.targetIqn, TPG);
    await this.mkItem(join(T, 'iscsi'));
    await this.mkItem(join(T, 'iscsi', e.targetIqn));
    await this.mkItem(tpg);
    const lun = join(tpg, 'lun', `lun_${e.lun}`);
    await this.mkItem(join(tpg, 'lun'));
    await this.mkItem(lun);
    await symlink(so, join(lun, alias(so)));
    await this.mkItem(join(tpg, 'np'));
    await this.mkItem(join(tpg, 'np', this.listen));
    await this.setAttr(join(tpg, 'attrib', 'authentication'), '1');
    await this.setAttr(join(tpg, 'attrib', 'generate_node_acls'), '0');
    await this.setAttr(join(tpg, 'attrib', 'cache_dynamic_acls'), '0');
    await this.setAttr(join(tpg, 'param', 'AuthMethod'), 'CHAP');
    // The one initiator allowed in, with its CHAP credentials and its mapped LUN.
    const acl = join(tpg, 'acls', e.initiatorIqn);
    await this.mkItem(join(tpg, 'acls'));
    await this.mkItem(acl);
    await this.setAttr(join(acl, 'auth', 'userid'), e.chap.user);
    await this.setAttr(join(acl, 'auth', 'password'), e.chap.secret);
    if (e.chap.mutualUser && e.chap.mutualSecret) {
      await this.setAttr(join(acl, 'auth', 'userid_mut'), e.chap.mutualUser);
      await this.setAttr(join(acl, 'auth', 'password_mut'), e.chap.mutualSecret);
    }
    const mlun = join(acl, `lun_${e.lun}`);
    await this.mkItem(mlun);
    await symlink(lun, join(mlun, alias(lun)));
    await this.setAttr(join(mlun, 'write_protect'), '0');
    await this.setAttr(join(tpg, 'enable'), '1');
  }

  /** Tears a target down in the order configfs requires, then its storage objects. */
  private async removeTarget(iqn: string): Promise<void> {
    const tdir = join(this.T, 'iscsi', iqn);
    const tpg = join(tdir, TPG);
    const backstores: string[] = [];
    if (await isDir(tpg)) {
      if ((await this.fsMode()) === 'kernel') await writeFile(join(tpg, 'enable'), '0').catch(() => undefined);
      for (const a of await ls(join(tpg, 'acls'))) {
        for (const m of await ls(join(tpg, 'acls', a))) {
          if (!/^lun_\d+$/.test(m)) continue;
          await this.rmLinks(join(tpg, 'acls', a, m));
          await this.rmItem(join(tpg, 'acls', a, m));
        }
        await this.rmItem(join(tpg, 'acls', a));
      }
      for (const l of await ls(join(tpg, 'lun'))) {
        const dir = join(tpg, 'lun', l);
        for (const n of await ls(dir)) {
          const p = join(dir, n);
          if ((await lstat(p)).isSymbolicLink()) backstores.push(await readlink(p));
        }
        await this.rmLinks(dir);
        await this.rmItem(dir);
      }
      for (const np of await ls(join(tpg, 'np'))) await this.rmItem(join(tpg, 'np', np));
      await this.rmItem(tpg);
    }
    for (const t of await ls(tdir)) if (/^tpgt_\d+$/.test(t)) await this.rmItem(join(tdir, t));
    await this.rmItem(tdir);
    // Storage objects that no other target's LUN points at go too (the data file stays).
    const stillUsed = new Set((await this.inspect()).map((x) => x.backstore));
    for (const so of backstores) {
      if (stillUsed.has(so) || !so.startsWith(join(this.T, 'core') + '/')) continue;
      await this.rmItem(so);
      await this.rmItem(join(so, '..'));
    }
  }

  async remove(targetIqn: string): Promise<void> {
    if (!(await isDir(join(this.T, 'iscsi', targetIqn)))) return;
    await this.removeTarget(targetIqn);
    this.log.info('lio unexport', { target: targetIqn });
  }

  async list(): Promise<ExportSpec[]> {
    return (await this.inspect()).map((x) => x.spec);
  }

  /** Managed = a target whose LUN is a file of our volumes directory (inspect()). */
  async prune(wanted: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const x of await this.inspect()) {
      if (wanted.has(x.spec.targetIqn)) continue;
      await this.removeTarget(x.spec.targetIqn);
      removed.push(x.spec.targetIqn);
    }
    return removed;
  }

  /**
   * The live tree as targetcli's saveconfig.json (`targetcli saveconfig` / `targetctl restore`
   * shape: storage_objects, targets[].tpgs[] with luns, node_acls, portals). Contains CHAP
   * passwords, like the file targetcli writes to /etc/rtslib-fb-target/saveconfig.json (0600).
   */
  async exportSaveconfig(): Promise<SaveConfig> {
    const bs = await this.backstores();
    const storage_objects: SaveConfig['storage_objects'] = [];
    for (const [dev, b] of [...bs.entries()].sort((x, y) => (x[1].name < y[1].name ? -1 : 1))) {
      storage_objects.push({
        alua_tpgs: [],
        attributes: {},
        dev,
        name: b.name,
        plugin: 'fileio',
        size: (await this.backstoreSize(b.dir)) ?? 0,
        write_back: /fd_buffered_io=1/.test((await readAttr(join(b.dir, 'control'))) ?? '') || this.opts.writeBack !== false,
        wwn: (await readAttr(join(b.dir, 'wwn', 'vpd_unit_serial')))?.replace(/^T10 VPD Unit Serial Number:\s*/, '') ?? '',
      });
    }
    const targets: SaveConfig['targets'] = [];
    for (const x of await this.inspect()) {
      const so = [...bs.values()].find((b) => b.dir === x.backstore);
      const acl: SaveConfig['targets'][number]['tpgs'][number]['node_acls'][number] = {
        attributes: {},
        chap_password: x.spec.chap.secret,
        chap_userid: x.spec.chap.user,
        mapped_luns: [
          {
            alias: alias(join(this.T, 'iscsi', x.spec.targetIqn, TPG, 'lun', `lun_${x.spec.lun}`)),
            index: x.spec.lun,
            tpg_lun: x.spec.lun,
            write_protect: false,
          },
        ],
        node_wwn: x.spec.initiatorIqn,
      };
      if (x.spec.chap.mutualUser && x.spec.chap.mutualSecret) {
        acl.chap_mutual_password = x.spec.chap.mutualSecret;
        acl.chap_mutual_userid = x.spec.chap.mutualUser;
      }
      targets.push({
        fabric: 'iscsi',
        tpgs: [
          {
            attributes: { authentication: 1, cache_dynamic_acls: 0, generate_node_acls: 0 },
            enable: x.enabled,
            luns: [
              {
                alias: alias(x.backstore ?? ''),
                alua_tg_pt_gp_name: 'default_tg_pt_gp',
                index: x.spec.lun,
                storage_object: `/backstores/fileio/${so?.name ?? x.spec.volume}`,
              },
            ],
            node_acls: [acl],
            parameters: { AuthMethod: 'CHAP' },
            portals: x.portals.map((p) => {
              const m = /^\[?(.*?)\]?:(\d+)$/.exec(p);
              return { ip_address: m?.[1] ?? p, iser: false, offload: false, port: Number(m?.[2] ?? 3260) };
            }),
            tag: 1,
          },
        ],
        wwn: x.spec.targetIqn,
      });
    }
    return { fabric_modules: [], storage_objects, targets };
  }
}

/** LIO's StorageBackend: the volume store and LioExports. */
/** Golden volumes and their reflink (else full-copy) clones: file-clones.ts. */
export class LioBackend extends FileCloningBackend<LioExports> {
  readonly root: string;

  constructor(opts: LioBackendOptions) {
    const volumes = new FileVolumes({ dir: opts.volumesDir, limitBytes: opts.limitBytes });
    super(volumes, new LioExports(volumes, opts), opts.logger);
    this.root = this.exports.root;
  }

  /** The live tree as targetcli's saveconfig.json (LioExports.exportSaveconfig). */
  exportSaveconfig(): Promise<SaveConfig> {
    return this.exports.exportSaveconfig();
  }
}

export interface SaveConfig {
  fabric_modules: unknown[];
  storage_objects: Array<{
    alua_tpgs: unknown[];
    attributes: Record<string, number>;
    dev: string;
    name: string;
    plugin: 'fileio';
    size: number;
    write_back: boolean;
    wwn: string;
  }>;
  targets: Array<{
    fabric: 'iscsi';
    tpgs: Array<{
      attributes: Record<string, number>;
      enable: boolean;
      luns: Array<{ alias: string; alua_tg_pt_gp_name: string; index: number; storage_object: string }>;
      node_acls: Array<{
        attributes: Record<string, number>;
        chap_password: string;
        chap_userid: string;
        chap_mutual_password?: string;
        chap_mutual_userid?: string;
        mapped_luns: Array<{ alias: string; index: number; tpg_lun: number; write_protect: boolean }>;
        node_wwn: string;
      }>;
      parameters: Record<string, string>;
      portals: Array<{ ip_address: string; iser: boolean; offload: boolean; port: number }>;
      tag: number;
    }>;
    wwn: string;
  }>;
}

/** A stable 10-hex-digit link name (rtslib uses the tail of a random UUID). */
function alias(target: string): string {
  return createHash('sha256')
    .update(`netroot-lio-alias:${target.split('/target/').pop()}`)
    .digest('hex')
    .slice(0, 10);
}

/** A stable UUID-shaped T10 unit serial for a volume (same disk identity after re-export). */
export function unitSerial(volume: string): string {
  const h = createHash('sha256').update(`netroot-lio-wwn:${volume}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function ls(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readAttr(p: string): Promise<string | null> {
  try {
    return (await readFile(p, 'utf8')).replace(/\0/g, '').trim();
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    if (c === 'ENOENT' || c === 'EACCES' || c === 'EPERM' || c === 'EISDIR') return null;
    throw e;
  }
}
