import { join } from 'node:path';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { PostgresStore } from './postgres.js';
import { storeUrlKind } from './postgres-errors.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore, DEFAULT_MAX_EVENTS, type SqliteStoreOptions } from './sqlite.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres.js';
export { safeUrl, storeUrlKind } from './postgres-errors.js';
export {
  resolveAttributes,
  attributeMap,
  configAttributes,
  intrinsicAttributes,
  type ResolvedAttribute,
  type AttributeSource,
  type FrontendFacts,
} from './resolve-attributes.js';

/**
 * Opens the default store: SQLite at <stateDir>/netroot.db (created and migrated on first use; the
 * directory 0700 and the database 0600 when they are created). Pass `{ maxEvents:
 * config.events.maxRows }` from a loaded config.
 */
export function openStore(stateDir: string, opts: SqliteStoreOptions = {}): Store {
  return new SqliteStore(join(stateDir, 'netroot.db'), opts);
}

/** The settings that choose and open the store (a loaded config has them; store/ imports no config/). */
export interface StoreSettings {
  stateDir: string;
  events: { maxRows: number };
  store: { url: string; poolSize: number; connectTimeoutMs: number; readCacheEntries?: number };
}

/**
 * The configured store, without waiting for it: SQLite at <stateDir>/netroot.db when store.url is
 * empty (opened and migrated here), else a PostgresStore that connects and migrates on its first
 * call (an unreachable server: that call fails with E_STORE_UNREACHABLE).
 */
export function storeFromConfig(c: StoreSettings): Store {
  if (storeUrlKind(c.store.url) === 'sqlite') return openStore(c.stateDir, { maxEvents: c.events.maxRows });
  return new PostgresStore(c.store.url, {
    maxEvents: c.events.maxRows,
    poolSize: c.store.poolSize,
    connectTimeoutMs: c.store.connectTimeoutMs,
    ...(c.store.readCacheEntries === undefined ? {} : { readCacheEntries: c.store.readCacheEntries }),
  });
}

/** The configured store, connected and migrated: `netroot serve` and the CLI fail here, at start, when PostgreSQL cannot be reached (E_STORE_UNREACHABLE naming host:port, never the password). */
export async function openStoreFromConfig(c: StoreSettings): Promise<Store> {
  const store = storeFromConfig(c);
  try {
    await whenReady(store);
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}

/** Resolves once the store is connected and migrated (at once for SQLite, opened in its constructor). */
export async function whenReady(store: Store): Promise<void> {
  if (store instanceof PostgresStore) await store.ready();
}
