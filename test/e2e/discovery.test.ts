// Issue 5's must-show, in the QEMU lab: a node with NO prior record powers on; a running
// `netroot insert-ethers --appliance compute-diskless --count 1 --json` (batch mode) sees it
// through the running frontend (netroot's DHCP reports the DISCOVER), names it compute-0-0, the
// iscsi-allocation plugin gives it a volume on the frontend's embedded target (checked with
// `netroot storage volumes --json` and a real iscsi-inq login from the lab namespace with the
// node's initiator name and CHAP), and the node receives its install boot: the installer kernel
// boots the marker initrd with the node's kickstart URL on its command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, markerInitrd, installedKernel } from '../../src/lab/index.js';
import { openStore } from '../../src/store/index.js';
import { e2eSkip, netrootIn, startFrontend, writeLabConfig } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const MAC = '52:54:00:12:35:01';

test('discovery: an unknown node powers on, insert-ethers names it compute-0-0, it gets its iSCSI volume and its install boot', {
  skip: e2eSkip,
  timeout: 240_000,
}, async () => {
  const dir = tempStateDir('nrt-e2e-disc-');
  const lab = new Lab({ workDir: join(dir, 'lab') });
  const netroot = (...args: string[]) => netrootIn(lab, dir, ...args);
  try {
    await lab.up();
    writeLabConfig(dir, lab, 'boot:\n  installArgs: "console=ttyS0 panic=-1"\n', { iscsi: true });
    const root = join(dir, 'tftpboot', 'install');
    mkdirSync(root, { recursive: true });
    copyFileSync(installedKernel(), join(root, 'vmlinuz'));
    writeFileSync(join(root, 'initrd.img'), markerInitrd('NETROOT-E2E-INSTALLER'));
    const frontend = await startFrontend(lab, dir);
    const start = Date.now();

    const ie = netroot('insert-ethers', '--appliance', 'compute-diskless', '--count', '1', '--json', '--timeout', '150');
    // The node powers on once the session is open (the CLI says so on stderr).
    await waitFor(() => ie.stderr().includes('insert-ethers: listening for new machines'), {
      what: () => `insert-ethers to open its session: ${ie.stderr()}`,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const node = lab.bootNode({ mac: MAC, firmware: 'bios', memoryMb: 512 });
    try {
      const r = await ie;
      assert.equal(r.code, 0, `insert-ethers failed: ${r.err}`);
      const machines = JSON.parse(r.out) as Array<{ mac: string; host: string; error: string | null }>;
      assert.deepEqual(
        machines.map((m) => [m.mac, m.host, m.error]),
        [[MAC, 'compute-0-0', null]],
      );
      process.stdout.write(`# discovered and added: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);

      const vr = await netroot('storage', 'volumes', '--json');
      assert.equal(vr.code, 0, vr.err);
      const vols = JSON.parse(vr.out) as Array<{ node: string; volume: string; host: string; target: string; portal: string; port: number; exported: boolean }>;
      assert.deepEqual(
        vols.map((v) => [v.node, v.volume, v.host, v.target, v.portal, v.port, v.exported]),
        [['local', 'compute-0-0', 'compute-0-0', 'iqn.2026-11.local.netroot:compute-0-0', lab.frontendAddress, 3260, true]],
      );

      const store = openStore(dir);
      const a = Object.fromEntries((await store.attributes.list({ scope: 'host', target: 'compute-0-0' })).map((x) => [x.name, x.value]));
      await store.close();
      const inq = (initiator: string) =>
        spawnSync(
          'ip',
          [
            'netns',
            'exec',
            lab.namespace,
            'iscsi-inq',
            '--initiator-name',
            initiator,
            `iscsi://${a['iscsi_user']}%${a['iscsi_secret']}@${a['iscsi_portal']}:${a['iscsi_port']}/${a['iscsi_target']}/${a['iscsi_lun']}`,
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
      const ok = inq(a['iscsi_initiator']!);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /DIRECT_ACCESS/);
      // Another initiator name with the right CHAP: refused at login with the target's authorization
      // failure (RFC 7143 §11.13.5, status 0x0202 = 514), not any other error.
      const foreign = inq('iqn.2026-11.local.netroot:initiator.compute-0-9');
      assert.notEqual(foreign.status, 0, 'another initiator name is refused');
      assert.match(foreign.stderr, /Status: Authorization failure\(514\)/, foreign.stderr);

      await node.console.waitFor(/NETROOT-E2E-INSTALLER cmdline=[^\n]*\n/, 150_000);
      const line = node.console.output.split('\n').find((l) => l.includes('NETROOT-E2E-INSTALLER cmdline='))!;
      assert.match(line, new RegExp(`inst\\.ks=http://${lab.frontendAddress.replace(/\./g, '\\.')}:8080/install/kickstart/compute-0-0`));
      process.stdout.write(`# power-on to installer kernel with its kickstart URL: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    } finally {
      await node.powerOff();
      frontend.kill('SIGTERM');
    }
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
});
