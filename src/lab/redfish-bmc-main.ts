// The lab's Redfish BMC for one lab node, as a process inside the lab network namespace (started by
// IpmiBmcs.add({ redfish: true }) with `ip netns exec <ns> node --import tsx redfish-bmc-main.ts`).
// Why a process of its own: netroot (CLI, frontend) runs in the lab namespace, the lab process (which
// owns every QEMU) in the host's; a listener opened by the lab process is unreachable from netroot.
// A unix socket crosses namespaces (it is a file), so this process listens with RedfishBmc on
// <address>:<port> inside the namespace and backs its one ComputerSystem with `ChassisSocketSystem`:
// every power call becomes a chassis control request on the lab's `<lab workDir>/bmc/chassis.sock`
// (the same requests and handler ipmi_sim's chassis_control program uses: ipmi-bmc.ts), so QEMU
// control lives in one place (IpmiBmc.handle).
//
//   node --import tsx src/lab/redfish-bmc-main.ts CONFIG_FILE
//
// CONFIG_FILE (mode 0600, written by the lab): JSON { socket, name, address, port, dir, user,
// password }. The password is only there, never in argv. The certificate is self-signed (openssl,
// SAN IP:<address>) under <dir>: netroot's BMC entry needs insecureTls. Prints `listening
// <address>:<port>` on stdout once it accepts connections; exits on SIGTERM/SIGKILL from lab.down().
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { NetrootError } from '../errors.js';
import type { ChassisBootDevice } from './ipmi-bmc.js';
import { RedfishBmc, selfSignedCert, type BootSource, type RedfishPowerState, type ResetKind, type SystemBackend } from './redfish-bmc.js';

/** Largest answer read from the lab's chassis socket (a few words). */
const ANSWER_MAX = 4096;

export interface RedfishChildConfig {
  socket: string;
  name: string;
  address: string;
  port: number;
  dir: string;
  user: string;
  password: string;
}

/** Redfish BootSourceOverrideTarget → the chassis boot device the lab records (ipmi_sim's names). */
export function chassisBootDevice(boot: BootSource): ChassisBootDevice {
  switch (boot) {
    case 'Pxe':
    case 'UefiHttp':
      return 'pxe';
    case 'Cd':
      return 'cdrom';
    case 'BiosSetup':
      return 'bios';
    default:
      return 'default';
  }
}

/** Sends one chassis control request (`get power`, `set power 1`...) over the lab's unix socket; resolves with the answer. */
export function chassisCall(socket: string, name: string, body: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, method: 'POST', path: `/chassis/${name}`, headers: { host: 'lab', 'content-type': 'text/plain' }, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (text.length > ANSWER_MAX) res.destroy(new NetrootError('E_LAB_BMC', `chassis ${name}: answer longer than ${ANSWER_MAX} bytes`));
        });
        res.on('error', reject);
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(text)
            : reject(new NetrootError('E_LAB_BMC', `chassis ${name} ${body}: ${res.statusCode} ${text.trim().slice(0, 300)}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new NetrootError('E_LAB_BMC', `chassis ${name} ${body}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A ComputerSystem whose machine is a lab node powered by the lab process (IpmiBmc.handle): on →
 * `set boot <dev> power 1`, off force → `set power 0` (QEMU killed), off graceful → `set shutdown 1`
 * (ACPI power button through QMP), reset of a running node → `set boot <dev> reset 1` (hard off + on),
 * of an off node → power on (RedfishBmc's contract), nmi → nothing.
 */
export class ChassisSocketSystem implements SystemBackend {
  constructor(
    private readonly socket: string,
    private readonly name: string,
  ) {}
  async powerState(): Promise<RedfishPowerState> {
    const a = await chassisCall(this.socket, this.name, 'get power');
    const m = /^power:([01])$/m.exec(a);
    if (!m) throw new NetrootError('E_LAB_BMC', `chassis ${this.name}: unreadable power answer ${JSON.stringify(a.slice(0, 64))}`);
    return m[1] === '1' ? 'On' : 'Off';
  }
  async on(boot: BootSource): Promise<void> {
    if ((await this.powerState()) === 'On') return;
    await chassisCall(this.socket, this.name, `set boot ${chassisBootDevice(boot)} power 1`);
  }
  async off(mode: 'force' | 'graceful'): Promise<void> {
    await chassisCall(this.socket, this.name, mode === 'force' ? 'set power 0' : 'set shutdown 1');
  }
  async reset(kind: ResetKind, boot: BootSource): Promise<void> {
    if (kind === 'nmi') return;
    const on = (await this.powerState()) === 'On';
    await chassisCall(this.socket, this.name, `set boot ${chassisBootDevice(boot)} ${on ? 'reset' : 'power'} 1`);
  }
}

/** Reads and checks the child's config file (written by the lab; still checked: it names paths and a port). */
export function readChildConfig(file: string): RedfishChildConfig {
  const bad = (why: string) => new NetrootError('E_LAB_BMC', `redfish BMC config ${file}: ${why}`);
  const text = readFileSync(file, 'utf8');
  if (text.length > 8192) throw bad('longer than 8 KiB');
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof c !== 'object' || c === null) throw bad('not an object');
  const o = c as Record<string, unknown>;
  for (const k of ['socket', 'name', 'address', 'dir', 'user', 'password'] as const) if (typeof o[k] !== 'string' || o[k] === '') throw bad(`${k} missing`);
  if (!Number.isInteger(o['port']) || (o['port'] as number) < 1 || (o['port'] as number) > 65535) throw bad('port not 1..65535');
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(o['name'] as string)) throw bad('bad name');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(o['address'] as string)) throw bad('address not a.b.c.d');
  return o as unknown as RedfishChildConfig;
}

async function main(file: string | undefined): Promise<void> {
  if (!file) throw new NetrootError('E_LAB_BMC', 'usage: redfish-bmc-main.ts CONFIG_FILE');
  const c = readChildConfig(file);
  const tls = await selfSignedCert(c.dir, [`IP:${c.address}`]);
  const bmc = await RedfishBmc.create({
    tls,
    users: [{ name: c.user, password: c.password }],
    systems: [{ id: c.name, name: `lab node ${c.name}`, backend: new ChassisSocketSystem(c.socket, c.name) }],
  });
  const l = await bmc.listen({ host: c.address, port: c.port, systems: [c.name] });
  process.stdout.write(`listening ${l.host}:${l.port}\n`);
  const stop = () => void bmc.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  main(process.argv[2]).catch((e: unknown) => {
    process.stderr.write(`redfish BMC: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
