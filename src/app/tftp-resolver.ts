// What netroot's TFTP server serves: per-node files rendered on request by the Booter (the same
// renderers the HTTP boot routes use), then files under the boot root (tftp.root).
//   pxelinux.cfg/01-<mac with dashes>   pxelinux config (pxelinux.0 asks for this first)
//   grub/grub.cfg-01-<mac>              GRUB config
//   ipxe/<mac>, ipxe/01-<mac>           the node's iPXE script
// A known node's rendered file may carry its CHAP secret (sanboot): like the HTTP routes, it is
// served only to one of the node's own addresses or to the frontend itself.
import type { Booter } from '../boot/booter.js';
import type { Repos } from '../store/index.js';
import { normalizeMac } from '../net/address.js';
import { onlyToHostItself } from '../http/remote.js';
import { bufferFile, chainResolvers, rootResolver, type TftpResolver } from '../tftp/index.js';

const RENDERED: [RegExp, (b: Booter, mac: string) => Promise<string>][] = [
  [/^pxelinux\.cfg\/01-([0-9a-fA-F-]{17})$/, (b, m) => b.pxelinuxConfig(m)],
  [/^grub\/grub\.cfg-01-([0-9a-fA-F:-]{17})$/, (b, m) => b.grubConfig(m)],
  [/^ipxe\/(?:01-)?([0-9a-fA-F:-]{17})$/, (b, m) => b.ipxeScript(m)],
];

export function renderedResolver(repos: Repos, booter: Booter): TftpResolver {
  return async (requested, client) => {
    const path = requested.replace(/^\/+/, '');
    for (const [re, render] of RENDERED) {
      const mac = normalizeMac(re.exec(path)?.[1] ?? '');
      if (!mac) continue;
      const host = await repos.hosts.byMac(mac);
      if (host) onlyToHostItself(host, client.address, 'boot configuration');
      return bufferFile(Buffer.from(await render(booter, mac)));
    }
    return null;
  };
}

export function tftpResolver(repos: Repos, booter: Booter, bootRoot: string): TftpResolver {
  return chainResolvers(renderedResolver(repos, booter), rootResolver(bootRoot));
}
