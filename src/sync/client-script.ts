// The node-side client (node/netroot-sync.sh), found from src/ (tsx) or from dist/ (built), so the
// HTTP route can serve it to a node's installer (the sync-client role fetches it from
// /sync/v1/client.sh) and tests can run the very file a node runs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetrootError } from '../errors.js';

export function clientScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'node', 'netroot-sync.sh'), join(here, '..', '..', 'src', 'sync', 'node', 'netroot-sync.sh')]) if (existsSync(p)) return p;
  throw new NetrootError('E_SYNC_KEY', `netroot-sync.sh not found near ${here}`);
}

let cached: Buffer | undefined;

export function clientScript(): Buffer {
  cached ??= readFileSync(clientScriptPath());
  return cached;
}
