// A real PXE boot through netroot's own servers: QEMU (TCG) with QEMU's iPXE ROM on a lab bridge
// → netroot DHCP (known MAC, fixed address, iPXE gets its script URL) → HTTP iPXE script →
// kernel + initrd over HTTP → the initrd prints a marker. Once with SeaBIOS, once with OVMF (q35).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, markerInitrd, installedKernel } from '../../src/lab/index.js';
import { run } from '../../src/cli/main.js';
import { e2eSkip, startFrontend, writeLabConfig } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const quiet = { out: () => {}, err: (t: string) => process.stderr.write(t) };

test('PXE boot through netroot DHCP → iPXE → HTTP, BIOS and UEFI', { skip: e2eSkip, timeout: 420_000 }, async (t) => {
  const dir = tempStateDir('nrt-e2e-netboot-');
  const lab = new Lab({ workDir: join(dir, 'lab') });
  try {
    await lab.up();
    writeLabConfig(dir, lab, 'boot:\n  installArgs: "console=ttyS0 panic=-1"\n');
    const root = join(dir, 'tftpboot', 'install');
    mkdirSync(root, { recursive: true });
    copyFileSync(installedKernel(), join(root, 'vmlinuz'));
    writeFileSync(join(root, 'initrd.img'), markerInitrd('NETROOT-E2E-MARKER'));
    const nodes = [
      { name: 'compute-0-0', mac: '52:54:00:12:34:56', ip: '10.77.0.50', firmware: 'bios' as const },
      { name: 'compute-0-1', mac: '52:54:00:12:34:57', ip: '10.77.0.51', firmware: 'uefi' as const },
    ];
    for (const n of nodes) {
      assert.equal(await run(['--state-dir', dir, 'host', 'add', n.name, '--appliance', 'compute', '--mac', n.mac, '--ip', n.ip, '--subnet', '10.77.0.0/24'], quiet, {}), 0);
    }
    const frontend = await startFrontend(lab, dir);
    for (const n of nodes) {
      await t.test(`${n.firmware}: ${n.name} boots the kernel and initrd netroot hands it`, async () => {
        const node = lab.bootNode({ mac: n.mac, firmware: n.firmware, memoryMb: 512 });
        const start = Date.now();
        try {
          await node.console.waitFor(/NETROOT-E2E-MARKER cmdline=[^\n]*\n/, 240_000);
          const line = node.console.output.split('\n').find((l) => l.includes('NETROOT-E2E-MARKER cmdline='))!;
          assert.match(line, new RegExp(`inst\\.ks=http://10\\.77\\.0\\.1:8080/install/kickstart/${n.name}`));
          if (n.firmware === 'uefi') assert.match(line, /initrd=initrd\.img/, 'the EFI-stub quirk: initrd named on the command line');
          process.stdout.write(`# ${n.firmware} PXE boot to marker: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
        } finally {
          await node.powerOff();
        }
      });
    }
    frontend.kill('SIGTERM');
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
});
