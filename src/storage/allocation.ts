// Which storage node gets a new node's volume: the one with the most free capacity that fits the
// requested size; ties go to the node whose name sorts first, so the choice is deterministic.
// A node that does not answer capacity() is skipped; when none fits the error says why:
// E_STORAGE_FULL (some node answered, none had room) or E_STORAGE_DOWN (no node answered).
import { NetrootError, UserError } from '../errors.js';
import type { StorageBackend } from './backend.js';
import { SECTOR } from './spec.js';

export interface StorageNode {
  /** A stable name (host name of the storage node, or "local"). */
  name: string;
  backend: StorageBackend;
}

export interface NodeCapacity {
  name: string;
  totalBytes: number;
  freeBytes: number;
}

export interface Placement {
  node: StorageNode;
  capacity: NodeCapacity;
  /** Every node's answer, for logs and `netroot storage status`. */
  considered: Array<NodeCapacity | { name: string; error: string }>;
}

/** Host attribute with the per-appliance volume size (e.g. "16G", "500GiB", "1T", "1073741824"). */
export const VOLUME_SIZE_ATTRIBUTE = 'iscsi_volume_size';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Parses "16G" / "16GiB" / "16 GB" (binary multiples; a bare number is bytes). Result is a multiple of 512. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new UserError('E_STORAGE_BAD_SIZE', `size ${JSON.stringify(text)} is not a number with an optional K/M/G/T/P suffix`);
  const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  const rounded = Math.ceil(bytes / SECTOR) * SECTOR;
  if (!Number.isSafeInteger(rounded) || rounded <= 0) throw new UserError('E_STORAGE_BAD_SIZE', `size ${JSON.stringify(text)} is out of range`);
  return rounded;
}

/**
 * The volume size for a host from its resolved attributes (host > appliance > global, resolved by
 * the caller): `iscsi_volume_size` if set, else `defaultGiB`.
 */
export function volumeSizeFor(attributes: Readonly<Record<string, string | undefined>>, defaultGiB: number): number {
  const v = attributes[VOLUME_SIZE_ATTRIBUTE];
  if (v !== undefined && v.trim() !== '') return parseSize(v);
  return parseSize(`${defaultGiB}G`);
}

export async function pickStorageNode(nodes: readonly StorageNode[], sizeBytes: number): Promise<Placement> {
  if (nodes.length === 0) throw new NetrootError('E_STORAGE_DOWN', 'no storage nodes are configured');
  const names = new Set<string>();
  for (const n of nodes) {
    if (names.has(n.name)) throw new UserError('E_STORAGE_BAD_SPEC', `storage node ${n.name} is listed twice`);
    names.add(n.name);
  }
  const answers = await Promise.all(
    nodes.map(async (node) => {
      try {
        const c = await node.backend.capacity();
        return { node, cap: { name: node.name, totalBytes: c.totalBytes, freeBytes: c.freeBytes } };
      } catch (e) {
        return { node, error: e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e) };
      }
    }),
  );
  const considered = answers.map((a) => ('cap' in a && a.cap ? a.cap : { name: a.node.name, error: a.error ?? 'unknown' }));
  const up = answers.filter((a): a is { node: StorageNode; cap: NodeCapacity } => 'cap' in a && a.cap !== undefined);
  if (up.length === 0)
    throw new NetrootError(
      'E_STORAGE_DOWN',
      `no storage node answered: ${considered.map((c) => ('error' in c ? `${c.name} (${c.error})` : c.name)).join(', ')}`,
    );
  const fits = up.filter((a) => a.cap.freeBytes >= sizeBytes);
  if (fits.length === 0) {
    const down = answers.length - up.length;
    throw new UserError(
      'E_STORAGE_FULL',
      `no storage node has ${sizeBytes} bytes free (largest free: ${Math.max(...up.map((a) => a.cap.freeBytes))} bytes${down ? `; ${down} node(s) down` : ''})`,
    );
  }
  fits.sort((a, b) => b.cap.freeBytes - a.cap.freeBytes || (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));
  const best = fits[0]!;
  return { node: best.node, capacity: best.cap, considered };
}
