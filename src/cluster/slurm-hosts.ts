// The hosts slurm.conf lists, from the store: those whose attribute slurm_client is true (the cond
// of the slurm-client role in graphs/default/cluster.xml, read with the profile's own truth rules,
// the most specific of host, appliance, os and global winning), each with the CPUs and memory it
// reported (host attributes `cpus`, `memory_mb`, written by netroot.reportStatus). A host whose
// reported value is malformed is listed without it, and the problem is returned for the log.
import { evaluateCond } from '../profile/index.js';
import type { Attribute, Host, Repos } from '../store/index.js';
import { MAX_CPUS, MAX_MEMORY_MB, parseCount, SlurmConfError, type SlurmNode } from './slurm-conf.js';

export const SLURM_CLIENT_ATTRIBUTE = 'slurm_client';

function attributeAt(rows: readonly Attribute[], scope: Attribute['scope'], target: string, name: string): string | undefined {
  return rows.find((r) => r.scope === scope && r.target === target && r.name === name)?.value;
}

/** `without`: a host being removed (its row is still there while the `removed` hooks run). */
export async function slurmNodes(repos: Repos, without: ReadonlySet<string> = new Set()): Promise<{ nodes: SlurmNode[]; problems: string[] }> {
  const rows = await repos.attributes.list();
  const nodes: SlurmNode[] = [];
  const problems: string[] = [];
  const hosts: Host[] = (await repos.hosts.list()).filter((h) => !without.has(h.name));
  for (const h of hosts) {
    const v =
      attributeAt(rows, 'host', h.name, SLURM_CLIENT_ATTRIBUTE) ??
      attributeAt(rows, 'appliance', h.appliance, SLURM_CLIENT_ATTRIBUTE) ??
      attributeAt(rows, 'os', h.os, SLURM_CLIENT_ATTRIBUTE) ??
      attributeAt(rows, 'global', '', SLURM_CLIENT_ATTRIBUTE);
    if (v === undefined || !evaluateCond(SLURM_CLIENT_ATTRIBUTE, { [SLURM_CLIENT_ATTRIBUTE]: v })) continue;
    const address = h.interfaces.find((i) => i.ip)?.ip;
    if (!address) {
      problems.push(`${h.name} has no address yet: not in slurm.conf`);
      continue;
    }
    const count = (name: string, max: number): number | undefined => {
      try {
        return parseCount(attributeAt(rows, 'host', h.name, name), max, `${h.name} ${name}`);
      } catch (e) {
        if (!(e instanceof SlurmConfError)) throw e;
        problems.push(`${e.where}: ${e.message}`);
        return undefined;
      }
    };
    nodes.push({ name: h.name, address, appliance: h.appliance, cpus: count('cpus', MAX_CPUS), memoryMb: count('memory_mb', MAX_MEMORY_MB) });
  }
  return { nodes, problems };
}
