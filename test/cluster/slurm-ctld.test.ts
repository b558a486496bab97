// The slurm-conf plugin against a real Slurm controller: munged and slurmctld (Debian munge,
// slurmctld) run from a temporary directory on loopback, on the slurm.conf the plugin writes from
// the host database, while hosts are added, report their CPUs and memory, fail to be applied, and
// are removed through the real host service (DiscoveryEngine). What slurmctld itself reports
// (`scontrol show node`, `sinfo`) is the check. slurm.restart is a script that stops the running
// slurmctld and starts one on SLURM_CONF (what `systemctl restart slurmctld` does on a frontend);
// it fails once on demand, to show the rollback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { bootActionPlugin } from '../../src/discovery/plugins/boot-action.js';
import { hostsFilePlugin } from '../../src/discovery/plugins/hosts-file.js';
import { slurmConfPath, slurmConfPlugin } from '../../src/discovery/plugins/slurm-conf.js';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { assertTools, skipUnless, underCi } from '../helpers/tools.js';

const TOOLS: Array<[string, string]> = [
  ['munged', 'munge'],
  ['slurmctld', 'slurmctld'],
  ['scontrol', 'slurm-client'],
  ['sinfo', 'slurm-client'],
];
const skip = process.getuid?.() !== 0 && !underCi ? 'needs root (slurmctld runs as SlurmUser root here)' : skipUnless(TOOLS);

let dir = '';
let munged: ChildProcess | undefined;
let store: Store | undefined;
let engine: DiscoveryEngine | undefined;
let conf = '';

function slurm(cmd: string, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function ctldPid(): number | null {
  const f = join(dir, 'run', 'slurmctld.pid');
  if (!existsSync(f)) return null;
  const pid = Number(readFileSync(f, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  dir = tempStateDir('nrt-slurm-');
  const run = join(dir, 'run');
  mkdirSync(join(run, 'state'), { recursive: true, mode: 0o700 });
  // munge: its own key, socket, pid and seed under the test directory (the key never leaves it).
  writeFileSync(join(run, 'munge.key'), spawnSync('head', ['-c', '1024', '/dev/urandom']).stdout, { mode: 0o600 });
  munged = spawn(
    'munged',
    [
      '-F',
      '--force',
      `--socket=${join(run, 'munge.sock')}`,
      `--key-file=${join(run, 'munge.key')}`,
      `--pid-file=${join(run, 'munged.pid')}`,
      `--log-file=${join(run, 'munged.log')}`,
      `--seed-file=${join(run, 'munged.seed')}`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor(() => existsSync(join(run, 'munge.sock')), { what: 'munged socket', timeoutMs: 15_000 });
  // The frontend's "systemctl restart slurmctld": stop the running controller, start one on
  // SLURM_CONF, wait until it answers. `fail-next` makes one run fail (the rollback test).
  const restart = join(run, 'restart-slurmctld');
  writeFileSync(
    restart,
    `#!/bin/sh
R=${run}
if [ -e $R/fail-next ]; then rm -f $R/fail-next; echo "injected failure" >&2; exit 1; fi
if [ -f $R/slurmctld.pid ]; then
  pid=$(cat $R/slurmctld.pid); kill $pid 2>/dev/null; i=0
  while kill -0 $pid 2>/dev/null; do i=$((i + 1)); [ $i -gt 300 ] && { echo "slurmctld $pid did not stop" >&2; exit 1; }; sleep 0.1; done
fi
slurmctld -f "$SLURM_CONF" || exit 1
i=0
until scontrol ping > /dev/null 2>&1; do i=$((i + 1)); [ $i -gt 300 ] && { echo "slurmctld did not answer" >&2; tail -3 $R/slurmctld.log >&2; exit 1; }; sleep 0.1; done
`,
  );
  chmodSync(restart, 0o755);
  const port = 20_000 + (process.pid % 20_000);
  writeFileSync(
    join(dir, 'netroot.yaml'),
    `network:
  privateNetwork: 127.0.0.0/8
  frontendAddress: 127.0.0.1
slurm:
  enabled: true
  controller: ${hostname().split('.')[0]}
  restart: [${restart}]
  applyTimeoutMs: 60000
  settings:
    SlurmUser: root
    SlurmctldPort: "${port}"
    SlurmdPort: "${port + 1}"
    AuthInfo: socket=${join(run, 'munge.sock')}
    StateSaveLocation: ${join(run, 'state')}
    SlurmdSpoolDir: ${join(run, 'slurmd')}
    SlurmctldPidFile: ${join(run, 'slurmctld.pid')}
    SlurmctldLogFile: ${join(run, 'slurmctld.log')}
`,
  );
  const config = loadConfig({ env: {}, file: join(dir, 'netroot.yaml'), overrides: { stateDir: dir } });
  store = openStore(dir);
  engine = new DiscoveryEngine(store, config, [hostsFilePlugin, bootActionPlugin, slurmConfPlugin], silentLogger, 90_000);
  conf = slurmConfPath(dir);
  await store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'slurm_client', value: 'true' });
});

after(async () => {
  const pid = dir ? ctldPid() : null;
  if (pid) process.kill(pid, 'SIGTERM');
  if (pid) await waitFor(() => ctldPid() === null, { what: 'slurmctld to stop', timeoutMs: 30_000 }).catch(() => process.kill(pid, 'SIGKILL'));
  munged?.kill('SIGTERM');
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('slurm-conf plugin + real slurmctld: hosts join with their reported CPUs and memory, a failed apply rolls back, a removed host leaves', {
  skip,
  timeout: 300_000,
}, async () => {
  const e = engine!;
  // 1. the first slurm client: the file is written and the controller started on it
  await e.addHost({ name: 'compute-0-0', appliance: 'compute-diskless', mac: '52:54:00:aa:00:01', ip: '127.1.255.254' }, 'insert-ethers');
  assert.match(readFileSync(conf, 'utf8'), /^NodeName=compute-0-0 NodeAddr=127\.1\.255\.254 State=UNKNOWN$/m);
  let node = slurm('scontrol', 'show', 'node', 'compute-0-0');
  assert.equal(node.code, 0, node.out);
  assert.match(node.out, /NodeAddr=127\.1\.255\.254/);
  const firstPid = ctldPid();
  assert.ok(firstPid, 'slurmctld runs');

  // 2. the node reports its CPUs and memory (what netroot.reportStatus stores): a node definition
  //    changed → restart (Slurm 22.05 refuses it on reconfigure)
  await e.set('compute-0-0', { attributes: { cpus: '4', memory_mb: '2048' } }, 'node');
  assert.match(readFileSync(conf, 'utf8'), /^NodeName=compute-0-0 NodeAddr=127\.1\.255\.254 CPUs=4 RealMemory=2048 State=UNKNOWN$/m);
  node = slurm('scontrol', 'show', 'node', 'compute-0-0');
  assert.match(node.out, /CPUTot=4/, node.out);
  assert.match(node.out, /RealMemory=2048/, node.out);
  assert.notEqual(ctldPid(), firstPid, 'a restart');
  // a setting-only change (the same hosts, rewritten by insert-ethers --update) is not applied again
  const pid2 = ctldPid();
  await e.update();
  assert.equal(ctldPid(), pid2, 'an unchanged file is not applied again');

  // 3. a second node and a node of an appliance without slurm_client: a restart; only the client is listed
  await e.addHost({ name: 'compute-0-1', appliance: 'compute-diskless', mac: '52:54:00:aa:00:02', ip: '127.1.255.253' }, 'insert-ethers');
  await e.addHost({ name: 'compute-1-0', appliance: 'compute', rack: 1, rank: 0, mac: '52:54:00:aa:00:03', ip: '127.1.255.252' }, 'insert-ethers');
  let nodes = slurm('sinfo', '-h', '-N', '-o', '%N %P');
  assert.equal(nodes.code, 0, nodes.out);
  assert.deepEqual(nodes.out.trim().split('\n').sort(), ['compute-0-0 compute-diskless*', 'compute-0-1 compute-diskless*']);
  assert.notEqual(ctldPid(), pid2, 'nodes came: slurmctld was restarted');

  // 4. the apply fails: the host's addition is rolled back, the previous file is back and applied
  const before = readFileSync(conf, 'utf8');
  writeFileSync(join(dir, 'run', 'fail-next'), '');
  await assert.rejects(
    e.addHost({ name: 'compute-0-2', appliance: 'compute-diskless', mac: '52:54:00:aa:00:04', ip: '127.1.255.251' }, 'insert-ethers'),
    (err: Error & { code?: string }) => err.code === 'E_PLUGIN_FAILED' && /injected failure/.test(err.message) && /previous file is back/.test(err.message),
  );
  assert.equal(await store!.hosts.get('compute-0-2'), null, 'the host was rolled back');
  assert.equal(readFileSync(conf, 'utf8'), before, 'the previous slurm.conf is back, byte for byte');
  nodes = slurm('sinfo', '-h', '-N', '-o', '%N');
  assert.deepEqual(nodes.out.trim().split('\n').sort(), ['compute-0-0', 'compute-0-1'], nodes.out);

  // 5. a host removed leaves Slurm
  await e.remove('compute-0-0', { by: 'insert-ethers' });
  nodes = slurm('sinfo', '-h', '-N', '-o', '%N');
  assert.equal(nodes.code, 0, nodes.out);
  assert.deepEqual(nodes.out.trim().split('\n'), ['compute-0-1']);
  assert.doesNotMatch(readFileSync(conf, 'utf8'), /compute-0-0/);
});
