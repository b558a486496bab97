// Who a client address is, for log lines (TFTP transfers, RPC calls, iSCSI logins): the host whose
// interface has that IP, and that interface's MAC. Log lines only: never an access decision (an
// address can be spoofed on the provisioning network; access checks live with each route).
import type { Repos } from '../store/index.js';

export interface Identity {
  host: string;
  mac: string | null;
}

/** Looks `address` up in the store; null when no host has it. Never rejects. */
export function whoIs(repos: Pick<Repos, 'hosts'>): (address: string) => Promise<Identity | null> {
  return async (address) => {
    try {
      const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
      const host = await repos.hosts.byIp(ip);
      if (!host) return null;
      return { host: host.name, mac: host.interfaces.find((i) => i.ip === ip)?.mac ?? null };
    } catch {
      return null;
    }
  };
}
