// Kernel command line for an iSCSI root, in dracut's conventions (dracut.cmdline(7), 95iscsi), so
// the same arguments work with our initrd and with a dracut-built one:
//   root=UUID=<fs uuid> netroot=iscsi:<server>::<port>:<lun>:<target iqn>
//   rd.iscsi.initiator=<initiator iqn> [ifname=<iface>:<mac>] ip=<iface>:dhcp rd.neednet=1 [console=...]
// With the node's MAC, <iface> is bound to it (dracut's ifname=): distributions rename NICs
// (eth0 → ens3) before dracut configures them, so a kernel name like eth0 would name nothing.
// The root path is RFC 4173 (§5): iscsi:<servername>:<protocol>:<port>:<LUN>:<targetname>, an
// IPv6 server in brackets, protocol empty (= 6, TCP), LUN in hexadecimal.
// The root's session gets the timers Red Hat documents for an iSCSI root (Storage Administration
// Guide, "iSCSI root"): no NOP-Out pings (a guest stalled for seconds — a busy hypervisor, TCG —
// would take its own late timers for a dead target and drop the root's connection) and a long
// replacement_timeout, so I/O waits for the session to come back instead of failing the root:
//   rd.iscsi.param=node.session.timeo.replacement_timeout=86400
//   rd.iscsi.param=node.conn[0].timeo.noop_out_interval=0 rd.iscsi.param=node.conn[0].timeo.noop_out_timeout=0
// A CHAP secret NEVER goes on the command line (/proc/cmdline is world-readable): it travels in
// the per-node overlay (etc/netroot/node.conf, mode 0600).
import { UserError } from '../errors.js';
import { parseIPv4 } from '../net/address.js';
import { isDnsName } from '../validate/hostname.js';
import { validateIqn } from '../validate/iscsi-name.js';

export interface NodeBootInfo {
  hostname: string;
  initiatorIqn: string;
  targetIqn: string;
  /** IPv4 address, IPv6 address (without brackets) or DNS name of the iSCSI portal. */
  portal: string;
  port: number;
  lun: number;
  chapUser?: string | undefined;
  chapSecret?: string | undefined;
  /** UUID of the root file system (what `blkid` reports). */
  rootUuid: string;
  /** NIC to configure in the initrd (e.g. bootnet); absent = the first one that gets a lease. */
  interface?: string | undefined;
  /** The boot NIC's MAC: binds `interface` to it (ifname=<interface>:<mac>). */
  mac?: string | undefined;
  /**
   * A golden clone's id (issue #20): set, the overlay personalises the root at its first boot
   * (etc/netroot/personalise.sh), once per id. Absent: an installed node, nothing to personalise.
   */
  cloneId?: string | undefined;
  /** The role's <firstboot> sections (shell), run once by the clone's own OS after personalisation. */
  firstboot?: string | undefined;
}

export interface KernelArgsOptions {
  /** e.g. "ttyS0,115200"; emitted as console=<value>. */
  console?: string | undefined;
}

const E = 'E_NODE_BOOT_INFO';
const bad = (field: string, why: string) => new UserError(E, `${field} ${why}`);

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** Kernel NIC names: dracut's ifname= must not take one (it would race the kernel's own naming). */
const KERNEL_IFNAME = /^eth[0-9]+$/;
/** CHAP names and secrets: printable ASCII without space or quote-like surprises for iscsistart's argv. */
const CHAP = /^[\x21-\x7e]{1,255}$/;
const CONSOLE = /^[A-Za-z0-9,._-]{1,64}$/;
const CLONE_ID = /^[0-9a-f]{8,64}$/;

/** An iSCSI name in the strict form netroot generates (src/validate/iscsi-name.ts). */
export function isIscsiName(v: string): boolean {
  return validateIqn(v).length === 0;
}

export function isPortal(v: string): boolean {
  if (parseIPv4(v) !== null) return true;
  if (v.includes(':')) return IPV6.test(v) && v.length <= 45 && (v.match(/::/g)?.length ?? 0) <= 1;
  return isDnsName(v) && !/^[0-9.]+$/.test(v); // all-numeric and not an IPv4 address: neither
}

/** Checks every field; throws UserError E_NODE_BOOT_INFO naming the first bad one (never its secret value). */
export function validateNodeBootInfo(n: NodeBootInfo): NodeBootInfo {
  if (!isDnsName(n.hostname)) throw bad('hostname', `${JSON.stringify(n.hostname)} is not a host name`);
  if (!isIscsiName(n.initiatorIqn)) throw bad('initiatorIqn', `${JSON.stringify(n.initiatorIqn)} is not an iSCSI name`);
  if (!isIscsiName(n.targetIqn)) throw bad('targetIqn', `${JSON.stringify(n.targetIqn)} is not an iSCSI name`);
  if (!isPortal(n.portal)) throw bad('portal', `${JSON.stringify(n.portal)} is not an address or host name`);
  if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535) throw bad('port', `${n.port} is not a TCP port`);
  if (!Number.isInteger(n.lun) || n.lun < 0 || n.lun > 16383) throw bad('lun', `${n.lun} is outside 0..16383`);
  if (!UUID.test(n.rootUuid)) throw bad('rootUuid', `${JSON.stringify(n.rootUuid)} is not a file system UUID`);
  if (n.interface !== undefined && !IFNAME.test(n.interface)) throw bad('interface', `${JSON.stringify(n.interface)} is not an interface name`);
  if (n.mac !== undefined) {
    if (!MAC.test(n.mac)) throw bad('mac', `${JSON.stringify(n.mac)} is not a lower-case MAC address`);
    if (n.interface === undefined) throw bad('mac', 'needs an interface name to bind');
    if (KERNEL_IFNAME.test(n.interface))
      throw bad('interface', `${JSON.stringify(n.interface)} is a kernel name; a name bound to a MAC must not look like eth<N> (use e.g. bootnet)`);
  }
  if (n.cloneId !== undefined && !CLONE_ID.test(n.cloneId)) throw bad('cloneId', `${JSON.stringify(n.cloneId)} is not 8-64 hex digits`);
  if (n.firstboot?.includes('\0')) throw bad('firstboot', 'contains a NUL byte');
  const hasUser = n.chapUser !== undefined && n.chapUser !== '';
  const hasSecret = n.chapSecret !== undefined && n.chapSecret !== '';
  if (hasUser !== hasSecret) throw bad('chapUser/chapSecret', 'must be given together');
  if (hasUser && !CHAP.test(n.chapUser ?? '')) throw bad('chapUser', 'must be 1..255 printable ASCII characters without spaces');
  if (hasSecret && !CHAP.test(n.chapSecret ?? '')) throw bad('chapSecret', 'must be 1..255 printable ASCII characters without spaces');
  return n;
}

/**
 * LUN as RFC 4173 writes it: hexadecimal, the first 16-bit level of the SAM LUN structure, leading
 * zeros and empty trailing levels dropped (LUN 1 → "1", LUN 26 → "1a"). LUNs above 255 use the flat
 * space addressing method (0x4000 | lun). dracut reads the field as written; for LUNs 0..9 both
 * readings agree, which is what tgt/LIO/our target hand out.
 */
export function formatLun(lun: number): string {
  if (!Number.isInteger(lun) || lun < 0 || lun > 16383) throw bad('lun', `${lun} is outside 0..16383`);
  return (lun < 256 ? lun : 0x4000 | lun).toString(16);
}

/** Reads the LUN field: empty → 0; "1a"; or up to four dash-separated 16-bit hex levels ("0001-0000-0000-0000"). */
export function parseLun(field: string): number {
  if (field === '') return 0;
  const levels = field.split('-');
  if (levels.length > 4 || levels.some((l) => !/^[0-9A-Fa-f]{1,4}$/.test(l))) throw new UserError('E_NETROOT_ARG', `bad LUN ${JSON.stringify(field)}`);
  if (levels.slice(1).some((l) => parseInt(l, 16) !== 0)) throw new UserError('E_NETROOT_ARG', `multi-level LUN ${JSON.stringify(field)} is not supported`);
  const first = parseInt(levels[0] ?? '0', 16);
  switch (first >> 14) {
    case 0: // peripheral device addressing: bus in bits 8..13, LUN in the low byte
      if ((first & 0x3f00) !== 0) throw new UserError('E_NETROOT_ARG', `LUN ${JSON.stringify(field)} addresses a bus other than 0`);
      return first & 0xff;
    case 1: // flat space addressing
      return first & 0x3fff;
    default:
      throw new UserError('E_NETROOT_ARG', `LUN ${JSON.stringify(field)} uses an addressing method we do not support`);
  }
}

function server(portal: string): string {
  return portal.includes(':') ? `[${portal}]` : portal;
}

/** The RFC 4173 root path for a node, without credentials. */
export function rootPath(n: Pick<NodeBootInfo, 'portal' | 'port' | 'lun' | 'targetIqn'>): string {
  return `iscsi:${server(n.portal)}::${n.port}:${formatLun(n.lun)}:${n.targetIqn}`;
}

/** open-iscsi parameters for a root session (dracut rd.iscsi.param=, iscsistart -P). */
export const ROOT_SESSION_PARAMS: readonly string[] = [
  'node.session.timeo.replacement_timeout=86400',
  'node.conn[0].timeo.noop_out_interval=0',
  'node.conn[0].timeo.noop_out_timeout=0',
];

/** The node's kernel arguments. Never contains the CHAP user or secret. */
export function kernelArgs(node: NodeBootInfo, opts: KernelArgsOptions = {}): string {
  const n = validateNodeBootInfo(node);
  const args = [
    `root=UUID=${n.rootUuid.toLowerCase()}`,
    `netroot=${rootPath(n)}`,
    `rd.iscsi.initiator=${n.initiatorIqn}`,
    ...ROOT_SESSION_PARAMS.map((p) => `rd.iscsi.param=${p}`),
    ...(n.interface && n.mac ? [`ifname=${n.interface}:${n.mac}`] : []),
    n.interface ? `ip=${n.interface}:dhcp` : 'ip=dhcp',
    'rd.neednet=1',
  ];
  if (opts.console !== undefined) {
    if (!CONSOLE.test(opts.console)) throw bad('console', `${JSON.stringify(opts.console)} is not a console device`);
    args.push(`console=${opts.console}`);
  }
  return args.join(' ');
}

export interface NetrootArg {
  server: string;
  /** Empty or "6" (TCP); kept as written. */
  protocol: string;
  port: number;
  lun: number;
  targetIqn: string;
  username?: string;
  password?: string;
  inUsername?: string;
  inPassword?: string;
  /** dracut extension: iscsi:<server>:<proto>:<port>:<iface>:<netdev>:<lun>:<iqn>. */
  ifaceName?: string;
  netdevName?: string;
}

const argError = (why: string) => new UserError('E_NETROOT_ARG', `netroot: ${why}`);

/**
 * Parses `netroot=iscsi:[user:pass[:inuser:inpass]@]<server>:<proto>:<port>:<lun>:<target>` the way
 * dracut (modules.d/95iscsi, net-lib.sh) reads it: credentials are whatever precedes the first `@`
 * when four `:` follow it; a server in brackets is IPv6; the target is the text from the last
 * `:iqn.`/`:eui.`/`:naa.` on (names contain `:`), and between port and LUN dracut allows an iface
 * name and a netdev name. Port defaults to 3260, LUN to 0. Accepts a whole command line (takes
 * the last netroot=, or root=iscsi:, which dracut prefers), a `netroot=...` word or the bare value.
 */
export function parseNetrootArg(input: string): NetrootArg {
  let value = input.trim();
  if (/\s/.test(value) || /^(netroot|root)=/.test(value)) {
    const words = value.split(/\s+/);
    const pick = (key: string) =>
      words
        .filter((w) => w.startsWith(`${key}=`))
        .map((w) => w.slice(key.length + 1))
        .pop();
    const root = pick('root');
    const netroot = pick('netroot');
    const chosen = root?.startsWith('iscsi:') ? root : netroot;
    if (chosen === undefined) throw argError('no netroot= or root=iscsi: argument');
    value = chosen;
  }
  if (!value.startsWith('iscsi:')) throw argError(`${JSON.stringify(value.slice(0, 40))} is not an iscsi: root path`);
  let v = value.slice('iscsi:'.length);
  const out: Partial<NetrootArg> = {};

  const at = v.indexOf('@');
  if (at >= 0 && (v.slice(at + 1).match(/:/g)?.length ?? 0) >= 4) {
    const auth = v.slice(0, at);
    v = v.slice(at + 1);
    if (auth !== '') {
      const parts = auth.split(':');
      if (parts.length > 4) throw argError('too many fields in the credentials');
      [out.username, out.password, out.inUsername, out.inPassword] = parts;
      for (const k of ['username', 'password', 'inUsername', 'inPassword'] as const) if (out[k] === undefined) delete out[k];
    }
  }

  if (v.startsWith('[')) {
    const close = v.indexOf(']:');
    if (close < 0) throw argError('unterminated [IPv6] server');
    out.server = v.slice(1, close);
    v = v.slice(close + 2);
  } else {
    const colon = v.indexOf(':');
    if (colon < 0) throw argError('missing fields after the server');
    out.server = v.slice(0, colon);
    v = v.slice(colon + 1);
  }

  let target: string | undefined;
  // The target is the text from the last ":iqn." (else ":eui.", else ":naa.") on, as in dracut.
  for (const prefix of [':iqn.', ':eui.', ':naa.']) {
    const idx = v.lastIndexOf(prefix);
    if (idx >= 0) {
      target = v.slice(idx + 1);
      v = v.slice(0, idx);
      break;
    }
  }
  const fields = v.split(':');
  out.protocol = fields.shift() ?? '';
  const port = fields.shift() ?? '';
  if (target !== undefined) {
    if (fields.length === 3) out.ifaceName = fields.shift();
    if (fields.length === 2) out.netdevName = fields.shift();
    if (fields.length !== 1) throw argError('unexpected fields between port and target');
    out.lun = parseLun(fields[0] ?? '');
  } else {
    // No iqn./eui./naa. name: RFC 4173 positions, the rest is the target name.
    if (fields.length < 2) throw argError('target name is missing');
    out.lun = parseLun(fields.shift() ?? '');
    target = fields.join(':');
  }
  if (!target) throw argError('target name is missing');
  if (out.protocol !== '' && out.protocol !== '6') throw argError(`protocol ${JSON.stringify(out.protocol)} is not TCP (6)`);
  if (port !== '' && !/^[0-9]{1,5}$/.test(port)) throw argError(`bad port ${JSON.stringify(port)}`);
  out.port = port === '' ? 3260 : Number(port);
  if (out.port < 1 || out.port > 65535) throw argError(`port ${out.port} is out of range`);
  if (out.server === '') throw argError('server is missing');
  out.targetIqn = target;
  return out as NetrootArg;
}
