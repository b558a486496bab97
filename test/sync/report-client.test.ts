// roles/sync/sync-client.xml's /usr/local/sbin/netroot-report, the script an installed node runs
// (the scratch role hands it a failed disk), run for real with dash and curl against a real frontend
// on loopback: it authenticates netroot.reportStatus with the node's sync secret, the frontend
// records the failed disk in a host.status event, and `booted` carries the node's CPUs and memory; another node's secret is refused and said so;
// the secret is never in its output or on its command line; bad usage is exit 2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SyncKeys } from '../../src/sync/index.js';
import { loopbackFrontend, type Loopback } from '../helpers/loopback-frontend.js';
import { roleFile } from '../roles/role-files.js';

const run = promisify(execFile);
const SCRIPT = roleFile('sync', 'sync-client', '/usr/local/sbin/netroot-report');

let lb: Loopback;
let keys: SyncKeys;
let work: string;

before(async () => {
  // The script's curl connects from 127.0.0.1: the node of this test has that address.
  lb = await loopbackFrontend({
    prefix: 'nrt-report-client-',
    hosts: [
      { name: 'compute-0-9', mac: '52:54:00:aa:00:99', ip: '127.0.0.1' },
      { name: 'compute-0-8', mac: '52:54:00:aa:00:98', ip: '127.0.0.8' },
    ],
  });
  keys = new SyncKeys(lb.dir);
  work = join(lb.dir, 'node');
  mkdirSync(work, { mode: 0o700 });
  writeFileSync(join(work, 'netroot-report'), SCRIPT, { mode: 0o755 });
});
after(() => lb?.close());

function conf(name: string, lines: Record<string, string>): string {
  const p = join(work, name);
  writeFileSync(
    p,
    Object.entries(lines)
      .map(([k, v]) => `${k}='${v}'\n`)
      .join(''),
    { mode: 0o600 },
  );
  return p;
}

async function report(confPath: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('dash', [join(work, 'netroot-report'), '--conf', confPath, ...args], {
      env: { TMPDIR: work, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, out: (x.stdout ?? '') + (x.stderr ?? '') };
  }
}

const url = () => `http://127.0.0.1:${lb.port}`;

test('netroot-report scratch-disk-failed: the frontend records the disk and the reason in a host.status event, authenticated by the sync secret', async () => {
  const c = conf('sync.conf', { NETROOT_SYNC_URL: url(), NETROOT_SYNC_SECRET: keys.nodeSecret('compute-0-9') });
  const r = await report(c, 'scratch-disk-failed', '/dev/mapper/nrt_fail', 'mkfs.ext4 /dev/netroot_scratch/scratch failed\t<&>');
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, '');
  const ev = (await lb.f.store.events.list({ kind: 'host.status', host: 'compute-0-9' })).at(-1);
  assert.deepEqual(ev?.detail, {
    state: 'booted',
    from: '127.0.0.1',
    via: 'sync-secret',
    scratch_failed: { disk: '/dev/mapper/nrt_fail', reason: 'mkfs.ext4 /dev/netroot_scratch/scratch failed <&>' },
  });
  assert.equal((await lb.f.store.hosts.get('compute-0-9'))?.state, 'booted');
  assert.equal((await report(c, 'booted')).code, 0);
});

test("netroot-report booted: the node's CPUs and memory as slurmd counts them (online CPUs, MemTotal in MiB) become its host attributes; the next boot's same figures change nothing", async () => {
  const c = conf('sync.conf', { NETROOT_SYNC_URL: url(), NETROOT_SYNC_SECRET: keys.nodeSecret('compute-0-9') });
  const r = await report(c, 'booted');
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, '');
  // What this machine (the "node" here) counts, as the script should.
  const cpus = execFileSync('getconf', ['_NPROCESSORS_ONLN'], { encoding: 'utf8' }).trim();
  const memKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
  const attrs = Object.fromEntries((await lb.f.store.attributes.list({ scope: 'host', target: 'compute-0-9' })).map((a) => [a.name, a.value]));
  assert.deepEqual(attrs, { cpus, memory_mb: String(Math.floor(memKb / 1024)) });
  const ev = (await lb.f.store.events.list({ kind: 'host.status', host: 'compute-0-9' })).at(-1);
  assert.deepEqual(ev?.detail, { state: 'booted', from: '127.0.0.1', via: 'sync-secret', facts: attrs });
  const changes = (await lb.f.store.events.list({ kind: 'host.changed', host: 'compute-0-9' })).length;
  assert.equal((await report(c, 'booted')).code, 0);
  assert.equal((await lb.f.store.events.list({ kind: 'host.changed', host: 'compute-0-9' })).length, changes, 'unchanged figures: no change');
});

test("netroot-report: another node's secret, a wrong URL and bad usage are refused and said so, without the secret", async () => {
  const other = keys.nodeSecret('compute-0-8');
  const before = (await lb.f.store.events.list({ kind: 'host.status' })).length;
  const r = await report(conf('other.conf', { NETROOT_SYNC_URL: url(), NETROOT_SYNC_SECRET: other }), 'scratch-disk-failed', '/dev/vdb', 'unreadable');
  assert.equal(r.code, 1);
  assert.match(r.out, /netroot-report: the frontend refused the report: E_NODE_SECRET: node secret is not valid from this address/);
  assert.ok(!r.out.includes(other), 'the secret is not printed');
  const down = await report(conf('down.conf', { NETROOT_SYNC_URL: 'http://127.0.0.1:1', NETROOT_SYNC_SECRET: other }), 'booted');
  assert.equal(down.code, 1);
  assert.match(down.out, /the frontend at http:\/\/127\.0\.0\.1:1 did not answer/);
  assert.ok(!down.out.includes(other));
  const none = await report(conf('empty.conf', { NETROOT_SYNC_URL: url() }), 'booted');
  assert.equal(none.code, 1);
  assert.match(none.out, /sets no NETROOT_SYNC_URL or NETROOT_SYNC_SECRET/);
  const good = conf('good.conf', { NETROOT_SYNC_URL: url(), NETROOT_SYNC_SECRET: keys.nodeSecret('compute-0-9') });
  for (const [args, why] of [
    [[], /no report given/],
    [['reboot'], /unknown report reboot/],
    [['booted', 'x'], /booted takes no argument/],
    [['scratch-disk-failed', '/dev/vdb'], /needs DEV and REASON/],
    [['scratch-disk-failed', 'vdb', 'x'], /DEV must be a \/dev path/],
  ] as Array<[string[], RegExp]>) {
    const u = await report(good, ...args);
    assert.equal(u.code, 2, args.join(' '));
    assert.match(u.out, why);
  }
  assert.equal((await lb.f.store.events.list({ kind: 'host.status' })).length, before, 'nothing refused was recorded');
});
