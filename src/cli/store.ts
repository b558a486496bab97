// `netroot store migrate --to postgres://…`: copies this state directory's SQLite database into an
// empty PostgreSQL database (src/store/copy-to-postgres.ts) and prints each table's row count,
// checked on both sides. The URL's password is shown masked; it may also come from PGPASSWORD.
import { join } from 'node:path';
import type { CliContext } from './context.js';
import { parse, noExtra, badVerb } from './args.js';
import { json, table } from './output.js';
import { UserError } from '../errors.js';
import { PostgresStore, safeUrl, storeUrlKind } from '../store/index.js';
import { copySqliteToPostgres } from '../store/copy-to-postgres.js';

export const USAGE = `netroot store migrate --to postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE [--json]
  Copies <state-dir>/netroot.db (hosts and interfaces, appliances, attributes, boot records,
  install tokens, BMCs, events) into an empty PostgreSQL database in one transaction, checks every
  table's row count and prints it. A database that already holds state is refused. Without a
  password in the URL, PGPASSWORD is used (the URL on a command line is visible to other users).
  Then set store.url to the same URL.`;

export async function storeCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'migrate') throw badVerb('store', verb, USAGE);
  const { values: v, positionals: p } = parse(rest, { to: { type: 'string' } }, USAGE);
  noExtra(p, 0, USAGE);
  const url = v.to;
  if (!url) throw new UserError('E_USAGE', `--to is required\nusage: ${USAGE}`, { where: 'to' });
  if (storeUrlKind(url) !== 'postgres') throw new UserError('E_STORE_URL', '--to must be a postgres:// URL', { where: 'to' });
  const source = join(ctx.config.stateDir, 'netroot.db');
  const target = new PostgresStore(url, { maxEvents: ctx.config.events.maxRows, poolSize: 1, connectTimeoutMs: ctx.config.store.connectTimeoutMs });
  try {
    await target.ready();
    const counts = await copySqliteToPostgres(source, target);
    const to = safeUrl(url);
    ctx.io.out(
      v.json
        ? json({ from: source, to, tables: counts })
        : `copied ${source} to ${to}; every count checked\n${table(
            ['TABLE', 'ROWS'],
            counts.map((c) => [c.table, String(c.rows)]),
          )}set store.url to use it\n`,
    );
    return 0;
  } finally {
    await target.close();
  }
}
