// The cluster lab (issue 19): two Debian diskless nodes of the real-OS lab (real-os.ts) made a
// cluster by the roles of roles/cluster and roles/sync, with the frontend side run in the lab
// namespace — shared by test/e2e/real-os.test.ts and bench/cluster.bench.ts.
//
// Frontend side (ClusterFrontend), everything under <workDir>/cluster, nothing of this machine's
// own accounts or services touched:
//   - the frontend's /etc as netroot sync reads it (sync.etcDir = fe/etc: copies of this machine's
//     passwd/group/shadow/gshadow/login.defs); users are made there with `useradd --prefix`;
//   - munged on the cluster key (sync.mungeKeyPath), slurmctld on the slurm.conf the slurm-conf
//     plugin writes (slurm.restart/reconfigure = bin/restart-slurmctld, bin/fe-run scontrol
//     reconfigure), and every Slurm client command, run through bin/fe-run: a private mount
//     namespace (unshare -m) where fe/etc/passwd and group are bound on /etc/passwd and /etc/group
//     and munge/run on /run/munge (the default socket, which the slurm.conf the nodes fetch
//     implies for them too). /run/munge is created on this machine when missing (an empty
//     directory, what Debian's munge makes);
//   - nfs-ganesha (src/cluster/nfs.ts renderGaneshaConf) exporting export/home on <frontend>:2049.
// Node side: compute-diskless takes slurm-client, nfs-home, scratch and sync-client; the first
// node installs the image and boots; `golden create --from` it; the next node added by
// insert-ethers is its clone (boot action os, personalised at its first boot).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { exitWithin, type LabNode } from './lab.js';
import { FullLab, nodeMac, type LabImage, type NodeHardware } from './full.js';
import { KERNEL_START, LabSsh } from './real-os.js';
import { renderGaneshaConf } from '../cluster/nfs.js';
import { NetrootError } from '../errors.js';

export const CLUSTER_USER = 'alice';
export const CLUSTER_UID = 5001;
export const NFS_PORT = 2049;

/** The frontend side's paths (see the header). */
export class ClusterFrontend {
  readonly root: string;
  readonly feRoot: string;
  readonly exportDir: string;
  readonly mungeKey: string;
  readonly feRun: string;
  readonly restart: string;
  readonly slurmDir: string;

  constructor(workDir: string) {
    this.root = join(workDir, 'cluster');
    this.feRoot = join(this.root, 'fe');
    this.exportDir = join(this.root, 'export', 'home');
    this.mungeKey = join(this.root, 'munge', 'munge.key');
    this.feRun = join(this.root, 'bin', 'fe-run');
    this.restart = join(this.root, 'bin', 'restart-slurmctld');
    this.slurmDir = join(this.root, 'slurm');
  }

  get slurmConf(): string {
    return join(this.root, '..', 'state', 'slurm', 'slurm.conf');
  }

  /** The YAML FullLab appends to the frontend's netroot.yaml (FullLabOptions.extraConfig). */
  config(): string {
    const s = this.slurmDir;
    return `sync: { minUid: 5000, maxUid: 5999, etcDir: ${this.feRoot}/etc, mungeKeyPath: ${this.mungeKey} }
nfs: { enabled: true, exportDir: ${this.exportDir}, port: ${NFS_PORT} }
slurm:
  enabled: true
  restart: [${this.restart}]
  reconfigure: [${this.feRun}, scontrol, reconfigure]
  applyTimeoutMs: 120000
  settings:
    SlurmUser: root
    StateSaveLocation: ${s}/state
    SlurmctldPidFile: ${s}/slurmctld.pid
    SlurmctldLogFile: ${s}/slurmctld.log
`;
  }

  /** Writes the directories, the frontend's /etc copy, the munge key and the scripts (before FullLab.up). */
  prepare(): void {
    for (const d of [join(this.feRoot, 'etc'), this.exportDir, join(this.root, 'munge', 'run'), join(this.root, 'bin'), join(this.slurmDir, 'state')])
      mkdirSync(d, { recursive: true });
    for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs'])
      if (existsSync(join('/etc', f))) copyFileSync(join('/etc', f), join(this.feRoot, 'etc', f));
    writeFileSync(this.mungeKey, spawnSync('head', ['-c', '1024', '/dev/urandom']).stdout, { mode: 0o400 });
    chmodSync(join(this.root, 'munge', 'run'), 0o755);
    // The bind target of fe-run (Debian's munge makes it; this machine may have no munge running).
    mkdirSync('/run/munge', { recursive: true });
    writeFileSync(
      this.feRun,
      `#!/bin/sh
# Runs a command as the lab frontend: its own passwd/group and munge socket directory, bound in a
# private mount namespace (nothing of this machine changes).
exec unshare -m --propagation private sh -c '
mount --bind ${this.feRoot}/etc/passwd /etc/passwd &&
mount --bind ${this.feRoot}/etc/group /etc/group &&
mount --bind ${this.root}/munge/run /run/munge || exit 125
exec "$@"' fe-run "$@"
`,
      { mode: 0o755 },
    );
    // What \`systemctl restart slurmctld\` does on a frontend (run by the slurm-conf plugin with SLURM_CONF).
    const s = this.slurmDir;
    writeFileSync(
      this.restart,
      `#!/bin/sh
if [ -f ${s}/slurmctld.pid ]; then
  pid=$(cat ${s}/slurmctld.pid); kill "$pid" 2>/dev/null; i=0
  while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); [ $i -gt 300 ] && { echo "slurmctld $pid did not stop" >&2; exit 1; }; sleep 0.1; done
fi
${this.feRun} slurmctld -f "$SLURM_CONF" || exit 1
i=0
until ${this.feRun} scontrol ping > /dev/null 2>&1; do i=$((i + 1)); [ $i -gt 600 ] && { echo "slurmctld did not answer" >&2; tail -5 ${s}/slurmctld.log >&2; exit 1; }; sleep 0.1; done
`,
      { mode: 0o755 },
    );
  }

  /** munged and nfs-ganesha in the lab namespace (after FullLab.up: the namespace exists). */
  async start(full: FullLab): Promise<void> {
    const m = join(this.root, 'munge');
    const munged = full.lab.spawnInNamespace(this.feRun, [
      'munged',
      '-F',
      '--force',
      `--key-file=${this.mungeKey}`,
      `--pid-file=${m}/munged.pid`,
      `--log-file=${m}/munged.log`,
      `--seed-file=${m}/munged.seed`,
    ]);
    munged.stdout?.resume();
    munged.stderr?.resume();
    const conf = join(this.root, 'ganesha.conf');
    writeFileSync(conf, renderGaneshaConf({ exportDir: this.exportDir, clients: '10.77.0.0/24', bindAddress: full.lab.frontendAddress, port: NFS_PORT }));
    const g = full.lab.spawnInNamespace('ganesha.nfsd', [
      '-F',
      '-L',
      join(this.root, 'ganesha.log'),
      '-f',
      conf,
      '-p',
      join(this.root, 'ganesha.pid'),
      '-N',
      'NIV_EVENT',
    ]);
    g.stdout?.resume();
    g.stderr?.resume();
    await waitUntil(() => existsSync(join(m, 'run', 'munge.socket.2')), 15_000, 'munged to open its socket');
    await waitUntil(
      async () => (await this.run(full, ['bash', '-c', `exec 3<>/dev/tcp/${full.lab.frontendAddress}/${NFS_PORT}`])).code === 0,
      30_000,
      () => `nfs-ganesha to listen on ${NFS_PORT}: ${tail(join(this.root, 'ganesha.log'))}`,
    );
  }

  /** A user made on the frontend (useradd --prefix into its /etc copy) with a home in the export. */
  addUser(name: string, uid: number): void {
    const r = spawnSync('useradd', ['--prefix', this.feRoot, '-u', String(uid), '-U', '-M', '-d', `/home/${name}`, '-s', '/bin/sh', name], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new NetrootError('E_LAB_CLUSTER', `useradd ${name}: ${r.stderr}`);
    const home = join(this.exportDir, name);
    mkdirSync(home, { recursive: true });
    spawnSync('chown', [`${uid}:${uid}`, home]);
    chmodSync(home, 0o755);
  }

  /** Runs a command on the frontend (fe-run) in the lab namespace, optionally as a user; SLURM_CONF set. */
  run(full: FullLab, cmd: string[], asUser?: { uid: number; home: string }): Promise<{ code: number | null; out: string; err: string }> {
    if (asUser) this.openConfToUsers();
    const user = asUser
      ? ['setpriv', `--reuid=${asUser.uid}`, `--regid=${asUser.uid}`, '--clear-groups', 'env', `HOME=${asUser.home}`, `USER=${CLUSTER_USER}`]
      : ['env'];
    const child = full.lab.spawnInNamespace(this.feRun, [...user, `SLURM_CONF=${this.slurmConf}`, ...cmd]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  }

  /**
   * The user's Slurm commands read slurm.conf under the lab's state directory (temporary
   * directories are 0700): every directory above it, up to the system's temporary directory (or /),
   * gets o+x and the file o+r, as /etc/slurm is on a frontend. All of them, not a fixed number:
   * bench:cluster nests the lab one level deeper than the test.
   */
  private openConfToUsers(): void {
    const conf = this.slurmConf;
    const stop = tmpdir();
    for (let d = dirname(conf); d !== stop && d !== dirname(d); d = dirname(d)) if (existsSync(d)) chmodSync(d, statSync(d).mode | 0o011);
    if (existsSync(conf)) chmodSync(conf, statSync(conf).mode | 0o044);
  }

  async runOk(full: FullLab, argv: string[], asUser?: { uid: number; home: string }): Promise<string> {
    const r = await this.run(full, argv, asUser);
    if (r.code !== 0) throw new NetrootError('E_LAB_CLUSTER', `frontend: ${argv.join(' ')} exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
    return r.out;
  }
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-1500) : '(no log)';
}

async function waitUntil(ok: () => boolean | Promise<boolean>, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new NetrootError('E_LAB_CLUSTER', `timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

export interface ClusterNode {
  host: string;
  mac: string;
  ip: string;
  node: LabNode;
  hw: NodeHardware;
  /** Power-on to multi-user.target (systemd's own count after the kernel started). */
  bootSeconds: number;
}

export interface ClusterLabOptions {
  workDir: string;
  netroot: string[];
  image: LabImage;
  /** Private key whose public half the kickstart installs for root (labSshKey). */
  sshKey: { key: string; pub: string };
  name?: string;
  stageDeadlineMs: number;
  onProgress?: (node: string, what: string) => void;
  onConsole?: (node: string, line: string) => void;
}

/**
 * The cluster lab's FullLab (two nodes, 2 GiB volumes, 1 GiB of memory each) with the frontend
 * side prepared and configured; the caller runs full.up(), cluster.setUp() and full.down().
 */
export function clusterLab(o: ClusterLabOptions): { full: FullLab; cluster: ClusterLab } {
  const fe = new ClusterFrontend(o.workDir);
  fe.prepare();
  const full = new FullLab({
    workDir: o.workDir,
    netroot: o.netroot,
    nodes: 2,
    image: o.image,
    volumeGiB: 2,
    memoryMb: 1024,
    sshPublicKey: o.sshKey.pub,
    name: o.name ?? 'nrt-cluster',
    stageDeadlineMs: o.stageDeadlineMs,
    extraConfig: fe.config(),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.onConsole ? { onConsole: o.onConsole } : {}),
  });
  return { full, cluster: new ClusterLab(full, fe, o.sshKey.key, o.onProgress) };
}

/** Two 128 MiB raw disks in `dir`, as QEMU virtio drives (a node's scratch disks). */
export function scratchDisks(dir: string, n = 2, bytes = 128 * 2 ** 20): string[] {
  const args: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = join(dir, `scratch${i}.img`);
    writeFileSync(d, '');
    truncateSync(d, bytes);
    args.push('-drive', `file=${d},format=raw,if=virtio`);
  }
  return args;
}

/** The cluster's two nodes and its frontend; the caller owns the FullLab (up/down). */
export class ClusterLab extends LabSsh {
  readonly user: { uid: number; home: string };

  /** `fe`: prepared, and its config() given to the FullLab (extraConfig) before full.up(). */
  constructor(
    readonly full: FullLab,
    readonly fe: ClusterFrontend,
    sshKey: string,
    private readonly onProgress: (node: string, what: string) => void = () => {},
  ) {
    super(full.lab, sshKey);
    this.user = { uid: CLUSTER_UID, home: `/home/${CLUSTER_USER}` };
  }

  /** After full.up(): munged, ganesha, the roles on compute-diskless, the user, `netroot sync users`. */
  async setUp(): Promise<void> {
    await this.fe.start(this.full);
    for (const [name, value] of [
      ['slurm_client', 'true'],
      ['nfs_home', 'true'],
      ['nfs_home_export', this.fe.exportDir],
      ['scratch', 'true'],
      ['sync_users', 'yes'],
    ] as const)
      await this.full.cliOk('attr', 'set', name, value, '--appliance', 'compute-diskless');
    this.fe.addUser(CLUSTER_USER, CLUSTER_UID);
    await this.full.cliOk('sync', 'users');
    this.onProgress(
      'frontend',
      `munged, nfs-ganesha ${this.full.lab.frontendAddress}:${NFS_PORT}, user ${CLUSTER_USER} (${CLUSTER_UID}) pushed with netroot sync users`,
    );
  }

  /** Node `index` blank: insert-ethers discovers it, it installs (no disks), then boots with `hw` to multi-user.target. */
  async installNode(index: number, hw: NodeHardware, deadlineMs: number): Promise<ClusterNode> {
    const mac = nodeMac(index);
    const insert = this.full.insertEthers('compute-diskless', 1, 300);
    await insert.listening;
    const install = this.full.installStage(mac, mac, { firmware: hw.firmware ?? 'bios' });
    install.catch(() => {});
    const n = await this.full.discovered(mac, 120_000);
    const inst = await install;
    const code = await exitWithin(inst.node.exited, 30_000);
    await inst.node.powerOff();
    if (code === 'hung') throw new NetrootError('E_LAB_REBOOT', `${n.host}: the installer did not reboot`);
    const r = await insert.done;
    if (r.code !== 0) throw new NetrootError('E_LAB_DISCOVERY', `insert-ethers exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
    this.onProgress(n.host, `installed in ${inst.seconds.toFixed(1)} s`);
    return this.boot({ ...n, hw }, 'diskless boot', deadlineMs);
  }

  /** Powers a known node on and waits for SSH and multi-user.target. */
  async boot(n: { host: string; mac: string; ip: string; hw: NodeHardware }, what: string, deadlineMs: number): Promise<ClusterNode> {
    const b = await this.full.stage(n.host, n.mac, what, KERNEL_START, KERNEL_START, n.hw);
    await this.waitForSsh(n.ip, deadlineMs);
    const bootSeconds = b.seconds + (await this.multiUserSeconds(n.ip));
    this.onProgress(n.host, `${what}: multi-user.target ${bootSeconds.toFixed(1)} s after power-on`);
    return { ...n, node: b.node, bootSeconds };
  }

  /** `systemctl poweroff` and wait for QEMU to exit. */
  async powerOff(n: ClusterNode, deadlineMs: number): Promise<void> {
    await this.shutdown(n.node, n.ip, 'poweroff', deadlineMs, []);
  }

  /**
   * golden create NAME --from HOST (powered off), golden=NAME on compute-diskless: the next node
   * insert-ethers adds gets a clone and boots os at once.
   */
  async golden(name: string, from: string): Promise<number> {
    const t = Date.now();
    await this.full.cliOk('golden', 'create', name, '--from', from);
    await this.full.cliOk('attr', 'set', 'golden', name, '--appliance', 'compute-diskless');
    const s = (Date.now() - t) / 1000;
    this.onProgress('frontend', `golden volume ${name} frozen from ${from} (${s.toFixed(1)} s)`);
    return s;
  }

  /**
   * A blank node powers on while insert-ethers runs: it is discovered, gets a clone (boot os) and
   * boots it. Resolves with the node once it is up to multi-user.target; `poweredOn` is Date.now()
   * at its power-on (for the first-job measure).
   */
  async cloneNode(
    index: number,
    hw: NodeHardware,
    deadlineMs: number,
    onDiscovered?: (host: string) => Promise<void>,
  ): Promise<ClusterNode & { poweredOn: number }> {
    const mac = nodeMac(index);
    const insert = this.full.insertEthers('compute-diskless', 1, 300);
    await insert.listening;
    const poweredOn = Date.now();
    const stage = this.full.stage(mac, mac, 'clone first boot', KERNEL_START, KERNEL_START, hw);
    stage.catch(() => {});
    const n = await this.full.discovered(mac, 120_000, 'os');
    this.onProgress(n.host, `discovered: ${mac} → ${n.host} ${n.ip}, a golden clone, boot=os (no install)`);
    await onDiscovered?.(n.host);
    const r = await insert.done;
    if (r.code !== 0) throw new NetrootError('E_LAB_DISCOVERY', `insert-ethers exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
    const b = await stage;
    await this.waitForSsh(n.ip, deadlineMs);
    const bootSeconds = b.seconds + (await this.multiUserSeconds(n.ip));
    this.onProgress(n.host, `clone first boot: multi-user.target ${bootSeconds.toFixed(1)} s after power-on`);
    return { ...n, hw, node: b.node, bootSeconds, poweredOn };
  }

  /** sinfo's node → state, as the frontend's slurmctld reports it. */
  async sinfo(): Promise<Map<string, string>> {
    const out = await this.fe.runOk(this.full, ['sinfo', '-h', '-N', '-o', '%N %t']);
    return new Map(
      out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/) as [string, string]),
    );
  }

  /** Waits until every host is idle in sinfo. */
  async waitIdle(hosts: string[], ms: number): Promise<void> {
    let last = new Map<string, string>();
    await waitUntil(
      async () => {
        last = await this.sinfo().catch(() => new Map());
        return hosts.every((h) => last.get(h) === 'idle');
      },
      ms,
      () => `${hosts.join(', ')} idle in sinfo (now: ${[...last].map(([h, s]) => `${h} ${s}`).join(', ') || 'nothing'})`,
    );
  }

  /**
   * The node's CPUs and memory as it counts them itself (nproc; MemTotal in MiB, rounded down): what
   * its netroot-report.service reports at every boot (roles/sync) and slurm.conf must carry.
   */
  async guestFigures(ip: string): Promise<{ cpus: number; memoryMb: number }> {
    const out = (await this.sshOk(ip, 'nproc; awk \'/^MemTotal:/ { printf "%d\\n", $2 / 1024 }\' /proc/meminfo')).trim().split('\n');
    const [cpus, memoryMb] = [Number(out[0]), Number(out[1])];
    if (!Number.isInteger(cpus) || !Number.isInteger(memoryMb) || cpus < 1 || memoryMb < 1)
      throw new NetrootError('E_LAB_CLUSTER', `nproc / MemTotal: ${JSON.stringify(out)}`);
    return { cpus, memoryMb };
  }

  /** `scontrol show node HOST`'s fields (CPUTot, RealMemory, State, ...), as slurmctld holds them; null when it has no such node. */
  async slurmNode(host: string): Promise<Map<string, string> | null> {
    const r = await this.fe.run(this.full, ['scontrol', '-o', 'show', 'node', host]);
    if (r.code !== 0) return null;
    return new Map(
      r.out
        .trim()
        .split(/\s+/)
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
    );
  }

  /** Submits a batch job (`sbatch --wrap`: the command runs under /bin/sh) as the cluster user; returns the job id. */
  async sbatch(args: string[], command: string): Promise<number> {
    const out = await this.fe.runOk(this.full, ['sbatch', '--parsable', `--chdir=${this.user.home}`, ...args, `--wrap=${command}`], this.user);
    const id = Number.parseInt(out.trim(), 10);
    if (!Number.isInteger(id)) throw new NetrootError('E_LAB_CLUSTER', `sbatch answered ${JSON.stringify(out)}`);
    return id;
  }

  /** `scontrol show job ID`'s fields (JobState, StartTime, NodeList, ...), or null once it is gone. */
  async job(id: number): Promise<Map<string, string> | null> {
    const r = await this.fe.run(this.full, ['scontrol', '-o', 'show', 'job', String(id)]);
    if (r.code !== 0) return null;
    return new Map(
      r.out
        .trim()
        .split(/\s+/)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
    );
  }

  /** Waits for a job to end; its final fields. */
  async waitJob(id: number, ms: number): Promise<Map<string, string>> {
    let last: Map<string, string> | null = null;
    await waitUntil(
      async () => {
        last = await this.job(id);
        return !!last && /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)$/.test(last.get('JobState') ?? '');
      },
      ms,
      () => `job ${id} to end (${last?.get('JobState') ?? 'unknown'} ${last?.get('Reason') ?? ''})`,
    );
    return last!;
  }

  /** srun as the cluster user from the frontend: its exit status and output. */
  srun(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return this.fe.run(this.full, ['srun', `--chdir=${this.user.home}`, ...args], this.user);
  }

  /** Reads a file of the user's NFS home on the frontend (the export). */
  homeFile(name: string): string | null {
    const p = join(this.fe.exportDir, CLUSTER_USER, name);
    return existsSync(p) ? readFileSync(p, 'utf8') : null;
  }
}
