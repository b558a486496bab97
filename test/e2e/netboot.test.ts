// A real PXE boot through netroot's own servers: QEMU (TCG) with QEMU's iPXE ROM on a lab bridge
// → netroot DHCP (known MAC, fixed address, iPXE gets its script URL) → HTTP iPXE script →
// kernel + initrd over HTTP → the initrd prints a marker. Once with SeaBIOS, once with OVMF (q35),
// and once with OVMF on a NIC without option ROM: EDK2's own PXE client (arch 7, no option 175)
// gets ipxe.efi from netroot's DHCP + TFTP, then iPXE DHCPs again and continues over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, markerInitrd, installedKernel } from '../../src/lab/index.js';
import { run } from '../../src/cli/main.js';
import { e2eSkip, startFrontend, writeLabConfig } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const quiet = { out: () => {}, err: (t: string) => process.stderr.write(t) };

test('PXE boot through netroot DHCP → (TFTP →) iPXE → HTTP, BIOS and UEFI', { skip: e2eSkip, timeout: 660_000 }, async (t) => {
  const dir = tempStateDir('nrt-e2e-netboot-');
  const lab = new Lab({ workDir: join(dir, 'lab') });
  try {
    await lab.up();
    writeLabConfig(dir, lab, 'boot:\n  installArgs: "console=ttyS0 panic=-1"\n', { tftp: true });
    // ipxe.efi (Debian ipxe) into the boot root, the way an operator does it.
    assert.equal(await run(['--state-dir', dir, 'assets', 'import'], quiet, {}), 0);
    const root = join(dir, 'tftpboot', 'install');
    mkdirSync(root, { recursive: true });
    copyFileSync(installedKernel(), join(root, 'vmlinuz'));
    writeFileSync(join(root, 'initrd.img'), markerInitrd('NETROOT-E2E-MARKER'));
    const nodes = [
      { name: 'compute-0-0', mac: '52:54:00:12:34:56', ip: '10.77.0.50', firmware: 'bios' as const },
      { name: 'compute-0-1', mac: '52:54:00:12:34:57', ip: '10.77.0.51', firmware: 'uefi' as const },
      { name: 'compute-0-2', mac: '52:54:00:12:34:58', ip: '10.77.0.52', firmware: 'uefi' as const, tftp: true },
    ];
    for (const n of nodes) {
      assert.equal(
        await run(['--state-dir', dir, 'host', 'add', n.name, '--appliance', 'compute', '--mac', n.mac, '--ip', n.ip, '--subnet', '10.77.0.0/24'], quiet, {}),
        0,
      );
    }
    const frontendLog: string[] = [];
    const frontend = await startFrontend(lab, dir, (l) => frontendLog.push(l));
    for (const n of nodes) {
      const how = 'tftp' in n ? 'EDK2 PXE (no NIC ROM) → TFTP ipxe.efi → ' : '';
      await t.test(`${n.firmware}: ${how}${n.name} boots the kernel and initrd netroot hands it`, async () => {
        const node = lab.bootNode({ mac: n.mac, firmware: n.firmware, memoryMb: 512, ...('tftp' in n ? { nicModel: 'virtio-net-pci', nicRom: false } : {}) });
        const start = Date.now();
        try {
          await node.console.waitFor(/NETROOT-E2E-MARKER cmdline=[^\n]*\n/, 240_000);
          const line = node.console.output.split('\n').find((l) => l.includes('NETROOT-E2E-MARKER cmdline='))!;
          assert.match(line, new RegExp(`inst\\.ks=http://10\\.77\\.0\\.1:8080/install/kickstart/${n.name}`));
          if (n.firmware === 'uefi') assert.match(line, /initrd=initrd\.img/, 'the EFI-stub quirk: initrd named on the command line');
          if ('tftp' in n) {
            // The first stage came over netroot's TFTP: the frontend logged the completed transfer.
            assert.ok(
              frontendLog.some((l) => l.includes('tftp sent') && l.includes('ipxe.efi') && l.includes(n.ip)),
              'ipxe.efi sent over TFTP',
            );
          }
          process.stdout.write(`# ${n.firmware}${how ? ' (TFTP)' : ''} PXE boot to marker: ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
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
