// Attribute resolution for one host, with Rocks precedence and a SOURCE letter per value:
//   D (shipped defaults) < C (derived from the frontend's configuration) < G (global) < O (os)
//   < A (appliance) < H (host) < I (intrinsic facts of the host: hostname, rack, rank, ...).
// Intrinsic facts win: an attribute can never rename a host or move its address.
import type { Repos, Host, Appliance, Attribute } from './types.js';
import { formatIPv4, netmaskOf, parseCidr } from '../net/address.js';

export type AttributeSource = 'D' | 'C' | 'G' | 'O' | 'A' | 'H' | 'I';
export interface ResolvedAttribute {
  name: string;
  value: string;
  source: AttributeSource;
}

export interface FrontendFacts {
  frontendAddress: string;
  privateNetwork: string; // CIDR
  domain: string;
  httpPort: number;
  iscsiPort: number;
}

/**
 * Derived from the frontend's configuration (source C). Only facts netroot makes true: the Rocks
 * names of services netroot does not run (DNS, NTP, syslog, the public side) stay unset, so a
 * node file that uses one fails naming it instead of pointing nodes at nothing.
 */
export function configAttributes(f: FrontendFacts): Record<string, string> {
  const net = parseCidr(f.privateNetwork);
  return {
    // Rocks' node files build URLs as http://&Kickstart_PrivateKickstartHost;/...: host[:port].
    Kickstart_PrivateKickstartHost: f.httpPort === 80 ? f.frontendAddress : `${f.frontendAddress}:${f.httpPort}`,
    ...(net ? { Kickstart_PrivateBroadcast: formatIPv4((net.network | ~net.mask) >>> 0) } : {}),
    Kickstart_PrivateAddress: f.frontendAddress,
    Kickstart_PrivateNetwork: f.privateNetwork.split('/')[0]!,
    Kickstart_PrivateNetmask: netmaskOf(f.privateNetwork),
    Kickstart_PrivateNetmaskCIDR: f.privateNetwork.split('/')[1]!,
    Kickstart_PrivateDNSDomain: f.domain,
    Kickstart_PrivateHostname: 'frontend',
    netroot_http_port: String(f.httpPort),
    netroot_iscsi_port: String(f.iscsiPort),
  };
}

export function intrinsicAttributes(h: Host, a: Appliance): Record<string, string> {
  const primary = h.interfaces[0];
  return {
    hostname: h.name,
    rack: String(h.rack),
    rank: String(h.rank),
    appliance: h.appliance,
    membership: h.appliance,
    basename: a.basename,
    rootnode: a.rootNode,
    graph: a.graph,
    os: h.os,
    arch: h.arch,
    hostaddr: primary?.ip ?? '',
    hostmac: primary?.mac ?? '',
    bootaction: h.bootAction,
  };
}

/** A fixed collation ('en'), not the process locale: the listing must not change with LANG. */
const byName = new Intl.Collator('en').compare;

/**
 * Every attribute of `host`, most specific value winning, sorted by name.
 * `defaults` are the shipped defaults (the profile's DEFAULT_GLOBAL_ATTRIBUTES).
 */
export async function resolveAttributes(
  repos: Repos,
  host: Host,
  facts: FrontendFacts,
  defaults: Readonly<Record<string, string>> = {},
): Promise<ResolvedAttribute[]> {
  // The five reads at once (PostgreSQL: each on its own pooled connection, one round trip apiece;
  // a transaction's repositories still run them one after another), applied in precedence order.
  const [appliance, global, os, app, own] = await Promise.all([
    repos.appliances.get(host.appliance),
    repos.attributes.list({ scope: 'global', target: '' }),
    repos.attributes.list({ scope: 'os', target: host.os }),
    repos.attributes.list({ scope: 'appliance', target: host.appliance }),
    repos.attributes.list({ scope: 'host', target: host.name }),
  ]);
  if (!appliance) throw new Error(`host ${host.name} refers to a missing appliance ${host.appliance}`);
  const out = new Map<string, ResolvedAttribute>();
  const put = (src: AttributeSource, values: Record<string, string>) => {
    for (const [name, value] of Object.entries(values)) out.set(name, { name, value, source: src });
  };
  const level = (rows: readonly Attribute[], src: AttributeSource) => put(src, Object.fromEntries(rows.map((r) => [r.name, r.value])));
  put('D', { ...defaults });
  put('C', configAttributes(facts));
  level(global, 'G');
  level(os, 'O');
  level(app, 'A');
  level(own, 'H');
  put('I', intrinsicAttributes(host, appliance));
  return [...out.values()].sort((x, y) => byName(x.name, y.name));
}

export function attributeMap(list: readonly ResolvedAttribute[]): Record<string, string> {
  return Object.fromEntries(list.map((a) => [a.name, a.value]));
}
