// The lab: one network namespace with a bridge (the provisioning network), the frontend running
// inside it, and QEMU nodes (TCG only: a KVM guest hangs on this machine kind, see LAB.md) on tap
// devices. The namespace is named <name>-<pid>, so a later run can tell a crashed run's leftovers
// (creator gone) from a concurrent run's (creator alive); down(), the exit handler and the
// SIGINT/SIGTERM handlers remove everything, and the next up() removes what a crash left.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ip, removeStale, deleteNamespace } from './netns.js';
import { ConsoleLog } from './console.js';
import { NetrootError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';

export interface LabOptions {
  /** Namespace prefix; the namespace is `<name>-<pid>`. Default 'nrt-lab'. */
  name?: string;
  /** The lab subnet (inside the namespace only); the frontend takes its first host address. Default 10.77.0.0/24. */
  subnet?: string;
  workDir: string;
  logger?: Logger;
}

export type Firmware = 'bios' | 'uefi';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface BootNodeOptions {
  mac: string;
  firmware: Firmware;
  memoryMb?: number;
  /** A raw disk image attached as the first disk (the node still boots from the network). */
  disk?: string;
  extraArgs?: string[];
  /** Bus of `disk`: ide (default, QEMU pc's PIIX) or virtio (virtio-blk). */
  diskBus?: 'ide' | 'virtio';
  /** QEMU NIC model (default e1000). */
  nicModel?: string;
  /**
   * false: the NIC carries no option ROM (`romfile=`), so the firmware's own PXE client boots
   * (OVMF: EDK2's PXE over its VirtioNetDxe driver — arch 7, TFTP with windowsize) instead of
   * QEMU's iPXE ROM. Default true.
   */
  nicRom?: boolean;
  /** Called with each console line (e.g. to mirror the console into a log). */
  onLine?: (line: string) => void;
  /**
   * A tap of this lab to reuse (created on its first use): a node powered on again and again
   * through its BMC (ipmi-bmc.ts) keeps one tap. Default: a new tap per power-on.
   */
  tap?: string;
}

/**
 * QEMU's arguments for a node on `tap` (no side effects; bootNode adds nothing else): TCG, the
 * serial console on stdio (-nographic), -no-reboot (a guest reset ends the process: a lab node
 * keeps no state, so a power cycle is its reboot), boot from the network. UEFI needs `ovmfVars`,
 * the node's own copy of the OVMF variable store.
 */
export function qemuArgs(o: BootNodeOptions, tap: string, ovmfVars?: string): string[] {
  const args = [
    '-accel',
    'tcg',
    '-m',
    String(o.memoryMb ?? 768),
    '-nographic',
    '-no-reboot',
    '-boot',
    'n',
    '-netdev',
    `tap,id=n0,ifname=${tap},script=no,downscript=no`,
    '-device',
    `${o.nicModel ?? 'e1000'},netdev=n0,mac=${o.mac}${o.nicRom === false ? ',romfile=,bootindex=1' : ''}`,
  ];
  if (o.firmware === 'uefi') {
    if (!ovmfVars) throw new NetrootError('E_LAB_OVMF', 'a UEFI node needs its own copy of the OVMF variable store');
    args.unshift('-machine', 'q35', '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${ovmfVars}`);
  }
  if (o.disk) args.push('-drive', `file=${o.disk},format=raw,if=${o.diskBus ?? 'ide'},index=0`);
  args.push(...(o.extraArgs ?? []));
  return args;
}

export interface LabNode {
  readonly mac: string;
  readonly tap: string;
  readonly console: ConsoleLog;
  /** Date.now() when QEMU was started ("power on"). */
  readonly startedAt: number;
  /** Resolves when the marker appears; rejects on timeout or QEMU exit with the last console lines. */
  waitFor(marker: string | RegExp, timeoutMs: number): Promise<void>;
  /** Kills QEMU (SIGKILL: the guest has nothing to save) and waits for it. */
  powerOff(): Promise<void>;
  readonly exited: Promise<number | null>;
}

function firstHost(subnet: string): { address: string; prefix: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!m) throw new NetrootError('E_LAB_SUBNET', `lab subnet ${JSON.stringify(subnet)} is not a.b.c.d/len`);
  const prefix = Number(m[5]);
  const n = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  if (prefix > 30 || prefix < 8) throw new NetrootError('E_LAB_SUBNET', `lab subnet /${prefix} must be /8../30`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const a = (((n & mask) >>> 0) + 1) >>> 0;
  return { address: [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'), prefix };
}

/** `exited`, or 'hung' after `ms`; the timer never outlives the race (it would hold the process open). */
export async function exitWithin(exited: Promise<number | null>, ms: number): Promise<number | null | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export class Lab {
  readonly namespace: string;
  readonly frontendAddress: string;
  readonly prefixLength: number;
  readonly workDir: string;
  private readonly prefix: string;
  private readonly children = new Set<ChildProcess>();
  private readonly cleanups: Array<() => void> = [];
  private taps = 0;
  private readonly tapNames = new Set<string>();
  private created = false;
  private readonly log: Logger;
  private readonly onExit = (): void => {
    this.killAll();
    if (this.created) deleteNamespace(this.namespace);
    this.runCleanups();
  };
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.onExit();
    process.off(sig, this.onSignal);
    process.kill(process.pid, sig);
  };

  constructor(opts: LabOptions) {
    this.prefix = opts.name ?? 'nrt-lab';
    if (!/^[a-z][a-z0-9-]{0,20}$/.test(this.prefix))
      throw new NetrootError('E_LAB_NAME', `lab name ${JSON.stringify(this.prefix)}: lower-case letters, digits, '-', at most 21`);
    this.namespace = `${this.prefix}-${process.pid}`;
    const h = firstHost(opts.subnet ?? '10.77.0.0/24');
    this.frontendAddress = h.address;
    this.prefixLength = h.prefix;
    this.workDir = opts.workDir;
    this.log = opts.logger ?? silentLogger;
  }

  async up(): Promise<void> {
    const stale = removeStale(this.prefix);
    if (stale.length) this.log.info('lab: removed stale namespaces', { stale });
    if (this.created) return;
    mkdirSync(this.workDir, { recursive: true });
    ip('netns', 'add', this.namespace);
    this.created = true;
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    ip('-n', this.namespace, 'link', 'set', 'lo', 'up');
    ip('-n', this.namespace, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.namespace, 'addr', 'add', `${this.frontendAddress}/${this.prefixLength}`, 'dev', 'br0');
    ip('-n', this.namespace, 'link', 'set', 'br0', 'up');
    this.log.info('lab: up', { namespace: this.namespace, frontend: this.frontendAddress });
  }

  /** A process inside the lab namespace (stdout/stderr piped unless opts.stdio says otherwise); killed by down(). */
  spawnInNamespace(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    if (!this.created) throw new NetrootError('E_LAB_DOWN', 'lab is not up');
    const child = spawn('ip', ['netns', 'exec', this.namespace, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', (e) => this.log.error('lab: spawn failed', { cmd, error: e }));
    return child;
  }

  /** Powers on a QEMU node (TCG, e1000 with QEMU's iPXE ROM, boot from the network) on a tap on br0 (qemuArgs). */
  bootNode(o: BootNodeOptions): LabNode {
    const tap = o.tap ?? `tap${this.taps++}`;
    if (!this.tapNames.has(tap)) {
      ip('-n', this.namespace, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
      ip('-n', this.namespace, 'link', 'set', tap, 'master', 'br0');
      ip('-n', this.namespace, 'link', 'set', tap, 'up');
      this.tapNames.add(tap);
    }
    let vars: string | undefined;
    if (o.firmware === 'uefi') {
      if (!existsSync(OVMF_CODE)) throw new NetrootError('E_LAB_OVMF', `UEFI needs ${OVMF_CODE}: apt-get install ovmf`);
      // OVMF writes its variable store: each node gets its own copy, the package's file stays pristine.
      vars = join(this.workDir, `${tap}-${o.mac.replace(/:/g, '')}-OVMF_VARS.fd`);
      copyFileSync(OVMF_VARS, vars);
    }
    const args = qemuArgs(o, tap, vars);
    this.log.info('lab: power on', { mac: o.mac, firmware: o.firmware, tap });
    const child = this.spawnInNamespace('qemu-system-x86_64', args);
    const console = new ConsoleLog(child.stdout!, o.onLine);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        if (code) this.log.warn('lab: qemu exited', { mac: o.mac, code, stderr });
        resolve(code);
      }),
    );
    const startedAt = Date.now();
    return {
      mac: o.mac,
      tap,
      console,
      exited,
      startedAt,
      waitFor: async (marker, timeoutMs) => {
        await console.waitFor(marker, timeoutMs).catch((e: unknown) => {
          if (stderr.trim() && e instanceof Error) e.message += `\nqemu stderr:\n${stderr.trim()}`;
          throw e;
        });
      },
      powerOff: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
  }

  private killAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  /** Runs `fn` in down() (and the exit handlers) after every lab process is dead: e.g. remove files a killed daemon left. */
  addCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  private runCleanups(): void {
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch (e) {
        this.log.warn('lab: cleanup failed', { error: e });
      }
    }
  }

  /** Kills every process it started, deletes the namespace (and with it br0 and the taps). Idempotent. */
  async down(): Promise<void> {
    this.killAll();
    await Promise.all([...this.children].map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    if (this.created) deleteNamespace(this.namespace);
    this.created = false;
    this.tapNames.clear();
    this.runCleanups();
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
