// `netroot kickstart HOST` — the host's kickstart to stdout (what the node fetches over HTTP).
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra } from './args.js';
import { mustHost } from './host.js';
import { KickstartService } from '../boot/kickstart.js';
import { UserError } from '../errors.js';

export const USAGE = 'netroot kickstart HOST';

export async function kickstartCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { values: v, positionals: p } = parse(argv, {}, USAGE);
  // A kickstart is a document: --json is refused, not silently ignored (as `report`).
  if (v.json) throw new UserError('E_USAGE', `kickstart prints the kickstart text: --json is not supported\nusage: ${USAGE}`);
  needPositional(p, 1, USAGE);
  noExtra(p, 1, USAGE);
  const host = await mustHost(ctx, p[0]!);
  ctx.io.out(await new KickstartService(ctx.store, ctx.config).render(host));
  return 0;
}
