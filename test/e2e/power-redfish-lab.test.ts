// Issue #18: `netroot power` drives a real lab node through the lab's own Redfish BMC (the role
// sushy-tools plays for libvirt). FullLab({ power: 'redfish' }) gives the node a Redfish BMC: a
// process inside the lab namespace (src/lab/redfish-bmc-main.ts) serving HTTPS on 10.78.0.50:443
// with a self-signed certificate, whose ComputerSystem hands power requests to the lab process over
// the lab's chassis socket (the same handler ipmi_sim's chassis control uses), which starts and stops
// the node's QEMU. insert-ethers adds the node and the lab registers that BMC with
// `netroot host bmc set … --driver redfish --insecure-tls` (password on stdin). Then, through
// netroot's Redfish driver from the CLI in the lab namespace: `power status` off, `power on --pxe`
// sets the boot override to Pxe and starts QEMU (its iPXE opens the NIC), `power status` on,
// `power off` ends QEMU. The BMC password is in no output.
// Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FullLab, exitWithin, namespaces } from '../../src/lab/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

test('netroot power on|status|off drives a real lab node through the lab Redfish BMC (boot override Pxe)', { skip: e2eSkip, timeout: 240_000 }, async () => {
  const dir = tempStateDir('nrt-e2e-power-rf-');
  const t0 = Date.now();
  const lap = (what: string) => process.stdout.write(`# redfish power lab: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const full = new FullLab({
    workDir: dir,
    name: 'nrt-powrf',
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes: 1,
    power: 'redfish',
    memoryMb: 256,
  });
  try {
    await full.up({ bootImages: false });
    lap('lab up');
    const n = await full.addNode(0);
    assert.equal(n.host, 'compute-0-0');
    const bmc = full.bmcs!.byMac(n.mac)!;
    const rf = bmc.redfishInfo;
    assert.equal(rf.driver, 'redfish');
    assert.equal(rf.address, '10.78.0.50');
    assert.equal(rf.port, 443);
    lap(`${n.host} added, Redfish BMC ${rf.address}:${rf.port} registered`);
    // The password reaches the BMC process through a 0600 file, not its argv.
    assert.equal(statSync(join(bmc.dir, 'redfish', 'config.json')).mode & 0o777, 0o600);
    const cmdline = readFileSync(`/proc/${bmc.redfish!.process.pid}/cmdline`, 'utf8');
    assert.match(cmdline, /redfish-bmc-main\.ts/);
    assert.ok(!cmdline.includes(rf.password), 'no password in the BMC process argv');

    const shown = await full.cliOk('host', 'bmc', 'show', n.host);
    assert.match(shown, /redfish/, shown);
    assert.match(shown, new RegExp(rf.address.replace(/\./g, '\\.')), shown);
    assert.match(shown, /insecure-tls: true/, shown);
    assert.ok(!shown.includes(rf.password), 'host bmc show masks the password');

    assert.equal((await full.cliOk('power', 'status', n.host)).trim(), `${n.host}: off`);
    const next = bmc.nextPowerOn(60_000);
    const tOn = Date.now();
    const on = await full.cli('power', 'on', n.host, '--pxe');
    assert.equal(on.code, 0, on.out + on.err);
    assert.equal(on.out.trim(), `${n.host}: on`);
    const node = await next;
    assert.equal(bmc.bootDevice, 'pxe', 'the Redfish boot override Pxe reached the lab');
    assert.equal(bmc.powerOns, 1);
    await node.waitFor(new RegExp(`net0: ${n.mac} using`), 120_000);
    lap(`netroot power on → iPXE on the node's NIC ${((Date.now() - tOn) / 1000).toFixed(1)} s`);
    assert.equal((await full.cliOk('power', 'status', n.host)).trim(), `${n.host}: on`);

    const off = await full.cli('power', 'off', n.host);
    assert.equal(off.code, 0, off.out + off.err);
    assert.equal(off.out.trim(), `${n.host}: off`);
    assert.notEqual(await exitWithin(node.exited, 15_000), 'hung', 'power off ended QEMU');
    assert.equal(bmc.node, null);
    assert.equal((await full.cliOk('power', 'status', n.host)).trim(), `${n.host}: off`);
    lap('netroot power off: QEMU gone');
    for (const r of [on, off]) assert.ok(!`${r.out}${r.err}`.includes(rf.password), 'no BMC password in the output');
    assert.ok(!full.frontendLog.includes(rf.password), 'no BMC password in the frontend log');
  } finally {
    await full.down();
    assert.ok(!namespaces().includes(full.lab.namespace), 'down() deletes the namespace');
    rmSync(dir, { recursive: true, force: true });
  }
});
