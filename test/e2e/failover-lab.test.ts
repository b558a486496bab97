// Issue #21 Build 3, failover in the lab: two `netroot serve` frontends on one provisioning network
// and one PostgreSQL, two blank busybox-lab nodes. One frontend is killed with SIGKILL while the
// nodes are being discovered and installed; both nodes still live their whole life — discovered,
// installed onto their iSCSI volume, diskless boot of that root, and again after a power cycle —
// through the other. No host, lease or volume is duplicated or lost; the extra time the failure
// cost (the stages that failed with the killed server and were powered on again) is printed.
//
// The site it builds is the shape a real one has: each frontend is its own machine (network
// namespace, its own address 10.77.0.2 / .3 on the lab bridge, its own state directory and boot
// files), and what must survive either frontend lives elsewhere — the database (PostgreSQL, reached
// over its unix socket, a file, from every namespace) and the volumes: one storage node, `netroot
// storage serve` with the embedded iSCSI target on 10.77.0.1 (storage.local false and
// storage.nodes on both frontends), so a node's root never depends on the frontend that booted it.
// The root tarball the installer unpacks is on the site's mirror (busybox httpd on 10.77.0.1), as
// a package mirror is. A node whose stage fails with the dead frontend (its boot script, kickstart
// or installComplete call went to it) is powered on again, as a BMC watchdog or an operator does;
// it then reaches the survivor (the only one answering DHCP).
// When: both nodes power on at once and both frontends run insert-ethers (whichever sees a DISCOVER
// first adds the machine); the kill comes once both machines are hosts with their volume, at the
// first installer line naming the frontend it fetches its kickstart from — that frontend dies, so
// the failure always reaches a node. Not earlier: an add the kill interrupts (host row written,
// plugins not done: boot action still `local`) is finished by the survivor (resumeAbandoned, once
// the dead server's heartbeat is stale), but the node first boots `local` with no disk and SeaBIOS
// waits 60 s before it retries: a longer, more variable run for a case
// test/discovery/add-takeover.test.ts covers without QEMU.
// Extra time: the failed attempts of each node, power-on to failure (the nodes run in parallel: the
// run's extra time is the larger). Cost (2 shared cores, TCG, load average 15–21, other agents'
// QEMUs): 283 s and 348 s wall for the whole test (38–66 s of it building the boot files; 623 s
// once with two test suites of ours beside it); the two nodes run in parallel at 384 MiB each.
// Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, deleteNamespace, exitWithin, installedKernel, kernelVersion, type LabNode } from '../../src/lab/index.js';
import { ip } from '../../src/lab/netns.js';
import { labConfig, waitReady } from '../../src/lab/frontend-setup.js';
import { LAB_INSTALL_DONE, LAB_ROOT_BOOTED, LAB_ROOT_READY, nodeMac } from '../../src/lab/full.js';
import { PostgresStore } from '../../src/store/index.js';
import { e2eSkip } from './helpers.js';
import { pgSkip, usePostgres } from '../helpers/postgres.js';
import { tempStateDir } from '../helpers/tmp.js';

const server = usePostgres();
const NETROOT = [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'];
const STAGE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 240_000);
const ATTEMPTS = 4;
const SAN = '10.77.0.1';
const SAN_API = 8090;
const MIRROR = 8081;
const TOKEN = 'failover-lab-storage-token-0123456789abcdef';

interface Frontend {
  name: 'A' | 'B';
  ns: string;
  address: string;
  stateDir: string;
  serve?: ChildProcess;
  log: string;
}

/** A process in namespace ns (`ip netns exec` execs it: the child's pid is the process's). */
function spawnIn(ns: string, cmd: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function run(ns: string, stateDir: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const [cmd, ...pre] = NETROOT;
  const c = spawnIn(ns, cmd!, [...pre, '--state-dir', stateDir, ...args]);
  let out = '';
  let err = '';
  c.stdout!.on('data', (d) => (out += d));
  c.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve) => c.once('exit', (code) => resolve({ code, out, err })));
}

async function ok(ns: string, stateDir: string, ...args: string[]): Promise<string> {
  const r = await run(ns, stateDir, ...args);
  assert.equal(r.code, 0, `netroot ${args.join(' ')}: ${r.err || r.out}`);
  return r.out;
}

interface Stage {
  what: string;
  seconds: number;
  /** Attempts that failed (QEMU ended or the deadline passed before the stage's end) and what they cost. */
  failed: Array<{ seconds: number; why: string }>;
  output: string;
}

test('failover in the lab: two frontends on one PostgreSQL, one killed -9 while two blank nodes are discovered and installed; both finish their life through the other', {
  skip: e2eSkip || pgSkip,
  timeout: 20 * 60_000,
}, async () => {
  const t0 = Date.now();
  const dir = tempStateDir('nrt-e2e-failover-');
  const consoleLog = join(dir, 'console.log');
  const say = (s: string) => process.stdout.write(`# ${s}\n`);
  const pg = await server();
  const dbUrl = await pg.freshDatabase();
  const db = /\/([^/?]+)$/.exec(dbUrl)![1]!;
  // The frontends' URL: the same database through the server's unix socket.
  const socketUrl = `postgres://netroot@localhost:${pg.port}/${db}?host=${encodeURIComponent(pg.socketDir)}`;
  const lab = new Lab({ workDir: join(dir, 'lab'), name: 'nrt-fo', subnet: '10.77.0.0/24' });
  const store = new PostgresStore(dbUrl);
  const children: ChildProcess[] = [];
  const fronts: Frontend[] = [];
  try {
    await lab.up();
    // Two frontend machines on the lab bridge.
    for (const [i, name] of (['A', 'B'] as const).entries()) {
      const ns = `${lab.namespace}-${name.toLowerCase()}`;
      deleteNamespace(ns);
      ip('netns', 'add', ns);
      lab.addCleanup(() => deleteNamespace(ns));
      const port = `fo${name.toLowerCase()}${process.pid % 100000}`;
      ip('-n', lab.namespace, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', lab.namespace, 'link', 'set', port, 'master', 'br0');
      ip('-n', lab.namespace, 'link', 'set', port, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `10.77.0.${2 + i}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      fronts.push({ name, ns, address: `10.77.0.${2 + i}`, stateDir: join(dir, `frontend-${name.toLowerCase()}`), log: '' });
    }
    const [A, B] = fronts as [Frontend, Frontend];

    // The storage node and the mirror, on the lab bridge's own address.
    writeFileSync(join(dir, 'san-token'), `${TOKEN}\n`, { mode: 0o600 });
    const san = lab.spawnInNamespace(NETROOT[0]!, [
      ...NETROOT.slice(1),
      '--state-dir',
      join(dir, 'san'),
      'storage',
      'serve',
      '--portal',
      SAN,
      '--listen',
      `${SAN}:${SAN_API}`,
      '--iscsi',
      `${SAN}:3260`,
      '--volumes',
      join(dir, 'san', 'volumes'),
      '--token-file',
      join(dir, 'san-token'),
    ]);
    let sanLog = '';
    san.stdout!.on('data', (d) => (sanLog += d));
    san.stderr!.on('data', (d) => (sanLog += d));

    for (const f of fronts) {
      const yaml = labConfig({
        frontendAddress: f.address,
        iscsi: false,
        installArgs: 'netroot.mode=install console=ttyS0 panic=-1 no_timer_check',
        disklessArgs: 'console=ttyS0 panic=-1 no_timer_check netroot.lab=poweroff',
        extra: [`store: { url: ${JSON.stringify(socketUrl)} }`, 'servers: { heartbeatSeconds: 1, staleSeconds: 3 }', ''].join('\n'),
      })
        .replace('dhcp: { interfaces: [br0] }', 'dhcp: { interfaces: [eth0] }')
        .replace(
          /storage: \{ (.*) \}/,
          `storage: { $1, local: false, nodes: [{ name: san, url: "http://${SAN}:${SAN_API}", token: "${TOKEN}", backend: embedded }] }`,
        );
      mkdirSync(f.stateDir, { recursive: true });
      writeFileSync(join(f.stateDir, 'netroot.yaml'), yaml);
    }
    const kv = kernelVersion(installedKernel());
    const t = Date.now();
    await ok(A.ns, A.stateDir, 'initrd', 'build-base', '--kernel-version', kv);
    await ok(A.ns, A.stateDir, 'initrd', 'build-installer', '--kernel-version', kv);
    await ok(A.ns, A.stateDir, 'initrd', 'build-lab-root');
    // B's boot files are A's (its own copy: a frontend serves what is on its disk).
    cpSync(join(A.stateDir, 'tftpboot'), join(B.stateDir, 'tftpboot'), { recursive: true });
    const mirror = join(dir, 'mirror');
    mkdirSync(mirror);
    linkSync(join(A.stateDir, 'tftpboot', 'lab', 'root.tar.gz'), join(mirror, 'root.tar.gz'));
    const httpd = lab.spawnInNamespace('busybox', ['httpd', '-f', '-p', `${SAN}:${MIRROR}`, '-h', mirror]);
    children.push(httpd);
    await ok(A.ns, A.stateDir, 'attr', 'set', 'Kickstart_LiveImage', `http://${SAN}:${MIRROR}/root.tar.gz`);
    say(`boot files built and copied (${((Date.now() - t) / 1000).toFixed(1)} s)`);

    for (const f of fronts) {
      const [cmd, ...pre] = NETROOT;
      const c = spawnIn(f.ns, cmd!, [...pre, '--state-dir', f.stateDir, 'serve']);
      f.serve = c;
      children.push(c);
      c.stdout!.resume();
      c.stderr!.on('data', (d: Buffer) => (f.log = (f.log + d.toString()).slice(-200_000)));
      await waitReady({ spawnIn: (cc, a) => spawnIn(f.ns, cc, a), address: f.address, frontend: c, why: () => f.log.slice(-4000) + sanLog.slice(-2000) });
    }
    say(`frontends A ${A.address} and B ${B.address} serving, one PostgreSQL, storage node ${SAN}`);

    // insert-ethers on both frontends: whichever sees a DISCOVER first adds the machine (the store's
    // write lock decides; the other finds the MAC known).
    const inserts = fronts.map((f) => {
      const [cmd, ...pre] = NETROOT;
      const c = spawnIn(f.ns, cmd!, [
        ...pre,
        '--state-dir',
        f.stateDir,
        'insert-ethers',
        '--appliance',
        'compute-diskless',
        '--count',
        '2',
        '--json',
        '--timeout',
        '900',
      ]);
      children.push(c);
      let err = '';
      c.stdout!.resume();
      return new Promise<void>((resolve, reject) => {
        c.stderr!.on('data', (d) => {
          err += d;
          if (err.includes('insert-ethers: listening')) resolve();
        });
        c.once('exit', (code) => reject(new Error(`insert-ethers on ${f.name} exited ${code}: ${err}`)));
      });
    });
    await Promise.all(inserts);

    // The kill: once both machines are hosts with their volume (boot action install), the frontend a
    // node's installer fetched its kickstart from is killed; its install then fails and is redone.
    let killedAt = 0;
    let victim: Frontend | undefined;
    const nodesLive: LabNode[] = [];
    const tryKill = async () => {
      if (victim) return;
      const hosts = await store.hosts.list().catch(() => []);
      if (hosts.filter((h) => h.bootAction === 'install').length < 2) return;
      for (const n of nodesLive) {
        const m = /fetching kickstart http:\/\/(10\.77\.0\.\d+):/.exec(n.console.output);
        const f = fronts.find((x) => x.address === m?.[1]);
        if (!f) continue;
        victim = f;
        killedAt = Date.now();
        f.serve!.kill('SIGKILL');
        say(
          `killed frontend ${f.name} (${f.address}) with SIGKILL at +${((killedAt - t0) / 1000).toFixed(1)} s: ${n.mac}'s installer had its kickstart from it`,
        );
        return;
      }
    };
    const killer = setInterval(() => void tryKill(), 500);

    const stage = async (i: number, what: string, done: RegExp, check?: (out: string) => void): Promise<Stage> => {
      const mac = nodeMac(i);
      const failed: Stage['failed'] = [];
      for (let a = 1; a <= ATTEMPTS; a++) {
        const node = lab.bootNode({
          mac,
          firmware: 'bios',
          memoryMb: 384,
          tap: `tap${i}`,
          onLine: (l) => appendFileSync(consoleLog, `${mac} ${what}#${a} ${l}\n`),
        });
        nodesLive[i] = node;
        try {
          await node.waitFor(done, STAGE_MS);
          const seconds = (Date.now() - node.startedAt) / 1000;
          const output = node.console.output;
          check?.(output);
          // The installer synced and unmounted before its last line; it reboots (QEMU, -no-reboot, ends).
          if (what === 'install') await exitWithin(node.exited, 30_000);
          await node.powerOff();
          say(`${mac} ${what}: ${seconds.toFixed(1)} s${failed.length ? ` (after ${failed.length} failed attempt(s))` : ''}`);
          return { what, seconds, failed, output };
        } catch (e) {
          const seconds = (Date.now() - node.startedAt) / 1000;
          await node.powerOff();
          const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
          failed.push({ seconds, why });
          say(`${mac} ${what}: attempt ${a} failed after ${seconds.toFixed(1)} s (${why}); powering it on again`);
          if (e instanceof assert.AssertionError) throw e;
        }
      }
      throw new Error(`${mac} ${what}: ${ATTEMPTS} attempts failed: ${JSON.stringify(failed)}`);
    };
    const life = async (i: number): Promise<Stage[]> => {
      const install = await stage(i, 'install', new RegExp(`${LAB_INSTALL_DONE}: reboot`));
      const first = await stage(i, 'diskless boot', new RegExp(`${LAB_ROOT_BOOTED}[\\s\\S]*${LAB_ROOT_READY}`), (out) =>
        assert.doesNotMatch(out, /persisted boot/, 'the first diskless boot of a fresh install'),
      );
      const again = await stage(i, 'diskless reboot', new RegExp(`netroot-root: persisted boot 1[\\s\\S]*${LAB_ROOT_READY}`));
      return [install, first, again];
    };
    let lives: Stage[][];
    try {
      lives = await Promise.all([life(0), life(1)]);
    } finally {
      clearInterval(killer);
    }
    assert.ok(victim, 'a frontend was killed while the nodes were installing');
    const survivor = fronts.find((f) => f !== victim)!;
    const wall = (Date.now() - t0) / 1000;

    // Nothing duplicated or lost: one host per machine (name, MAC, address unique), each added once,
    // each allocated one volume once, on the storage node, which holds exactly those volumes; each
    // node's last boot got its host's address (its lease).
    const hosts = await store.hosts.list();
    assert.equal(hosts.length, 2, JSON.stringify(hosts.map((h) => h.name)));
    const macs = [nodeMac(0), nodeMac(1)];
    assert.deepEqual(hosts.map((h) => h.interfaces[0]!.mac).sort(), [...macs].sort());
    assert.equal(new Set(hosts.map((h) => h.name)).size, 2);
    assert.equal(new Set(hosts.map((h) => h.interfaces[0]!.ip)).size, 2);
    for (const h of hosts) {
      assert.equal(h.bootAction, 'os', `${h.name} installed`);
      assert.equal((await store.events.list({ kind: 'host.added', host: h.name })).length, 1, `${h.name} added once`);
      assert.equal((await store.events.list({ kind: 'storage.allocated', host: h.name })).length, 1, `${h.name} allocated once`);
      const attrs = Object.fromEntries((await store.attributes.list({ scope: 'host', target: h.name })).map((a) => [a.name, a.value]));
      assert.equal(attrs['iscsi_storage_node'], 'san');
      assert.equal(attrs['iscsi_portal'], SAN);
      assert.equal(attrs['iscsi_allocating'], undefined, `${h.name}: no claim left`);
      const i = macs.indexOf(h.interfaces[0]!.mac);
      const last = lives[i]![2]!.output;
      assert.ok(last.includes(`${h.interfaces[0]!.ip}/`), `${h.name}'s last boot got its address ${h.interfaces[0]!.ip}`);
    }
    const volumes = readdirSync(join(dir, 'san', 'volumes')).filter((f) => f.endsWith('.img'));
    assert.deepEqual(volumes.sort(), hosts.map((h) => `${h.name}.img`).sort());
    const servers = await store.servers.list(3);
    assert.equal(servers.find((s) => s.addresses[0] === victim!.address)?.live, false, 'the killed server is stale');
    assert.equal(servers.find((s) => s.addresses[0] === survivor.address)?.live, true, 'the survivor beats');

    const failed = lives.flat().flatMap((s) => s.failed);
    // The nodes run in parallel: the extra time is each node's failed attempts; the run's, the largest.
    const perNode = lives.map((l) => l.flatMap((s) => s.failed).reduce((a, f) => a + f.seconds, 0));
    const extra = Math.max(...perNode);
    for (const [i, l] of lives.entries())
      say(
        `${nodeMac(i)}: ${l.map((s) => `${s.what} ${s.seconds.toFixed(1)} s${s.failed.length ? ` (+${s.failed.map((f) => f.seconds.toFixed(1)).join('+')} s failed)` : ''}`).join(', ')}`,
      );
    process.stdout.write(
      `failover lab: 2 nodes, frontend ${victim.name} killed -9 at +${((killedAt - t0) / 1000).toFixed(1)} s; both lived through ${survivor.name}; ` +
        `${failed.length} failed stage attempt(s); extra time ${extra.toFixed(1)} s (per node: ${perNode.map((x) => `${x.toFixed(1)} s`).join(', ')}); ` +
        `no host, lease or volume duplicated or lost; test wall ${wall.toFixed(0)} s\n`,
    );
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await store.close().catch(() => undefined);
    await lab.down();
    for (const f of fronts) deleteNamespace(f.ns);
    rmSync(dir, { recursive: true, force: true });
  }
});
