// The boot-benchmark reference: a diskless node boots entirely from the peer stack — dnsmasq DHCP →
// iPXE → TFTP kernel + initrd → iscsistart logs into tgt → the ext4 LUN is mounted as root →
// switch_root → the root's /sbin/init prints a marker. BIOS and UEFI. Prints the power-on-to-root time
// (LAB.md: ≈29 s BIOS, 33 s UEFI on an idle machine). The initrd is netroot's base initrd (src/initrd); every server is a peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, PeerLab, installedKernel, iscsiRootInitrd, rootImage } from '../../src/lab/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const BOOT_DEADLINE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 180_000);
const IQN = 'iqn.2026-11.org.netroot.lab:peer-root';

test('peer lab: diskless boot, root on a tgt iSCSI LUN, BIOS and UEFI', { skip: e2eSkip, timeout: 2 * BOOT_DEADLINE_MS + 120_000 }, async (t) => {
  const dir = tempStateDir('nrt-e2e-diskless-');
  const work = join(dir, 'lab');
  const lab = new Lab({ name: 'nrt-disk', workDir: work });
  try {
    await lab.up();
    // The cached image stays pristine: the node mounts (and may write) a copy.
    const lun = join(work, 'root.ext4');
    copyFileSync(rootImage(work, 'NRT-ISCSI-ROOT'), lun);
    const initrd = await iscsiRootInitrd(work);
    const peer = new PeerLab(lab, {
      kernel: installedKernel(),
      initrd,
      cmdline: `root=iscsi:${lab.frontendAddress}::3260:1:${IQN} rd.iscsi.initiator=iqn.2026-11.org.netroot.lab:node0 ip=dhcp console=ttyS0 panic=-1`,
      iscsi: { iqn: IQN, backingFile: lun },
    });
    await peer.start();
    for (const [i, firmware] of (['bios', 'uefi'] as const).entries()) {
      await t.test(`${firmware}: power-on to the root's /sbin/init`, async () => {
        const node = lab.bootNode({ mac: `52:54:00:77:00:2${i}`, firmware, memoryMb: 768 });
        try {
          await node.waitFor(/NRT-ISCSI-ROOT root=\S+/, BOOT_DEADLINE_MS).catch((e: Error) => {
            e.message += `\n${peer.logs}`;
            throw e;
          });
          const secs = (Date.now() - node.startedAt) / 1000;
          const line = node.console.output.split(/\r?\n/).find((l) => l.includes('NRT-ISCSI-ROOT root='))!;
          assert.match(line, /root=\/dev\/sd[a-z]/, 'the root /sbin/init runs with / on the iSCSI disk');
          process.stdout.write(`# peer diskless boot (dnsmasq + tgt, ${firmware}): power-on to root init ${secs.toFixed(1)} s\n`);
          assert.equal(await node.exited, 0, 'the root init powered the node off');
        } finally {
          await node.powerOff();
        }
      });
    }
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
});
