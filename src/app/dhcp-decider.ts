// Adapts the boot decision (Booter.dhcpAnswer) to the DHCP server's DhcpDecider interface.
import type { Booter } from '../boot/booter.js';
import type { DhcpDecider } from '../dhcp/index.js';

export function dhcpDecider(booter: Booter): DhcpDecider {
  return {
    async answer(info) {
      const a = await booter.dhcpAnswer({
        mac: info.mac,
        clientArch: info.arch,
        isIpxe: info.isIpxe,
        httpBoot: (info.vendorClass ?? '').startsWith('HTTPClient'),
      });
      if (!a) return null;
      return {
        ip: a.ip,
        subnetMask: a.subnetMask,
        router: a.router,
        dns: a.dns,
        domain: a.domain,
        hostname: a.hostname,
        leaseSeconds: a.leaseSeconds,
        nextServer: a.nextServer,
        bootFile: a.bootFile,
      };
    },
  };
}
