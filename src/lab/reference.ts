// The boot-benchmark reference, runnable by `npm run bench:boot` and tested by
// test/e2e/peer-diskless.test.ts: one diskless node boots entirely from the peer stack (dnsmasq DHCP +
// TFTP + iPXE, tgt iSCSI) with netroot's base initrd, and the time from QEMU start ("power on") to
// the root file system's /sbin/init printing its marker is measured. Needs root.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, type Firmware } from './lab.js';
import { PeerLab } from './peer.js';
import { installedKernel, iscsiRootInitrd, rootImage } from './test-images.js';
import type { Logger } from '../log/logger.js';

export const REFERENCE_ROOT_MARKER = 'NRT-ISCSI-ROOT';
export const REFERENCE_IQN = 'iqn.2026-11.org.netroot.lab:peer-root';

export interface PeerBootResult {
  firmware: Firmware;
  /** Power-on to the root's /sbin/init marker, seconds. */
  seconds: number;
  /** The marker line, e.g. `NRT-ISCSI-ROOT root=/dev/sda`. */
  line: string;
}

export interface PeerBootOptions {
  workDir: string;
  firmwares?: readonly Firmware[];
  deadlineMs?: number;
  logger?: Logger;
  /**
   * Boot a given root instead of the reference image (bench:boot serves the LUN netroot installed):
   * `lun` is copied and served as tgt LUN 1, `rootArgs` replaces `root=iscsi:...` (called with
   * this lab's portal address and tgt target name; the LUN is 1), `marker` is the root's line to wait for.
   */
  root?: { lun: string; rootArgs: (portal: string, iqn: string) => string; marker: string };
}

/** Boots one node per firmware through dnsmasq + tgt (one lab, one LUN copy); throws with console and peer logs on failure. */
export async function measurePeerDisklessBoot(o: PeerBootOptions): Promise<PeerBootResult[]> {
  const lab = new Lab({ name: 'nrt-ref', workDir: o.workDir, ...(o.logger ? { logger: o.logger } : {}) });
  const results: PeerBootResult[] = [];
  try {
    await lab.up();
    // The cached image stays pristine: the nodes mount (and may write) a copy.
    const lun = join(o.workDir, 'root.ext4');
    copyFileSync(o.root?.lun ?? rootImage(o.workDir, REFERENCE_ROOT_MARKER), lun);
    const rootArgs = o.root ? o.root.rootArgs(lab.frontendAddress, REFERENCE_IQN) : `root=iscsi:${lab.frontendAddress}::3260:1:${REFERENCE_IQN}`;
    const marker = o.root?.marker ?? `${REFERENCE_ROOT_MARKER} root=`;
    const peer = new PeerLab(lab, {
      kernel: installedKernel(),
      initrd: await iscsiRootInitrd(o.workDir),
      cmdline: `${rootArgs} rd.iscsi.initiator=iqn.2026-11.org.netroot.lab:node0 ip=dhcp console=ttyS0 panic=-1`,
      iscsi: { iqn: REFERENCE_IQN, backingFile: lun },
    });
    await peer.start();
    for (const [i, firmware] of (o.firmwares ?? ['bios']).entries()) {
      const node = lab.bootNode({ mac: `52:54:00:77:01:${(0x20 + i).toString(16)}`, firmware, memoryMb: 768 });
      try {
        // Up to the end of the line: a chunk boundary may split it, and the whole line is reported.
        await node.waitFor(new RegExp(`${marker}[^\\r\\n]*\\r?\\n`), o.deadlineMs ?? 180_000).catch((e: Error) => {
          e.message += `\n${peer.logs}`;
          throw e;
        });
        const seconds = (Date.now() - node.startedAt) / 1000;
        const line = node.console.output
          .split(/\r?\n/)
          .find((l) => l.includes(marker))!
          .trim();
        results.push({ firmware, seconds, line });
      } finally {
        await node.powerOff();
      }
    }
  } finally {
    await lab.down();
  }
  return results;
}
