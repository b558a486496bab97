// `netroot sync users [--min-uid N --max-uid N] [--dry-run]` (Rocks' 411): collects the passwd, group
// and shadow entries of the UID range, the munge key and the hosts list, signs them and stores them
// as the payload every node fetches (GET /sync/v1/payload). Nodes poll every sync.pollSeconds with a
// conditional request and fetch at boot, so publishing is the notification: no node is contacted.
// Prints counts and the serial, never a key or a password hash.
import type { CliContext } from './context.js';
import { parse, badVerb, noExtra, intFlag } from './args.js';
import { json } from './output.js';
import { UserError } from '../errors.js';
import { publish, SyncKeys } from '../sync/index.js';
import { join } from 'node:path';

export const USAGE = 'netroot sync users [--min-uid N] [--max-uid N] [--dry-run] [--json]';

export async function syncCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'users') throw badVerb('sync', verb, USAGE);
  const { values: v, positionals: p } = parse(rest, { 'min-uid': { type: 'string' }, 'max-uid': { type: 'string' }, 'dry-run': { type: 'boolean' } }, USAGE);
  noExtra(p, 0, USAGE);
  const c = ctx.config;
  const minUid = intFlag(v['min-uid'], 'min-uid', 1, 4294967294) ?? c.sync.minUid;
  const maxUid = intFlag(v['max-uid'], 'max-uid', 1, 4294967294) ?? c.sync.maxUid;
  if (minUid > maxUid) throw new UserError('E_USAGE', `--min-uid ${minUid} is above --max-uid ${maxUid}\nusage: ${USAGE}`);
  const r = await publish({
    stateDir: c.stateDir,
    keys: new SyncKeys(c.stateDir),
    etcDir: c.sync.etcDir,
    mungeKeyPath: c.sync.mungeKeyPath,
    hostsPath: join(c.stateDir, 'hosts'),
    minUid,
    maxUid,
    maxPayloadBytes: c.sync.maxPayloadBytes,
    dryRun: v['dry-run'] === true,
  });
  if (v.json) {
    ctx.io.out(json(r));
    return 0;
  }
  for (const n of r.notes) ctx.io.err(`netroot: note: ${n}\n`);
  const what = `${r.users.length} users (${r.users.join(', ') || 'none'}), ${r.groups} groups, ${r.shadow} shadow entries in ${minUid}-${maxUid}; ${r.hosts} hosts; munge key ${r.mungeKey ? 'yes' : 'no'}; ${r.bytes} bytes signed`;
  ctx.io.out(
    r.dryRun
      ? `dry run: serial ${r.serial} would carry ${what}\n`
      : `published serial ${r.serial}: ${what}\nnodes fetch it within sync.pollSeconds (${c.sync.pollSeconds} s) and at boot\n`,
  );
  return 0;
}
