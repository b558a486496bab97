// `netroot kickstart HOST` — the host's kickstart to stdout (what the node fetches over HTTP).
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra } from './args.js';
import { mustHost } from './host.js';
import { KickstartService } from '../boot/kickstart.js';

export const USAGE = 'netroot kickstart HOST';

export async function kickstartCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals: p } = parse(argv, {}, USAGE);
  needPositional(p, 1, USAGE);
  noExtra(p, 1, USAGE);
  const host = await mustHost(ctx, p[0]!);
  ctx.io.out(await new KickstartService(ctx.store, ctx.config).render(host));
  return 0;
}
