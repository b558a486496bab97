// Hostlists (after pdsh/Slurm): `compute-0-[0-15]`, `compute-[0-1]-[0-3]`, `compute-0-[1,3,5-7]`,
// `node[01-10]` (a range whose start has a leading zero keeps its width). Several bracket groups
// expand as their product, left to right. A name without brackets is itself. Every malformed or
// too-large argument is one UserError naming it (exit 2), raised before the command changes anything.
import { UserError } from '../errors.js';

/** The most names one argument may expand to: a typo like [0-99999] must not become 100,000 changes. */
export const MAX_HOSTLIST = 4096;

export function expandHostlist(arg: string, max = MAX_HOSTLIST): string[] {
  const bad = (why: string) => new UserError('E_BAD_HOSTLIST', why, { where: `host list ${JSON.stringify(arg)}` });
  // parts: literal text and, for each [...] group, its list of alternatives.
  const parts: Array<string | string[]> = [];
  let total = 1;
  let i = 0;
  while (i < arg.length) {
    const open = arg.indexOf('[', i);
    const close = arg.indexOf(']', i);
    if (close >= 0 && (open < 0 || close < open)) throw bad(`"]" without "["`);
    if (open < 0) {
      parts.push(arg.slice(i));
      break;
    }
    parts.push(arg.slice(i, open));
    const end = arg.indexOf(']', open);
    if (end < 0) throw bad(`"[" without "]"`);
    const body = arg.slice(open + 1, end);
    if (body.includes('[')) throw bad('brackets do not nest');
    const alternatives: string[] = [];
    for (const item of body.split(',')) {
      const m = /^(\d{1,6})(?:-(\d{1,6}))?$/.exec(item);
      if (!m) throw bad(`${JSON.stringify(item)} is not a number or a range N-M (numbers of at most 6 digits)`);
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (to < from) throw bad(`range ${item} runs backwards`);
      const width = m[1]!.length > 1 && m[1]!.startsWith('0') ? m[1]!.length : 0;
      if (alternatives.length + (to - from + 1) > max) throw bad(`expands to more than ${max} names`);
      for (let n = from; n <= to; n++) alternatives.push(String(n).padStart(width, '0'));
    }
    total *= alternatives.length;
    if (total > max) throw bad(`expands to more than ${max} names`);
    parts.push(alternatives);
    i = end + 1;
  }
  let names = [''];
  for (const p of parts) names = typeof p === 'string' ? names.map((n) => n + p) : names.flatMap((n) => p.map((x) => n + x));
  return [...new Set(names)];
}

/** Every argument expanded, in order, each name once; `max` bounds the total too. */
export function expandHostlists(args: readonly string[], max = MAX_HOSTLIST): string[] {
  const out = new Set<string>();
  for (const a of args) {
    for (const n of expandHostlist(a, max)) out.add(n);
    if (out.size > max) throw new UserError('E_BAD_HOSTLIST', `the host lists name more than ${max} hosts`, { where: `host list ${JSON.stringify(a)}` });
  }
  return [...out];
}

export function isHostlist(arg: string): boolean {
  return arg.includes('[') || arg.includes(']');
}
