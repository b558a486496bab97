// The lab driver proven against the peer stack (no netroot server involved): a QEMU node (TCG)
// PXE-boots through dnsmasq — DHCP tags iPXE by option 175, iPXE fetches a TFTP script, then the
// Debian kernel and a marker initrd over TFTP — and the test reads the marker on the serial console.
// Once with SeaBIOS, once with OVMF (q35). Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, PeerLab, markerBootFiles, namespaces } from '../../src/lab/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const BOOT_DEADLINE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 180_000);

test('peer lab: PXE boot through dnsmasq → iPXE → TFTP kernel + marker initrd, BIOS and UEFI', {
  skip: e2eSkip,
  timeout: 2 * BOOT_DEADLINE_MS + 60_000,
}, async (t) => {
  const dir = tempStateDir('nrt-e2e-peer-');
  const lab = new Lab({ name: 'nrt-peer', workDir: join(dir, 'lab') });
  try {
    await lab.up();
    assert.ok(namespaces().includes(lab.namespace));
    const files = markerBootFiles(join(dir, 'lab'), 'NRT-PEER-MARKER');
    const peer = new PeerLab(lab, { kernel: files.kernel, initrd: files.initrd, cmdline: 'console=ttyS0 panic=-1 quiet' });
    await peer.start();
    const nodes = [
      { mac: '52:54:00:77:00:10', firmware: 'bios' as const },
      { mac: '52:54:00:77:00:11', firmware: 'uefi' as const },
    ];
    for (const n of nodes) {
      await t.test(`${n.firmware}: node ${n.mac} reaches the marker initrd`, async () => {
        const node = lab.bootNode({ mac: n.mac, firmware: n.firmware, memoryMb: 512 });
        try {
          await node.waitFor(/NRT-PEER-MARKER cmdline=[^\n]*\n/, BOOT_DEADLINE_MS).catch((e: Error) => {
            e.message += `\n${peer.logs}`;
            throw e;
          });
          const line = node.console.output.split(/\r?\n/).find((l) => l.includes('NRT-PEER-MARKER cmdline='))!;
          // The script's command line reached the kernel, including the EFI-stub initrd= quirk.
          assert.match(line, /initrd=initrd\.img console=ttyS0 panic=-1/);
          // The node was leased an address from the dnsmasq range, seen in dnsmasq's log.
          assert.match(peer.logs, new RegExp(`DHCPACK\\(br0\\) 10\\.77\\.0\\.\\d+ ${n.mac}`));
          process.stdout.write(`# peer lab ${n.firmware}: power-on to marker ${((Date.now() - node.startedAt) / 1000).toFixed(1)} s\n`);
          assert.equal(await node.exited, 0, 'the initrd powers the node off (QEMU exits 0)');
        } finally {
          await node.powerOff();
        }
      });
    }
  } finally {
    await lab.down();
    assert.ok(!namespaces().includes(lab.namespace), 'down() deletes the namespace');
    rmSync(dir, { recursive: true, force: true });
  }
});
