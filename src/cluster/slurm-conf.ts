// slurm.conf from the host database (roles slurm-controller and slurm-client, issue 19):
//   - the controller is the frontend: SlurmctldHost=<frontend name>(<frontend address>), configless
//     (SlurmctldParameters=enable_configless: slurmd on the nodes fetches this file from slurmctld);
//   - one NodeName line per host with an address, CPUs and RealMemory as the node reported them
//     (host attributes `cpus`, `memory_mb`, stored by netroot.reportStatus); a host that has not
//     reported them gets Slurm's defaults (1 CPU, RealMemory 1) until it does;
//   - one partition per appliance (PartitionName=<appliance>), the first in name order Default=YES.
// Only hosts whose appliance takes the slurm-client role are listed: `slurmAppliances` (the
// appliances whose attribute slurm_client is true). Slurm 22.05 applies no change of a NodeName line
// on `scontrol reconfigure`: a node added or removed makes the controller exit ("node count has
// changed ... restart slurmctld"), new CPUs or memory are refused ("require restart of the slurmctld
// daemon"). `nodeDefinitionsOf` tells the caller whether a restart is needed instead.
// Values are checked before they are written: a name or number that would break the file's syntax
// (white space, '#', '=', a line break) is refused, never quoted around.

export interface SlurmNode {
  name: string;
  address: string;
  appliance: string;
  cpus?: number | undefined;
  memoryMb?: number | undefined;
}

export interface SlurmConfInput {
  clusterName: string;
  controller: { name: string; address: string };
  nodes: readonly SlurmNode[];
  /** Site settings (config `slurm.settings`): added after the defaults, replacing one of the same key. */
  settings?: Readonly<Record<string, string>>;
}

/** Limits of what a node may report (the largest machines Slurm runs on are far below them). */
export const MAX_CPUS = 65_536;
export const MAX_MEMORY_MB = 1 << 30;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KEY = /^[A-Z][A-Za-z]{1,63}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
// A value: no white space (Slurm splits on it), no '#' (a comment), no line break.
const VALUE = /^[^\s#]{1,1024}$/;

export class SlurmConfError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
    this.name = 'SlurmConfError';
  }
}

/** Slurm's operational defaults for a netroot cluster: munge, configless, cons_tres, Debian's paths. */
export const DEFAULT_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  AuthType: 'auth/munge',
  CredType: 'cred/munge',
  SlurmctldParameters: 'enable_configless',
  SlurmUser: 'slurm',
  StateSaveLocation: '/var/lib/slurm/slurmctld',
  SlurmdSpoolDir: '/var/lib/slurm/slurmd',
  SlurmctldPidFile: '/run/slurmctld.pid',
  SlurmdPidFile: '/run/slurmd.pid',
  SlurmctldLogFile: '/var/log/slurm/slurmctld.log',
  SlurmdLogFile: '/var/log/slurm/slurmd.log',
  ProctrackType: 'proctrack/linuxproc',
  TaskPlugin: 'task/none',
  SelectType: 'select/cons_tres',
  SelectTypeParameters: 'CR_Core_Memory',
  ReturnToService: '2',
  MpiDefault: 'none',
  SwitchType: 'switch/none',
  MailProg: '/bin/true',
});

function mustName(v: string, where: string): string {
  if (!NAME.test(v)) throw new SlurmConfError(`${JSON.stringify(v)} is not a name slurm.conf can hold`, where);
  return v;
}

function mustAddress(v: string, where: string): string {
  const m = IPV4.exec(v);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw new SlurmConfError(`${JSON.stringify(v)} is not an IPv4 address`, where);
  return v;
}

/**
 * A reported count (`cpus`, `memory_mb` attribute) → a whole number in [1, max], or undefined when
 * absent; anything else (text, a fraction, a sign, 0, past max) is refused.
 */
export function parseCount(v: string | undefined, max: number, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > max) throw new SlurmConfError(`${JSON.stringify(v)}: expected a whole number from 1 to ${max}`, where);
  return Number(v);
}

export function renderSlurmConf(input: SlurmConfInput): string {
  const cluster = mustName(input.clusterName, 'slurm.clusterName');
  if (!/^[a-z0-9_]{1,40}$/.test(cluster))
    throw new SlurmConfError(`${JSON.stringify(cluster)}: a cluster name is lower-case letters, digits and _`, 'slurm.clusterName');
  const ctl = `${mustName(input.controller.name, 'slurm.controller')}(${mustAddress(input.controller.address, 'network.frontendAddress')})`;
  const settings: Record<string, string> = { ...DEFAULT_SETTINGS };
  for (const [k, v] of Object.entries(input.settings ?? {})) {
    if (!KEY.test(k) || ['ClusterName', 'SlurmctldHost', 'NodeName', 'PartitionName', 'Include'].includes(k))
      throw new SlurmConfError(`${JSON.stringify(k)} cannot be set here (a slurm.conf key, not one netroot writes itself)`, `slurm.settings.${k}`);
    if (!VALUE.test(v)) throw new SlurmConfError(`${JSON.stringify(v)}: a value without white space or '#'`, `slurm.settings.${k}`);
    settings[k] = v;
  }
  // A node count that a reconfigure may grow to (Slurm sizes its tables by MaxNodeCount).
  const lines = [
    '# written by netroot from its host database; do not edit (netroot insert-ethers --update rewrites it)',
    `ClusterName=${cluster}`,
    `SlurmctldHost=${ctl}`,
  ];
  for (const [k, v] of Object.entries(settings)) lines.push(`${k}=${v}`);
  const nodes = [...input.nodes].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const seen = new Set<string>();
  const byAppliance = new Map<string, string[]>();
  for (const n of nodes) {
    const where = `host ${n.name}`;
    mustName(n.name, where);
    if (seen.has(n.name)) throw new SlurmConfError(`${n.name} is listed twice`, where);
    seen.add(n.name);
    const parts = [`NodeName=${n.name}`, `NodeAddr=${mustAddress(n.address, where)}`];
    if (n.cpus !== undefined) parts.push(`CPUs=${n.cpus}`);
    if (n.memoryMb !== undefined) parts.push(`RealMemory=${n.memoryMb}`);
    parts.push('State=UNKNOWN');
    lines.push(parts.join(' '));
    const list = byAppliance.get(mustName(n.appliance, where)) ?? [];
    list.push(n.name);
    byAppliance.set(n.appliance, list);
  }
  const partitions = [...byAppliance.keys()].sort();
  for (const [i, p] of partitions.entries())
    lines.push(`PartitionName=${p} Nodes=${byAppliance.get(p)!.join(',')}${i === 0 ? ' Default=YES' : ''} MaxTime=INFINITE State=UP`);
  return lines.join('\n') + '\n';
}

/** The NodeName lines of a rendered slurm.conf, sorted: a change in them needs a slurmctld restart. */
export function nodeDefinitionsOf(conf: string): string {
  return conf
    .split('\n')
    .filter((l) => l.startsWith('NodeName='))
    .sort()
    .join('\n');
}
