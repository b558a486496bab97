// Loads the SO_BINDTODEVICE helper (native/bindtodevice, built by `npm run build:native`) and
// applies it to a dgram socket. See native/bindtodevice/bindtodevice.c for why it exists.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:dgram';
import { packageDir } from '../config/index.js';
import { NetrootError } from '../errors.js';

let addon: { bindToDevice(fd: number, ifname: string): void } | undefined;

function load(): { bindToDevice(fd: number, ifname: string): void } {
  if (addon) return addon;
  const path = join(packageDir(), 'native', 'bindtodevice', 'build', 'Release', 'bindtodevice.node');
  if (!existsSync(path))
    throw new NetrootError('E_DHCP_NATIVE', `the SO_BINDTODEVICE helper is not built (${path}): run npm run build:native (needs g++ and make)`, { user: true });
  addon = createRequire(import.meta.url)(path) as { bindToDevice(fd: number, ifname: string): void };
  return addon;
}

/** The file descriptor behind a bound dgram socket (Linux). */
function fdOf(socket: Socket): number {
  // The handle sits behind a symbol-keyed state object; `_handle` is a deprecated alias of it.
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym];
    if (state && typeof state === 'object' && state.handle && typeof state.handle.fd === 'number') return state.handle.fd;
  }
  throw new NetrootError('E_DHCP_NATIVE', 'cannot find the file descriptor of a dgram socket');
}

export function bindSocketToDevice(socket: Socket, ifname: string): void {
  load().bindToDevice(fdOf(socket), ifname);
}
