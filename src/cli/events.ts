// `netroot events [--host H] [--kind K] [--last N] [--follow] [--json]`: the store's events log
// (discoveries, host changes, kickstarts, installs), the newest N (default 50) oldest first, one line
// each: time, kind, host, mac, detail. Detail values under secret-named keys are redacted
// (src/log/logger.ts `redact`) in both forms; anything that is not printable ASCII is JSON-quoted, so
// a node's text cannot drive the terminal. `--follow` then prints new events as they come, polling
// the store, until SIGINT/SIGTERM (exit 0).
import type { CliContext } from './context.js';
import { parse, noExtra, intFlag } from './args.js';
import { untilStopSignal } from './until-signal.js';
import { UserError } from '../errors.js';
import { redact } from '../log/logger.js';
import type { EventFilter, StoredEvent } from '../store/index.js';

export const USAGE = 'netroot events [--host H] [--kind K] [--last N] [--follow] [--json]';

/** The store answers at most this many rows per list (src/store EventFilter). */
export const MAX_LAST = 10_000;
export const DEFAULT_LAST = 50;
/** Detail longer than this is cut (with …) in the one-line form; --json prints it whole. */
const DETAIL_CHARS = 200;
const KIND = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface EventsDeps {
  /** Time between polls of the store with --follow. */
  pollMs: number;
  /** Resolves when --follow should end (the first SIGINT/SIGTERM). */
  stop: () => Promise<unknown>;
}

const DEFAULT_DEPS: EventsDeps = { pollMs: 1000, stop: untilStopSignal };

/** A value for a one-line display: bare when it is plain printable ASCII, JSON-quoted otherwise. */
function shown(v: unknown): string {
  if (typeof v === 'string' && /^[\x21-\x7e]+$/.test(v) && !/["=]/.test(v)) return v;
  return JSON.stringify(v) ?? 'undefined';
}

export function eventLine(e: StoredEvent): string {
  const detail = Object.entries(redact(e.detail) as Record<string, unknown>)
    .map(([k, v]) => `${shown(k)}=${shown(v)}`)
    .join(' ');
  const cut = detail.length > DETAIL_CHARS ? detail.slice(0, DETAIL_CHARS - 1) + '…' : detail;
  return [shown(e.at), shown(e.kind), e.host === null ? '-' : shown(e.host), e.mac === null ? '-' : shown(e.mac), cut].join('  ').trimEnd() + '\n';
}

export function eventJson(e: StoredEvent): string {
  return JSON.stringify({ ...e, detail: redact(e.detail) }) + '\n';
}

export async function eventsCommand(ctx: CliContext, argv: string[], deps: EventsDeps = DEFAULT_DEPS): Promise<number> {
  const { values: v, positionals: p } = parse(
    argv,
    { host: { type: 'string' }, kind: { type: 'string' }, last: { type: 'string' }, follow: { type: 'boolean' } },
    USAGE,
  );
  noExtra(p, 0, USAGE);
  const last = intFlag(v.last, 'last', 1, MAX_LAST) ?? DEFAULT_LAST;
  if (v.kind !== undefined && !KIND.test(v.kind))
    throw new UserError('E_USAGE', `--kind: expected an event kind like host.added (letters, digits, _ . : -; at most 64), got ${JSON.stringify(v.kind)}`);
  const filter: EventFilter = {};
  if (v.kind !== undefined) filter.kind = v.kind;
  if (v.host !== undefined) {
    // A removed host keeps its events: a name is refused only when neither a host nor an event has it.
    if (!(await ctx.store.hosts.get(v.host)) && (await ctx.store.events.list({ host: v.host, limit: 1 })).length === 0) {
      throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(v.host)} (no such host and no events for it)`, { where: 'host' });
    }
    filter.host = v.host;
  }
  const print = (events: StoredEvent[]): number => {
    for (const e of events) ctx.io.out(v.json ? eventJson(e) : eventLine(e));
    return events.at(-1)?.id ?? 0;
  };
  let sinceId = print(await ctx.store.events.list({ ...filter, last: true, limit: last }));
  if (!v.follow) return 0;

  let stopped = false;
  const stop = deps.stop().then(() => {
    stopped = true;
  });
  while (!stopped) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stop, new Promise((resolve) => (timer = setTimeout(resolve, deps.pollMs)))]);
    clearTimeout(timer);
    if (stopped) break;
    // Everything new since the last one printed, a page at a time (a burst larger than a page is not cut).
    for (;;) {
      const page = await ctx.store.events.list({ ...filter, sinceId, limit: MAX_LAST });
      if (page.length === 0) break;
      sinceId = print(page);
      if (page.length < MAX_LAST) break;
    }
  }
  return 0;
}
