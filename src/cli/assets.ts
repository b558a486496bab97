// `netroot assets import [--kernel PATH]` — places iPXE, pxelinux and the diskless kernel under the boot root.
import type { CliContext } from './context.js';
import { parse, noExtra, badVerb } from './args.js';
import { json, table } from './output.js';
import { UserError } from '../errors.js';
import { statOperatorPath } from '../operator-file.js';
import { importAssets } from '../boot/assets.js';

export const USAGE = 'netroot assets import [--kernel /boot/vmlinuz-VERSION] [--system-root DIR] [--json]';

export async function assetsCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'import') throw badVerb('assets', verb, USAGE);
  const { values: v, positionals: p } = parse(rest, { kernel: { type: 'string' }, 'system-root': { type: 'string' } }, USAGE);
  noExtra(p, 0, USAGE);
  // A kernel the operator named must be a readable file (a missing default kernel is only reported).
  if (v.kernel !== undefined && !statOperatorPath(v.kernel, '--kernel').isFile())
    throw new UserError('E_FILE_UNREADABLE', `${v.kernel}: not a regular file`, { where: '--kernel' });
  const r = await importAssets(ctx.config.tftp.root, {
    ...(v.kernel ? { kernel: v.kernel } : {}),
    ...(v['system-root'] ? { systemRoot: v['system-root'] } : {}),
  });
  if (v.json) ctx.io.out(json(r));
  else {
    ctx.io.out(
      table(
        ['FILE', 'FROM'],
        r.copied.map((c) => [c.dest, c.from]),
      ),
    );
    for (const m of r.missing) ctx.io.out(`optional, not found: ${m.dest} (${m.why}; package ${m.package})\n`);
  }
  return 0;
}
