// The peer boot stack inside a lab namespace — the reference netroot is measured against:
// dnsmasq (DHCP + TFTP) hands PXE ROMs iPXE and hands iPXE a script; tgt serves a file-backed LUN.
//
// DHCP decisions (dnsmasq tags, mutually exclusive so their order cannot matter):
//   - option 175 present      → iPXE (QEMU's e1000 ROM is iPXE, BIOS and EFI alike): `boot.ipxe`, a TFTP script;
//   - no 175, arch 7 (RFC 4578 option 93, x64 UEFI) → ipxe.efi;
//   - no 175, otherwise        → undionly.kpxe (chainloads iPXE through the ROM's UNDI).
// Firmware quirk (Debian's 2019 iPXE, EFI stub): the kernel only receives the initrd when the
// command line names it (`initrd=<name>`), so the script always adds it; harmless under BIOS.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { ip } from './netns.js';
import { NetrootError } from '../errors.js';

export const IPXE_BIOS = '/usr/lib/ipxe/undionly.kpxe';
export const IPXE_EFI = '/usr/lib/ipxe/ipxe.efi';

export interface PeerLabOptions {
  /** Kernel and initrd files to serve (copied into the TFTP root). */
  kernel: string;
  initrd: string;
  /** More initrds loaded after `initrd` (e.g. a node's overlay), in order. */
  moreInitrds?: string[];
  /**
   * Serve the kernel and initrds over HTTP (busybox httpd on port 8081 in the lab namespace)
   * instead of TFTP: the peer at its best for tens of megabytes (TFTP is one round trip per block).
   */
  http?: boolean;
  /** Fixed addresses (dnsmasq dhcp-host), so a test can reach a node by its address. */
  hosts?: Array<{ mac: string; ip: string }>;
  /** Kernel command line; `initrd=<name>` is added. */
  cmdline: string;
  /** First and last address dnsmasq leases; default .100–.200 of the lab subnet. */
  range?: [string, string];
  /** A file to export as LUN 1 of `iqn`; tgt is started only when given. */
  iscsi?: { iqn: string; backingFile: string };
  /**
   * The peer at its best (default true): dnsmasq sends router advertisements (`--enable-ra`,
   * ra-only on a ULA prefix of br0), which ends iPXE's IPv6 configurator at once instead of its
   * 15.75 s of solicitations (netroot's own responder: src/dhcp/ra-responder.ts); tgt's login
   * values are raised to netroot's offer (TGT_TUNED) instead of tgt's conservative defaults.
   * false: both as shipped.
   */
  best?: boolean;
  /** tgtd's control socket number; default derived from the pid (two peer labs in one process need distinct ones). */
  tgtControlPort?: number;
}

/** tgt login values matched to the embedded target's offer (src/iscsi/text-keys.ts DEFAULT_LIMITS). */
export const TGT_TUNED: ReadonlyArray<[string, string]> = [
  ['MaxRecvDataSegmentLength', '262144'],
  ['MaxXmitDataSegmentLength', '262144'],
  ['FirstBurstLength', '262144'],
  ['MaxBurstLength', '16776192'],
  ['InitialR2T', 'No'],
  ['ImmediateData', 'Yes'],
  ['MaxOutstandingR2T', '8'],
];

/** The ULA prefix dnsmasq advertises in a peer lab (only its own namespace sees it). */
const PEER_RA_ADDRESS = 'fd00:77::1/64';

function output(child: ChildProcess, keep = 8000): () => string {
  let text = '';
  const add = (d: Buffer) => (text = (text + d.toString()).slice(-keep));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

async function until(what: string, check: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new NetrootError('E_LAB_PEER', `${what} not ready in ${timeoutMs / 1000} s:\n${why()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class PeerLab {
  readonly tftpRoot: string;
  /** tgtd's control socket number (tgtadm -C): unix sockets are not per network namespace, so each lab has its own. */
  readonly tgtControlPort: number;
  private dnsmasqLog: () => string = () => '';
  private tgtLog: () => string = () => '';

  constructor(
    private readonly lab: Lab,
    private readonly opts: PeerLabOptions,
  ) {
    this.tftpRoot = join(lab.workDir, 'peer-tftp');
    this.tgtControlPort = opts.tgtControlPort ?? 1000 + (process.pid % 20000);
  }

  get logs(): string {
    return `--- dnsmasq\n${this.dnsmasqLog()}\n--- tgtd\n${this.tgtLog()}`;
  }

  async start(): Promise<void> {
    for (const f of ['dnsmasq', IPXE_BIOS, IPXE_EFI]) {
      const missing = f.startsWith('/') ? !existsSync(f) : spawnSync('which', [f]).status !== 0;
      if (missing) throw new NetrootError('E_LAB_PEER', `${f} missing: apt-get install dnsmasq-base ipxe`, { user: true });
    }
    mkdirSync(this.tftpRoot, { recursive: true });
    copyFileSync(IPXE_BIOS, join(this.tftpRoot, 'undionly.kpxe'));
    copyFileSync(IPXE_EFI, join(this.tftpRoot, 'ipxe.efi'));
    copyFileSync(this.opts.kernel, join(this.tftpRoot, 'vmlinuz'));
    const initrds = [this.opts.initrd, ...(this.opts.moreInitrds ?? [])].map((f, i) => {
      const name = i === 0 ? 'initrd.img' : `initrd${i}.img`;
      copyFileSync(f, join(this.tftpRoot, name));
      return name;
    });
    const fe = this.lab.frontendAddress;
    const base = this.opts.http ? `http://${fe}:8081` : `tftp://${fe}`;
    writeFileSync(
      join(this.tftpRoot, 'boot.ipxe'),
      `#!ipxe\nkernel ${base}/vmlinuz ${initrds.map((n) => `initrd=${n}`).join(' ')} ${this.opts.cmdline}\n${initrds.map((n) => `initrd ${base}/${n}\n`).join('')}boot\n`,
    );
    if (this.opts.http) {
      const httpd = this.lab.spawnInNamespace('busybox', ['httpd', '-f', '-p', `${fe}:8081`, '-h', this.tftpRoot]);
      const log = output(httpd);
      await new Promise((r) => setTimeout(r, 300));
      if (httpd.exitCode !== null) throw new NetrootError('E_LAB_PEER', `busybox httpd exited ${httpd.exitCode}: ${log()}`);
    }
    const net = fe.split('.').slice(0, 3).join('.');
    const [lo, hi] = this.opts.range ?? [`${net}.100`, `${net}.200`];
    const leases = join(this.lab.workDir, 'dnsmasq.leases');
    writeFileSync(leases, '');
    const best = this.opts.best ?? true;
    if (best) ip('-n', this.lab.namespace, '-6', 'addr', 'add', PEER_RA_ADDRESS, 'dev', 'br0', 'nodad');
    const dnsmasq = this.lab.spawnInNamespace('dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      '--pid-file=',
      '--interface=br0',
      '--bind-interfaces',
      '--log-dhcp',
      '--dhcp-authoritative',
      `--dhcp-range=${lo},${hi},1h`,
      `--dhcp-leasefile=${leases}`,
      ...(this.opts.hosts ?? []).map((h) => `--dhcp-host=${h.mac},${h.ip}`),
      '--enable-tftp',
      `--tftp-root=${this.tftpRoot}`,
      '--dhcp-match=set:ipxe,175',
      '--dhcp-match=set:efi64,option:client-arch,7',
      '--dhcp-boot=tag:ipxe,boot.ipxe',
      '--dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi',
      '--dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe',
      ...(best ? ['--enable-ra', '--dhcp-range=::,constructor:br0,ra-only'] : []),
    ]);
    this.dnsmasqLog = output(dnsmasq);
    await until('dnsmasq', () => /started, version/.test(this.dnsmasqLog()) || dnsmasq.exitCode !== null, 10_000, this.dnsmasqLog);
    if (dnsmasq.exitCode !== null) throw new NetrootError('E_LAB_PEER', `dnsmasq exited ${dnsmasq.exitCode}:\n${this.dnsmasqLog()}`);
    if (this.opts.iscsi) await this.startTgt(this.opts.iscsi);
  }

  private tgtadm(...args: string[]): string {
    const r = spawnSync('tgtadm', ['-C', String(this.tgtControlPort), '--lld', 'iscsi', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new NetrootError('E_LAB_PEER', `tgtadm ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  private async startTgt(o: { iqn: string; backingFile: string }): Promise<void> {
    if (spawnSync('which', ['tgtd']).status !== 0) throw new NetrootError('E_LAB_PEER', 'tgtd missing: apt-get install tgt', { user: true });
    // tgtd killed by lab.down() leaves its control socket files behind.
    const sock = `/var/run/tgtd/socket.${this.tgtControlPort}`;
    this.lab.addCleanup(() => {
      rmSync(sock, { force: true });
      rmSync(`${sock}.lock`, { force: true });
    });
    const tgtd = this.lab.spawnInNamespace('tgtd', ['-f', '-C', String(this.tgtControlPort), '--iscsi', `portal=${this.lab.frontendAddress}:3260`]);
    this.tgtLog = output(tgtd);
    await until(
      'tgtd',
      () => tgtd.exitCode !== null || spawnSync('tgtadm', ['-C', String(this.tgtControlPort), '--op', 'show', '--mode', 'sys']).status === 0,
      10_000,
      this.tgtLog,
    );
    if (tgtd.exitCode !== null) throw new NetrootError('E_LAB_PEER', `tgtd exited ${tgtd.exitCode}:\n${this.tgtLog()}`);
    this.tgtadm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', o.iqn);
    this.tgtadm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', o.backingFile);
    if (this.opts.best ?? true)
      for (const [name, value] of TGT_TUNED) this.tgtadm('--op', 'update', '--mode', 'target', '--tid', '1', '--name', name, '--value', value);
    this.tgtadm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
  }
}
