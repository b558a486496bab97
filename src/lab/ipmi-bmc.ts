// Emulated IPMI BMCs for lab nodes: one OpenIPMI `ipmi_sim` per node, listening for IPMI 1.5 and
// 2.0 (RMCP+, `ipmitool -I lanplus`) on its own address inside the lab namespace (<address>:623,
// the address on the namespace's `lo`), with a user and password of its own. Its chassis power
// commands really start and stop the node's QEMU:
//
//   ipmitool -I lanplus -C 3 -H 10.78.0.10 -U admin -E chassis power on
//     → ipmi_sim (Chassis Control, IPMI 2.0 §28.3) → its chassis_control program
//       `<dir>/chassis-control set power 1` → curl over the lab's unix socket → IpmiBmc.on()
//       → Lab.bootNode(): the same QEMU command line as any lab node (qemuArgs), console on stdout.
//
// Why a chassis_control program and not ipmi_sim's `startcmd`: OpenIPMI 2.0.33
// (lanserv/bmc_chassis.c) answers Set System Boot Options parameters 4 and 5 — what
// `ipmitool chassis bootdev pxe` sends — only through chassis_control ("Invalid data field in
// request" otherwise), and once chassis_control is set, power on/off/cycle/reset/soft go to it too,
// never to startcmd (set_power() asks chassis_control first). So the program does all of it, and the
// lab process, which owns every QEMU, answers it:
//   get power → `power:1` while the node's QEMU runs; get boot → `boot:<device>` (last set, default)
//   set power 1 → start QEMU (idempotent); set power 0 → hard off (SIGKILL, as pulling the plug)
//   set reset 1 → hard off + on (a lab node runs -no-reboot and keeps no state)
//   set shutdown 1 → ACPI power button (QMP system_powerdown); set boot <dev> → recorded
// `chassis power cycle` is ipmi_sim's own: power 0, then power 1 one second later.
// Each QEMU also gets `-device ipmi-bmc-extern` + `isa-ipmi-kcs` connected to ipmi_sim's VM serial
// interface (`serial kcs <address> 9002 codec VM`, lanserv/README.vm): the guest sees a KCS BMC
// that is this ipmi_sim.
//
// Quirks: ipmitool 1.8.19 without `-C` first asks for the channel's cipher suites, which ipmi_sim
// does not implement: every call then waits ~10 s before falling back — always pass `-C 3`
// (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128; `-C 17` is refused). ipmi_sim runs the program
// synchronously and the lab process answers it: never block the lab process's event loop
// (spawnSync of ipmitool or `netroot power` there would wait for itself until ipmitool times out).
// The password is in lan.conf (mode 0600) and in ipmitool's environment (`-E`), never in an argv.
//
// With `add({ redfish: true })` the node also gets a Redfish BMC (redfish-bmc-main.ts: RedfishBmc in a
// process of its own inside the lab namespace, HTTPS on <redfish address>:443, 10.78.0.(50 + i) by
// default, self-signed), same user and password (in a 0600 JSON file, never argv). Its ComputerSystem
// sends the same chassis requests to the same socket (`set boot pxe power 1`, `set power 0`,
// `set shutdown 1`, `set boot … reset 1`, `get power`): one QEMU control (IpmiBmc.handle) for both.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetrootError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { ip } from './netns.js';
import type { BootNodeOptions, Lab, LabNode } from './lab.js';

/** IPMI's UDP port (RMCP, IPMI 2.0 §13.1). */
export const IPMI_PORT = 623;
/** TCP port of ipmi_sim's VM serial interface on the BMC's address (QEMU's ipmi-bmc-extern connects to it). */
export const IPMI_VM_PORT = 9002;
/** The cipher suite every ipmitool call uses against ipmi_sim (see the header). */
export const IPMI_CIPHER_SUITE = 3;
/** Default BMC network: BMC i of a lab gets 10.78.0.(10 + i), on the lab namespace's lo. */
export const DEFAULT_BMC_BASE = '10.78.0.10';
/** Default Redfish BMC network: node i's Redfish BMC gets 10.78.0.(50 + i), on the lab namespace's lo. */
export const DEFAULT_REDFISH_BASE = '10.78.0.50';
/** HTTPS (DSP0266 §8.1). */
export const REDFISH_PORT = 443;

/** Boot devices ipmi_sim names to its chassis_control program (lanserv/bmc_chassis.c boot_map). */
export const CHASSIS_BOOT_DEVICES = ['none', 'pxe', 'default', 'cdrom', 'bios'] as const;
export type ChassisBootDevice = (typeof CHASSIS_BOOT_DEVICES)[number];

export type ChassisSet =
  | { param: 'power'; on: boolean }
  | { param: 'reset' }
  | { param: 'shutdown' }
  | { param: 'boot'; device: ChassisBootDevice }
  | { param: 'identify'; seconds: number; force: boolean };

export type ChassisRequest = { op: 'get'; params: Array<'power' | 'boot'> } | { op: 'set'; sets: ChassisSet[] };

/** Largest request body the lab reads from a chassis_control program (ipmi_sim's are a few words). */
export const CHASSIS_REQUEST_MAX = 256;

/**
 * Reads a chassis_control request: the program's arguments as ipmi_sim gives them (lanserv/extcmd.c:
 * `get power boot`, `set power 1`, `set boot pxe`, `set identify 15 0`, after sh removed its quotes).
 * Throws E_LAB_BMC on anything else: unknown words, missing or malformed values, oversize input.
 */
export function parseChassisRequest(body: string): ChassisRequest {
  const bad = (why: string) => new NetrootError('E_LAB_BMC', `chassis control request: ${why}`);
  if (body.length > CHASSIS_REQUEST_MAX) throw bad(`longer than ${CHASSIS_REQUEST_MAX} bytes`);
  if (!/^[A-Za-z0-9 \t\r\n]*$/.test(body)) throw bad('characters other than letters, digits and spaces');
  const words = body.split(/\s+/).filter((w) => w !== '');
  const [op, ...rest] = words;
  if (op === 'get') {
    if (rest.length === 0) throw bad('get names no parameter');
    const params: Array<'power' | 'boot'> = [];
    for (const p of rest) {
      if (p !== 'power' && p !== 'boot') throw bad(`cannot get ${JSON.stringify(p)} (power, boot)`);
      params.push(p);
    }
    return { op, params };
  }
  if (op !== 'set') throw bad(op === undefined ? 'empty' : `unknown operation ${JSON.stringify(op.slice(0, 16))}`);
  const sets: ChassisSet[] = [];
  const flag = (param: string, v: string | undefined): boolean => {
    if (v !== '0' && v !== '1') throw bad(`${param} needs 0 or 1, got ${v === undefined ? 'nothing' : JSON.stringify(v.slice(0, 16))}`);
    return v === '1';
  };
  for (let i = 0; i < rest.length; ) {
    const param = rest[i++]!;
    const v = rest[i++];
    switch (param) {
      case 'power':
        sets.push({ param, on: flag(param, v) });
        break;
      case 'reset':
      case 'shutdown':
        // ipmi_sim sends 1 (a pulse); 0 would mean "do nothing".
        if (flag(param, v)) sets.push({ param });
        break;
      case 'boot': {
        const device = CHASSIS_BOOT_DEVICES.find((d) => d === v);
        if (!device) throw bad(`boot device ${v === undefined ? 'missing' : JSON.stringify(v.slice(0, 16))} (${CHASSIS_BOOT_DEVICES.join(', ')})`);
        sets.push({ param, device });
        break;
      }
      case 'identify': {
        // `identify <interval seconds> <force>` (extcmd_ident: two unsigned bytes).
        const f = rest[i++];
        if (v === undefined || !/^\d{1,3}$/.test(v) || Number(v) > 255) throw bad('identify needs an interval 0..255');
        sets.push({ param, seconds: Number(v), force: flag('identify force', f) });
        break;
      }
      default:
        throw bad(`cannot set ${JSON.stringify(param.slice(0, 16))} (power, reset, shutdown, boot, identify)`);
    }
  }
  if (sets.length === 0 && rest.length === 0) throw bad('set names no parameter');
  return { op, sets };
}

/** IPMI user name and password as lan.conf and ipmitool carry them (IPMI 2.0: 16 bytes; printable, no quotes). */
const CREDENTIAL = /^[A-Za-z0-9._@+-]{1,16}$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Paths pasted into lan.conf and the generated sh script, inside quotes. */
const SAFE_PATH = /^[A-Za-z0-9_./+-]+$/;

export interface LanConfOptions {
  name: string;
  address: string;
  user: string;
  password: string;
  /** The chassis_control program (absolute path). */
  chassisControl: string;
}

/** ipmi_sim's lan.conf (ipmi_lan(5)) for one BMC: LAN channel 1 on <address>:623, the VM interface, one admin user. */
export function lanConf(o: LanConfOptions): string {
  if (!NAME.test(o.name)) throw new NetrootError('E_LAB_BMC', `BMC name ${JSON.stringify(o.name)}: lower-case letters, digits, '-', at most 32`);
  if (!CREDENTIAL.test(o.user) || !CREDENTIAL.test(o.password))
    throw new NetrootError('E_LAB_BMC', `BMC ${o.name}: user and password must be 1..16 of A-Z a-z 0-9 . _ @ + -`);
  if (!SAFE_PATH.test(o.chassisControl))
    throw new NetrootError('E_LAB_BMC', `BMC ${o.name}: path ${JSON.stringify(o.chassisControl)} has characters lan.conf cannot carry`);
  const guid = randomBytes(16).toString('hex');
  return [
    `# ipmi_sim lan.conf for lab BMC ${o.name} (written by netroot's lab, src/lab/ipmi-bmc.ts; ipmi_lan(5)).`,
    `name "${o.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${o.address} ${IPMI_PORT}`,
    '    priv_limit admin',
    // IPMI 1.5 sessions with MD5 only; RMCP+ (lanplus) needs no line here. No user 1: no anonymous login.
    '    allowed_auths_callback md5',
    '    allowed_auths_user md5',
    '    allowed_auths_operator md5',
    '    allowed_auths_admin md5',
    `    guid ${guid}`,
    '  endlan',
    `  serial kcs ${o.address} ${IPMI_VM_PORT} codec VM`,
    `  chassis_control "${o.chassisControl}"`,
    `  user 2 true "${o.user}" "${o.password}" admin 10 md5`,
    '',
  ].join('\n');
}

/** ipmi_sim's emulator commands (ipmi_sim_cmd(5)): one BMC at IPMB 0x20 with a SEL, as OpenIPMI's ipmisim1.emu. */
export const BMC_EMU = ['mc_setbmc 0x20', 'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02', 'sel_enable 0x20 1000 0x0a', 'mc_enable 0x20', ''].join(
  '\n',
);

/** The chassis_control program: hands its arguments to the lab process over `socket` and prints the answer. */
export function chassisControlScript(socket: string, name: string): string {
  if (!SAFE_PATH.test(socket) || !NAME.test(name))
    throw new NetrootError('E_LAB_BMC', `chassis control for ${JSON.stringify(name)}: unsafe socket path or name`);
  return `#!/bin/sh
# ipmi_sim's chassis_control program for lab BMC ${name} (written by src/lab/ipmi-bmc.ts).
# ipmi_sim runs "<this> get power boot" (answer "name:value" lines) and "<this> set power 1",
# "set reset 1", "set shutdown 1", "set boot pxe" (empty answer; a non-zero exit fails the IPMI
# command). The lab process, which runs the node's QEMU, does the work and answers.
exec curl -sS --fail-with-body --max-time 20 --unix-socket '${socket}' --data-binary "$*" 'http://lab/chassis/${name}'
`;
}

/** Where a BMC listens and who may log in: what `netroot host bmc set` needs. `password` is a secret. */
export interface LabBmcInfo {
  driver: 'ipmi' | 'redfish';
  name: string;
  /** The node's MAC. */
  mac: string;
  address: string;
  port: number;
  user: string;
  password: string;
}

/** The machine a BMC powers on: Lab.bootNode's options (tap and the IPMI devices are the BMC's). */
export type BmcMachine = Omit<BootNodeOptions, 'tap'>;

export interface AddBmcOptions {
  /** BMC name ([a-z0-9-], ≤ 32): its directory under <lab workDir>/bmc/ and ipmi_sim's name. */
  name: string;
  machine: BmcMachine;
  /** Default: the next address from `base` (10.78.0.10, .11, ...). */
  address?: string;
  /** Default 'admin'. */
  user?: string;
  /** Default: 16 random characters. */
  password?: string;
  /** Also a Redfish BMC for the node (redfish-bmc-main.ts), same user and password. Default false. */
  redfish?: boolean;
}

export interface IpmiBmcsOptions {
  logger?: Logger;
  /** First BMC address (each further BMC the next one). Default 10.78.0.10. */
  base?: string;
  /** How long ipmi_sim may take to listen. Default 15 s. */
  startDeadlineMs?: number;
  /** How long a soft power off (QMP system_powerdown) may take to be delivered. Default 5 s. */
  qmpTimeoutMs?: number;
  /** First Redfish BMC address (`add({ redfish: true })`; BMC i gets base + i). Default 10.78.0.50. */
  redfishBase?: string;
}

export interface IpmitoolResult {
  code: number | null;
  out: string;
  err: string;
}

function ipv4Add(a: string, n: number): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new NetrootError('E_LAB_BMC', `BMC address ${JSON.stringify(a)} is not a.b.c.d`);
  const v = (((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0) + n;
  if (v > 0xffffffff) throw new NetrootError('E_LAB_BMC', `BMC address ${a} + ${n} overflows`);
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

function randomPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Sends one QMP command (after the capabilities handshake) to a QEMU's QMP unix socket; resolves on its "return". */
export function qmpCommand(socketPath: string, command: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let buf = '';
    let step = 0; // 0: greeting, 1: capabilities answer, 2: command answer
    const timer = setTimeout(() => finish(new NetrootError('E_LAB_BMC', `QMP ${command}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (e?: Error) => {
      clearTimeout(timer);
      s.destroy();
      if (e) reject(e);
      else resolve();
    };
    s.setEncoding('utf8');
    s.on('error', (e) => finish(new NetrootError('E_LAB_BMC', `QMP ${command}: ${e.message}`)));
    s.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65536) return finish(new NetrootError('E_LAB_BMC', `QMP ${command}: answer longer than 64 KiB`));
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        if (!line) continue;
        let msg: { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return finish(new NetrootError('E_LAB_BMC', `QMP ${command}: unreadable answer ${JSON.stringify(line.slice(0, 100))}`));
        }
        if (msg.event !== undefined) continue;
        if (msg.error) return finish(new NetrootError('E_LAB_BMC', `QMP ${command}: ${String(msg.error.desc ?? 'error').slice(0, 200)}`));
        if (step === 0 && msg.QMP !== undefined) {
          step = 1;
          s.write('{"execute":"qmp_capabilities"}\n');
        } else if (step === 1 && msg.return !== undefined) {
          step = 2;
          s.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (step === 2 && msg.return !== undefined) return finish();
      }
    });
  });
}

/** One emulated BMC: its ipmi_sim, its node's current power-on, its boot device. */
export class IpmiBmc {
  readonly name: string;
  readonly mac: string;
  readonly address: string;
  readonly port = IPMI_PORT;
  readonly user: string;
  /** The BMC password (a secret: never log it). */
  readonly password: string;
  readonly dir: string;
  /** The node's current power-on, or null while it is off. */
  node: LabNode | null = null;
  /** The boot device last set through IPMI (`chassis bootdev`), 'default' until then. */
  bootDevice: ChassisBootDevice = 'default';
  /** How many times IPMI powered the node on. */
  powerOns = 0;
  /** ipmi_sim (started by IpmiBmcs.add) and the tail of what it printed. */
  sim: ChildProcess | null = null;
  simLog = '';
  /** The node's Redfish BMC (add({ redfish: true })): where it listens, its process and the tail of its output. */
  redfish: { address: string; port: number; process: ChildProcess; log: string } | null = null;
  private machine: BmcMachine;
  private readonly tap: string;
  private readonly waiters = new Set<(n: LabNode) => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly lab: Lab,
    o: { name: string; address: string; user: string; password: string; machine: BmcMachine; tap: string },
    private readonly qmpTimeoutMs: number,
    private readonly log: Logger,
  ) {
    this.name = o.name;
    this.mac = o.machine.mac;
    this.address = o.address;
    this.user = o.user;
    this.password = o.password;
    this.machine = o.machine;
    this.tap = o.tap;
    this.dir = join(lab.workDir, 'bmc', o.name);
  }

  get info(): LabBmcInfo {
    return { driver: 'ipmi', name: this.name, mac: this.mac, address: this.address, port: this.port, user: this.user, password: this.password };
  }

  /** The Redfish BMC's entry (`--driver redfish --insecure-tls`); throws without one. */
  get redfishInfo(): LabBmcInfo {
    if (!this.redfish) throw new NetrootError('E_LAB_BMC', `BMC ${this.name} has no Redfish BMC`);
    return {
      driver: 'redfish',
      name: this.name,
      mac: this.mac,
      address: this.redfish.address,
      port: this.redfish.port,
      user: this.user,
      password: this.password,
    };
  }

  get powerState(): 'on' | 'off' {
    return this.node ? 'on' : 'off';
  }

  get qmpSocket(): string {
    return join(this.dir, 'qmp.sock');
  }

  /** Changes the machine booted at the next power-on (firmware, disk, memory, console callback...); the MAC stays. */
  configure(machine: Partial<BmcMachine>): void {
    this.machine = { ...this.machine, ...machine, mac: this.mac };
  }

  /** Resolves with the node's next power-on (through IPMI); rejects after `timeoutMs`. */
  nextPowerOn(timeoutMs: number): Promise<LabNode> {
    return new Promise((resolve, reject) => {
      const w = (n: LabNode) => {
        clearTimeout(timer);
        resolve(n);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new NetrootError('E_LAB_BMC', `BMC ${this.name} (${this.address}): the node was not powered on within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /**
   * Runs ipmitool against this BMC from inside the lab namespace (lanplus, cipher suite 3, the
   * password through IPMI_PASSWORD and -E, never argv). `password` overrides it (a wrong-password test).
   */
  ipmitool(args: string[], o: { password?: string; timeoutMs?: number } = {}): Promise<IpmitoolResult> {
    const child = this.lab.spawnInNamespace(
      'ipmitool',
      ['-I', 'lanplus', '-C', String(IPMI_CIPHER_SUITE), '-H', this.address, '-p', String(this.port), '-U', this.user, '-E', ...args],
      { env: { ...process.env, IPMI_PASSWORD: o.password ?? this.password } },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    return new Promise((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      }),
    );
  }

  /** Serves one chassis_control request; the answer is the program's stdout. */
  handle(req: ChassisRequest): Promise<string> {
    // ipmi_sim runs its program one call at a time; a retransmitted IPMI request can still overlap a slow one.
    const run = this.queue.then(() => this.apply(req));
    this.queue = run.catch(() => {});
    return run;
  }

  private async apply(req: ChassisRequest): Promise<string> {
    if (req.op === 'get') return req.params.map((p) => (p === 'power' ? `power:${this.node ? 1 : 0}` : `boot:${this.bootDevice}`)).join('\n') + '\n';
    for (const s of req.sets) {
      switch (s.param) {
        case 'power':
          if (s.on) this.on();
          else await this.off();
          break;
        case 'reset':
          // A hard reset of a running node; an off node stays off (a reset is no power-on).
          if (this.node) {
            await this.off();
            this.on();
          }
          break;
        case 'shutdown':
          if (this.node) await qmpCommand(this.qmpSocket, 'system_powerdown', this.qmpTimeoutMs);
          break;
        case 'boot':
          this.bootDevice = s.device;
          break;
        case 'identify':
          break; // a lab node has no identify LED
      }
    }
    return '';
  }

  /** Powers the node on (idempotent): Lab.bootNode with the machine, this BMC's tap, the IPMI devices and a QMP socket. */
  private on(): void {
    if (this.node) return;
    const m = this.machine;
    const node = this.lab.bootNode({
      ...m,
      tap: this.tap,
      extraArgs: [
        ...(m.extraArgs ?? []),
        // The guest's KCS interface, backed by this ipmi_sim (its VM serial interface).
        '-chardev',
        `socket,id=ipmi0,host=${this.address},port=${IPMI_VM_PORT},reconnect=10`,
        '-device',
        'ipmi-bmc-extern,chardev=ipmi0,id=bmc0',
        '-device',
        'isa-ipmi-kcs,bmc=bmc0',
        '-qmp',
        `unix:${this.qmpSocket},server=on,wait=off`,
      ],
    });
    this.node = node;
    this.powerOns++;
    this.log.info('lab bmc: power on', { bmc: this.name, mac: this.mac, boot: this.bootDevice });
    void node.exited.then(() => {
      if (this.node === node) this.node = null;
    });
    for (const w of this.waiters) w(node);
    this.waiters.clear();
  }

  /** Hard power off: QEMU is killed and awaited (idempotent). */
  private async off(): Promise<void> {
    const node = this.node;
    if (!node) return;
    this.log.info('lab bmc: power off', { bmc: this.name, mac: this.mac });
    await node.powerOff();
    if (this.node === node) this.node = null;
  }
}

/**
 * The BMCs of one lab: a unix socket the chassis_control programs call (`<lab workDir>/bmc/chassis.sock`)
 * and one ipmi_sim per node in the lab namespace. lab.down() kills them all and removes the socket.
 */
export class IpmiBmcs {
  private readonly bmcs = new Map<string, IpmiBmc>();
  private server: Server | null = null;
  private readonly log: Logger;
  readonly socket: string;

  constructor(
    readonly lab: Lab,
    private readonly o: IpmiBmcsOptions = {},
  ) {
    this.log = o.logger ?? silentLogger;
    this.socket = join(lab.workDir, 'bmc', 'chassis.sock');
  }

  list(): IpmiBmc[] {
    return [...this.bmcs.values()];
  }

  get(name: string): IpmiBmc | undefined {
    return this.bmcs.get(name);
  }

  byMac(mac: string): IpmiBmc | undefined {
    return this.list().find((b) => b.mac === mac);
  }

  private async listen(): Promise<void> {
    if (this.server) return;
    // sockaddr_un.sun_path holds 108 bytes with its NUL.
    if (Buffer.byteLength(this.socket) > 100) throw new NetrootError('E_LAB_BMC', `the lab's BMC socket path is too long for a unix socket: ${this.socket}`);
    mkdirSync(join(this.lab.workDir, 'bmc'), { recursive: true });
    rmSync(this.socket, { force: true });
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socket, () => resolve());
    });
    chmodSync(this.socket, 0o600);
    this.server = server;
    this.lab.addCleanup(() => {
      server.close();
      rmSync(this.socket, { force: true });
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    };
    const m = /^\/chassis\/([a-z0-9-]{1,32})$/.exec(req.url ?? '');
    const bmc = m ? this.bmcs.get(m[1]!) : undefined;
    if (req.method !== 'POST' || !bmc) return reply(404, 'no such BMC\n');
    let body = '';
    let tooLong = false;
    req.setEncoding('utf8');
    for await (const chunk of req) {
      body += chunk as string;
      if (body.length > CHASSIS_REQUEST_MAX) {
        tooLong = true;
        break;
      }
    }
    try {
      if (tooLong) throw new NetrootError('E_LAB_BMC', `chassis control request: longer than ${CHASSIS_REQUEST_MAX} bytes`);
      reply(200, await bmc.handle(parseChassisRequest(body)));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log.warn('lab bmc: chassis control failed', { bmc: bmc.name, error: msg });
      reply(500, `${msg}\n`);
    }
  }

  /** Starts one BMC: writes its lan.conf, emulator commands and chassis_control program, starts ipmi_sim, waits until it listens. */
  async add(o: AddBmcOptions): Promise<IpmiBmc> {
    if (this.bmcs.has(o.name)) throw new NetrootError('E_LAB_BMC', `BMC ${o.name} exists`);
    for (const [tool, pkg] of [
      ['ipmi_sim', 'openipmi'],
      ['curl', 'curl'],
    ] as const)
      if (spawnSync('which', [tool]).status !== 0) throw new NetrootError('E_LAB_BMC', `${tool} missing: apt-get install ${pkg}`, { user: true });
    await this.listen();
    const index = this.bmcs.size;
    const address = o.address ?? ipv4Add(this.o.base ?? DEFAULT_BMC_BASE, index);
    const bmc = new IpmiBmc(
      this.lab,
      { name: o.name, address, user: o.user ?? 'admin', password: o.password ?? randomPassword(), machine: o.machine, tap: `bmc${index}` },
      this.o.qmpTimeoutMs ?? 5000,
      this.log,
    );
    const dir = bmc.dir;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'state'), { recursive: true, mode: 0o700 });
    const control = join(dir, 'chassis-control');
    writeFileSync(join(dir, 'lan.conf'), lanConf({ name: o.name, address, user: bmc.user, password: bmc.password, chassisControl: control }), { mode: 0o600 });
    writeFileSync(join(dir, 'bmc.emu'), BMC_EMU);
    writeFileSync(control, chassisControlScript(this.socket, o.name), { mode: 0o700 });
    if (Buffer.byteLength(bmc.qmpSocket) > 100) throw new NetrootError('E_LAB_BMC', `BMC ${o.name}: QMP socket path too long: ${bmc.qmpSocket}`);
    // The address lives on the namespace's lo: reachable from everything in the lab namespace (the frontend), nothing outside.
    ip('-n', this.lab.namespace, 'addr', 'add', `${address}/32`, 'dev', 'lo');
    this.bmcs.set(o.name, bmc);
    // -n: no console on stdio; -p: nothing persisted (users come from lan.conf each start); -s: state under the BMC's dir.
    const sim = this.lab.spawnInNamespace('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n', '-p']);
    bmc.sim = sim;
    sim.stdout!.on('data', (d: Buffer) => (bmc.simLog = (bmc.simLog + d.toString()).slice(-8000)));
    sim.stderr!.on('data', (d: Buffer) => (bmc.simLog = (bmc.simLog + d.toString()).slice(-8000)));
    await this.waitListening(bmc, sim);
    if (o.redfish) await this.startRedfish(bmc, ipv4Add(this.o.redfishBase ?? DEFAULT_REDFISH_BASE, index));
    this.log.info('lab bmc: up', { bmc: o.name, address, mac: bmc.mac, redfish: bmc.redfish?.address });
    return bmc;
  }

  /** Starts the node's Redfish BMC process in the lab namespace and waits for its `listening` line. */
  private async startRedfish(bmc: IpmiBmc, address: string): Promise<void> {
    const dir = join(bmc.dir, 'redfish');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ socket: this.socket, name: bmc.name, address, port: REDFISH_PORT, dir, user: bmc.user, password: bmc.password }), {
      mode: 0o600,
    });
    ip('-n', this.lab.namespace, 'addr', 'add', `${address}/32`, 'dev', 'lo');
    // From source (tsx) the entry is the .ts file, run under tsx from the repository; built, its .js.
    const self = fileURLToPath(import.meta.url);
    const here = dirname(self);
    const entry = self.endsWith('.ts') ? ['--import', 'tsx', join(here, 'redfish-bmc-main.ts')] : [join(here, 'redfish-bmc-main.js')];
    const child = this.lab.spawnInNamespace(process.execPath, [...entry, config], { cwd: join(here, '..', '..') });
    const rf = { address, port: REDFISH_PORT, process: child, log: '' };
    bmc.redfish = rf;
    const end = Date.now() + (this.o.startDeadlineMs ?? 15_000);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`did not listen within ${(this.o.startDeadlineMs ?? 15_000) / 1000} s`), end - Date.now());
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new NetrootError('E_LAB_BMC', `Redfish BMC ${bmc.name} (${address}:${REDFISH_PORT}): ${why}: ${rf.log.slice(-2000) || '(no output)'}`));
      };
      const onData = (d: Buffer) => {
        rf.log = (rf.log + d.toString()).slice(-8000);
        if (rf.log.includes(`listening ${address}:${REDFISH_PORT}\n`)) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => fail(`exited ${code}`);
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (d: Buffer) => (rf.log = (rf.log + d.toString()).slice(-8000)));
      child.once('exit', onExit);
    });
  }

  /** Polls the namespace's UDP sockets (ss) until ipmi_sim listens on <address>:623. */
  private async waitListening(bmc: IpmiBmc, sim: ChildProcess): Promise<void> {
    const end = Date.now() + (this.o.startDeadlineMs ?? 15_000);
    const want = `${bmc.address}:${IPMI_PORT}`;
    while (Date.now() < end) {
      if (sim.exitCode !== null || sim.signalCode !== null) break;
      const ss = spawnSync('ip', ['netns', 'exec', this.lab.namespace, 'ss', '-Hlun'], { encoding: 'utf8' });
      if ((ss.stdout ?? '').split('\n').some((l) => l.split(/\s+/).includes(want))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new NetrootError('E_LAB_BMC', `ipmi_sim for BMC ${bmc.name} did not listen on ${want}: ${bmc.simLog.slice(-2000) || '(no output)'}`);
  }
}
