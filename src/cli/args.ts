// Flag parsing for subcommands on node:util parseArgs, with errors that are the operator's
// (UserError → exit 2) and `key=value` pairs for `set` commands.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** `--json` is every command's. `-h`/`--help` is nobody's: main.ts answers it before any command
 * runs, so a command that gets it anyway refuses it rather than acting. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UserError('E_USAGE', `${(e as Error).message}\nusage: ${usage}`);
  }
}

/** The error for `netroot NOUN` with a missing or unknown verb. */
export function badVerb(noun: string, verb: string | undefined, usage: string): UserError {
  return new UserError('E_USAGE', `${verb === undefined ? `missing ${noun} command` : `unknown ${noun} command ${JSON.stringify(verb)}`}\nusage: ${usage}`);
}

export function needPositional(positionals: string[], n: number, usage: string): void {
  if (positionals.length < n) throw new UserError('E_USAGE', `missing argument\nusage: ${usage}`);
}

export function noExtra(positionals: string[], n: number, usage: string): void {
  if (positionals.length > n) throw new UserError('E_USAGE', `unexpected argument ${JSON.stringify(positionals[n])}\nusage: ${usage}`);
}

/** ["boot=install", "rack=1"] → { boot: 'install', rack: '1' }. */
export function keyValues(items: string[], usage: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError('E_USAGE', `expected key=value, got ${JSON.stringify(item)}\nusage: ${usage}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function intFlag(v: string | undefined, field: string, min = 0, max = 1_000_000): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UserError('E_USAGE', `--${field}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}
