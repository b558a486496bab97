// `netroot servers [--all] [--json]`: the netroot servers sharing this store (issue #21), from their
// heartbeat rows: id, host name, addresses, pid, version, start, seconds since the last beat, and
// `live` or `stale` (no beat within servers.staleSeconds, on the database's clock). Without --all,
// stale rows older than one day (a server killed long ago) are left out.
import type { CliContext } from './context.js';
import { parse, noExtra } from './args.js';
import type { ServerRecord } from '../store/index.js';

export const USAGE = 'netroot servers [--all] [--json]';

/** Stale rows older than this are listed only with --all. */
const OLD_SECONDS = 86_400;

export function serverLine(s: ServerRecord): string {
  return (
    [
      s.live ? 'live ' : 'STALE',
      s.id,
      s.hostName,
      s.addresses.join(',') || '-',
      `pid=${s.pid}`,
      `version=${s.version}`,
      `started=${s.startedAt}`,
      `beat=${s.ageSeconds.toFixed(1)}s ago`,
    ].join('  ') + '\n'
  );
}

export async function serversCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(argv, { all: { type: 'boolean' } }, USAGE);
  noExtra(p, 0, USAGE);
  const store = await ctx.openStore();
  const all = await store.servers.list(ctx.config.servers.staleSeconds);
  const shown = v.all ? all : all.filter((s) => s.live || s.ageSeconds <= OLD_SECONDS);
  if (v.json) {
    ctx.io.out(JSON.stringify(shown) + '\n');
    return 0;
  }
  if (shown.length === 0) ctx.io.out('no netroot server has registered in this store (is `netroot serve` running?)\n');
  for (const s of shown) ctx.io.out(serverLine(s));
  return 0;
}
