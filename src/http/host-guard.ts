// The Host-header check for secret-bearing pages (DNS rebinding). A browser on the frontend that
// opens an attacker's page, whose name then resolves to 127.0.0.1, reaches us from 127.0.0.1 — "the
// frontend itself" to remote.ts — and could read a kickstart or a sanboot script with a node's CHAP
// secret. What gives it away is the Host header: the browser sends the attacker's name.
//
// Contract: a request for a page under SECRET_PAGES is refused with 421 E_MISDIRECTED unless its
// Host header (port removed, case and a trailing dot ignored) is
//   - absent (not a browser: HTTP/1.0 clients, some boot loaders),
//   - an IP literal, IPv4 dotted quad or [IPv6] — nodes use the frontend's address
//     (network.frontendAddress in every URL netroot renders), the CLI and tests 127.0.0.1,
//   - `localhost`,
//   - this machine's host name (os.hostname() and its first label) or one of `names`.
// Other paths are not affected: /healthz, /metrics, /RPC2 (answers carry no secret), the
// token-guarded /api/v1, and /boot/files (kernels, initrds, root tarballs: no secret, and an operator
// may point Kickstart_LiveImage at a name like frontend.<domain> from netroot's own hosts file).
// A new page that carries a secret must be added here.
import type { RequestHandler } from 'express';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { UserError } from '../errors.js';

/**
 * Pages that carry a CHAP secret or an install token (each with everything below it): kickstarts,
 * iPXE/pxelinux/GRUB scripts (sanboot: CHAP), node overlays (CHAP), the sync payload (munge key).
 */
export const SECRET_PAGES: readonly string[] = ['/install/kickstart', '/boot/ipxe', '/boot/pxelinux.cfg', '/boot/grub', '/boot/node', '/sync/v1/payload'];

export interface HostGuardOptions {
  /** Further names of the frontend (e.g. its FQDN when os.hostname() is the short one). */
  names?: readonly string[];
}

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The host part of a Host header value, or null when it is malformed. */
export function hostOf(header: string): string | null {
  const h = header.trim();
  if (h.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(h);
    return m ? `[${m[1]!.toLowerCase()}]` : null;
  }
  const m = /^([^:]+)(?::\d{1,5})?$/.exec(h);
  return m ? bare(m[1]!) : null;
}

/** Whether a Host header value names this frontend (see the contract above). */
export function isOwnHost(header: string | undefined, names: ReadonlySet<string>): boolean {
  if (header === undefined) return true;
  const host = hostOf(header);
  if (host === null || host === '') return false;
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6;
  return isIP(host) === 4 || host === 'localhost' || names.has(host);
}

function ownNames(extra: readonly string[]): Set<string> {
  const h = bare(hostname());
  return new Set([h, h.split('.')[0]!, ...extra.map(bare)].filter((n) => n !== ''));
}

export function hostGuard(opts: HostGuardOptions = {}): RequestHandler {
  const names = ownNames(opts.names ?? []);
  return (req, _res, next) => {
    // Express matches routes without regard to case: so does this check.
    const path = req.path.toLowerCase();
    if (SECRET_PAGES.some((t) => path === t || path.startsWith(t + '/')) && !isOwnHost(req.headers.host, names)) {
      const shown = JSON.stringify(String(req.headers.host).slice(0, 100));
      throw new UserError('E_MISDIRECTED', `${req.path} is served only under the frontend's own address or name, not ${shown}`);
    }
    next();
  };
}
