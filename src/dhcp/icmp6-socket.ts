// Loads the raw ICMPv6 socket helper (native/icmp6, built by `npm run build:native`). See
// native/icmp6/icmp6.c for what each socket is set up to do.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '../config/index.js';
import { NetrootError } from '../errors.js';

/**
 * The I/O a router-advertisement responder needs; the native addon, or a fake in tests. Errors are
 * thrown with code E_ICMP6 and, for a failed system call, `errno` (its name, e.g. EAFNOSUPPORT).
 */
export interface Icmp6Io {
  /**
   * Opens a socket on one interface that receives ICMPv6 type icmpType only (default 133, Router
   * Solicitation: it also joins ff02::2); onPacket gets each message without the IPv6 header.
   */
  open(ifname: string, onPacket: (data: Buffer, source: string, hopLimit: number) => void, icmpType?: number): number;
  /** Sends one ICMPv6 message out of that socket's interface (hop limit 255, kernel checksum). */
  send(id: number, data: Buffer, destination: string): void;
  close(id: number): void;
}

let addon: Icmp6Io | undefined;

export function nativeIcmp6(): Icmp6Io {
  if (addon) return addon;
  const path = join(packageDir(), 'native', 'icmp6', 'build', 'Release', 'icmp6.node');
  if (!existsSync(path))
    throw new NetrootError(
      'E_RA_NATIVE',
      `the ICMPv6 socket helper is not built (${path}): run npm run build:native (needs g++ and make), or set dhcp.routerAdvertisement=false`,
    );
  addon = createRequire(import.meta.url)(path) as Icmp6Io;
  return addon;
}
