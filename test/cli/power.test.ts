// `netroot host bmc set|show|unset` and `netroot power …` through the real CLI against a real
// ipmi_sim BMC on loopback: exit codes (0 all ok, 1 E_POWER_PARTIAL), one line per host, --json,
// masked secrets, power events, and `host set boot=install --reboot` / `insert-ethers --replace
// --reboot` power-cycling into PXE (or saying there is no BMC) — with and without a running frontend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliOk, tempStateDir } from '../helpers/cli.js';
import { noFrontend, startFrontend } from '../helpers/frontend.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { freeUdpPort } from '../helpers/ports.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { openStore } from '../../src/store/index.js';

const TOOLS: Array<[string, string]> = [
  ['ipmi_sim', 'openipmi'],
  ['ipmitool', 'ipmitool'],
];
const skip = skipUnless(TOOLS);
let sim: IpmiSim;
const dirs: string[] = [];

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  sim = await startIpmiSim();
});
after(async () => {
  await sim?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<{ dir: string; at: string[]; secretFile: string; wrongFile: string }> {
  const dir = tempStateDir('nrt-power-cli-');
  dirs.push(dir);
  const at = await noFrontend();
  const ok = cliOk(dir);
  for (let i = 0; i < 3; i++) await ok(...at, 'host', 'add', `compute-0-${i}`, '--appliance', 'compute', '--mac', `52:54:00:cc:00:0${i}`);
  const secretFile = join(dir, 'bmc-secret');
  writeFileSync(secretFile, `${sim.password}\n`, { mode: 0o600 });
  const wrongFile = join(dir, 'wrong-secret');
  writeFileSync(wrongFile, 'NotThePassword\n', { mode: 0o600 });
  return { dir, at, secretFile, wrongFile };
}

const bmcFlags = (file: string, port = sim.port) => [
  '--driver',
  'ipmi',
  '--address',
  '127.0.0.1',
  '--port',
  String(port),
  '--user',
  sim.user,
  '--secret-file',
  file,
];

test('host bmc set/show/unset (local store): masked unless --show-secrets; the secret never on argv', { skip }, async () => {
  const { dir, at, secretFile } = await setup();
  const ok = cliOk(dir);
  assert.match(await ok(...at, 'host', 'bmc', 'set', 'compute-0-0', ...bmcFlags(secretFile)), /compute-0-0: BMC ipmi 127\.0\.0\.1:\d+ user admin/);
  const shown = await ok(...at, 'host', 'bmc', 'show', 'compute-0-0');
  assert.match(shown, /secret: +\*{8}/);
  assert.ok(!shown.includes(sim.password));
  assert.equal(JSON.parse(await ok(...at, 'host', 'bmc', 'show', 'compute-0-0', '--json')).secret, '********');
  assert.match(await ok(...at, 'host', 'bmc', 'show', 'compute-0-0', '--show-secrets'), new RegExp(`secret: +${sim.password}`));
  // no --secret flag: a secret on the command line is refused (exit 2)
  let r = await cli(dir, ...at, 'host', 'bmc', 'set', 'compute-0-1', '--driver', 'ipmi', '--address', '127.0.0.1', '--user', 'u', '--secret', 'x');
  assert.equal(r.code, 2);
  r = await cli(dir, ...at, 'host', 'bmc', 'set', 'compute-0-1', '--driver', 'ipmi', '--address', '127.0.0.1', '--user', 'u');
  assert.equal(r.code, 2);
  assert.match(r.err, /--secret-file FILE or --secret-stdin/);
  r = await cli(dir, ...at, 'host', 'bmc', 'set', 'compute-0-1', ...bmcFlags(secretFile), '--port', '0');
  assert.equal(r.code, 2);
  r = await cli(dir, ...at, 'host', 'bmc', 'set', 'compute-0-1', '--driver', 'ipmi', '--address', 'bad address', '--user', 'u', '--secret-file', secretFile);
  assert.equal(r.code, 2);
  assert.match(r.err, /address: must be an IPv4 address or a DNS name/);
  r = await cli(dir, ...at, 'host', 'bmc', 'set', 'compute-0-1', ...bmcFlags(join(dir, 'missing')));
  assert.equal(r.code, 2);
  assert.match(r.err, /--secret-file/);
  r = await cli(dir, ...at, 'host', 'bmc', 'show', 'compute-0-1');
  assert.equal(r.code, 2);
  assert.match(r.err, /compute-0-1 has no BMC entry/);
  assert.match(await ok(...at, 'host', 'bmc', 'unset', 'compute-0-0'), /BMC entry removed/);
  assert.equal((await cli(dir, ...at, 'host', 'bmc', 'unset', 'compute-0-0')).code, 2);
});

test('host bmc set --secret-stdin (a real child process reading its stdin)', { skip }, async () => {
  const { dir, at } = await setup();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "const m = await import('./src/cli/main.ts'); process.exitCode = await m.run(process.argv.slice(1));",
      '--',
      '--state-dir',
      dir,
      ...at,
      'host',
      'bmc',
      'set',
      'compute-0-2',
      '--driver',
      'ipmi',
      '--address',
      '127.0.0.1',
      '--user',
      sim.user,
      '--secret-stdin',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(import.meta.dirname, '..', '..') },
  );
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(`${sim.password}\n`);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, err);
  const store = openStore(dir);
  try {
    assert.equal((await store.bmcs.get('compute-0-2'))?.secret, sim.password);
  } finally {
    await store.close();
  }
});

test('power on/status/off through ipmi_sim; partial failure is exit 1 E_POWER_PARTIAL; --json; events', { skip }, async () => {
  const { dir, at, secretFile, wrongFile } = await setup();
  const ok = cliOk(dir);
  await ok(...at, 'host', 'bmc', 'set', 'compute-0-0', ...bmcFlags(secretFile));
  await ok(...at, 'host', 'bmc', 'set', 'compute-0-1', ...bmcFlags(wrongFile));
  await ok(...at, 'power', 'off', 'compute-0-0');
  assert.equal(await ok(...at, 'power', 'on', 'compute-0-0'), 'compute-0-0: on\n');
  assert.ok(sim.isOn(), 'the machine runs');
  assert.equal(await ok(...at, 'power', 'status', 'compute-0-0', '--parallel', '1'), 'compute-0-0: on\n');

  const r = await cli(dir, ...at, 'power', 'status', 'compute-0-[0-2]');
  assert.equal(r.code, 1, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'compute-0-0: on');
  assert.match(lines[1]!, /^compute-0-1: FAILED E_BMC_AUTH compute-0-1: BMC 127\.0\.0\.1:\d+ \(ipmi\)/);
  assert.match(lines[2]!, /^compute-0-2: FAILED E_BMC_NOT_SET /);
  assert.match(r.err, /power status: 2 of 3 hosts failed/);
  assert.ok(!(r.out + r.err).includes(sim.password) && !(r.out + r.err).includes('NotThePassword'));

  const j = await cli(dir, ...at, 'power', 'off', 'compute-0-0', 'compute-0-1', '--json');
  assert.equal(j.code, 1);
  const results = JSON.parse(j.out) as Array<{ host: string; ok: boolean; state?: string; code?: string }>;
  assert.deepEqual(
    results.map((x) => [x.host, x.ok, x.state ?? x.code]),
    [
      ['compute-0-0', true, 'off'],
      ['compute-0-1', false, 'E_BMC_AUTH'],
    ],
  );
  assert.equal(sim.isOn(), false);

  // usage errors: exit 2 before anything runs
  assert.equal((await cli(dir, ...at, 'power', 'explode', 'compute-0-0')).code, 2);
  assert.equal((await cli(dir, ...at, 'power', 'on', 'compute-9-9')).code, 2);
  assert.equal((await cli(dir, ...at, 'power', 'on', 'compute-0-0', '--parallel', '0')).code, 2);

  const ev = await ok(...at, 'events', '--kind', 'power', '--json', '--last', '100');
  const events = ev
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { host: string; detail: Record<string, unknown> });
  assert.equal(events.length, 3 + 3 + 2);
  assert.deepEqual(events[1]!.detail, { action: 'on', pxe: false, ok: true, state: 'on' });
  assert.ok(!ev.includes(sim.password));
});

test('host set boot=install --reboot and insert-ethers --replace --reboot power-cycle into PXE; no BMC: said, not fatal', { skip }, async () => {
  const { dir, at, secretFile } = await setup();
  const ok = cliOk(dir);
  await ok(...at, 'host', 'bmc', 'set', 'compute-0-0', ...bmcFlags(secretFile));
  await ok(...at, 'power', 'off', 'compute-0-0');
  rmSync(join(sim.dir, 'boot'), { force: true });
  let r = await cli(dir, ...at, 'host', 'set', 'compute-0-[0-1]', 'boot=install', '--reboot');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /compute-0-0: power-cycled into its new boot \(next boot: PXE\)/);
  assert.match(r.err, /compute-0-1 has no BMC entry: power-cycle it by hand/);
  assert.equal(sim.bootDevice(), 'pxe');
  assert.ok(sim.isOn());

  rmSync(join(sim.dir, 'boot'), { force: true });
  r = await cli(dir, ...at, 'insert-ethers', '--replace', 'compute-0-0', '--mac', '52:54:00:cc:00:99', '--yes', '--reboot');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /compute-0-0 is now 52:54:00:cc:00:99/);
  assert.match(r.err, /compute-0-0: power-cycled/);
  assert.equal(sim.bootDevice(), 'pxe');
  assert.equal((await cli(dir, ...at, 'insert-ethers', '--reboot')).code, 2);

  // an unreachable BMC: the boot change is made, the failure said, exit 0
  await ok(...at, 'host', 'bmc', 'set', 'compute-0-2', ...bmcFlags(secretFile, await freeUdpPort()));
  r = await cli(dir, ...at, 'host', 'set', 'compute-0-2', 'boot=os', '--reboot');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /compute-0-2: could not power-cycle it: E_BMC_(UNREACHABLE|TIMEOUT)/);
  await ok(...at, 'power', 'off', 'compute-0-0');
});

test('with a running frontend: bmc set goes through REST, power runs and records events the API lists', { skip }, async () => {
  const fe = await startFrontend();
  dirs.push(fe.dir);
  try {
    const ok = cliOk(fe.dir);
    await ok(...fe.at, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:dd:00:01');
    const secretFile = join(fe.dir, 's');
    writeFileSync(secretFile, sim.password, { mode: 0o600 });
    await ok(...fe.at, 'host', 'bmc', 'set', 'compute-0-0', ...bmcFlags(secretFile));
    const put = (await (await fetch(`${fe.api}/hosts/compute-0-0/bmc`)).json()) as { secret: string };
    assert.equal(put.secret, '********');
    assert.equal(await ok(...fe.at, 'power', 'cycle', 'compute-0-0', '--pxe'), 'compute-0-0: on\n');
    const ev = (await (await fetch(`${fe.api}/events?kind=power`)).json()) as { items: Array<{ detail: Record<string, unknown> }> };
    assert.deepEqual(ev.items.at(-1)!.detail, { action: 'cycle', pxe: true, ok: true, state: 'on' });
    await ok(...fe.at, 'power', 'off', 'compute-0-0');
    assert.match(await ok(...fe.at, 'host', 'bmc', 'unset', 'compute-0-0'), /removed/);
    assert.equal((await fetch(`${fe.api}/hosts/compute-0-0/bmc`)).status, 404);
  } finally {
    await fe.f.stop();
  }
});

test('power: the progress line (stderr is a terminal) counts done and failed hosts', { skip }, async () => {
  const { dir, at, secretFile } = await setup();
  const ok = cliOk(dir);
  await ok(...at, 'host', 'bmc', 'set', 'compute-0-0', ...bmcFlags(secretFile));
  const { CliContext } = await import('../../src/cli/context.js');
  const { powerCommand } = await import('../../src/cli/power.js');
  let out = '';
  let err = '';
  const ctx = new CliContext(
    { stateDir: dir, set: Object.fromEntries([at.slice(0, 2), at.slice(2, 4)].map(([, kv]) => kv!.split('=') as [string, string])) },
    { out: (t) => (out += t), err: (t) => (err += t) },
    {},
  );
  try {
    await assert.rejects(powerCommand(ctx, ['status', 'compute-0-[0-1]', '--parallel', '1'], { progressTty: true }), /1 of 2 hosts failed/);
  } finally {
    await ctx.close();
  }
  assert.equal(err, '\rpower status: 1/2 done, 0 failed\rpower status: 2/2 done, 1 failed\n');
  assert.equal(out.split('\n').length, 3);
});
