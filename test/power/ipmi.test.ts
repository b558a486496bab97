// The IPMI driver against a real BMC: OpenIPMI's ipmi_sim on loopback (test/helpers/ipmi-sim.ts),
// whose chassis power starts and stops a real process, through Debian's ipmitool over lanplus.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IpmiDriver, classify } from '../../src/power/ipmi.js';
import { isNetrootError } from '../../src/errors.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { freeUdpPort } from '../helpers/ports.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const TOOLS: Array<[string, string]> = [
  ['ipmi_sim', 'openipmi'],
  ['ipmitool', 'ipmitool'],
];
const skip = skipUnless(TOOLS);

let sim: IpmiSim;
const spawned: Array<{ argv: readonly string[]; envNames: readonly string[]; cmdline: string }> = [];
const driver = new IpmiDriver({
  timeoutMs: 10_000,
  onSpawn: ({ pid, argv, envNames }) => {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {}
    spawned.push({ argv, envNames, cmdline });
  },
});

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  sim = await startIpmiSim();
});
after(async () => {
  await sim?.stop();
});

async function rejects(p: Promise<unknown>, codes: string[]): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isNetrootError(e), `a NetrootError, got ${String(e)}`);
    assert.ok(codes.includes(e.code), `${e.code} (${e.message}) is one of ${codes.join(', ')}`);
    return e;
  }
  assert.fail('expected a rejection');
}

test('ipmi: status, on, off, cycle, reset, soft against ipmi_sim power a real process', { skip }, async () => {
  const bmc = sim.bmc('compute-0-0');
  assert.deepEqual(await driver.run(bmc, { action: 'status' }), { state: 'off' });
  assert.equal(sim.isOn(), false);

  assert.deepEqual(await driver.run(bmc, { action: 'on' }), { state: 'on' });
  const first = sim.machinePid();
  assert.ok(first !== null, 'power on started the machine');
  assert.deepEqual(await driver.run(bmc, { action: 'status' }), { state: 'on' });

  assert.deepEqual(await driver.run(bmc, { action: 'reset' }), { state: 'on' });
  const afterReset = sim.machinePid();
  assert.ok(afterReset !== null && afterReset !== first, 'reset restarted the machine');

  assert.deepEqual(await driver.run(bmc, { action: 'off' }), { state: 'off' });
  assert.equal(sim.isOn(), false, 'power off stopped the machine');

  // cycle of an off chassis powers it on (xCAT's `rpower boot`)
  assert.deepEqual(await driver.run(bmc, { action: 'cycle' }), { state: 'on' });
  assert.ok(sim.isOn());
  // cycle of an on chassis: ipmi_sim powers off now and on again one second later
  const beforeCycle = sim.machinePid();
  assert.deepEqual(await driver.run(bmc, { action: 'cycle' }), { state: 'on' });
  await waitFor(() => sim.machinePid() !== null && sim.machinePid() !== beforeCycle, { what: 'cycle to run a new machine', timeoutMs: 5000, intervalMs: 100 });
  assert.ok(sim.actions().includes('set power 0'));

  // soft: ACPI shutdown request; the simulated machine stops at once, and the state read after says so
  assert.deepEqual(await driver.run(bmc, { action: 'soft' }), { state: 'off' });
  assert.ok(sim.actions().includes('set shutdown 1'));
  assert.equal(sim.isOn(), false);
});

test('ipmi: --pxe sets the next boot device before on/cycle/reset (chassis bootdev pxe)', { skip }, async () => {
  const bmc = sim.bmc('compute-0-1');
  await driver.run(bmc, { action: 'off' });
  const n = sim.actions().length;
  assert.equal((await driver.run(bmc, { action: 'on', pxe: true })).state, 'on');
  const calls = sim.actions().slice(n);
  assert.equal(sim.bootDevice(), 'pxe');
  assert.ok(
    calls.indexOf('set boot pxe') >= 0 && calls.indexOf('set boot pxe') < calls.indexOf('set power 1'),
    `boot device set before power on: ${calls.join(', ')}`,
  );
  await driver.run(bmc, { action: 'off' });
});

test('ipmi: the password is never on a command line (argv and /proc/<pid>/cmdline), only in the environment', { skip }, async () => {
  await driver.run(sim.bmc('compute-0-2'), { action: 'status' });
  assert.ok(spawned.length > 0);
  for (const s of spawned) {
    assert.ok(!s.argv.some((a) => a.includes(sim.password)), `argv has no secret: ${s.argv.join(' ')}`);
    assert.ok(!s.cmdline.includes(sim.password));
    assert.ok(s.argv.includes('-E') && !s.argv.includes('-P'));
    assert.ok(s.envNames.includes('IPMI_PASSWORD'));
  }
  assert.ok(
    spawned.some((s) => s.cmdline.includes('lanplus')),
    'the child cmdline was read',
  );
});

test('ipmi: a wrong password is E_BMC_AUTH naming host and BMC, never the password', { skip }, async () => {
  const wrong = 'Wr0ng-Pa55';
  const bmc = { ...sim.bmc('compute-0-3'), secret: wrong };
  const e = await rejects(driver.run(bmc, { action: 'status' }), ['E_BMC_AUTH']);
  assert.match(e.message, /compute-0-3/);
  assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${sim.port}`));
  assert.ok(!e.message.includes(wrong) && !e.message.includes(sim.password));
  // an unknown user too
  await rejects(driver.run({ ...sim.bmc('compute-0-3'), user: 'nobody' }, { action: 'on' }), ['E_BMC_AUTH']);
  assert.equal(sim.isOn(), false, 'nothing was powered');
});

test('ipmi: a closed port is E_BMC_UNREACHABLE (or TIMEOUT) within seconds', { skip }, async () => {
  const port = await freeUdpPort();
  const t0 = Date.now();
  const e = await rejects(new IpmiDriver({ retries: 1 }).run({ ...sim.bmc('compute-0-4'), port }, { action: 'status' }), [
    'E_BMC_UNREACHABLE',
    'E_BMC_TIMEOUT',
  ]);
  assert.ok(Date.now() - t0 < 9000, `took ${Date.now() - t0} ms`);
  assert.match(e.message, /compute-0-4/);
  assert.ok(!e.message.includes(sim.password));
});

test('ipmi: an unresolvable BMC name is E_BMC_UNREACHABLE', { skip }, async () => {
  await rejects(driver.run({ ...sim.bmc('compute-0-5'), address: 'no-such-bmc.invalid' }, { action: 'status' }), ['E_BMC_UNREACHABLE']);
});

test('ipmi: a UDP server answering garbage is E_BMC_PROTOCOL/UNREACHABLE/TIMEOUT, never a crash', { skip }, async () => {
  const servers: Socket[] = [];
  try {
    for (const garbage of [
      Buffer.from('not ipmi at all\n'),
      Buffer.alloc(0),
      Buffer.alloc(2000, 0xff),
      // an RMCP header (ver 6, seq ff, class 7 = IPMI) followed by nonsense
      Buffer.from([0x06, 0x00, 0xff, 0x07, 0x06, 0x10, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x01]),
    ]) {
      const s = createSocket('udp4');
      servers.push(s);
      s.on('message', (_m, rinfo) => s.send(garbage, rinfo.port, rinfo.address));
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      const short = new IpmiDriver({ timeoutMs: 8000, retries: 1 });
      const e = await rejects(short.run({ ...sim.bmc('compute-0-6'), port: s.address().port }, { action: 'status' }), [
        'E_BMC_PROTOCOL',
        'E_BMC_UNREACHABLE',
        'E_BMC_TIMEOUT',
      ]);
      assert.match(e.message, /compute-0-6/);
    }
  } finally {
    for (const s of servers) s.close();
  }
});

test('ipmi: the per-call timeout kills ipmitool (E_BMC_TIMEOUT) and so does the abort signal', { skip }, async () => {
  // A BMC that never answers: a bound UDP socket that reads and says nothing.
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  try {
    const slow = new IpmiDriver({ timeoutMs: 700, retransmitSeconds: 5, retries: 5 });
    const bmc = { ...sim.bmc('compute-0-7'), port: s.address().port };
    let t0 = Date.now();
    const e = await rejects(slow.run(bmc, { action: 'status' }), ['E_BMC_TIMEOUT']);
    assert.ok(Date.now() - t0 < 3000, `timeout honoured: ${Date.now() - t0} ms`);
    assert.match(e.message, /compute-0-7.*no answer within 0\.7 s/);

    const patient = new IpmiDriver({ timeoutMs: 60_000, retransmitSeconds: 5, retries: 5 });
    const ac = new AbortController();
    t0 = Date.now();
    // timed input, not a wait: the abort arrives while ipmitool waits for the silent BMC.
    setTimeout(() => ac.abort(), 300);
    await rejects(patient.run(bmc, { action: 'on', signal: ac.signal }), ['E_BMC_TIMEOUT']);
    assert.ok(Date.now() - t0 < 3000, `abort honoured: ${Date.now() - t0} ms`);
    await rejects(patient.run(bmc, { action: 'on', signal: AbortSignal.abort() }), ['E_BMC_TIMEOUT']);
  } finally {
    s.close();
  }
});

test('ipmi: output beyond the bound kills the child (E_BMC_PROTOCOL); a missing ipmitool is named', { skip }, async () => {
  // A stand-in for ipmitool that writes without end: the bound, not the deadline, stops it.
  const noisyBin = join(sim.dir, 'noisy-ipmitool');
  writeFileSync(noisyBin, '#!/bin/sh\nexec yes\n', { mode: 0o700 });
  const noisy = new IpmiDriver({ ipmitool: noisyBin, maxOutputBytes: 4096, timeoutMs: 5000 });
  const e = await rejects(noisy.run(sim.bmc('compute-0-8'), { action: 'status' }), ['E_BMC_PROTOCOL']);
  assert.match(e.message, /more than 4096 bytes/);
  const missing = new IpmiDriver({ ipmitool: '/nonexistent/ipmitool' });
  const m = await rejects(missing.run(sim.bmc('compute-0-8'), { action: 'status' }), ['E_BMC_PROTOCOL']);
  assert.match(m.message, /cannot run \/nonexistent\/ipmitool/);
});

test('ipmi: classify reads ipmitool stderr strictly (malformed and huge inputs)', () => {
  assert.equal(classify('> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session').code, 'E_BMC_AUTH');
  assert.equal(classify('RAKP 2 message indicates an error : unauthorized name').code, 'E_BMC_AUTH');
  assert.equal(classify('Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request').code, 'E_BMC_UNREACHABLE');
  assert.equal(classify('Address lookup for x.invalid failed').code, 'E_BMC_UNREACHABLE');
  assert.equal(classify('Set Chassis Power Control to Up/On failed: Invalid data field in request').code, 'E_BMC_UNSUPPORTED');
  assert.equal(classify('').code, 'E_BMC_PROTOCOL');
  assert.equal(classify('\u0000\uffff'.repeat(100_000)).code, 'E_BMC_PROTOCOL');
});
