// The full lab (issue 6): blank QEMU nodes go install → diskless on netroot's own stack, driven
// through the real `netroot` CLI, one shared driver for `netroot lab up` and test/e2e/lifecycle.test.ts.
//
//   netroot initrd build-base | build-installer | build-lab-root  (boot root = <state>/tftpboot; the
//     first two also copy /boot/vmlinuz-V next to their initrd)
//   netroot attr set Kickstart_LiveImage <root tarball URL>       (the diskless kickstart gets liveimg)
//   netroot serve (in the lab namespace: DHCP, HTTP, XML-RPC, embedded iSCSI target)
//   netroot insert-ethers --appliance compute-diskless --count N    (running while the blank nodes power
//     on one after another: each is discovered from its first DHCP DISCOVER, named compute-0-<i> in
//     power-on order, and gets its volume + CHAP from the iscsi-allocation plugin; `register: true`
//     instead pre-registers each MAC with `insert-ethers --mac M`, the same plugins)
//   per node, in parallel, each stage a fresh QEMU power-on (QEMU runs with -no-reboot, so the guest's
//   `reboot -f` ends the process; the node keeps no local state, so a power cycle is a reboot):
//     1. install: iPXE → installer kernel + initrd → kickstart → LUN → %post installComplete → reboot
//     2. diskless boot: base initrd + overlay → root=UUID on its LUN → root init writes boot count 1
//     3. diskless boot again: the root prints `persisted boot 1` (the write survived)
// With `power: 'ipmi'` every node has an emulated BMC (ipmi-bmc.ts: ipmi_sim in the lab namespace)
// and every power-on above goes through it (`powerOn`, default ipmitool; netroot's own
// `netroot power on` once it exists) instead of the lab starting QEMU itself.
// goldenClones()/runGolden() (issue #20, `netroot lab up --golden`): an installed node's volume is
// frozen as a golden volume and further nodes boot as its copy-on-write clones without installing,
// each personalised at its first boot and keeping its own file across a reboot.
// Needs root (namespaces, taps). Times are wall clock from QEMU start ("power on").
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, exitWithin, type Firmware, type LabNode } from './lab.js';
import { installedKernel, kernelVersion } from './test-images.js';
import { NetrootError } from '../errors.js';
import { waitReady, writeLabConfig, type LabRbd } from './frontend-setup.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { parseGuestProof, type GuestProof } from './guest-proof.js';
import { IpmiBmcs, type BmcMachine, type IpmiBmc, type LabBmcInfo } from './ipmi-bmc.js';

export const LAB_ROOT_BOOTED = 'netroot-root: booted';
export const LAB_ROOT_READY = 'netroot-root: ready';
export const LAB_INSTALL_DONE = 'installation complete';

/** An OS image directory (netroot image build/import) that the lab's nodes install and boot. */
export interface LabImage {
  name: string;
  /** The image directory (vmlinuz, initrd.img, root.tar.gz, manifest.json); hard-linked into the lab. */
  dir: string;
}

/** A node's machine: its firmware, and a raw disk image for a disked node (none: diskless). */
export interface NodeHardware {
  firmware?: Firmware;
  disk?: string;
  /** Bus of `disk` (default ide). */
  diskBus?: 'ide' | 'virtio';
  /** QEMU NIC model (default e1000). */
  nicModel?: string;
  /** Further QEMU arguments (e.g. more disks: `-drive file=...,format=raw,if=virtio`). */
  extraArgs?: string[];
}

/** What a power-on hook gets: the node, its BMC, the lab (to run `netroot` through `full.cliOk`). */
export interface LabPowerOnRequest {
  /** The node's host name, or null while a blank node is being discovered (netroot knows no host for it yet). */
  host: string | null;
  mac: string;
  /** The stage being powered on: 'install', 'diskless boot', ... */
  stage: string;
  bmc: IpmiBmc;
  full: FullLab;
}

/** Powers a node on through its BMC; resolves once the BMC accepted it (the lab then waits for QEMU to start). */
export type LabPowerOn = (req: LabPowerOnRequest) => Promise<void>;

/** The default power-on: ipmitool inside the lab namespace — `chassis bootdev pxe`, then `chassis power on`. */
export const ipmitoolPowerOn: LabPowerOn = async ({ bmc }) => {
  for (const args of [
    ['chassis', 'bootdev', 'pxe'],
    ['chassis', 'power', 'on'],
  ]) {
    const r = await bmc.ipmitool(args);
    if (r.code !== 0) throw new NetrootError('E_LAB_BMC', `ipmitool ${args.join(' ')} (BMC ${bmc.address}) exited ${r.code}: ${r.err.trim().slice(-500)}`);
  }
};

/**
 * netroot's own power-on, the lab's default with `power: 'ipmi'`: once netroot knows the node,
 * `netroot power on HOST --pxe` (the CLI reaches the BMC from the lab namespace). A blank node has
 * no host yet — netroot cannot power what it has not discovered — so it gets ipmitool directly.
 */
export const netrootPowerOn: LabPowerOn = async (req) => {
  if (req.host === null) return ipmitoolPowerOn(req);
  await req.full.cliOk('power', 'on', req.host, '--pxe');
};

/** Registers a node's lab BMC with netroot (`netroot host bmc set`, the password on stdin, never in argv). */
export async function netrootRegisterBmc(host: string, bmc: LabBmcInfo, full: FullLab): Promise<void> {
  const args = ['host', 'bmc', 'set', host, '--driver', bmc.driver, '--address', bmc.address, '--port', String(bmc.port), '--user', bmc.user, '--secret-stdin'];
  // The lab's Redfish BMC has a self-signed certificate.
  if (bmc.driver === 'redfish') args.push('--insecure-tls');
  const r = await full.cli({ input: `${bmc.password}\n` }, ...args);
  if (r.code !== 0) throw new NetrootError('E_LAB_CLI', `netroot ${args.join(' ')} exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
}

export interface FullLabOptions {
  workDir: string;
  /** Real OS: compute-diskless gets os_image=<name> (the image's dracut initrd boots the nodes). */
  image?: LabImage;
  /** QEMU NIC model of every node this lab powers on, unless its NodeHardware names one (default e1000). */
  nicModel?: string;
  /** Each node's iSCSI volume (GiB). Default 0.0625 (the busybox lab root); a real OS needs ~2. */
  volumeGiB?: number;
  /** Public key the kickstart installs for root (attribute ssh_authorized_key). */
  sshPublicKey?: string;
  /** argv prefix that runs the netroot CLI, e.g. [node, --import, tsx, test/helpers/netroot.ts]. */
  netroot: string[];
  nodes: number;
  /**
   * Where the volumes live: the frontend's embedded target (default), or tgt — a tgtd the lab
   * starts in its namespace (own control port), driven by the frontend's storage.backend tgt.
   */
  backend?: 'embedded' | 'tgt' | 'rbd';
  /**
   * backend 'rbd': starts the Ceph cluster the volumes live in (RBD images, exported by the lab's
   * tgtd through bs_rbd), once the lab namespace exists and before the frontend is configured. It
   * runs in the lab namespace (`lab.namespace`): tgtd and netroot reach it there. The lab does not
   * start Ceph itself (the tests' cluster helper does: test/helpers/ceph.ts).
   */
  rbd?: (lab: Lab) => Promise<LabRbd>;
  /** Pre-register the MACs (`insert-ethers --mac`) instead of discovering the nodes at power-on. */
  register?: boolean;
  /** Each stage's deadline (power-on to its end marker). Default 300 s. */
  stageDeadlineMs?: number;
  memoryMb?: number;
  name?: string;
  logger?: Logger;
  /** Progress per node: `compute-0-0 install done 95.2 s`. */
  onProgress?: (node: string, what: string) => void;
  /** Each console line, prefixed with the stage and the seconds since its power-on (for a log file). */
  onConsole?: (node: string, line: string) => void;
  /**
   * 'ipmi': each node gets an emulated IPMI BMC (ipmi_sim, ipmi-bmc.ts; addresses 10.78.0.10, .11, ...
   * inside the lab namespace, port 623, user admin, a random password; all listed in `bmcs` and in
   * `<workDir>/bmc.json`, mode 0600) and every power-on goes through `powerOn` instead of the lab
   * starting QEMU. 'redfish': the same, and each node also gets the lab's Redfish BMC (10.78.0.50,
   * .51, ... port 443, self-signed; ipmi-bmc.ts `redfish`), which is what netroot is given
   * (`--driver redfish --insecure-tls`); a blank node still gets ipmitool. Default: the lab starts QEMU itself.
   */
  power?: 'ipmi' | 'redfish';
  /** How a node is powered on through its BMC (`power` set). Default netrootPowerOn. */
  powerOn?: LabPowerOn;
  /**
   * Called once a node's host name is known (discovered or added), with its BMC (`power` set):
   * so that `netroot power` can reach it. Default netrootRegisterBmc (`netroot host bmc set`).
   */
  registerBmc?: (host: string, bmc: LabBmcInfo, full: FullLab) => Promise<void>;
  /** From the power-on request to QEMU starting (`power` set). Default 60 s. */
  powerOnDeadlineMs?: number;
  /** YAML appended to the frontend's netroot.yaml (further top-level keys: slurm, nfs, sync...). */
  extraConfig?: string;
}

export interface NodeLife {
  host: string;
  mac: string;
  ip: string;
  /** Power-on to the installer's reboot (kickstart, LUN, liveimg, %post callback). */
  installSeconds: number;
  /** Power-on to the diskless root's /sbin/init (first diskless boot). */
  disklessSeconds: number;
  /** The same, second diskless boot (the one that finds the persisted file). */
  rebootSeconds: number;
  /** The boot count the second diskless boot read from its root. */
  persistedBoot: number;
  /** The whole life: sum of the three stages plus the frontend's work between them. */
  lifeSeconds: number;
  /** What the first diskless root said about its own boot: its root device and iSCSI sessions. */
  guest: GuestProof;
}

/** One golden clone's two boots (goldenClones). */
export interface CloneLife {
  host: string;
  mac: string;
  ip: string;
  /** Power-on to the clone's root /sbin/init: its first boot (personalised) and the one after. */
  firstSeconds: number;
  rebootSeconds: number;
  /** The boot count the first boot found (the golden volume's own, 0 when it never booted) and the second. */
  firstBootCount: number;
  secondBootCount: number;
  /** The `own-*` files each boot listed: only the clone's own. */
  ownFiles: string[];
}

/** The golden lab's site role: each clone's first boot writes a file named after itself (roles/README.md, <firstboot>). */
export const GOLDEN_LAB_ROLE = `<?xml version="1.0"?>
<kickstart>
<firstboot>mkdir -p /var/lib/netroot-lab
echo "&hostname;" > /var/lib/netroot-lab/own-&hostname;</firstboot>
</kickstart>
`;

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function nodeMac(i: number): string {
  return `52:54:00:6e:72:${(0x10 + i).toString(16).padStart(2, '0')}`;
}

export class FullLab {
  readonly lab: Lab;
  readonly stateDir: string;
  private frontend: ReturnType<Lab['spawnInNamespace']> | null = null;
  private frontendErr = '';
  private readonly log: Logger;
  /** The nodes' BMCs (`power: 'ipmi'`), started by up(). */
  bmcs: IpmiBmcs | null = null;
  /** MAC → host name, once discovered or added. */
  private readonly hosts = new Map<string, string>();

  constructor(private readonly o: FullLabOptions) {
    if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 8) throw new NetrootError('E_LAB_NODES', `--nodes ${o.nodes}: 1..8`);
    this.lab = new Lab({ workDir: join(o.workDir, 'lab'), name: o.name ?? 'nrt-full', ...(o.logger ? { logger: o.logger } : {}) });
    this.stateDir = join(o.workDir, 'state');
    this.log = o.logger ?? silentLogger;
  }

  /** Runs the netroot CLI inside the lab namespace against this lab's state directory. */
  /** Runs the netroot CLI in the lab namespace; a first argument `{ input }` is written to its stdin. */
  cli(...argv: [{ input: string }, ...string[]] | string[]): Promise<CliResult> {
    const [first, ...rest] = argv;
    const input = typeof first === 'object' ? first.input : undefined;
    const args = (typeof first === 'object' ? rest : argv) as string[];
    const [cmd, ...pre] = this.o.netroot;
    const child = this.lab.spawnInNamespace(
      cmd!,
      [...pre, '--state-dir', this.stateDir, ...args],
      input === undefined ? {} : { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    if (input !== undefined) child.stdin!.end(input);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  }

  /**
   * Starts `insert-ethers --count N` for an appliance; `listening` resolves once it says the
   * frontend's discovery session is open — power nodes on only then, or a slow start (a loaded
   * machine) lets the node's PXE DHCP give up before anyone answers it.
   */
  insertEthers(appliance: string, count: number, timeoutSeconds: number): { listening: Promise<void>; done: Promise<CliResult> } {
    const [cmd, ...pre] = this.o.netroot;
    const child = this.lab.spawnInNamespace(cmd!, [
      ...pre,
      '--state-dir',
      this.stateDir,
      'insert-ethers',
      '--appliance',
      appliance,
      '--count',
      String(count),
      '--json',
      '--timeout',
      String(timeoutSeconds),
    ]);
    let out = '';
    let err = '';
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => (ready = resolve));
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('insert-ethers: listening')) ready();
    });
    const done = new Promise<CliResult>((resolve) =>
      child.once('exit', (code) => {
        ready();
        resolve({ code, out, err });
      }),
    );
    return { listening, done };
  }

  async cliOk(...args: string[]): Promise<string> {
    const r = await this.cli(...args);
    if (r.code !== 0) throw new NetrootError('E_LAB_CLI', `netroot ${args.join(' ')} exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
    return r.out;
  }

  get frontendLog(): string {
    return this.frontendErr;
  }

  /**
   * Namespace, config, boot images, the root tarball, the running frontend. `bootImages: false`
   * skips the initrds and the root tarball (a lab that only discovers and powers nodes).
   */
  async up(o: { bootImages?: boolean } = {}): Promise<void> {
    await this.lab.up();
    const fe = this.lab.frontendAddress;
    if (this.o.backend === 'rbd' && !this.o.rbd) throw new NetrootError('E_LAB_RBD', "backend 'rbd' needs the lab's Ceph cluster (option rbd)");
    const tgt = this.o.backend === 'tgt' || this.o.backend === 'rbd' ? await this.startTgtd() : 0;
    // The Ceph cluster starts while the boot images are built (both take a while); until it is up
    // the configuration says tgt, which the image steps never use (they touch no volume).
    const rbdUp = this.o.backend === 'rbd' ? this.o.rbd!(this.lab) : undefined;
    rbdUp?.catch(() => {}); // awaited before the frontend starts; a failing step first must not leave it unhandled
    mkdirSync(this.stateDir, { recursive: true });
    // pingIdleSeconds 5: the target pings idle nodes often, so every lab run proves that the
    // nodes' Linux initiators answer its NOP-In pings (an unanswered one cuts the connection).
    const configure = (rbd?: LabRbd) =>
      writeLabConfig(this.stateDir, {
        frontendAddress: fe,
        iscsi: true,
        pingIdleSeconds: 5,
        ...(this.o.volumeGiB !== undefined ? { volumeGiB: this.o.volumeGiB } : {}),
        ...(tgt ? { tgtControlPort: tgt } : {}),
        ...(rbd ? { rbd } : {}),
        ...(this.o.extraConfig ? { extra: this.o.extraConfig } : {}),
        // no_timer_check: a TCG guest on a loaded host can fail the kernel's IO-APIC timer check
        // ("IO-APIC + timer doesn't work!", a panic before any netroot code runs); the check is for
        // broken hardware, which a QEMU machine is not.
        installArgs: 'netroot.mode=install console=ttyS0 panic=-1 no_timer_check',
        disklessArgs: this.o.image ? 'console=ttyS0 panic=-1 no_timer_check' : 'console=ttyS0 panic=-1 no_timer_check netroot.lab=poweroff',
      });
    configure();
    const startFrontend = async () => {
      if (rbdUp) configure(await rbdUp);
      await this.startFrontend();
    };
    const step = async (what: string, ...args: string[]) => {
      const t = Date.now();
      await this.cliOk(...args);
      this.o.onProgress?.('frontend', `${what} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    };
    if (o.bootImages === false) {
      await startFrontend();
      this.o.onProgress?.('frontend', `serving on ${fe} (namespace ${this.lab.namespace}), no boot images`);
      if (this.o.power) await this.startBmcs();
      return;
    }
    // The kernel is the installed one (the lab's QEMU nodes boot it; src/lab/test-images.ts).
    await step('built the base initrd', 'initrd', 'build-base', '--kernel-version', kernelVersion(installedKernel()));
    await step('built the installer initrd', 'initrd', 'build-installer', '--kernel-version', kernelVersion(installedKernel()));
    if (this.o.image) {
      // Hard links: the image is gigabytes and read-only; the lab's boot root serves it as is.
      const dest = join(this.stateDir, 'tftpboot', 'images', this.o.image.name);
      mkdirSync(join(dest, '..'), { recursive: true });
      const cp = spawnSync('cp', ['-al', this.o.image.dir, dest]);
      if (cp.status !== 0) throw new NetrootError('E_LAB_IMAGE', `cannot link ${this.o.image.dir} into the lab: ${cp.stderr}`);
      await this.cliOk('image', 'show', this.o.image.name);
      await this.cliOk('attr', 'set', 'os_image', this.o.image.name, '--appliance', 'compute-diskless');
      this.o.onProgress?.('frontend', `image ${this.o.image.name} for compute-diskless`);
    } else {
      await step('built the lab root tarball', 'initrd', 'build-lab-root');
      await this.cliOk('attr', 'set', 'Kickstart_LiveImage', `http://${fe}:8080/boot/files/lab/root.tar.gz`);
    }
    if (this.o.sshPublicKey) await this.cliOk('attr', 'set', 'ssh_authorized_key', this.o.sshPublicKey);
    await startFrontend();
    this.o.onProgress?.('frontend', `serving on ${fe} (namespace ${this.lab.namespace})`);
    if (this.o.power) await this.startBmcs();
  }

  /**
   * One IPMI BMC per node (node i: MAC nodeMac(i), BMC `node<i>`); their list, with passwords, in
   * <workDir>/bmc.json (0600). Called by up() with `power: 'ipmi'`; the lab must be up.
   */
  async startBmcs(): Promise<void> {
    if (this.bmcs) return;
    const bmcs = new IpmiBmcs(this.lab, this.o.logger ? { logger: this.o.logger } : {});
    this.bmcs = bmcs;
    for (let i = 0; i < this.o.nodes; i++) {
      const b = await bmcs.add({ name: `node${i}`, machine: { mac: nodeMac(i), firmware: 'bios' }, redfish: this.o.power === 'redfish' });
      this.o.onProgress?.('bmc', `${b.mac}: IPMI BMC ${b.address}:${b.port} (lanplus, cipher suite 3), user ${b.user}, password in ${this.bmcFile}`);
      if (b.redfish) this.o.onProgress?.('bmc', `${b.mac}: Redfish BMC https://${b.redfish.address}:${b.redfish.port} (self-signed), same user and password`);
    }
    writeFileSync(this.bmcFile, `${JSON.stringify(this.bmcInfo(), null, 2)}\n`, { mode: 0o600 });
  }

  /** Where up() lists the BMCs with their passwords (mode 0600). */
  get bmcFile(): string {
    return join(this.o.workDir, 'bmc.json');
  }

  /** Each node's BMC (empty without `power`): what `netroot host bmc set` needs. Holds the passwords. */
  bmcInfo(): LabBmcInfo[] {
    return this.bmcs?.list().map((b) => this.entryOf(b)) ?? [];
  }

  /** The BMC entry netroot gets for a node: its Redfish BMC with `power: 'redfish'`, else its IPMI one. */
  private entryOf(b: IpmiBmc): LabBmcInfo {
    return b.redfish ? b.redfishInfo : b.info;
  }

  /** Records a node's host name; with BMCs, hands its BMC to `registerBmc`. */
  private async known(host: string, mac: string): Promise<void> {
    this.hosts.set(mac, host);
    const bmc = this.bmcs?.byMac(mac);
    if (bmc) await (this.o.registerBmc ?? netrootRegisterBmc)(host, this.entryOf(bmc), this);
  }

  /** tgtd in the lab namespace on <frontend>:3260; its control port is per lab (unix sockets are not per namespace). */
  private async startTgtd(): Promise<number> {
    if (spawnSync('which', ['tgtd']).status !== 0) throw new NetrootError('E_LAB_TGT', 'tgtd missing: apt-get install tgt', { user: true });
    const port = 1000 + ((process.pid + 7) % 20000);
    const sock = `/var/run/tgtd/socket.${port}`;
    const clean = () => {
      rmSync(sock, { force: true });
      rmSync(`${sock}.lock`, { force: true });
    };
    clean();
    this.lab.addCleanup(clean);
    const tgtd = this.lab.spawnInNamespace('tgtd', ['-f', '-C', String(port), '--iscsi', `portal=${this.lab.frontendAddress}:3260`]);
    let log = '';
    tgtd.stdout!.on('data', (d) => (log += d));
    tgtd.stderr!.on('data', (d) => (log += d));
    for (let i = 0; i < 100; i++) {
      if (tgtd.exitCode !== null) break;
      if (spawnSync('tgtadm', ['-C', String(port), '--op', 'show', '--mode', 'sys']).status === 0) {
        this.o.onProgress?.('frontend', `tgtd up (control port ${port})`);
        return port;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new NetrootError('E_LAB_TGT', `tgtd did not start (control port ${port}): ${log.slice(-2000)}`);
  }

  private async startFrontend(): Promise<void> {
    const [cmd, ...pre] = this.o.netroot;
    const child = this.lab.spawnInNamespace(cmd!, [...pre, '--state-dir', this.stateDir, 'serve']);
    this.frontend = child;
    child.stderr!.on('data', (d: Buffer) => (this.frontendErr = (this.frontendErr + d.toString()).slice(-200_000)));
    child.stdout!.resume();
    await waitReady({
      spawnIn: (c, a) => this.lab.spawnInNamespace(c, a),
      address: this.lab.frontendAddress,
      frontend: child,
      why: () => this.frontendErr.slice(-8000),
    });
  }

  /** Adds node i (compute-diskless, boot=install, volume from the iscsi-allocation plugin). */
  async addNode(i: number): Promise<{ host: string; mac: string; ip: string }> {
    const mac = nodeMac(i);
    const out = await this.cliOk('insert-ethers', '--mac', mac, '--appliance', 'compute-diskless', '--json');
    const h = JSON.parse(out) as { name?: string; interfaces?: Array<{ mac: string; ip: string | null }> };
    const iface = h.interfaces?.find((x) => x.mac === mac);
    if (!h.name || !iface) throw new NetrootError('E_LAB_ADD', `insert-ethers --mac ${mac}: unexpected answer ${out.slice(0, 200)}`);
    await this.known(h.name, mac);
    return { host: h.name, mac, ip: iface.ip ?? '' };
  }

  /** Powers the node on; `seconds` is power-on to `timed` (default `until`), then waits for `until`. */
  async stage(host: string, mac: string, what: string, until: RegExp, timed = until, hw: NodeHardware = {}): Promise<{ node: LabNode; seconds: number }> {
    const t = Date.now();
    const machine = {
      mac,
      firmware: hw.firmware ?? 'bios',
      ...(hw.disk ? { disk: hw.disk } : {}),
      ...(hw.diskBus ? { diskBus: hw.diskBus } : {}),
      ...((hw.nicModel ?? this.o.nicModel) ? { nicModel: hw.nicModel ?? this.o.nicModel } : {}),
      ...(hw.extraArgs ? { extraArgs: hw.extraArgs } : {}),
      memoryMb: this.o.memoryMb ?? 512,
      onLine: (l: string) => this.o.onConsole?.(host, `${what} +${((Date.now() - t) / 1000).toFixed(1)}s ${l}`),
    };
    let node: LabNode;
    if (this.bmcs) node = await this.powerOnThroughBmc(host, what, machine);
    else {
      node = this.lab.bootNode(machine);
      this.o.onProgress?.(host, `${what}: power on`);
    }
    try {
      const deadline = this.o.stageDeadlineMs ?? 300_000;
      await node.waitFor(timed, deadline);
      const seconds = (Date.now() - node.startedAt) / 1000;
      if (timed !== until) await node.waitFor(until, deadline);
      this.o.onProgress?.(host, `${what}: ${seconds.toFixed(1)} s`);
      return { node, seconds };
    } catch (e) {
      await node.powerOff();
      if (e instanceof Error) e.message = `${host} ${what}: ${e.message}\nfrontend log tail:\n${this.frontendErr.slice(-4000)}`;
      throw e;
    }
  }

  /** Powers the node on through its BMC (the `powerOn` hook) and returns the QEMU that the BMC started. */
  private async powerOnThroughBmc(label: string, what: string, machine: BmcMachine): Promise<LabNode> {
    const bmc = this.bmcs?.byMac(machine.mac);
    if (!bmc) throw new NetrootError('E_LAB_BMC', `${label}: no BMC for ${machine.mac}`);
    // Every stage is a fresh boot: a node still running from the last one is switched off first.
    await bmc.node?.powerOff();
    bmc.configure(machine);
    // Which BMC netroot drives: the Redfish one when registered (a blank node, unknown to netroot, gets ipmitool).
    const host = this.hosts.get(machine.mac) ?? null;
    const via = bmc.redfish && host !== null && !this.o.powerOn ? `Redfish BMC ${bmc.redfish.address}` : `BMC ${bmc.address}`;
    const t = Date.now();
    const next = bmc.nextPowerOn(this.o.powerOnDeadlineMs ?? 60_000);
    next.catch(() => {}); // awaited below, unless the hook fails first
    try {
      await (this.o.powerOn ?? netrootPowerOn)({ host, mac: machine.mac, stage: what, bmc, full: this });
    } catch (e) {
      throw new NetrootError('E_LAB_BMC', `${label} ${what}: power on through ${via} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const node = await next;
    this.o.onProgress?.(label, `${what}: ${via} powered it on (${((Date.now() - t) / 1000).toFixed(1)} s after the request)`);
    return node;
  }

  /**
   * Waits until the frontend has made a host of this MAC (insert-ethers added it from its DHCP
   * DISCOVER) and every plugin has run: boot=install is set last (90-boot-action), after the
   * volume exists (40-iscsi-allocation). Reads the database through the CLI, as an administrator would.
   * `bootAction` 'os': a golden clone, which boots its OS at once instead of installing.
   */
  async discovered(mac: string, deadlineMs: number, bootAction: 'install' | 'os' = 'install'): Promise<{ host: string; mac: string; ip: string }> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      const hosts = JSON.parse(await this.cliOk('host', 'list', '--json')) as Array<{
        name: string;
        bootAction?: string;
        interfaces?: Array<{ mac: string; ip: string | null }>;
      }>;
      for (const h of hosts) {
        const iface = h.interfaces?.find((x) => x.mac === mac);
        if (iface && h.bootAction === bootAction) {
          await this.known(h.name, mac);
          return { host: h.name, mac, ip: iface.ip ?? '' };
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new NetrootError('E_LAB_DISCOVERY', `${mac} was not discovered within ${deadlineMs / 1000} s\nfrontend log tail:\n${this.frontendErr.slice(-4000)}`);
  }

  installStage(label: string, mac: string, hw: NodeHardware = {}): Promise<{ node: LabNode; seconds: number }> {
    // The installer's last line before `reboot -f`; QEMU (-no-reboot) then exits.
    const done = new RegExp(`${LAB_INSTALL_DONE}: reboot`);
    return this.stage(label, mac, 'install', done, done, hw);
  }

  /** One node's life after it was added: install (already powered on, or now), diskless boot, diskless boot again. */
  async runNode(
    n: { host: string; mac: string; ip: string },
    started?: { install: Promise<{ node: LabNode; seconds: number }>; at: number },
  ): Promise<NodeLife> {
    const t0 = started?.at ?? Date.now();
    const inst = await (started?.install ?? this.installStage(n.host, n.mac));
    const code = await exitWithin(inst.node.exited, 30_000);
    await inst.node.powerOff();
    if (code === 'hung') throw new NetrootError('E_LAB_REBOOT', `${n.host}: the installer did not reboot`);
    const first = await this.stage(n.host, n.mac, 'diskless boot', new RegExp(LAB_ROOT_READY), new RegExp(LAB_ROOT_BOOTED));
    const firstRoot = first.node.console.output;
    await first.node.powerOff();
    const guest = parseGuestProof(firstRoot, n.host);
    if (/persisted boot/.test(firstRoot)) throw new NetrootError('E_LAB_ROOT', `${n.host}: the first diskless boot found a boot count: not a fresh install`);
    const second = await this.stage(n.host, n.mac, 'diskless reboot', new RegExp(LAB_ROOT_READY), new RegExp(LAB_ROOT_BOOTED));
    const out2 = second.node.console.output;
    await second.node.powerOff();
    const m = /netroot-root: persisted boot (\d+)/.exec(out2);
    if (!m) throw new NetrootError('E_LAB_PERSIST', `${n.host}: the second diskless boot found no boot count on its root`);
    const life: NodeLife = {
      host: n.host,
      mac: n.mac,
      ip: n.ip,
      installSeconds: inst.seconds,
      disklessSeconds: first.seconds,
      rebootSeconds: second.seconds,
      persistedBoot: Number(m[1]),
      lifeSeconds: (Date.now() - t0) / 1000,
      guest,
    };
    return life;
  }

  /**
   * up, then every node's life in parallel. By default the nodes are blank: `insert-ethers --count N`
   * runs while they power on one after another (the next once the previous is discovered, so names
   * follow power-on order, as an administrator does it); with `register` their MACs are added first.
   */
  async run(): Promise<NodeLife[]> {
    await this.up();
    if (this.o.register) {
      const added = [];
      for (let i = 0; i < this.o.nodes; i++) {
        const a = await this.addNode(i);
        this.o.onProgress?.(a.host, `added: ${a.mac} ${a.ip}, appliance compute-diskless, boot=install`);
        added.push(a);
      }
      return Promise.all(added.map((a) => this.runNode(a)));
    }
    const insert = this.insertEthers('compute-diskless', this.o.nodes, 120 * this.o.nodes);
    await insert.listening;
    const ie = insert.done;
    const lives: Promise<NodeLife>[] = [];
    // On a failure insert-ethers is left running: down() kills what runs in the lab.
    for (let i = 0; i < this.o.nodes; i++) {
      const mac = nodeMac(i);
      const at = Date.now();
      const install = this.installStage(mac, mac);
      install.catch(() => {}); // awaited in runNode; a failure before that must not be unhandled
      const n = await this.discovered(mac, 120_000);
      this.o.onProgress?.(
        n.host,
        `discovered: ${mac} → ${n.host} ${n.ip} (${((Date.now() - at) / 1000).toFixed(1)} s after power-on), volume allocated, boot=install`,
      );
      const life = this.runNode(n, { install, at });
      life.catch(() => {});
      lives.push(life);
    }
    const r = await ie;
    if (r.code !== 0) throw new NetrootError('E_LAB_DISCOVERY', `insert-ethers exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
    return Promise.all(lives);
  }

  /**
   * Golden clones (issue #20) of installed host `from`: `golden create NAME --from`, golden=NAME on
   * compute-diskless, a site role whose <firstboot> writes /var/lib/netroot-lab/own-<host>; then
   * `count` hosts (node indexes first, first+1, ...) added by MAC get a clone and boot action os
   * (no install), and each boots twice, in parallel: the first boot is personalised in the initrd
   * and runs its first-boot section once; the second finds its own file and its boot count, and no
   * clone ever sees another's file.
   */
  async goldenClones(o: { from: string; name?: string; first: number; count: number }): Promise<CloneLife[]> {
    const name = o.name ?? 'lab-golden';
    const site = join(this.stateDir, 'site-roles');
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, 'extend-compute-diskless.xml'), GOLDEN_LAB_ROLE);
    const t = Date.now();
    await this.cliOk('golden', 'create', name, '--from', o.from);
    this.o.onProgress?.('frontend', `golden volume ${name} frozen from ${o.from} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    await this.cliOk('attr', 'set', 'golden', name, '--appliance', 'compute-diskless');
    const added = [];
    for (let i = o.first; i < o.first + o.count; i++) {
      const a = await this.addNode(i);
      const hosts = JSON.parse(await this.cliOk('host', 'list', '--json')) as Array<{ name: string; bootAction?: string }>;
      const boot = hosts.find((h) => h.name === a.host)?.bootAction;
      if (boot !== 'os') throw new NetrootError('E_LAB_GOLDEN', `${a.host}: a clone of ${name} should boot os at once, its boot action is ${boot}`);
      this.o.onProgress?.(a.host, `added: ${a.mac} ${a.ip}, a clone of ${name}, boot=os (no install)`);
      added.push(a);
    }
    const lives = added.map((a) => this.cloneLife(a));
    for (const l of lives) l.catch(() => {});
    return Promise.all(lives);
  }

  private async cloneLife(n: { host: string; mac: string; ip: string }): Promise<CloneLife> {
    const boot = async (what: string) => {
      const b = await this.stage(n.host, n.mac, what, new RegExp(LAB_ROOT_READY), new RegExp(LAB_ROOT_BOOTED));
      const out = b.node.console.output;
      await b.node.powerOff();
      const own = [...out.matchAll(/netroot-root: own file (\S+)/g)].map((m) => m[1]!);
      const count = Number(/netroot-root: persisted boot (\d+)/.exec(out)?.[1] ?? 0);
      return { out, own, count, seconds: b.seconds };
    };
    const fail = (why: string) => new NetrootError('E_LAB_GOLDEN', `${n.host}: ${why}`);
    const mine = `own-${n.host}`;
    const first = await boot('clone first boot');
    if (!first.out.includes(`netroot-firstboot: personalised ${n.host} (clone `)) throw fail('the first boot was not personalised by the initrd');
    if (!first.out.includes(`netroot-firstboot: first boot of ${n.host}`)) throw fail("the first boot did not run the clone's first-boot script");
    if (first.own.join(' ') !== mine) throw fail(`the first boot lists own files [${first.own.join(' ')}], not [${mine}]`);
    const second = await boot('clone reboot');
    if (!/netroot-firstboot: clone [0-9a-f]+ of \S+ already personalised/.test(second.out)) throw fail('the reboot was personalised again');
    if (second.out.includes('netroot-firstboot: first boot of')) throw fail('the first-boot script ran again');
    if (second.own.join(' ') !== mine) throw fail(`the reboot lists own files [${second.own.join(' ')}], not [${mine}]`);
    if (second.count !== first.count + 1) throw fail(`the reboot found boot count ${second.count}, the first boot found ${first.count}`);
    return {
      ...n,
      firstSeconds: first.seconds,
      rebootSeconds: second.seconds,
      firstBootCount: first.count,
      secondBootCount: second.count,
      ownFiles: second.own,
    };
  }

  /**
   * `netroot lab up --golden`: one node installs (and is not booted: its volume is frozen as the
   * golden volume just as the installer left it), then nodes 1..N-1 boot as its clones (goldenClones).
   */
  async runGolden(): Promise<{ install: { host: string; seconds: number }; clones: CloneLife[] }> {
    if (this.o.nodes < 2) throw new NetrootError('E_LAB_NODES', '--golden needs at least 2 nodes (one to install, the rest its clones)');
    await this.up();
    const src = await this.addNode(0);
    this.o.onProgress?.(src.host, `added: ${src.mac} ${src.ip}, appliance compute-diskless, boot=install`);
    const inst = await this.installStage(src.host, src.mac);
    const code = await exitWithin(inst.node.exited, 30_000);
    await inst.node.powerOff();
    if (code === 'hung') throw new NetrootError('E_LAB_REBOOT', `${src.host}: the installer did not reboot`);
    const clones = await this.goldenClones({ from: src.host, first: 1, count: this.o.nodes - 1 });
    return { install: { host: src.host, seconds: inst.seconds }, clones };
  }

  async down(): Promise<void> {
    this.frontend?.kill('SIGTERM');
    await this.lab.down();
    this.log.info('full lab: down');
  }
}
