// A real single-node Ceph cluster for the RBD tests, from Debian's ceph packages, in a temporary
// directory: one mon (msgr2 only, 127.0.0.1:<free port>), one mgr, one OSD on `memstore` (an
// in-memory object store, `memstoreBytes` large), cephx everywhere, `osd pool default size = 1`,
// and pool `rbd` (rbd pool init). The OSD and the mgr start in parallel; the cluster is ready when
// the OSD is up and the pool is initialised (the mgr, which `ceph df` needs, when it is active).
// One cluster per test file: start it in before(), stop() in after() kills the daemons and
// removes the directory. Daemons run as the caller (root) with their pid, log, admin socket and
// data files all under the directory, so nothing is left in /var/lib/ceph or /var/run/ceph.
// `netns`: every daemon and every ceph/rbd call runs in that network namespace (`ip netns exec`,
// which execs, so a daemon's pid is still ours), the mon on the namespace's own 127.0.0.1 — for a
// lab whose tgtd and netroot run in it (test/e2e/golden-rbd-lab.test.ts).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../storage/helpers.js';
import { waitFor } from './wait.js';

/** [tool, Debian package] pairs the cluster needs (tools.ts's skipUnless/assertTools). */
export const CEPH_TOOLS: Array<[string, string]> = [
  ['ceph-mon', 'ceph-mon'],
  ['ceph-osd', 'ceph-osd'],
  ['ceph-mgr', 'ceph-mgr'],
  ['ceph', 'ceph-common'],
  ['rbd', 'ceph-common'],
  ['ceph-authtool', 'ceph-common'],
  ['monmaptool', 'ceph-common'],
];

export interface CephCluster {
  dir: string;
  /** The network namespace it runs in (startCephCluster's `netns`), if any. */
  netns?: string;
  /** The cluster's conf (admin keyring in [global]). */
  conf: string;
  /** A client netroot's backend uses: `client.<clientId>` with the rbd profile on the pool. */
  clientId: string;
  clientKeyring: string;
  pool: string;
  monAddr: string;
  /** Milliseconds from start to a ready cluster (for the CI time report). */
  startMs: number;
  /** Runs `ceph` (admin) and returns stdout; throws with stderr. */
  ceph(args: string[]): Promise<string>;
  /** Runs `rbd` (admin). */
  rbd(args: string[]): Promise<string>;
  /** The running mon's pid (a test's plugin kills it mid-operation). */
  monPid(): number | undefined;
  stopMon(): Promise<void>;
  startMon(): Promise<void>;
  stop(): Promise<void>;
}

/** argv run inside network namespace `ns` (none: as is). */
function inNs(ns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return ns === undefined ? [cmd, args] : ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

function run(cmd0: string, args0: string[], timeoutMs = 30_000, ns?: string): Promise<string> {
  const [cmd, args] = inNs(ns, cmd0, args0);
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`.trim()));
      else resolve(stdout);
    });
  });
}

/** A daemon in the foreground (-f: it logs to its log file), our child, so its exit is ours to see. */
class Daemon {
  private proc: ChildProcess | undefined;
  constructor(
    private readonly cmd: string,
    private readonly args: string[],
    private readonly ns?: string,
  ) {}
  start(): void {
    const p = spawn(...inNs(this.ns, this.cmd, [...this.args, '-f']), { stdio: 'ignore' });
    p.on('error', () => {});
    this.proc = p;
    // A test process that dies without its after() must not leave daemons behind.
    const reap = () => {
      if (!this.exited()) p.kill('SIGKILL');
    };
    process.once('exit', reap);
    p.once('exit', () => process.removeListener('exit', reap));
  }
  pid(): number | undefined {
    return this.exited() ? undefined : this.proc?.pid;
  }
  exited(): boolean {
    return this.proc === undefined || this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || this.exited()) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }
}

export async function startCephCluster(o: { memstoreBytes?: number; pool?: string; netns?: string } = {}): Promise<CephCluster> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'nrt-ceph-'));
  const pool = o.pool ?? 'rbd';
  const fsid = randomUUID();
  const port = await freePort();
  const monAddr = `127.0.0.1:${port}`;
  for (const d of ['run', 'log', 'mon', 'mgr/mgr.x', 'osd/osd.0']) mkdirSync(join(dir, d), { recursive: true });
  const conf = join(dir, 'ceph.conf');
  const keyring = join(dir, 'keyring');
  writeFileSync(
    conf,
    [
      '[global]',
      `fsid = ${fsid}`,
      `mon host = [v2:${monAddr}]`,
      'public addr = 127.0.0.1',
      'ms bind ipv6 = false',
      'ms bind msgr1 = false',
      'auth cluster required = cephx',
      'auth service required = cephx',
      'auth client required = cephx',
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'osd pool default pg num = 1',
      'osd pool default pg autoscale mode = off',
      'osd crush chooseleaf type = 0',
      'mon allow pool size one = true',
      'mon allow pool delete = true',
      'mon warn on pool no redundancy = false',
      'auth allow insecure global id reclaim = false',
      // The test machine's disk may be fuller than the mon's default 5 % floor.
      'mon data avail warn = 1',
      'mon data avail crit = 0',
      'osd objectstore = memstore',
      `memstore device bytes = ${o.memstoreBytes ?? 1 << 30}`,
      `run dir = ${dir}/run`,
      `admin socket = ${dir}/run/$name.asok`,
      `log file = ${dir}/log/$name.log`,
      `pid file = ${dir}/run/$name.pid`,
      `keyring = ${keyring}`,
      `mon data = ${dir}/mon/$name`,
      `osd data = ${dir}/osd/$name`,
      `mgr data = ${dir}/mgr/$name`,
      // A test that stops the mon must not wait minutes for the admin CLI.
      'client mount timeout = 10',
      'rados mon op timeout = 10',
      '[osd]',
      'keyring = $osd_data/keyring',
      // A killed client's (tgtd's) watch on an image expires after this many seconds (default 30);
      // until then the image cannot be removed.
      'osd client watch timeout = 5',
      '[mgr]',
      'keyring = $mgr_data/keyring',
      '',
    ].join('\n'),
  );
  const C = ['-c', conf];
  const ns = o.netns;
  const ceph = (args: string[]) => run('ceph', [...C, ...args], 30_000, ns);
  const rbd = (args: string[]) => run('rbd', [...C, ...args], 30_000, ns);
  const mon = new Daemon('ceph-mon', [...C, '-i', 'a'], ns);
  const mgrd = new Daemon('ceph-mgr', [...C, '-i', 'x'], ns);
  const osd = new Daemon('ceph-osd', [...C, '-i', '0'], ns);
  const startMon = async () => {
    mon.start();
    await waitFor(async () => (await ceph(['mon', 'stat']).catch(() => '')).includes('quorum'), { what: 'the ceph mon to answer', intervalMs: 50 });
  };
  const stopAll = async () => {
    await Promise.all([osd.stop(), mgrd.stop(), mon.stop()]);
  };
  try {
    await run('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'client.admin',
      ...['--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *', '--cap', 'mds', 'allow *'],
    ]);
    const monmap = join(dir, 'monmap');
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:${monAddr}]`, monmap]);
    await run('ceph-mon', [...C, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring], 30_000, ns);
    await startMon();

    // mgr and OSD in parallel: the mgr takes the longest (its Python modules).
    const mgr = (async () => {
      const key = await ceph(['auth', 'get-or-create', 'mgr.x', 'mon', 'allow profile mgr', 'osd', 'allow *', 'mds', 'allow *']);
      writeFileSync(join(dir, 'mgr/mgr.x/keyring'), key, { mode: 0o600 });
      mgrd.start();
    })();
    const osdUuid = randomUUID();
    const id = (await ceph(['osd', 'new', osdUuid])).trim();
    if (id !== '0') throw new Error(`ceph osd new gave id ${id}`);
    await run('ceph-osd', [...C, '-i', '0', '--mkfs', '--osd-uuid', osdUuid, '--mkkey', '--no-mon-config'], 30_000, ns);
    await ceph(['auth', 'add', 'osd.0', 'osd', 'allow *', 'mon', 'allow profile osd', 'mgr', 'allow profile osd', '-i', join(dir, 'osd/osd.0/keyring')]);
    osd.start();
    // One PG: the pool is ready as soon as the OSD has peered it (rbd pool init waits for that).
    await ceph(['osd', 'pool', 'create', pool, '1']);
    await mgr;
    await rbd(['pool', 'init', pool]);
    const clientId = 'netroot';
    const clientKeyring = join(dir, `client.${clientId}.keyring`);
    const key = await ceph([
      'auth',
      'get-or-create',
      `client.${clientId}`,
      ...['mon', 'profile rbd', 'osd', `profile rbd pool=${pool}`, 'mgr', `profile rbd pool=${pool}`],
    ]);
    writeFileSync(clientKeyring, key, { mode: 0o600 });
    chmodSync(clientKeyring, 0o600);
    await waitFor(async () => /"available":\s*true/.test(await ceph(['mgr', 'stat', '--format', 'json']).catch(() => '')), {
      what: () => `the ceph mgr to become active: ${tail(join(dir, 'log/mgr.x.log'))}`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    return {
      dir,
      ...(ns !== undefined ? { netns: ns } : {}),
      conf,
      clientId,
      clientKeyring,
      pool,
      monAddr,
      startMs: performance.now() - t0,
      ceph,
      rbd,
      monPid: () => mon.pid(),
      stopMon: () => mon.stop(),
      startMon,
      stop: async () => {
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    const logs = ['mon.a', 'osd.0', 'mgr.x'].map((n) => `${n}: ${tail(join(dir, 'log', `${n}.log`))}`).join('\n');
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`ceph cluster did not start: ${(e as Error).message}\n${logs}`);
  }
}

function tail(file: string): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
}

/** `rbd` as an admin, synchronously (test assertions). */
export function rbdSync(c: CephCluster, args: string[]): string {
  const r = spawnSync(...inNs(c.netns, 'rbd', ['-c', c.conf, ...args]), { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`rbd ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
