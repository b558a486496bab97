// Issue #18: `netroot power` drives a real lab node. The lab gives the node an emulated IPMI BMC
// (OpenIPMI's ipmi_sim, whose chassis control starts and stops the node's QEMU: src/lab/ipmi-bmc.ts);
// insert-ethers adds the node and the lab registers its BMC with `netroot host bmc set` (password on
// stdin). Then, through netroot's IPMI driver (ipmitool lanplus from the CLI in the lab namespace):
// `power status` says off, `power on --pxe` sets the next boot to PXE and starts QEMU, and the node
// PXE-boots from this netroot (its DHCP answer and its iPXE script for its MAC, in the frontend's
// log); `power off` ends QEMU. Every action is a 'power' event; the BMC password is in no output,
// log or event. The same lab run shows the dashboard: Debian's chromium, started inside the lab
// namespace, logs in to the lab frontend with the API token, sees the node's row follow the power
// actions live, powers the node on from the host page (through the real route, the IPMI driver and
// ipmi_sim, so QEMU starts), and takes a screenshot into the test output (NETROOT_DASHBOARD_SHOT
// names a file to copy it to: docs/dashboard.png comes from such a run).
// Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { readApiToken } from '../../src/app/api-token.js';
import { loadConfig } from '../../src/config/index.js';
import { FullLab, exitWithin, namespaces } from '../../src/lab/index.js';
import { openStore } from '../../src/store/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';
import { CHROMIUM, ensureWebBuilt } from '../web/helpers.js';
import { waitFor } from '../helpers/wait.js';

const BOOT_DEADLINE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 180_000);

test('netroot power on|status|off drives a real lab node through its IPMI BMC, and it PXE-boots from netroot', {
  skip: e2eSkip,
  timeout: BOOT_DEADLINE_MS + 180_000,
}, async () => {
  const dir = tempStateDir('nrt-e2e-power-');
  const t0 = Date.now();
  const lap = (what: string) => process.stdout.write(`# power lab: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const full = new FullLab({
    workDir: dir,
    name: 'nrt-power',
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes: 1,
    power: 'ipmi',
    memoryMb: 256,
  });
  let browser: Browser | undefined;
  try {
    ensureWebBuilt();
    await full.up({ bootImages: false });
    const n = await full.addNode(0);
    assert.equal(n.host, 'compute-0-0');
    const bmc = full.bmcs!.byMac(n.mac)!;
    lap(`${n.host} added, BMC ${bmc.address}:${bmc.port} registered`);

    const shown = await full.cliOk('host', 'bmc', 'show', n.host);
    assert.match(shown, new RegExp(`ipmi.*${bmc.address.replace(/\./g, '\\.')}`, 's'), shown);
    assert.ok(!shown.includes(bmc.password), 'host bmc show masks the password');

    assert.equal((await full.cliOk('power', 'status', n.host)).trim(), `${n.host}: off`);
    const next = bmc.nextPowerOn(60_000);
    const tOn = Date.now();
    assert.equal((await full.cliOk('power', 'on', n.host, '--pxe')).trim(), `${n.host}: on`);
    const node = await next;
    assert.equal(bmc.bootDevice, 'pxe', 'power on --pxe set the next boot to PXE first');
    // The node boots from this netroot: iPXE opens its NIC, netroot answers its DHCP and serves it
    // the iPXE script for its MAC (the frontend logs both, naming the host).
    await node.waitFor(new RegExp(`net0: ${n.mac} using`), BOOT_DEADLINE_MS);
    await waitFor(() => /boot script[^\n]*compute-0-0/.test(full.frontendLog), {
      what: 'the node to fetch its iPXE script from netroot',
      timeoutMs: BOOT_DEADLINE_MS,
      intervalMs: 250,
    });
    lap(`netroot power on → iPXE script fetched ${((Date.now() - tOn) / 1000).toFixed(1)} s`);
    assert.equal((await full.cliOk('power', 'status', n.host)).trim(), `${n.host}: on`);

    assert.equal((await full.cliOk('power', 'off', n.host)).trim(), `${n.host}: off`);
    assert.notEqual(await exitWithin(node.exited, 15_000), 'hung', 'power off ended QEMU');
    assert.equal(bmc.node, null);
    assert.equal((await full.cliOk('power', 'status', n.host)).trim(), `${n.host}: off`);
    lap('netroot power off: QEMU gone');

    // A BMC with a wrong password: a per-host error naming the host and the cause, exit 1, no secret.
    const wrong = await full.cli(
      { input: 'not-the-password\n' },
      ...['host', 'bmc', 'set', n.host, '--driver', 'ipmi', '--address', bmc.address, '--port', String(bmc.port), '--user', bmc.user, '--secret-stdin'],
    );
    assert.equal(wrong.code, 0, wrong.err);
    const refused = await full.cli('power', 'status', n.host);
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.out, /^compute-0-0: FAILED E_BMC_AUTH /m, refused.out);
    assert.ok(!`${refused.out}${refused.err}`.includes('not-the-password'));

    const store = openStore(full.stateDir);
    try {
      const events = await store.events.list({ kind: 'power', host: n.host });
      assert.deepEqual(
        events.map((e) => [e.detail['action'], e.detail['ok'], e.detail['state'] ?? e.detail['code']]),
        [
          ['status', true, 'off'],
          ['on', true, 'on'],
          ['status', true, 'on'],
          ['off', true, 'off'],
          ['status', true, 'off'],
          ['status', false, 'E_BMC_AUTH'],
        ],
      );
      assert.ok(!JSON.stringify(events).includes(bmc.password), 'no BMC password in an event');
    } finally {
      await store.close();
    }
    assert.ok(!full.frontendLog.includes(bmc.password), 'no BMC password in the frontend log');

    // The dashboard, from a browser inside the lab namespace (the frontend is 10.77.0.1:8080 there).
    await full.cli(
      { input: `${bmc.password}\n` },
      ...['host', 'bmc', 'set', n.host, '--driver', 'ipmi', '--address', bmc.address, '--port', String(bmc.port), '--user', bmc.user, '--secret-stdin'],
    );
    const wrapper = join(dir, 'chromium-in-lab');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${full.lab.namespace} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox'] });
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 800 } })).newPage();
    const url = `http://${full.lab.frontendAddress}:8080`;
    await page.goto(`${url}/`);
    await page.locator('#login-token').fill(readApiToken(loadConfig({ env: {}, overrides: { stateDir: full.stateDir } }))!);
    await page.locator('#login-form button[type=submit]').click();
    const power = page.locator(`#hosts-body tr[data-host="${n.host}"] [data-col=power]`);
    await power.filter({ hasText: 'off (last status failed)' }).waitFor({ timeout: 30_000 });
    await page.goto(`${url}/#/host/${n.host}`);
    await page.locator('#host-view').waitFor();
    const nextUi = bmc.nextPowerOn(60_000);
    await page.locator('#power-pxe').check();
    await page.locator('button[data-power=on]').click();
    await page.locator('#confirm-ok').click();
    await page.locator('#host-message', { hasText: 'power on: done; the host is on' }).waitFor({ timeout: 60_000 });
    const uiNode = await nextUi;
    await uiNode.waitFor(new RegExp(`net0: ${n.mac} using`), BOOT_DEADLINE_MS);
    lap('dashboard power on → QEMU running');
    await page.locator('nav a[href="#/hosts"]').click();
    await power.filter({ hasText: /^on$/ }).waitFor({ timeout: 30_000 });
    const shot = join(tempStateDir('nrt-e2e-power-shot-'), 'dashboard-lab.png'); // kept: the test's output
    await page.screenshot({ path: shot, fullPage: true });
    const keep = process.env['NETROOT_DASHBOARD_SHOT'];
    if (keep) copyFileSync(shot, keep);
    process.stdout.write(`# dashboard screenshot during the lab run: ${keep ?? shot}\n`);
    assert.equal((await full.cliOk('power', 'off', n.host)).trim(), `${n.host}: off`);
    assert.notEqual(await exitWithin(uiNode.exited, 15_000), 'hung');
  } finally {
    await browser?.close();
    await full.down();
    assert.ok(!namespaces().includes(full.lab.namespace), 'down() deletes the namespace');
    rmSync(dir, { recursive: true, force: true });
  }
});
