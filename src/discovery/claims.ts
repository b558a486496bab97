// Claims in the store held by one process while it does work other servers must not repeat
// (issue #21: several servers on one database): a volume allocation (iscsi-allocation's
// `iscsi_allocating`), a host's add (host-service's `netroot_adding`). A claim is a host attribute
// whose value is `<claim id>`, and ` server=<id>` when a `netroot serve` took it (its row in the
// servers table). Taken and checked under the store's write lock. A server killed mid-way leaves its
// claims: once its heartbeat is older than servers.staleSeconds on the DATABASE's clock, or its row
// is gone, they are abandoned and another server may take them over. A CLI process's claim names no
// server and never expires.
import type { Repos } from '../store/index.js';

/**
 * Host attribute held while a server runs a new host's plugins (host-service.ts). Here, in this leaf,
 * because src/boot reads it too: a host that has it is still being added, and its boot script says
 * "ask again" rather than boot action `local` (which its plugins have not replaced yet).
 */
export const ADDING_ATTRIBUTE = 'netroot_adding';

/** The claim value this process writes: a fresh id, and its server id when it is a server. */
export function claimValue(id: string, serverId: string | undefined): string {
  return serverId ? `${id} server=${serverId}` : id;
}

/** The server a claim value names (null: a CLI process's claim, or a value of no known form). */
export function claimServer(value: string): string | null {
  return /^\S+ server=(\S{1,200})$/.exec(value)?.[1] ?? null;
}

/**
 * Whether a held claim was abandoned: it names a server whose heartbeat is stale (older than
 * staleSeconds on the database's clock) or whose row is gone. Read in the caller's transaction, under
 * the write lock, so a claim judged abandoned cannot be renewed before it is taken over.
 */
export async function abandonedClaim(tx: Repos, value: string, staleSeconds: number): Promise<{ server: string; ageSeconds: number | null } | null> {
  const server = claimServer(value);
  if (server === null) return null;
  const row = (await tx.servers.list(staleSeconds)).find((s) => s.id === server);
  if (row?.live) return null;
  return { server, ageSeconds: row ? row.ageSeconds : null };
}
