// `netroot power on|off|cycle|reset|soft|status HOSTLIST... [--pxe] [--parallel N] [--json]`.
// Where it runs: in this process, whether or not a frontend is running — the CLI and the frontend
// are on the same machine and share the store, ipmitool runs here as it would there, and the bound
// (--parallel, default config power.parallel = 32) holds for the whole command rather than per REST
// call. Every outcome is recorded as a 'power' event in the store (power/service.ts), which the
// frontend's event stream and dashboard read. REST `POST /api/v1/hosts/{name}/power` is the same
// service for one host, run in the frontend.
// Output: one line per host on stdout in the order named (`HOST: on|off|unknown`, or
// `HOST: FAILED CODE message`), or a JSON array with --json; a progress line on stderr when stderr
// is a terminal. Exit 0 when every host succeeded, else E_POWER_PARTIAL (exit 1) saying how many failed.
import type { CliContext } from './context.js';
import { parse, needPositional, intFlag } from './args.js';
import { json } from './output.js';
import { NetrootError, UserError } from '../errors.js';
import { expandHostlists } from './hostlist.js';
import { powerDrivers } from '../app/power.js';
import { powerHosts } from '../power/service.js';
import type { HostPowerResult, PowerProgress } from '../power/runner.js';
import { POWER_ACTIONS, type PowerAction } from '../power/types.js';

export const USAGE = `netroot power on|off|cycle|reset|soft|status HOSTLIST... [--pxe] [--parallel N] [--json]
  --pxe: before on, cycle or reset, set the next boot to PXE (netroot's boot=install or diskless boot).
  HOSTLIST: compute-0-[0-15], compute-[0-1]-[0-3], … (at most 4096 names).`;

export interface PowerCommandDeps {
  /** Whether stderr is a terminal (the progress line); default process.stderr.isTTY. */
  progressTty?: boolean;
}

export function resultLine(r: HostPowerResult): string {
  return r.ok ? `${r.host}: ${r.state}\n` : `${r.host}: FAILED ${r.code} ${r.message}\n`;
}

/** Runs `action` on hosts (names must exist), recording events; SIGINT/SIGTERM abort what is in flight. */
export async function powerNamedHosts(
  ctx: CliContext,
  hosts: readonly string[],
  action: PowerAction,
  opts: { pxe?: boolean; parallel?: number; onProgress?: (p: PowerProgress) => void } = {},
): Promise<HostPowerResult[]> {
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    return await powerHosts(ctx.store, hosts, { action, pxe: opts.pxe === true, signal: ac.signal }, powerDrivers(ctx.config), {
      parallel: opts.parallel ?? ctx.config.power.parallel,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

export async function powerCommand(ctx: CliContext, argv: string[], deps: PowerCommandDeps = {}): Promise<number> {
  const { values: v, positionals: p } = parse(argv, { pxe: { type: 'boolean' }, parallel: { type: 'string' } }, USAGE);
  needPositional(p, 2, USAGE);
  const action = p[0]!;
  if (!(POWER_ACTIONS as readonly string[]).includes(action))
    throw new UserError('E_USAGE', `unknown power action ${JSON.stringify(action)} (one of ${POWER_ACTIONS.join(', ')})\nusage: ${USAGE}`);
  const parallel = intFlag(v.parallel, 'parallel', 1, 1024);
  const names = expandHostlists(p.slice(1));
  for (const name of names) if (!(await ctx.store.hosts.get(name))) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`);
  const tty = deps.progressTty ?? process.stderr.isTTY === true;
  const progress = (x: PowerProgress) => ctx.io.err(`\rpower ${action}: ${x.done}/${x.total} done, ${x.failed} failed`);
  const results = await powerNamedHosts(ctx, names, action as PowerAction, {
    pxe: v.pxe === true,
    ...(parallel !== undefined ? { parallel } : {}),
    ...(tty ? { onProgress: progress } : {}),
  });
  if (tty) ctx.io.err('\n');
  ctx.io.out(v.json ? json(results) : results.map(resultLine).join(''));
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) throw new NetrootError('E_POWER_PARTIAL', `power ${action}: ${failed} of ${results.length} host${results.length === 1 ? '' : 's'} failed`);
  return 0;
}

/**
 * After `host set boot=install --reboot` or `insert-ethers --replace --reboot`: power-cycle each
 * host into its new boot (next boot from PXE) when it has a BMC; a host without one is named on
 * stderr and skipped. Never throws for a BMC failure: the main action already happened, and the
 * outcome is printed (and recorded as a 'power' event).
 */
export async function rebootIntoNewBoot(ctx: CliContext, hosts: readonly string[]): Promise<void> {
  const withBmc: string[] = [];
  for (const h of hosts) {
    if (await ctx.store.bmcs.get(h)) withBmc.push(h);
    else ctx.io.err(`${h} has no BMC entry: power-cycle it by hand (or set one: netroot host bmc set ${h} …)\n`);
  }
  if (withBmc.length === 0) return;
  for (const r of await powerNamedHosts(ctx, withBmc, 'cycle', { pxe: true }))
    if (r.ok) ctx.io.err(`${r.host}: power-cycled into its new boot (next boot: PXE)\n`);
    else ctx.io.err(`${r.host}: could not power-cycle it: ${r.code} ${r.message}\n`);
}
