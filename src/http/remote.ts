// The client's IPv4 address as the frontend sees it (IPv4-mapped IPv6 unwrapped).
import type { Request } from 'express';
import { UserError } from '../errors.js';

export function remoteIPv4(req: Request): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The frontend talking to itself: exactly 127.0.0.1 or ::1 (other 127/8 addresses are test nodes). */
export function isFrontendItself(addr: string): boolean {
  return addr === '::1' || addr === '127.0.0.1';
}

/** One of the host's own interface addresses. */
export function isHostItself(host: { interfaces: ReadonlyArray<{ ip: string | null }> }, addr: string): boolean {
  return host.interfaces.some((i) => i.ip === addr);
}

/**
 * Throws E_FORBIDDEN unless addr is the host itself or the frontend: what a node fetches for its
 * boot (kickstart, iPXE script, overlay) may carry its CHAP secret or install token.
 */
export function onlyToHostItself(host: { name: string; interfaces: ReadonlyArray<{ ip: string | null }> }, addr: string, what: string): void {
  if (!isHostItself(host, addr) && !isFrontendItself(addr)) throw new UserError('E_FORBIDDEN', `${what} of ${host.name} is served only to ${host.name} itself`);
}
