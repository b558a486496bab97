// A real IPMI BMC on loopback: OpenIPMI's `ipmi_sim` (Debian `openipmi`), with a lan.conf and an
// emulator command file generated in a temporary directory. Its chassis control is an external
// program (lan.conf `chassis_control`, OpenIPMI lanserv/bmc_chassis.c + extcmd.c): ipmi_sim runs
// `<prog> get power`, expecting `power:1|0`, and `<prog> set power "1"|"0"`, `set reset "1"`,
// `set shutdown "1"` (soft), `set boot "pxe"|…`. The program written here keeps a "machine" — by
// default a harmless `sleep 600`, or any command (a lab QEMU node) — whose pid file is the power
// state: power on starts it, off and soft kill it, reset restarts it. Every call is appended to
// actions.log and the last boot device to `boot`, so tests see what reached the BMC.
//
//   const sim = await startIpmiSim();          // user 'admin', a random password, a free UDP port
//   sim.bmc('compute-0-0')                     // a BmcEntry for netroot pointing at it
//   sim.isOn(), sim.bootDevice(), sim.actions()
//   await sim.stop()                           // kills ipmi_sim and the machine, removes the dir
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempStateDir } from './tmp.js';
import { freeUdpPort } from './ports.js';
import type { BmcEntry } from '../../src/power/types.js';
import { waitFor } from './wait.js';

export interface IpmiSimOptions {
  user?: string;
  /** Default: 16 random hex characters (IPMI 2.0 passwords are at most 20 bytes). */
  password?: string;
  /** What "the machine" is: a shell command run in the background on power on (default `sleep 600`). */
  machineCommand?: string;
  /** UDP port on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface IpmiSim {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dir: string;
  /** A BMC entry for `host` that reaches this simulator (driver ipmi). */
  bmc(host: string): BmcEntry;
  /** The machine's pid while powered on, else null. */
  machinePid(): number | null;
  isOn(): boolean;
  /** The last boot device set (`pxe` after `chassis bootdev pxe`), or null. */
  bootDevice(): string | null;
  /** Every chassis program call, e.g. ['get power', 'set power 1', 'set boot pxe']. */
  actions(): string[];
  stop(): Promise<void>;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function chassisProgram(dir: string, machine: string): string {
  return `#!/bin/sh
# ipmi_sim chassis_control program (see test/helpers/ipmi-sim.ts)
d=${q(dir)}
on() { [ -f "$d/machine.pid" ] && kill -0 "$(cat "$d/machine.pid")" 2>/dev/null; }
start() { sh -c ${q(machine)} </dev/null >/dev/null 2>&1 & echo $! > "$d/machine.pid"; }
stop() { if on; then kill "$(cat "$d/machine.pid")"; fi; rm -f "$d/machine.pid"; }
op=$1; shift
echo "$op $*" >> "$d/actions.log"
case "$op" in
get) for n in "$@"; do case "$n" in
  power) if on; then echo power:1; else echo power:0; fi ;;
  boot) echo "boot:$(cat "$d/boot" 2>/dev/null || echo default)" ;;
  esac; done ;;
set) while [ $# -ge 2 ]; do n=$1; v=$2; shift 2; case "$n" in
  power) if [ "$v" = 1 ]; then on || start; else stop; fi ;;
  reset) stop; start ;;
  shutdown) stop ;;
  boot) echo "$v" > "$d/boot" ;;
  esac; done ;;
esac
exit 0
`;
}

export async function startIpmiSim(opts: IpmiSimOptions = {}): Promise<IpmiSim> {
  const dir = tempStateDir('nrt-ipmisim-');
  const user = opts.user ?? 'admin';
  const password = opts.password ?? randomBytes(8).toString('hex');
  const port = opts.port ?? (await freeUdpPort());
  const prog = join(dir, 'chassis.sh');
  writeFileSync(prog, chassisProgram(dir, opts.machineCommand ?? 'exec sleep 600'));
  chmodSync(prog, 0o700);
  const auths = 'none md2 md5 straight';
  writeFileSync(
    join(dir, 'lan.conf'),
    [
      'name "netroot-test"',
      'set_working_mc 0x20',
      '  startlan 1',
      `    addr 127.0.0.1 ${port}`,
      '    priv_limit admin',
      ...['callback', 'user', 'operator', 'admin'].map((p) => `    allowed_auths_${p} ${auths}`),
      '    guid a123456789abcdefa123456789abcdef',
      '  endlan',
      `  chassis_control "${prog}"`,
      `  user 2 true "${user}" "${password}" admin 10 ${auths}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'emu.cmds'),
    ['mc_setbmc 0x20', 'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr', 'sel_enable 0x20 1000 0x0a', 'mc_enable 0x20', ''].join('\n'),
  );
  mkdirSync(join(dir, 'state'));
  const child: ChildProcess = spawn('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'emu.cmds'), '-s', join(dir, 'state'), '-n'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()).slice(-4000));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Ready when a UDP socket is bound to the port (ipmi_sim prints nothing with -n).
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`ipmi_sim exited: ${stderr}`);
      return readFileSync('/proc/net/udp', 'utf8').includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} `);
    },
    { what: () => `ipmi_sim to bind 127.0.0.1:${port}: ${stderr}`, timeoutMs: 10_000, intervalMs: 50 },
  ).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  const pidFile = join(dir, 'machine.pid');
  const machinePid = (): number | null => {
    if (!existsSync(pidFile)) return null;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  };
  return {
    address: '127.0.0.1',
    port,
    user,
    password,
    dir,
    bmc: (host) => ({ host, driver: 'ipmi', address: '127.0.0.1', port, user, secret: password, insecureTls: false, systemId: null }),
    machinePid,
    isOn: () => machinePid() !== null,
    bootDevice: () => (existsSync(join(dir, 'boot')) ? readFileSync(join(dir, 'boot'), 'utf8').trim() : null),
    actions: () =>
      existsSync(join(dir, 'actions.log'))
        ? readFileSync(join(dir, 'actions.log'), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [],
    stop: async () => {
      const pid = machinePid();
      if (pid !== null) process.kill(pid, 'SIGKILL');
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        // fixed delay: a timeout guard (the race ends at the exit; SIGKILL after 2 s at most)
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
