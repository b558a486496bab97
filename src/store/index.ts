import { join } from 'node:path';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore, DEFAULT_MAX_EVENTS, type SqliteStoreOptions } from './sqlite.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres.js';
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
