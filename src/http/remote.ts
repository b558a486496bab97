// The client's IPv4 address as the frontend sees it (IPv4-mapped IPv6 unwrapped).
import type { Request } from 'express';

export function remoteIPv4(req: Request): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The frontend talking to itself: exactly 127.0.0.1 or ::1 (other 127/8 addresses are test nodes). */
export function isFrontendItself(addr: string): boolean {
  return addr === '::1' || addr === '127.0.0.1';
}
