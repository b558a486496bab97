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
  /** Kernel and initrd over HTTP (busybox httpd) instead of TFTP: the same transfer protocol as netroot's. */
  http?: boolean;
  /** Lab name (namespace prefix), default 'nrt-ref'; and tgtd's control port (see PeerLabOptions). */
  name?: string;
  tgtControlPort?: number;
  /** false: dnsmasq and tgt as shipped (no router advertisements, tgt's default login values); see PeerLabOptions.best. */
  best?: boolean;
}

/** Boots one node per firmware through dnsmasq + tgt (one lab, one LUN copy); throws with console and peer logs on failure. */
export async function measurePeerDisklessBoot(o: PeerBootOptions): Promise<PeerBootResult[]> {
  const stack = new PeerBootStack(o);
  const results: PeerBootResult[] = [];
  try {
    await stack.up();
    for (const [i, firmware] of (o.firmwares ?? ['bios']).entries()) results.push(await stack.boot(i, firmware));
  } finally {
    await stack.down();
  }
  return results;
}

/**
 * The peer stack kept up between boots, so a benchmark can interleave its boots with netroot's
 * (bench:boot): up() starts the lab, dnsmasq, the file server and tgt; boot(i) powers one node on
 * (MAC by `i`) and times it to the root's marker; down() tears it all down. Two stacks may run in one
 * process when their `name` and `tgtControlPort` differ.
 */
export class PeerBootStack {
  private readonly lab: Lab;
  private peer: PeerLab | null = null;
  private readonly marker: string;

  constructor(private readonly o: PeerBootOptions) {
    this.lab = new Lab({ name: o.name ?? 'nrt-ref', workDir: o.workDir, ...(o.logger ? { logger: o.logger } : {}) });
    this.marker = o.root?.marker ?? `${REFERENCE_ROOT_MARKER} root=`;
  }

  async up(): Promise<void> {
    const lab = this.lab;
    await lab.up();
    // The cached image stays pristine: the nodes mount (and may write) a copy.
    const lun = join(this.o.workDir, 'root.ext4');
    copyFileSync(this.o.root?.lun ?? rootImage(this.o.workDir, REFERENCE_ROOT_MARKER), lun);
    const rootArgs = this.o.root ? this.o.root.rootArgs(lab.frontendAddress, REFERENCE_IQN) : `root=iscsi:${lab.frontendAddress}::3260:1:${REFERENCE_IQN}`;
    this.peer = new PeerLab(lab, {
      kernel: installedKernel(),
      initrd: await iscsiRootInitrd(this.o.workDir),
      cmdline: `${rootArgs} rd.iscsi.initiator=iqn.2026-11.org.netroot.lab:node0 ip=dhcp console=ttyS0 panic=-1`,
      iscsi: { iqn: REFERENCE_IQN, backingFile: lun },
      ...(this.o.http ? { http: true } : {}),
      ...(this.o.tgtControlPort ? { tgtControlPort: this.o.tgtControlPort } : {}),
      ...(this.o.best === false ? { best: false } : {}),
    });
    await this.peer.start();
  }

  async boot(i: number, firmware: Firmware = 'bios'): Promise<PeerBootResult> {
    const peer = this.peer;
    if (!peer) throw new Error('PeerBootStack.boot before up()');
    const node = this.lab.bootNode({ mac: `52:54:00:77:01:${(0x20 + (i % 0xd0)).toString(16)}`, firmware, memoryMb: 768 });
    try {
      // Up to the end of the line: a chunk boundary may split it, and the whole line is reported.
      await node.waitFor(new RegExp(`${this.marker}[^\\r\\n]*\\r?\\n`), this.o.deadlineMs ?? 180_000).catch((e: Error) => {
        e.message += `\n${peer.logs}`;
        throw e;
      });
      const seconds = (Date.now() - node.startedAt) / 1000;
      const line = node.console.output
        .split(/\r?\n/)
        .find((l) => l.includes(this.marker))!
        .trim();
      return { firmware, seconds, line };
    } finally {
      await node.powerOff();
    }
  }

  async down(): Promise<void> {
    await this.lab.down();
  }
}
