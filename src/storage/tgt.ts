// StorageBackend over Linux tgt (user-space target): tgtd is driven with tgtadm.
//
// tgt facts this relies on (checked against tgt 1.0.85, Debian 12):
// - LUN 0 of every target is tgt's own controller; the disk must be LUN 1 or above.
// - CHAP accounts are global to tgtd (one password per user name) and bound to targets; an
//   outgoing account (mutual CHAP) is bound with --outgoing. `--op show` lists account names
//   but never passwords, so the specs we applied (secrets included) are kept in a 0600 state file.
// - ACLs: a login is allowed when the initiator *address* OR the initiator *name* matches a
//   binding. Binding a source address next to the initiator name would therefore widen access,
//   so this backend binds the name only and refuses specs with sourceAddress (E_STORAGE_UNSUPPORTED).
// - tgtd's management socket is /var/run/tgtd/socket.<N> for `-C N`; tgtadm exits 107
//   (ENOTCONN) when no tgtd listens there → E_STORAGE_DOWN.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { NetrootError, UserError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import type { ApplyResult, TargetExports } from './local.js';
import { sameExport, type ExportSpec, type VolumeInfo } from './spec.js';
import { FileVolumes } from './volumes.js';
import { FileCloningBackend } from './file-clones.js';
import { readJsonFile, writeJsonFile } from './util.js';

export interface TgtBackendOptions {
  volumesDir: string;
  /** Where the applied specs are kept (default <volumesDir>/../tgt-exports.json). */
  stateFile?: string;
  /** tgtd's control port number (tgtadm -C / tgtd -C); default tgtd's own (0). */
  controlPort?: number;
  /** Address and port initiators use to reach this tgtd (ExportInfo.portal/port). */
  portal: string;
  port?: number;
  limitBytes?: number;
  tgtadm?: string;
  logger?: Logger;
}

/** TgtExports's options: tgtd's address and control port, and where the applied specs are kept. */
export type TgtExportsOptions = Omit<TgtBackendOptions, 'volumesDir' | 'limitBytes' | 'stateFile'> & { stateFile: string; kind?: 'tgt' | 'rbd' };

/**
 * The volume store a tgt export reads (FileVolumes: files; RbdVolumes: RBD images): `pathOf` is
 * the backing store path tgtadm shows for a LUN, `nameOf` maps it back (null: not ours), and
 * `backingStore` gives tgtadm's LUN arguments when it is more than `--backing-store <path>`.
 */
export interface TgtVolumes {
  require(name: string): Promise<VolumeInfo>;
  pathOf(name: string): string;
  nameOf(path: string): string | null;
  backingStore?(name: string): Promise<string[]>;
}

/** One target as `tgtadm --op show --mode target` prints it. */
export interface TgtTarget {
  tid: number;
  iqn: string;
  luns: Array<{ lun: number; type: string; path: string | null }>;
  accounts: Array<{ user: string; outgoing: boolean }>;
  acls: string[];
}

/** Parses `tgtadm --lld iscsi --op show --mode target` (indentation-structured text). */
export function parseTgtShow(text: string): TgtTarget[] {
  const out: TgtTarget[] = [];
  let cur: TgtTarget | null = null;
  let section = '';
  let lun: TgtTarget['luns'][number] | null = null;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const head = /^Target (\d+): (\S+)\s*$/.exec(raw);
    if (head) {
      cur = { tid: Number(head[1]), iqn: head[2]!, luns: [], accounts: [], acls: [] };
      out.push(cur);
      section = '';
      lun = null;
      continue;
    }
    if (!cur) throw new NetrootError('E_STORAGE_TGT_PARSE', `unexpected tgtadm output line: ${raw.slice(0, 80)}`);
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (indent === 4) {
      section = line.replace(/:$/, '');
      lun = null;
      continue;
    }
    if (section === 'LUN information') {
      const l = /^LUN: (\d+)$/.exec(line);
      if (l && indent === 8) {
        lun = { lun: Number(l[1]), type: '', path: null };
        cur.luns.push(lun);
      } else if (lun) {
        const t = /^Type: (.*)$/.exec(line);
        if (t) lun.type = t[1]!.trim();
        const p = /^Backing store path: (.*)$/.exec(line);
        if (p) lun.path = p[1]!.trim() === 'None' ? null : p[1]!.trim();
      }
    } else if (section === 'Account information' && indent === 8) {
      const a = /^(\S+)( \(outgoing\))?$/.exec(line);
      if (a) cur.accounts.push({ user: a[1]!, outgoing: a[2] !== undefined });
    } else if (section === 'ACL information' && indent === 8) {
      cur.acls.push(line);
    }
  }
  return out;
}

interface StateFile {
  version: 1;
  exports: ExportSpec[];
  /** Volume size each target was created with: tgt reads it once, so a grown file needs a re-export. */
  sizes?: Record<string, number>;
}

/** The export half over tgtd (LocalBackend holds the lock around every call but list()). */
export class TgtExports implements TargetExports {
  /** 'rbd' when the LUNs are RBD images (rbd.ts): same tgtd, another backend kind. */
  readonly kind: 'tgt' | 'rbd';
  private readonly stateFile: string;
  private readonly log: Logger;

  constructor(
    private readonly volumes: TgtVolumes,
    private readonly opts: TgtExportsOptions,
  ) {
    this.stateFile = opts.stateFile;
    this.kind = opts.kind ?? 'tgt';
    this.log = opts.logger ?? silentLogger;
  }

  address(): { portal: string; port: number } {
    return { portal: this.opts.portal, port: this.opts.port ?? 3260 };
  }

  /** Runs tgtadm; argv is never echoed in errors (it carries passwords). */
  private tgtadm(args: string[]): Promise<string> {
    const argv = [...(this.opts.controlPort !== undefined ? ['-C', String(this.opts.controlPort)] : []), '--lld', 'iscsi', ...args];
    const what = `tgtadm --mode ${args[args.indexOf('--mode') + 1] ?? '?'} --op ${args[args.indexOf('--op') + 1] ?? '?'}`;
    return new Promise((resolveP, reject) => {
      execFile(this.opts.tgtadm ?? 'tgtadm', argv, { timeout: 15_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolveP(stdout);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(new NetrootError('E_STORAGE_DOWN', 'tgtadm is not installed (apt-get install tgt)'));
        const msg = `${stderr || stdout}`
          .trim()
          .replace(/password\S*\s+\S+/gi, 'password [redacted]')
          .slice(0, 300);
        if ((err as { code?: unknown }).code === 107 || /not connected|connection refused|can't connect/i.test(msg))
          return reject(new NetrootError('E_STORAGE_DOWN', `tgtd is not running (control port ${this.opts.controlPort ?? 0}): ${msg}`));
        reject(new NetrootError('E_STORAGE_BACKEND', `${what} failed: ${msg}`));
      });
    });
  }

  async show(): Promise<TgtTarget[]> {
    return parseTgtShow(await this.tgtadm(['--op', 'show', '--mode', 'target']));
  }

  private async state(): Promise<StateFile> {
    return readJsonFile<StateFile>(this.stateFile, { version: 1, exports: [] });
  }

  private async saveState(s: StateFile): Promise<void> {
    s.exports.sort((a, b) => (a.targetIqn < b.targetIqn ? -1 : 1));
    const known = new Set(s.exports.map((x) => x.targetIqn));
    s.sizes = Object.fromEntries(
      Object.entries(s.sizes ?? {})
        .filter(([k]) => known.has(k))
        .sort(),
    );
    await writeJsonFile(this.stateFile, s);
  }

  /** tgtd's own view: a target whose LUN is the volume's file, ours or not. */
  async exporterOf(volume: string): Promise<string | undefined> {
    const path = this.volumes.pathOf(volume);
    return (await this.show()).find((t) => t.luns.some((l) => l.path === path))?.iqn;
  }

  /** Does the live target match the spec (LUN path, ACL, accounts)? Secrets are checked via the state file. */
  private liveMatches(t: TgtTarget, e: ExportSpec): boolean {
    const disk = t.luns.filter((l) => l.lun !== 0);
    if (disk.length !== 1 || disk[0]!.lun !== e.lun || disk[0]!.path !== this.volumes.pathOf(e.volume)) return false;
    if (t.acls.length !== 1 || t.acls[0] !== e.initiatorIqn) return false;
    const want = [`${e.chap.user}:in`, ...(e.chap.mutualUser ? [`${e.chap.mutualUser}:out`] : [])].sort();
    const have = t.accounts.map((a) => `${a.user}:${a.outgoing ? 'out' : 'in'}`).sort();
    return want.join(',') === have.join(',');
  }

  /** LUN 0 is tgt's controller; sourceAddress would widen its ACL (file header). */
  refuse(e: ExportSpec): void {
    if (e.lun === 0) throw new UserError('E_STORAGE_BAD_SPEC', 'tgt reserves LUN 0 for its controller; export the disk as LUN 1');
    if (e.sourceAddress !== undefined)
      throw new UserError(
        'E_STORAGE_UNSUPPORTED',
        'tgt cannot restrict a target to an initiator name AND a source address (its ACLs match either), so sourceAddress is refused',
      );
  }

  /** Creates or replaces one export; returns what it did. */
  async apply(e: ExportSpec): Promise<ApplyResult> {
    const live = await this.show();
    const vol = await this.volumes.require(e.volume);
    const st = await this.state();
    for (const other of st.exports) {
      if (other.targetIqn === e.targetIqn) continue;
      const users = [other.chap.user, other.chap.mutualUser].filter(Boolean);
      if (users.includes(e.chap.user) || (e.chap.mutualUser && users.includes(e.chap.mutualUser)))
        throw new UserError(
          'E_STORAGE_BAD_SPEC',
          `CHAP user ${e.chap.user} is already used by ${other.targetIqn} (tgt accounts are global: use one user per node)`,
        );
      if (other.volume === e.volume) throw new UserError('E_STORAGE_IN_USE', `volume ${e.volume} is already exported as ${other.targetIqn}`);
    }
    const cur = live.find((t) => t.iqn === e.targetIqn);
    const recorded = st.exports.find((x) => x.targetIqn === e.targetIqn);
    const sizeSame = (st.sizes?.[e.targetIqn] ?? vol.sizeBytes) === vol.sizeBytes;
    if (cur && recorded && sameExport(recorded, e) && this.liveMatches(cur, e) && sizeSame) return 'same';
    if (cur) await this.removeTarget(cur, recorded);
    const used = new Set(live.filter((t) => t !== cur).map((t) => t.tid));
    let tid = 1;
    while (used.has(tid)) tid++;
    const T = ['--tid', String(tid)];
    try {
      await this.tgtadm(['--op', 'new', '--mode', 'target', ...T, '--targetname', e.targetIqn]);
      const store = this.volumes.backingStore ? await this.volumes.backingStore(e.volume) : ['--backing-store', this.volumes.pathOf(e.volume)];
      await this.tgtadm(['--op', 'new', '--mode', 'logicalunit', ...T, '--lun', String(e.lun), ...store]);
      await this.tgtadm(['--op', 'bind', '--mode', 'target', ...T, '--initiator-name', e.initiatorIqn]);
      await this.setAccount(e.chap.user, e.chap.secret);
      await this.tgtadm(['--op', 'bind', '--mode', 'account', ...T, '--user', e.chap.user]);
      if (e.chap.mutualUser && e.chap.mutualSecret) {
        await this.setAccount(e.chap.mutualUser, e.chap.mutualSecret);
        await this.tgtadm(['--op', 'bind', '--mode', 'account', ...T, '--user', e.chap.mutualUser, '--outgoing']);
      }
    } catch (err) {
      // Leave nothing half-made: a target without its ACL or CHAP must not stay reachable.
      await this.tgtadm(['--op', 'delete', '--mode', 'target', '--force', ...T]).catch(() => undefined);
      throw err;
    }
    st.exports = st.exports.filter((x) => x.targetIqn !== e.targetIqn);
    st.exports.push(e);
    st.sizes = { ...st.sizes, [e.targetIqn]: vol.sizeBytes };
    await this.saveState(st);
    this.log.info('tgt export', { target: e.targetIqn, tid, volume: e.volume, initiator: e.initiatorIqn });
    return cur ? 'updated' : 'added';
  }

  /** (Re)creates a global account so its password is the given one. */
  private async setAccount(user: string, password: string): Promise<void> {
    await this.tgtadm(['--op', 'delete', '--mode', 'account', '--user', user]).catch((e: NetrootError) => {
      if (e.code === 'E_STORAGE_DOWN') throw e;
    });
    await this.tgtadm(['--op', 'new', '--mode', 'account', '--user', user, '--password', password]);
  }

  /** Deletes a live target (sessions included) and the accounts only it used. */
  private async removeTarget(t: TgtTarget, recorded: ExportSpec | undefined): Promise<void> {
    await this.tgtadm(['--op', 'delete', '--mode', 'target', '--force', '--tid', String(t.tid)]);
    const users = new Set([...t.accounts.map((a) => a.user), ...(recorded ? [recorded.chap.user, recorded.chap.mutualUser ?? ''] : [])]);
    users.delete('');
    const stillBound = new Set((await this.show()).flatMap((o) => o.accounts.map((a) => a.user)));
    for (const u of users) {
      if (!stillBound.has(u)) await this.tgtadm(['--op', 'delete', '--mode', 'account', '--user', u]).catch(() => undefined);
    }
  }

  async remove(targetIqn: string): Promise<void> {
    const st = await this.state();
    const recorded = st.exports.find((x) => x.targetIqn === targetIqn);
    const live = (await this.show()).find((t) => t.iqn === targetIqn);
    if (live) await this.removeTarget(live, recorded);
    if (recorded) {
      st.exports = st.exports.filter((x) => x !== recorded);
      await this.saveState(st);
    }
    if (live) this.log.info('tgt unexport', { target: targetIqn });
  }

  async list(): Promise<ExportSpec[]> {
    const [live, st] = await Promise.all([this.show(), this.state()]);
    const out: ExportSpec[] = [];
    for (const t of live) {
      const rec = st.exports.find((x) => x.targetIqn === t.iqn);
      if (rec && this.liveMatches(t, rec)) {
        out.push(rec);
        continue;
      }
      // Not ours, or changed behind our back: describe what tgtd shows (tgt never reveals passwords).
      const disk = t.luns.find((l) => l.lun !== 0 && l.path);
      const vol = disk?.path ? this.volumes.nameOf(disk.path) : null;
      if (!disk || !vol) continue;
      const inUser = t.accounts.find((a) => !a.outgoing);
      const outUser = t.accounts.find((a) => a.outgoing);
      const e: ExportSpec = {
        volume: vol,
        targetIqn: t.iqn,
        initiatorIqn: t.acls[0] ?? '',
        chap: { user: inUser?.user ?? '', secret: '' },
        lun: disk.lun,
      };
      if (outUser) {
        e.chap.mutualUser = outUser.user;
        e.chap.mutualSecret = '';
      }
      out.push(e);
    }
    return out;
  }

  /**
   * Managed = recorded in our state file or backed by a file in our volumes directory; anything
   * else in this tgtd belongs to someone else and is left alone. The state file keeps only wanted
   * exports that tgtd still has (the others are re-added as new).
   */
  async prune(wanted: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    const st = await this.state();
    const live = await this.show();
    for (const t of live) {
      if (wanted.has(t.iqn)) continue;
      const rec = st.exports.find((x) => x.targetIqn === t.iqn);
      const ours = rec !== undefined || t.luns.some((l) => l.path !== null && this.volumes.nameOf(l.path) !== null);
      if (!ours) continue;
      await this.removeTarget(t, rec);
      removed.push(t.iqn);
    }
    const st2 = await this.state();
    st2.exports = st2.exports.filter((x) => wanted.has(x.targetIqn) && live.some((t) => t.iqn === x.targetIqn));
    await this.saveState(st2);
    return removed;
  }
}

/** tgt's StorageBackend: the volume store and TgtExports. */
/** Golden volumes and their reflink (else full-copy) clones: file-clones.ts. */
export class TgtBackend extends FileCloningBackend<TgtExports> {
  constructor(opts: TgtBackendOptions) {
    const volumes = new FileVolumes({ dir: opts.volumesDir, limitBytes: opts.limitBytes });
    super(volumes, new TgtExports(volumes, { ...opts, stateFile: opts.stateFile ?? join(volumes.dir, '..', 'tgt-exports.json') }), opts.logger);
  }

  /** The live targets as `tgtadm --op show --mode target` lists them. */
  show(): Promise<TgtTarget[]> {
    return this.exports.show();
  }
}
