// The `cond` language of Rocks node and graph files, evaluated safely (no eval). Rocks hands the
// expression to Python 2's eval() with every attribute as a variable (rocks/cond.py); netroot parses
// the subset Rocks files use and gives it Python 2's meaning:
//   or   := and ('or' and)*            and  := not ('and' not)*       not := 'not' not | cmp
//   cmp  := atom (op atom)*            (chained like Python: a < b < c is a < b and b < c)
//   op   := == != <> < <= > >= in 'not in' is 'is not'
//   atom := NAME | STRING | NUMBER | -NUMBER | True | False | None | '(' or ')' | tuple | list
// `and`/`or` return an operand, as in Python. Variables: an unset attribute is None; a set one is
// True for on/true/yes/y, False for off/false/no/n (any case), else an int, else a float, else the
// string (Rocks' _CondEnv). Comparisons follow Python 2, which Rocks runs: == between a number and
// a string is False (`8 == "8"` is False, never a numeric compare of the text); ordering across
// types is None < numbers < strings < tuples. Where Python would raise a TypeError (`1 in "abc"`,
// `"a" not in 5`) the comparison is False. Parse errors are UserError E_COND_SYNTAX with the column.
import { UserError } from '../errors.js';

type Tok = { t: 'name' | 'str' | 'num' | 'op' | '(' | ')' | '[' | ']' | ','; v: string; at: number };
export type Val = string | number | boolean | null | Val[];
type Ast =
  | { k: 'lit'; v: Val }
  | { k: 'name'; v: string }
  | { k: 'seq'; items: Ast[] }
  | { k: 'not'; a: Ast }
  | { k: 'and' | 'or'; a: Ast; b: Ast }
  | { k: 'cmp'; ops: string[]; args: Ast[] };

const MAX_COND = 2048;
const MAX_DEPTH = 64;

function syntax(s: string, at: number, why: string): UserError {
  return new UserError('E_COND_SYNTAX', `bad cond ${JSON.stringify(s)}: ${why} at column ${at + 1}`);
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if ('()[],'.includes(c)) {
      out.push({ t: c as Tok['t'], v: c, at: i });
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '<>'].includes(two)) {
      out.push({ t: 'op', v: two === '<>' ? '!=' : two, at: i });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>') {
      out.push({ t: 'op', v: c, at: i });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= s.length) throw syntax(s, i, 'unterminated string');
        const d = s[j]!;
        if (d === c) break;
        if (d === '\\') {
          const e = s[j + 1];
          if (e === undefined) throw syntax(s, i, 'unterminated string');
          v += ESCAPES[e] ?? `\\${e}`;
          j += 2;
          continue;
        }
        v += d;
        j++;
      }
      out.push({ t: 'str', v, at: i });
      i = j + 1;
      continue;
    }
    const num = /^(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)/.exec(s.slice(i, i + 64));
    if (num) {
      if (/^[A-Za-z_]/.test(s.slice(i + num[0].length))) throw syntax(s, i, 'a name cannot start with a digit');
      out.push({ t: 'num', v: num[0], at: i });
      i += num[0].length;
      continue;
    }
    if (c === '-') {
      out.push({ t: 'op', v: '-', at: i });
      i++;
      continue;
    }
    const name = /^[A-Za-z_][\w.]*/.exec(s.slice(i, i + 256));
    if (name) {
      out.push({ t: 'name', v: name[0], at: i });
      i += name[0].length;
      continue;
    }
    throw syntax(s, i, `unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is']);

export function parseCond(s: string): Ast {
  if (s.length > MAX_COND) throw new UserError('E_COND_SYNTAX', `cond longer than ${MAX_COND} characters`);
  const toks = tokenize(s);
  let p = 0;
  let depth = 0;
  const peek = (k = 0) => toks[p + k];
  const isWord = (w: string, k = 0) => peek(k)?.t === 'name' && peek(k)!.v === w;
  const nest = (at: number) => {
    if (++depth > MAX_DEPTH) throw syntax(s, at, 'nested too deeply');
  };
  const orE = (): Ast => {
    let a = andE();
    while (isWord('or')) {
      p++;
      a = { k: 'or', a, b: andE() };
    }
    return a;
  };
  const andE = (): Ast => {
    let a = notE();
    while (isWord('and')) {
      p++;
      a = { k: 'and', a, b: notE() };
    }
    return a;
  };
  const notE = (): Ast => {
    if (isWord('not')) {
      const t = toks[p++]!;
      nest(t.at);
      const a = notE();
      depth--;
      return { k: 'not', a };
    }
    return cmpE();
  };
  const compOp = (): string | undefined => {
    const t = peek();
    if (t?.t === 'op' && t.v !== '-') {
      p++;
      return t.v;
    }
    if (isWord('in')) {
      p++;
      return 'in';
    }
    if (isWord('not') && isWord('in', 1)) {
      p += 2;
      return 'not in';
    }
    if (isWord('is')) {
      p++;
      if (isWord('not')) {
        p++;
        return 'is not';
      }
      return 'is';
    }
    return undefined;
  };
  const cmpE = (): Ast => {
    const first = atom();
    const ops: string[] = [];
    const args: Ast[] = [first];
    for (let op = compOp(); op !== undefined; op = compOp()) {
      ops.push(op);
      args.push(atom());
    }
    return ops.length === 0 ? first : { k: 'cmp', ops, args };
  };
  const seq = (close: ')' | ']', first?: Ast): Ast => {
    const items: Ast[] = first ? [first] : [];
    while (peek()?.t !== close) {
      if (items.length > 0) {
        if (peek()?.t !== ',') throw syntax(s, peek()?.at ?? s.length, `expected ',' or '${close}'`);
        p++;
        if (peek()?.t === close) break;
      }
      items.push(orE());
    }
    p++;
    depth--;
    return { k: 'seq', items };
  };
  const atom = (): Ast => {
    const t = toks[p++];
    if (!t) throw syntax(s, s.length, 'unexpected end');
    if (t.t === '(') {
      nest(t.at);
      if (peek()?.t === ')') return seq(')');
      const e = orE();
      if (peek()?.t === ',') return seq(')', e);
      if (peek()?.t !== ')') throw syntax(s, peek()?.at ?? s.length, "expected ')'");
      p++;
      depth--;
      return e;
    }
    if (t.t === '[') {
      nest(t.at);
      return seq(']');
    }
    if (t.t === 'str') {
      // Adjacent string literals are one string, as in Python.
      let v = t.v;
      while (peek()?.t === 'str') v += toks[p++]!.v;
      return { k: 'lit', v };
    }
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'op' && t.v === '-' && peek()?.t === 'num') return { k: 'lit', v: -Number(toks[p++]!.v) };
    if (t.t === 'name') {
      if (KEYWORDS.has(t.v)) throw syntax(s, t.at, `unexpected '${t.v}'`);
      if (t.v === 'True') return { k: 'lit', v: true };
      if (t.v === 'False') return { k: 'lit', v: false };
      if (t.v === 'None') return { k: 'lit', v: null };
      return { k: 'name', v: t.v };
    }
    throw syntax(s, t.at, `unexpected ${JSON.stringify(t.v)}`);
  };
  if (toks.length === 0) throw syntax(s, 0, 'empty expression');
  const ast = orE();
  if (p < toks.length) throw syntax(s, toks[p]!.at, `unexpected ${JSON.stringify(toks[p]!.v)}`);
  return ast;
}

const INT = /^\s*[+-]?\d+\s*$/;
const FLOAT = /^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)\s*$/i;

/** Attribute text → value as Rocks' _CondEnv: booleans by Rocks' words, then int, then float, else the string. */
export function attrValue(v: string | undefined): Val {
  if (v === undefined) return null;
  const l = v.toLowerCase();
  if (['on', 'true', 'yes', 'y'].includes(l)) return true;
  if (['off', 'false', 'no', 'n'].includes(l)) return false;
  if (INT.test(v)) return Number(v.trim());
  if (FLOAT.test(v)) {
    const t = v
      .trim()
      .toLowerCase()
      .replace(/^([+-]?)inf(inity)?$/, '$1Infinity');
    return t.endsWith('nan') ? NaN : Number(t);
  }
  return v;
}

export function truthy(v: Val): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && v !== false && v !== 0 && v !== '';
}

const isNum = (v: Val): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';
const num = (v: number | boolean) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

function pyEq(a: Val, b: Val): boolean {
  if (a === null || b === null) return a === b;
  if (isNum(a) && isNum(b)) return num(a) === num(b);
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEq(x, b[i]!));
  return false;
}

/** Python 2 ordering: <0, 0, >0. Across types: None < numbers < str < tuple. */
function pyCmp(a: Val, b: Val): number {
  const rank = (v: Val) => (v === null ? 0 : isNum(v) ? 1 : typeof v === 'string' ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (isNum(a) && isNum(b)) {
    const x = num(a);
    const y = num(b);
    // NaN is unordered (every ordering with it is False, as in Python): NaN here fails <, <=, >, >=,
    // in a sequence too. Across types NaN still ranks as a number (None < NaN < "a").
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = pyCmp(a[i]!, b[i]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  return 0;
}

function compare(op: string, a: Val, b: Val): boolean {
  switch (op) {
    case '==':
      return pyEq(a, b);
    case '!=':
      return !pyEq(a, b);
    case 'is':
      return a === null || b === null || typeof a === 'boolean' || typeof b === 'boolean' ? a === b : typeof a === typeof b && pyEq(a, b);
    case 'is not':
      return !compare('is', a, b);
    case 'in':
    case 'not in': {
      // Python raises a TypeError for a container that is neither a string nor a sequence, and for
      // a string's non-string operand (`1 in "abc"`): False with `in` and with `not in` alike.
      let r: boolean;
      if (typeof b === 'string') {
        if (typeof a !== 'string') return false;
        r = b.includes(a);
      } else if (Array.isArray(b)) r = b.some((x) => pyEq(a, x));
      else return false;
      return op === 'in' ? r : !r;
    }
  }
  const c = pyCmp(a, b);
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function evalAst(n: Ast, attrs: Readonly<Record<string, string>>): Val {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'name':
      return attrValue(Object.hasOwn(attrs, n.v) ? attrs[n.v] : undefined);
    case 'seq':
      return n.items.map((x) => evalAst(x, attrs));
    case 'not':
      return !truthy(evalAst(n.a, attrs));
    case 'and': {
      const a = evalAst(n.a, attrs);
      return truthy(a) ? evalAst(n.b, attrs) : a;
    }
    case 'or': {
      const a = evalAst(n.a, attrs);
      return truthy(a) ? a : evalAst(n.b, attrs);
    }
    case 'cmp': {
      let left = evalAst(n.args[0]!, attrs);
      for (let i = 0; i < n.ops.length; i++) {
        const right = evalAst(n.args[i + 1]!, attrs);
        if (!compare(n.ops[i]!, left, right)) return false;
        left = right;
      }
      return true;
    }
  }
}

const cache = new Map<string, Ast>();

export function evaluateCond(expr: string, attrs: Readonly<Record<string, string>>): boolean {
  let ast = cache.get(expr);
  if (!ast) {
    ast = parseCond(expr);
    if (cache.size > 10000) cache.clear();
    cache.set(expr, ast);
  }
  return truthy(evalAst(ast, attrs));
}

/** The value of an expression (for tests and `netroot` diagnostics). */
export function evaluateCondValue(expr: string, attrs: Readonly<Record<string, string>>): Val {
  return evalAst(parseCond(expr), attrs);
}

export interface Filters {
  arch?: string | undefined;
  os?: string | undefined;
  release?: string | undefined;
  cond?: string | undefined;
  /** Rocks' phase list (pre, post, reconfigure ...): a kickstart is the pre and post phases. */
  phase?: string | undefined;
}

/**
 * Filter attributes of an element. The XML parser keeps entities in attribute values, so the five
 * built-in entities and character references are decoded here (`cond="a &gt; 6"` is `a > 6`);
 * an attribute entity (`&name;`) stays and is a syntax error in a cond.
 */
export function filtersOf(attrs: Record<string, string>, withPhase = true): Filters {
  const d = (v: string | undefined) => (v === undefined ? undefined : decodeXmlText(v));
  const f: Filters = { arch: d(attrs['arch']), os: d(attrs['os']), release: d(attrs['release']), cond: d(attrs['cond']) };
  if (withPhase) f.phase = d(attrs['phase']);
  return f;
}

const BUILTIN: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The five XML built-in entities and valid character references, decoded; anything else kept. */
export function decodeXmlText(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (m, name: string) => {
    if (!name.startsWith('#')) return BUILTIN[name]!;
    const cp = name.startsWith('#x') ? parseInt(name.slice(2), 16) : Number(name.slice(1));
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    return ok ? String.fromCodePoint(cp) : m;
  });
}

/**
 * Both filters at once (an edge and its <to>, a <main> and its command): arch/os/release lists are
 * intersected, conds AND-ed. An empty intersection can never pass.
 */
export function andFilters(a: Filters, b: Filters): Filters {
  const list = (x: string | undefined) =>
    x
      ?.split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  let never = false;
  const meet = (x: string | undefined, y: string | undefined): string | undefined => {
    if (x === undefined) return y;
    if (y === undefined) return x;
    const ys = new Set(list(y));
    const both = list(x)!.filter((v) => ys.has(v));
    if (both.length === 0) never = true;
    return both.join(',');
  };
  const out: Filters = { arch: meet(a.arch, b.arch), os: meet(a.os, b.os), release: meet(a.release, b.release) };
  if (a.phase !== undefined || b.phase !== undefined) out.phase = meet(a.phase, b.phase);
  const conds = [a.cond, b.cond].filter((x): x is string => x !== undefined && x.trim() !== '');
  if (never) conds.push('False');
  out.cond = conds.length <= 1 ? conds[0] : conds.map((x) => `(${x})`).join(' and ');
  return out;
}

/** The phases a kickstart is made for (Rocks' default for a section without phase=). */
export const KICKSTART_PHASES: readonly string[] = ['pre', 'post'];

/** True when `passes(f, attrs)` is true whatever the attributes: no list, no phase, no cond. */
export function noFilters(f: Filters): boolean {
  return f.arch === undefined && f.os === undefined && f.release === undefined && f.phase === undefined && (f.cond === undefined || f.cond.trim() === '');
}

const lists = new Map<string, string[]>();

function inList(list: string | undefined, v: string | undefined): boolean {
  if (list === undefined) return true;
  let items = lists.get(list);
  if (!items) {
    items = list.split(',').map((x) => x.trim());
    if (lists.size > 10000) lists.clear();
    lists.set(list, items);
  }
  return items.includes(v ?? '');
}

/** arch/os/release are comma lists (any may match), AND-ed with cond; phase must name pre or post. */
export function passes(f: Filters, attrs: Readonly<Record<string, string>>): boolean {
  if (f.arch === undefined && f.os === undefined && f.release === undefined && f.phase === undefined && f.cond === undefined) return true;
  if (!inList(f.arch, attrs['arch']) || !inList(f.os, attrs['os']) || !inList(f.release, attrs['release'])) return false;
  if (f.phase !== undefined && !f.phase.split(',').some((x) => KICKSTART_PHASES.includes(x.trim()))) return false;
  return f.cond === undefined || f.cond.trim() === '' || evaluateCond(f.cond, attrs);
}
