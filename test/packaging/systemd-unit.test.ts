// packaging/netroot.service (issue #15): systemd accepts the unit, and `netroot serve` really runs
// with exactly the capabilities the unit leaves root (CapabilityBoundingSet/AmbientCapabilities),
// DHCP on an interface and HTTP on port 80 included; without CAP_NET_RAW the start fails (the caps
// listed are needed, not decoration). setpriv (util-linux) applies the same sets systemd would, in
// a network namespace this test creates and deletes. Needs root; never skipped under CI.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { tempStateDir } from '../helpers/tmp.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const UNIT = 'packaging/netroot.service';
const isRoot = process.getuid?.() === 0;
const TOOLS: Array<[string, string]> = [
  ['systemd-analyze', 'systemd'],
  ['setpriv', 'util-linux'],
  ['ip', 'iproute2'],
  ['curl', 'curl'],
];
const skip = skipUnless(TOOLS) || (!isRoot && process.env.CI !== 'true' ? 'needs root (network namespace, port 80)' : false);

/** `Key=value` lines of the [Service] section (the last one wins, as in systemd). */
function serviceKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else if (section === 'Service') {
      const eq = line.indexOf('=');
      if (eq > 0) keys.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  return keys;
}

/** CAP_NET_RAW CAP_X → setpriv's `-all,+net_raw,+x`. */
const setprivCaps = (caps: string[]) => ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');

function ns(name: string, ...args: string[]): void {
  const r = spawnSync('ip', ['-n', name, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ip -n ${name} ${args.join(' ')}: ${r.stderr}`);
}

/** Runs `netroot serve` as the unit would (same capability sets), in namespace `name`; resolves with its output once it said it serves or exited. */
async function serveWithCaps(name: string, stateDir: string, caps: string[]): Promise<{ ready: string; out: string; code: number | null }> {
  const c = setprivCaps(caps);
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      name,
      'setpriv',
      '--bounding-set',
      c,
      '--inh-caps',
      c,
      '--ambient-caps',
      c,
      process.execPath,
      '--import',
      'tsx',
      'test/helpers/netroot.ts',
      '--state-dir',
      stateDir,
      'serve',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let code: number | null | undefined;
  void exited.then((x) => (code = x));
  await waitFor(() => code !== undefined || /netroot: serving/.test(out), {
    what: () => `netroot serve to serve or exit: ${out}`,
    timeoutMs: 60_000,
    intervalMs: 100,
  }).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  let ready = '';
  if (code === undefined) {
    ready = spawnSync('ip', ['netns', 'exec', name, 'curl', '-s', '-m', '5', 'http://10.99.0.1/readyz'], { encoding: 'utf8' }).stdout;
    child.kill('SIGTERM');
    code = await exited;
  }
  return { ready, out, code };
}

test('packaging/netroot.service: systemd-analyze verify accepts it; ExecStart serves the StateDirectory', { skip }, () => {
  assertTools(TOOLS);
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'systemd-analyze verify printed warnings');
  const k = serviceKeys(readFileSync(UNIT, 'utf8'));
  assert.match(k.get('ExecStart') ?? '', /bin\/netroot\.js --state-dir \/var\/lib\/netroot serve$/);
  assert.equal(k.get('StateDirectory'), 'netroot');
  assert.equal(k.get('StateDirectoryMode'), '0700');
  assert.equal(k.get('Restart'), 'on-failure');
  assert.equal(k.get('CapabilityBoundingSet'), k.get('AmbientCapabilities'));
});

test("netroot serve runs with exactly the unit's capabilities (DHCP on an interface, HTTP on 80, TFTP on 69, RA), and fails without CAP_NET_RAW", {
  skip,
  timeout: 180_000,
}, async () => {
  assertTools(TOOLS);
  const caps = (serviceKeys(readFileSync(UNIT, 'utf8')).get('CapabilityBoundingSet') ?? '').split(/\s+/).filter(Boolean);
  assert.deepEqual([...caps].sort(), ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW']);
  const name = `nrt-unit-${process.pid}`;
  spawnSync('ip', ['netns', 'del', name]);
  assert.equal(spawnSync('ip', ['netns', 'add', name]).status, 0);
  try {
    ns(name, 'link', 'set', 'lo', 'up');
    ns(name, 'link', 'add', 'prov0', 'type', 'veth', 'peer', 'name', 'prov1');
    ns(name, 'addr', 'add', '10.99.0.1/24', 'dev', 'prov0');
    ns(name, 'link', 'set', 'prov0', 'up');
    ns(name, 'link', 'set', 'prov1', 'up');
    const stateDir = tempStateDir('nrt-unit-');
    writeFileSync(
      join(stateDir, 'netroot.yaml'),
      'network: { privateNetwork: 10.99.0.0/24, frontendAddress: 10.99.0.1 }\nhttp: { host: 0.0.0.0, port: 80 }\ndhcp: { interfaces: [prov0] }\ntftp: { enabled: true }\n',
    );

    const ok = await serveWithCaps(name, stateDir, caps);
    assert.match(
      ok.out,
      /netroot: serving .*http on 0\.0\.0\.0:80, tftp on 0\.0\.0\.0:69 \(native link\), .*dhcp on prov0, router advertisements on prov0/,
      ok.out,
    );
    const ready = JSON.parse(ok.ready) as { ready: boolean; checks: Record<string, string> };
    assert.equal(ready.ready, true, ok.ready);
    assert.deepEqual(Object.keys(ready.checks).sort(), ['dhcp', 'http', 'iscsi', 'store', 'tftp']);
    assert.equal(ok.code, 0, `SIGTERM should stop serve cleanly:\n${ok.out}`);

    const noRaw = await serveWithCaps(
      name,
      stateDir,
      caps.filter((c) => c !== 'CAP_NET_RAW'),
    );
    assert.notEqual(noRaw.code, 0, `serve started without CAP_NET_RAW:\n${noRaw.out}`);
    assert.doesNotMatch(noRaw.out, /netroot: serving/);
  } finally {
    spawnSync('ip', ['netns', 'del', name]);
  }
});
