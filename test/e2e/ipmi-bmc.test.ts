// The lab's emulated IPMI BMC (src/lab/ipmi-bmc.ts) driven by the real ipmitool over RMCP+
// (lanplus) from inside the lab namespace: OpenIPMI's ipmi_sim really starts and stops the node's
// QEMU. `chassis power on` → the node's console shows iPXE opening its NIC (the smallest proof the
// VM runs: ~1-4 s of TCG, no DHCP server needed); status on; the guest's KCS interface is connected
// to ipmi_sim (QEMU's ipmi-bmc-extern); `chassis bootdev pxe` is accepted; a wrong password is
// refused and changes nothing; `cycle` replaces the QEMU process; `soft` reaches QEMU (ACPI power
// button over QMP); `off` ends QEMU and status says off. Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FullLab, IpmiBmcs, IPMI_VM_PORT, Lab, exitWithin, ipmitoolPowerOn, namespaces, nodeMac } from '../../src/lab/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const BOOT_DEADLINE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 180_000);
const MAC = '52:54:00:77:02:10';

test('lab IPMI BMC: ipmitool chassis power on/status/bootdev/cycle/soft/off drive a real QEMU node; a wrong password is refused', {
  skip: e2eSkip,
  timeout: 2 * BOOT_DEADLINE_MS + 60_000,
}, async () => {
  const dir = tempStateDir('nrt-e2e-ipmi-');
  const lab = new Lab({ name: 'nrt-ipmi', workDir: join(dir, 'lab') });
  const t0 = Date.now();
  const lap = (what: string) => process.stdout.write(`# ipmi bmc: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  try {
    await lab.up();
    const bmcs = new IpmiBmcs(lab);
    const bmc = await bmcs.add({ name: 'node0', machine: { mac: MAC, firmware: 'bios', memoryMb: 256 } });
    lap(`ipmi_sim listening on ${bmc.address}:${bmc.port}`);
    // The password is in lan.conf (0600) only; ipmi_sim's and every ipmitool's argv carry none.
    assert.equal(statSync(join(bmc.dir, 'lan.conf')).mode & 0o777, 0o600);
    assert.ok(!readFileSync(`/proc/${bmc.sim!.pid}/cmdline`, 'utf8').includes(bmc.password));
    const ok = async (...args: string[]) => {
      const r = await bmc.ipmitool(args);
      assert.equal(r.code, 0, `ipmitool ${args.join(' ')}: ${r.err}\nipmi_sim: ${bmc.simLog}`);
      assert.ok(!r.out.includes(bmc.password) && !r.err.includes(bmc.password));
      return r.out;
    };

    assert.match(await ok('chassis', 'power', 'status'), /Chassis Power is off/);
    assert.match(await ok('chassis', 'bootdev', 'pxe'), /Set Boot Device to pxe/);
    assert.equal(bmc.bootDevice, 'pxe');

    let next = bmc.nextPowerOn(30_000);
    const tOn = Date.now();
    assert.match(await ok('chassis', 'power', 'on'), /Chassis Power Control: Up\/On/);
    const node = await next;
    // iPXE (QEMU's e1000 ROM) opened this node's NIC: the VM runs, and it is this BMC's node.
    await node.waitFor(new RegExp(`net0: ${MAC} using`), BOOT_DEADLINE_MS);
    lap(`power on → iPXE net0 ${((Date.now() - tOn) / 1000).toFixed(1)} s`);
    assert.match(await ok('chassis', 'power', 'status'), /Chassis Power is on/);
    assert.equal(bmc.powerOns, 1);
    // QEMU's ipmi-bmc-extern is connected to ipmi_sim's VM interface: the guest's KCS BMC is this ipmi_sim.
    const ss = spawnSync('ip', ['netns', 'exec', lab.namespace, 'ss', '-Htn', 'state', 'established'], { encoding: 'utf8' }).stdout;
    assert.match(ss, new RegExp(`${bmc.address.replace(/\./g, '\\.')}:${IPMI_VM_PORT}\\b`), ss);

    const bad = await bmc.ipmitool(['chassis', 'power', 'off'], { password: 'not-the-password' });
    assert.notEqual(bad.code, 0, 'a wrong password must be refused');
    assert.match(bad.err, /Unable to establish IPMI v2 \/ RMCP\+ session|RAKP/);
    assert.equal(bmc.powerState, 'on', 'a refused command changes nothing');
    lap('wrong password refused');

    next = bmc.nextPowerOn(30_000);
    assert.match(await ok('chassis', 'power', 'cycle'), /Cycle/);
    const second = await next;
    assert.notEqual(second, node);
    assert.notEqual(await exitWithin(node.exited, 10_000), 'hung', 'cycle ended the first QEMU');
    await second.waitFor(new RegExp(`net0: ${MAC} using`), BOOT_DEADLINE_MS);
    lap('cycle: a new QEMU booted');

    assert.match(await ok('chassis', 'power', 'soft'), /Soft/); // QMP system_powerdown delivered (or the command fails)
    assert.match(await ok('chassis', 'power', 'off'), /Down\/Off/);
    assert.notEqual(await exitWithin(second.exited, 10_000), 'hung', 'power off ends QEMU');
    assert.match(await ok('chassis', 'power', 'status'), /Chassis Power is off/);
    assert.equal(bmc.node, null);
    const pids = spawnSync('ip', ['netns', 'pids', lab.namespace], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const p of pids) assert.doesNotMatch(readFileSync(`/proc/${p}/cmdline`, 'utf8'), /qemu-system/, 'no QEMU left running');
    lap('power off: QEMU gone');
  } finally {
    await lab.down();
    assert.ok(!namespaces().includes(lab.namespace), 'down() deletes the namespace');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FullLab power ipmi: a stage powers its node on through the BMC (powerOn hook), and bmc.json lists the BMCs (mode 0600)', {
  skip: e2eSkip,
  timeout: BOOT_DEADLINE_MS + 60_000,
}, async () => {
  const dir = tempStateDir('nrt-e2e-ipmi-full-');
  const calls: Array<{ host: string | null; mac: string; stage: string }> = [];
  const full = new FullLab({
    workDir: dir,
    name: 'nrt-ipmif',
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes: 1,
    power: 'ipmi',
    memoryMb: 256,
    // The hook the lead switches to `netroot power on <host>`: here the default (ipmitool), recorded.
    powerOn: async (req) => {
      calls.push({ host: req.host, mac: req.mac, stage: req.stage });
      await ipmitoolPowerOn(req);
    },
  });
  try {
    await full.lab.up();
    await full.startBmcs();
    const [info] = full.bmcInfo();
    assert.ok(info);
    assert.equal(info.mac, nodeMac(0));
    assert.equal(statSync(full.bmcFile).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(full.bmcFile, 'utf8')), [info]);
    const { node, seconds } = await full.stage(nodeMac(0), nodeMac(0), 'boot', new RegExp(`net0: ${nodeMac(0)} using`));
    assert.deepEqual(calls, [{ host: null, mac: nodeMac(0), stage: 'boot' }], 'a blank node: no host name yet');
    const bmc = full.bmcs!.byMac(nodeMac(0))!;
    assert.equal(bmc.bootDevice, 'pxe');
    assert.equal(bmc.node, node);
    process.stdout.write(`# ipmi full lab: power on through the BMC → iPXE net0 ${seconds.toFixed(1)} s\n`);
    await node.powerOff();
    assert.equal(bmc.powerState, 'off');
  } finally {
    await full.down();
    rmSync(dir, { recursive: true, force: true });
  }
});
