// `netroot store migrate`: copies a SQLite state (netroot.db) into an empty PostgreSQL database,
// table by table with the same ids, in one transaction under the store's write lock, then counts
// every table on both sides before COMMIT: a difference rolls everything back (E_STORE_COUNT). A
// target that already holds state (anything beyond the rows its migrations seed) is refused
// (E_STORE_NOT_EMPTY) before anything is written. Both schemas are the same migration steps
// (migrations.ts, postgres-migrations.ts), so columns copy by name.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { PoolClient } from 'pg';
import { NetrootError, UserError } from '../errors.js';
import { SqliteStore } from './sqlite.js';
import type { PostgresStore } from './postgres.js';
import { STATE_TABLES } from './postgres-migrations.js';

export interface TableCount {
  table: (typeof STATE_TABLES)[number];
  rows: number;
}

/** The rows migrations 1 and 3 seed: a target holding exactly these (or fewer) is empty. */
const SEED = {
  appliances: ['compute|compute|default|compute|1', 'compute-diskless|compute|default|compute-diskless|1'],
  attributes: ['appliance|compute-diskless|diskless|true'],
};

/** Rows per INSERT (PostgreSQL allows 65,535 parameters a statement). */
const BATCH = 500;

async function assertEmpty(c: PoolClient): Promise<void> {
  const count = async (t: string) => (await c.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${t}`)).rows[0]!.n;
  const busy: string[] = [];
  for (const t of STATE_TABLES) if (t !== 'appliances' && t !== 'attributes' && (await count(t)) > 0) busy.push(t);
  const rows = async (sql: string) => (await c.query<{ k: string }>(sql)).rows.map((r) => r.k);
  const extra = (have: string[], seed: string[]) => have.some((k) => !seed.includes(k));
  if (extra(await rows("SELECT name || '|' || basename || '|' || graph || '|' || root_node || '|' || discoverable AS k FROM appliances"), SEED.appliances))
    busy.push('appliances');
  if (extra(await rows("SELECT scope || '|' || target || '|' || name || '|' || value AS k FROM attributes"), SEED.attributes)) busy.push('attributes');
  if (busy.length > 0)
    throw new UserError('E_STORE_NOT_EMPTY', `the target database already holds state (${busy.join(', ')}): migrate into an empty database`, { where: 'to' });
}

async function copyTable(src: Database.Database, c: PoolClient, table: string): Promise<void> {
  const cols = (src.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((r) => r.name);
  const list = cols.map((n) => `"${n}"`).join(', ');
  const rows = src.prepare(`SELECT ${list} FROM ${table} ORDER BY rowid`).raw().all() as unknown[][];
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    const values = chunk.map((_, r) => `(${cols.map((_, k) => `$${r * cols.length + k + 1}`).join(', ')})`).join(', ');
    await c.query(`INSERT INTO ${table} (${list}) VALUES ${values}`, chunk.flat());
  }
  // Identity columns go on after the highest copied id (a later insert must not reuse one).
  if (cols.includes('id')) await c.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE((SELECT MAX(id) FROM ${table}), 0) + 1, false)`);
}

/**
 * Copies the SQLite database at `sqlitePath` (migrated to the current schema first) into `target`
 * (connected and migrated); answers each table's row count, equal on both sides.
 */
export async function copySqliteToPostgres(sqlitePath: string, target: PostgresStore): Promise<TableCount[]> {
  if (!existsSync(sqlitePath)) throw new UserError('E_STORE_OPEN', `no SQLite state at ${sqlitePath}`, { where: 'state-dir' });
  await new SqliteStore(sqlitePath).close(); // brings an older netroot.db to the current schema
  const src = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    src.exec('BEGIN'); // one snapshot of every table (a serving netroot may be writing)
    const counts: TableCount[] = STATE_TABLES.map((table) => ({
      table,
      rows: (src.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n,
    }));
    await target.writeTransaction(async (c) => {
      await assertEmpty(c);
      // The seed rows go: the source has its own (possibly changed) appliances and attributes.
      await c.query('DELETE FROM attributes');
      await c.query('DELETE FROM appliances');
      for (const t of STATE_TABLES) await copyTable(src, c, t);
      for (const { table, rows } of counts) {
        const n = (await c.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${table}`)).rows[0]!.n;
        if (n !== rows) throw new NetrootError('E_STORE_COUNT', `${table}: ${rows} row(s) in SQLite but ${n} copied; nothing was committed`);
      }
    });
    src.exec('COMMIT');
    return counts;
  } finally {
    src.close();
  }
}
