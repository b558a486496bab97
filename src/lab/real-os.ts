// A real distribution's whole life in the lab (issue 13), on FullLab's frontend with an OS image:
//   blank node powers on → insert-ethers discovers it → installs the image onto its LUN (the lab
//   installer runs the real kickstart: liveimg = the image's root tarball, %post callback) →
//   boots diskless with the image's own kernel and dracut initrd + netroot's overlay → systemd
//   reaches multi-user.target → root logs in over SSH with the key the kickstart installed →
//   a file is written → `systemctl reboot` → boots again, the file is there → `systemctl poweroff`.
// Times are wall clock: power-on to multi-user.target; the reboot and power-off commands to the
// moment QEMU (-no-reboot) exits. The console after each command is searched for systemd stop jobs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitWithin, type Firmware, type Lab, type LabNode } from './lab.js';
import type { FullLab, NodeHardware } from './full.js';
import { nodeMac } from './full.js';
import { NetrootError } from '../errors.js';

/** The kernel's first console line ("[    0.000000] Linux version ..."): power-on to here is firmware, iPXE and downloads. */
export const KERNEL_START = /\[\s*0\.000000\]/;

export interface LifeOptions {
  /** Node number: its MAC is nodeMac(index). */
  index: number;
  firmware: Firmware;
  stageDeadlineMs: number;
  /** A raw disk image: the node is disked (appliance compute) and installs onto it. */
  disk?: string;
}

export interface RealOsLife {
  host: string;
  mac: string;
  ip: string;
  firmware: Firmware;
  installSeconds: number;
  /** Power-on to multi-user.target, first diskless boot. */
  bootSeconds: number;
  /** `systemctl reboot` until the machine resets. */
  rebootSeconds: number;
  /** Power-on to multi-user.target again. */
  secondBootSeconds: number;
  /** `systemctl poweroff` until the machine is off. */
  poweroffSeconds: number;
  /** The file written before the reboot was read back after it. */
  persisted: boolean;
  /** "A stop job is running for X" lines seen while shutting down (reboot and power-off). */
  stopJobs: string[];
  /** /proc/cmdline of the running node. */
  cmdline: string;
  /** The whole journal of the first boot (checked by the caller for secrets and errors). */
  journal: string;
  /** `systemctl is-active iscsid` on the running node (it recovers the root's session after a fault). */
  iscsid: string;
  /** The root session's recovery timeout (sysfs recovery_tmo), or '' without an iSCSI session. */
  recoveryTimeout: string;
}

/** An ed25519 key pair for the lab (no passphrase); returns the private key path and the public key. */
export function labSshKey(dir: string): { key: string; pub: string } {
  const key = join(dir, 'id_ed25519');
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'netroot-lab', '-f', key]);
  if (r.status !== 0) throw new NetrootError('E_LAB_SSH', `ssh-keygen failed: ${r.stderr}`, { user: true });
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

/** Root's SSH into a lab's nodes (from inside its namespace), and what the lives measure over it. */
export class LabSsh {
  constructor(
    protected readonly lab: Lab,
    protected readonly sshKey: string,
  ) {}

  /** Runs a command on the node as root over SSH (from inside the lab namespace). */
  async ssh(ip: string, command: string, timeoutMs = 30_000): Promise<{ code: number | null; out: string; err: string }> {
    const child = this.lab.spawnInNamespace('ssh', [
      '-i',
      this.sshKey,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      '-o',
      'LogLevel=ERROR',
      `root@${ip}`,
      command,
    ]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearTimeout(timer);
    return { code, out, err };
  }

  async sshOk(ip: string, command: string, timeoutMs?: number): Promise<string> {
    const r = await this.ssh(ip, command, timeoutMs);
    if (r.code !== 0) throw new NetrootError('E_LAB_SSH', `ssh root@${ip} ${JSON.stringify(command)} exited ${r.code}: ${r.err.trim()}`);
    return r.out;
  }

  /**
   * Seconds from the kernel's start to multi-user.target, as the node's systemd recorded it, once
   * the boot has finished (is-system-running --wait). systemd stops writing its status to a serial
   * console once a getty runs there, so the console cannot tell when the target was reached.
   */
  async multiUserSeconds(ip: string): Promise<number> {
    const state = (await this.ssh(ip, 'systemctl is-system-running --wait', 300_000)).out.trim();
    if (state !== 'running') {
      const failed = (await this.ssh(ip, 'systemctl --failed --no-legend --plain')).out.trim();
      // The last journal lines of each failed unit (the first three): why, not only which.
      const units = failed
        .split('\n')
        .map((l) => l.split(/\s+/)[0] ?? '')
        .filter((u) => /^[A-Za-z0-9@._:-]+$/.test(u))
        .slice(0, 3);
      let why = '';
      for (const u of units) why += `\n--- ${u}:\n${(await this.ssh(ip, `journalctl -b --no-pager -o cat -n 15 -u ${u}`)).out.trim()}`;
      throw new NetrootError('E_LAB_BOOT', `the node's boot ended ${JSON.stringify(state)}; failed units:\n${failed}${why}`);
    }
    const m = /ActiveEnterTimestampMonotonic=(\d+)/.exec(await this.sshOk(ip, 'systemctl show -p ActiveEnterTimestampMonotonic multi-user.target'));
    if (!m || m[1] === '0') throw new NetrootError('E_LAB_BOOT', 'multi-user.target was not reached');
    return Number(m[1]) / 1e6;
  }

  /** Polls until root can log in (sshd starts around multi-user.target). */
  async waitForSsh(ip: string, deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    let last = '';
    while (Date.now() < end) {
      const r = await this.ssh(ip, 'true', 10_000);
      if (r.code === 0) return;
      last = r.err.trim();
      await new Promise((res) => setTimeout(res, 2000));
    }
    throw new NetrootError('E_LAB_SSH', `root could not log in to ${ip} over SSH within ${deadlineMs / 1000} s: ${last}`);
  }

  /** Issues a shutdown command over SSH and times it until QEMU exits; collects stop jobs. */
  async shutdown(node: LabNode, ip: string, command: 'reboot' | 'poweroff', deadlineMs: number, stopJobs: string[]): Promise<number> {
    const mark = node.console.output.length;
    const t = Date.now();
    // The connection drops as the node goes down: the command's exit status tells nothing.
    await this.ssh(ip, `systemctl ${command}`, 15_000);
    const code = await exitWithin(node.exited, deadlineMs);
    const seconds = (Date.now() - t) / 1000;
    const tail = node.console.output.slice(mark);
    for (const m of tail.matchAll(/A stop job is running for ([^(\r\n]+)/g)) if (!stopJobs.includes(m[1]!.trim())) stopJobs.push(m[1]!.trim());
    if (code === 'hung') {
      await node.powerOff();
      throw new NetrootError('E_LAB_SHUTDOWN', `systemctl ${command} did not finish in ${deadlineMs / 1000} s; console tail:\n${tail.slice(-3000)}`);
    }
    if (/timed out/i.test(tail)) throw new NetrootError('E_LAB_SHUTDOWN', `systemctl ${command}: a stop job timed out; console tail:\n${tail.slice(-3000)}`);
    return seconds;
  }
}

export class RealOsNode extends LabSsh {
  constructor(
    private readonly full: FullLab,
    sshKey: string,
    private readonly onProgress: (node: string, what: string) => void = () => {},
  ) {
    super(full.lab, sshKey);
  }

  /**
   * One blank node's life, discovered by insert-ethers (the caller has run full.up()). Diskless:
   * appliance compute-diskless, root on its LUN. Disked (`disk`: a raw image file): appliance
   * compute, installed onto that disk with a bootloader, then booted from it (boot action local).
   */
  async life(o: LifeOptions): Promise<RealOsLife> {
    const { index, firmware, stageDeadlineMs } = o;
    const hw: NodeHardware = { firmware, ...(o.disk ? { disk: o.disk } : {}) };
    const appliance = o.disk ? 'compute' : 'compute-diskless';
    const mac = nodeMac(index);
    const insert = this.full.insertEthers(appliance, 1, 300);
    await insert.listening;
    const ie = insert.done;
    const install = this.full.installStage(mac, mac, hw);
    install.catch(() => {});
    const n = await this.full.discovered(mac, 120_000);
    this.onProgress(n.host, `discovered: ${mac} → ${n.host} ${n.ip}`);
    const inst = await install;
    const code = await exitWithin(inst.node.exited, 30_000);
    await inst.node.powerOff();
    if (code === 'hung') throw new NetrootError('E_LAB_REBOOT', `${n.host}: the installer did not reboot`);
    const r = await ie;
    if (r.code !== 0) throw new NetrootError('E_LAB_DISCOVERY', `insert-ethers exited ${r.code}: ${r.err.trim() || r.out.trim()}`);

    const stopJobs: string[] = [];
    const kind = o.disk ? 'disk boot' : 'diskless boot';
    const first = await this.full.stage(n.host, mac, kind, KERNEL_START, KERNEL_START, hw);
    await this.waitForSsh(n.ip, stageDeadlineMs);
    const bootSeconds = first.seconds + (await this.multiUserSeconds(n.ip));
    this.onProgress(
      n.host,
      `multi-user.target ${bootSeconds.toFixed(1)} s after power-on (kernel started at ${first.seconds.toFixed(1)} s); root logged in over SSH`,
    );
    const cmdline = (await this.sshOk(n.ip, 'cat /proc/cmdline')).trim();
    const token = `netroot-persist-${process.pid}-${Date.now()}`;
    await this.sshOk(n.ip, `echo ${token} > /root/netroot-persist && sync`);
    const journal = await this.sshOk(n.ip, 'journalctl -b --no-pager -o short-monotonic', 60_000);
    const iscsid = (await this.ssh(n.ip, 'systemctl is-active iscsid')).out.trim();
    const recoveryTimeout = (await this.ssh(n.ip, 'cat /sys/class/iscsi_session/session*/recovery_tmo 2>/dev/null | head -n 1')).out.trim();
    const rebootSeconds = await this.shutdown(first.node, n.ip, 'reboot', stageDeadlineMs, stopJobs);
    this.onProgress(n.host, `systemctl reboot: ${rebootSeconds.toFixed(1)} s`);

    const second = await this.full.stage(n.host, mac, `${kind} again`, KERNEL_START, KERNEL_START, hw);
    await this.waitForSsh(n.ip, stageDeadlineMs);
    const secondBootSeconds = second.seconds + (await this.multiUserSeconds(n.ip));
    const persisted = (await this.sshOk(n.ip, 'cat /root/netroot-persist')).trim() === token;
    const poweroffSeconds = await this.shutdown(second.node, n.ip, 'poweroff', stageDeadlineMs, stopJobs);
    this.onProgress(n.host, `systemctl poweroff: ${poweroffSeconds.toFixed(1)} s`);
    return {
      host: n.host,
      mac,
      ip: n.ip,
      firmware,
      installSeconds: inst.seconds,
      bootSeconds,
      rebootSeconds,
      secondBootSeconds,
      poweroffSeconds,
      persisted,
      stopJobs,
      cmdline,
      journal,
      iscsid,
      recoveryTimeout,
    };
  }
}
