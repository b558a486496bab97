// Runs a store contract test against both backends: SQLite (a temporary state directory) and
// PostgreSQL (a fresh database on the test file's server, test/helpers/postgres.ts). The test body
// gets `open()`, which opens (another) store on the same state — a second process or server — and
// every store opened is closed after the body. Under CI=true the PostgreSQL variant never skips.
import { test } from 'node:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore, PostgresStore, type Store } from '../../src/store/index.js';
import { tempStateDir } from './tmp.js';
import { pgSkip, usePostgres } from './postgres.js';

export type BackendName = 'sqlite' | 'postgres';

export interface Backend {
  readonly name: BackendName;
  /** The SQLite file's path or the PostgreSQL URL (for a child process or `store migrate`). */
  readonly target: string;
  /** A store on this test's state (migrated, connected). */
  open(opts?: { maxEvents?: number }): Promise<Store>;
}

export const BACKENDS: readonly BackendName[] = ['sqlite', 'postgres'];

/** Opens a store on a target from Backend.target. */
export async function openTarget(target: string, opts: { maxEvents?: number } = {}): Promise<Store> {
  if (!target.startsWith('postgres')) return new SqliteStore(target, opts);
  const s = new PostgresStore(target, opts);
  await s.ready();
  return s;
}

/** `test(\`${title} [sqlite]\`)` and `test(\`${title} [postgres]\`)` running body on each. */
export function forEachBackend(title: string, body: (b: Backend) => Promise<void>, only: readonly BackendName[] = BACKENDS): void {
  const server = usePostgres();
  for (const name of only) {
    test(`${title} [${name}]`, { skip: name === 'postgres' ? pgSkip : false }, async () => {
      const dir = name === 'sqlite' ? tempStateDir('nrt-store-') : undefined;
      const target = dir ? join(dir, 'netroot.db') : await (await server()).freshDatabase();
      const opened: Store[] = [];
      try {
        await body({
          name,
          target,
          async open(opts) {
            const s = await openTarget(target, opts);
            opened.push(s);
            return s;
          },
        });
      } finally {
        for (const s of opened) await s.close().catch(() => undefined);
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
