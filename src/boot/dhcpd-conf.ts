// What netroot's DHCP server hands out, written as an ISC dhcpd.conf (`netroot report dhcp`), so an
// admin can diff it or migrate to dhcpd. The boot file per client comes from the same functions the
// Booter's dhcpAnswer uses (firmwareOf, firstStageFile, bootBaseUrl): a PXE ROM gets the iPXE binary
// for its option 93 over TFTP, a UEFI HTTP-boot client (vendor class HTTPClient...) the same file as
// a URL, iPXE (user class "iPXE" or option 175) its host's script URL. Only known interfaces with an
// address get a boot file, as in netroot; the optional pool (dhcp.poolStart..poolEnd) serves unknown
// machines an address and nothing to boot. Every string written is quoted by `quote`.
import type { Config } from '../config/index.js';
import { UserError } from '../errors.js';
import type { Host } from '../store/index.js';
import { formatIPv4, netmaskOf, parseCidr } from '../net/address.js';
import { interfaceName } from '../discovery/plugins/hosts-file.js';
import { firmwareOf, firstStageFile } from './machine.js';
import { bootBaseUrl } from './booter.js';

/** Option 93 values the boot chain knows (src/boot/machine.ts); any other gets no boot file. */
const KNOWN_ARCHES = [0, 6, 7, 9, 10, 11, 16, 19] as const;

/** A dhcpd string literal: backslash and double quote escaped; a control character is refused, naming `field`. */
function quote(s: string, field: string): string {
  if (/[\x00-\x1f\x7f]/.test(s))
    throw new UserError('E_CONFIG_INVALID', `${JSON.stringify(s)} has a control character: it cannot be written in a dhcpd.conf`, { where: field });
  return `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"`;
}

/** `subnet N netmask M` for a CIDR network. */
function subnetOf(cidr: string): string {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`dhcpd.conf: not a network: ${JSON.stringify(cidr)}`);
  return `subnet ${formatIPv4(c.network)} netmask ${netmaskOf(cidr)}`;
}

/** `if option client-arch = A or ... { filename F; } elsif ...` for one way of fetching the first stage. */
function archChain(indent: string, fileFor: (f: string) => string, uefiIpxe: Config['boot']['uefiIpxe']): string[] {
  const byFile = new Map<string, number[]>();
  for (const a of KNOWN_ARCHES) {
    const f = firstStageFile(firmwareOf(a), uefiIpxe);
    if (f) byFile.set(f, [...(byFile.get(f) ?? []), a]);
  }
  const out: string[] = [];
  // No option 93 at all is an old BIOS ROM (firmwareOf(null) = bios).
  const bios = firstStageFile(firmwareOf(null), uefiIpxe);
  if (bios) out.push(`${indent}if not exists client-arch {`, `${indent}  filename ${quote(fileFor(bios), 'boot.uefiIpxe')};`);
  for (const [f, arches] of byFile) {
    out.push(
      `${indent}${out.length ? '} elsif' : 'if'} ${arches.map((a) => `option client-arch = ${a}`).join(' or ')} {`,
      `${indent}  filename ${quote(fileFor(f), 'boot.uefiIpxe')};`,
    );
  }
  if (out.length) out.push(`${indent}}`);
  return out;
}

export function renderDhcpdConf(hosts: readonly Host[], config: Config): string {
  const n = config.network;
  const d = config.dhcp;
  const base = bootBaseUrl(config);
  const lines: string[] = [
    '# ISC dhcpd.conf equivalent of what netroot serves (written by `netroot report dhcp`).',
    'authoritative;',
    'ddns-update-style none;',
    'option client-arch code 93 = unsigned integer 16;',
    '# iPXE marks its requests with option 175 (its own settings) or user class "iPXE".',
    'option ipxe-encap code 175 = string;',
    `option domain-name ${quote(n.domain, 'network.domain')};`,
  ];
  if (n.dns.length) lines.push(`option domain-name-servers ${n.dns.join(', ')};`);
  if (n.router) lines.push(`option routers ${n.router};`);
  lines.push(`default-lease-time ${d.leaseSeconds};`, `max-lease-time ${d.leaseSeconds};`, `next-server ${n.frontendAddress};`, '');

  // One declaration per network an address lives on (dhcpd answers only on declared subnets).
  const nets = new Set([n.privateNetwork]);
  for (const h of hosts) for (const i of h.interfaces) if (i.ip && i.subnet) nets.add(i.subnet);
  for (const net of nets) {
    lines.push(`${subnetOf(net)} {`);
    if (net === n.privateNetwork && d.poolStart && d.poolEnd) {
      lines.push(
        '  # Machines netroot does not know yet: a short lease, no boot file.',
        '  pool {',
        '    deny known-clients;',
        `    range ${d.poolStart} ${d.poolEnd};`,
        `    default-lease-time ${d.poolLeaseSeconds};`,
        `    max-lease-time ${d.poolLeaseSeconds};`,
        '  }',
      );
    }
    lines.push('}', '');
  }

  lines.push('# Known interfaces: fixed address, host name, and the first stage their firmware needs.', 'group {');
  lines.push('  if exists ipxe-encap or option user-class = "iPXE" {', "    # iPXE: its host's own script URL (in each host below).");
  lines.push('  } elsif substring(option vendor-class-identifier, 0, 10) = "HTTPClient" {');
  lines.push(...archChain('    ', (f) => `${base}/boot/files/${f}`, config.boot.uefiIpxe));
  lines.push('  } else {');
  lines.push(...archChain('    ', (f) => f, config.boot.uefiIpxe));
  lines.push('  }');
  for (const h of hosts) {
    h.interfaces.forEach((i, k) => {
      if (!i.ip) {
        lines.push(`  # ${interfaceName(h, k)} (${i.mac}) has no address: netroot does not answer it.`);
        return;
      }
      lines.push(
        `  host ${interfaceName(h, k)} {`,
        `    hardware ethernet ${i.mac};`,
        `    fixed-address ${i.ip};`,
        `    option host-name ${quote(h.name, 'host')};`,
        `    if exists ipxe-encap or option user-class = "iPXE" {`,
        `      filename ${quote(`${base}/boot/ipxe/${i.mac}`, 'mac')};`,
        '    }',
        '  }',
      );
    });
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
