// `netroot serve` — runs the frontend in the foreground until SIGINT/SIGTERM.
import type { CliContext } from './context.js';
import { parse, noExtra } from './args.js';
import { createFrontend } from '../app/frontend.js';
import { untilStopSignal } from './until-signal.js';

export const USAGE = 'netroot serve [--state-dir DIR] [--config FILE] [--set key=value]...';

export async function serveCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const { positionals: p } = parse(argv, {}, USAGE);
  noExtra(p, 0, USAGE);
  const frontend = createFrontend(ctx.config, { logger: ctx.logger() });
  await frontend.start();
  const tftp = frontend.tftp();
  const parts = [
    `http on ${ctx.config.http.host}:${frontend.httpPort()}`,
    ...(tftp ? [`tftp on ${ctx.config.tftp.host}:${tftp.port()}`] : []),
    ...(frontend.storage.target ? [`iscsi on ${ctx.config.iscsi.host}:${frontend.storage.iscsiPort()}`] : []),
  ];
  ctx.io.out(`netroot: serving ${ctx.config.stateDir} — ${parts.join(', ')}\n`);
  await untilStopSignal();
  await frontend.stop();
  return 0;
}
