import { join } from 'node:path';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore } from './sqlite.js';
export { resolveAttributes, attributeMap, configAttributes, intrinsicAttributes, type ResolvedAttribute, type AttributeSource, type FrontendFacts } from './resolve-attributes.js';

/** Opens the default store: SQLite at <stateDir>/netroot.db (created and migrated on first use). */
export function openStore(stateDir: string): Store {
  return new SqliteStore(join(stateDir, 'netroot.db'));
}
