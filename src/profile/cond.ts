// The `cond` language of Rocks node and graph files, evaluated safely (no eval): a Python-like
// boolean expression over attributes.
//   expr := or ; or := and ('or' and)* ; and := not ('and' not)* ; not := 'not' not | cmp
//   cmp  := value (('=='|'!='|'<'|'<='|'>'|'>=') value)? ; value := NAME | STRING | NUMBER | '(' expr ')'
// Unknown names are false (None). Attribute values on/true/yes/y are true, off/false/no/n false,
// numeric text compares as numbers. Parse errors are UserError E_COND_SYNTAX with the position.
import { UserError } from '../errors.js';

type Tok = { t: 'name' | 'str' | 'num' | 'op' | '(' | ')'; v: string; at: number };
type Val = string | number | boolean | null;
type Ast =
  | { k: 'lit'; v: Val }
  | { k: 'name'; v: string }
  | { k: 'not'; a: Ast }
  | { k: 'and' | 'or'; a: Ast; b: Ast }
  | { k: 'cmp'; op: string; a: Ast; b: Ast };

const MAX_COND = 2048;

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({ t: c, v: c, at: i }); i++; continue; }
    const two = s.slice(i, i + 2);
    if (['==', '!=', '<=', '>='].includes(two)) { out.push({ t: 'op', v: two, at: i }); i += 2; continue; }
    if (c === '<' || c === '>') { out.push({ t: 'op', v: c, at: i }); i++; continue; }
    if (c === '"' || c === "'") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) throw syntax(s, i, 'unterminated string');
      out.push({ t: 'str', v: s.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(s.slice(i));
    if (num && (c === '-' || /\d/.test(c))) { out.push({ t: 'num', v: num[0], at: i }); i += num[0].length; continue; }
    const name = /^[A-Za-z_][\w.]*/.exec(s.slice(i));
    if (name) { out.push({ t: 'name', v: name[0], at: i }); i += name[0].length; continue; }
    throw syntax(s, i, `unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

function syntax(s: string, at: number, why: string): UserError {
  return new UserError('E_COND_SYNTAX', `bad cond ${JSON.stringify(s)}: ${why} at column ${at + 1}`);
}

export function parseCond(s: string): Ast {
  if (s.length > MAX_COND) throw new UserError('E_COND_SYNTAX', `cond longer than ${MAX_COND} characters`);
  const toks = tokenize(s);
  let p = 0;
  let depth = 0;
  const peek = () => toks[p];
  const isWord = (w: string) => peek()?.t === 'name' && peek()!.v === w;
  const orE = (): Ast => {
    let a = andE();
    while (isWord('or')) { p++; a = { k: 'or', a, b: andE() }; }
    return a;
  };
  const andE = (): Ast => {
    let a = notE();
    while (isWord('and')) { p++; a = { k: 'and', a, b: notE() }; }
    return a;
  };
  const notE = (): Ast => {
    if (isWord('not')) { p++; return { k: 'not', a: notE() }; }
    return cmpE();
  };
  const cmpE = (): Ast => {
    const a = value();
    const t = peek();
    if (t?.t === 'op') { p++; return { k: 'cmp', op: t.v, a, b: value() }; }
    return a;
  };
  const value = (): Ast => {
    const t = toks[p++];
    if (!t) throw syntax(s, s.length, 'unexpected end');
    if (t.t === '(') {
      if (++depth > 64) throw syntax(s, t.at, 'nested too deeply');
      const e = orE();
      if (toks[p]?.t !== ')') throw syntax(s, toks[p]?.at ?? s.length, "expected ')'");
      p++;
      depth--;
      return e;
    }
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'name') {
      if (['and', 'or', 'not'].includes(t.v)) throw syntax(s, t.at, `unexpected '${t.v}'`);
      if (t.v === 'True' || t.v === 'true') return { k: 'lit', v: true };
      if (t.v === 'False' || t.v === 'false') return { k: 'lit', v: false };
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

/** Attribute text → value: booleans by Rocks' words, then numbers, else the string. */
export function attrValue(v: string | undefined): Val {
  if (v === undefined) return null;
  const l = v.trim().toLowerCase();
  if (['on', 'true', 'yes', 'y'].includes(l)) return true;
  if (['off', 'false', 'no', 'n'].includes(l)) return false;
  if (/^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return v;
}

function truthy(v: Val): boolean {
  return v !== null && v !== false && v !== 0 && v !== '';
}

function compare(op: string, a: Val, b: Val): boolean {
  // Both numeric (or numeric text): numbers. Otherwise text, with booleans as written in Rocks.
  const na = typeof a === 'number' ? a : typeof a === 'string' && /^-?\d+(\.\d+)?$/.test(a) ? Number(a) : NaN;
  const nb = typeof b === 'number' ? b : typeof b === 'string' && /^-?\d+(\.\d+)?$/.test(b) ? Number(b) : NaN;
  if (op === '==' || op === '!=') {
    let eq: boolean;
    if (!Number.isNaN(na) && !Number.isNaN(nb)) eq = na === nb;
    else if (typeof a === 'boolean' || typeof b === 'boolean') eq = truthy(a) === truthy(b) && (a === null) === (b === null);
    else eq = a === b;
    return op === '==' ? eq : !eq;
  }
  if (a === null || b === null) return false;
  const [x, y] = !Number.isNaN(na) && !Number.isNaN(nb) ? [na, nb] : [String(a), String(b)];
  switch (op) {
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    default: return x >= y;
  }
}

function evalAst(n: Ast, attrs: Readonly<Record<string, string>>): Val {
  switch (n.k) {
    case 'lit': return n.v;
    case 'name': return attrValue(attrs[n.v]);
    case 'not': return !truthy(evalAst(n.a, attrs));
    case 'and': return truthy(evalAst(n.a, attrs)) && truthy(evalAst(n.b, attrs));
    case 'or': return truthy(evalAst(n.a, attrs)) || truthy(evalAst(n.b, attrs));
    case 'cmp': return compare(n.op, evalAst(n.a, attrs), evalAst(n.b, attrs));
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

export interface Filters {
  arch?: string | undefined;
  os?: string | undefined;
  release?: string | undefined;
  cond?: string | undefined;
}

export function filtersOf(attrs: Record<string, string>): Filters {
  return { arch: attrs['arch'], os: attrs['os'], release: attrs['release'], cond: attrs['cond'] };
}

/**
 * Both filters at once (an edge and its <to>, a <main> and its command): arch/os/release lists are
 * intersected, conds AND-ed. An empty intersection can never pass.
 */
export function andFilters(a: Filters, b: Filters): Filters {
  const list = (x: string | undefined) => x?.split(',').map((v) => v.trim()).filter((v) => v !== '');
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
  const conds = [a.cond, b.cond].filter((x): x is string => x !== undefined && x.trim() !== '');
  if (never) conds.push('False');
  out.cond = conds.length <= 1 ? conds[0] : conds.map((x) => `(${x})`).join(' and ');
  return out;
}

/** arch/os/release are comma lists (any may match), AND-ed with cond. */
export function passes(f: Filters, attrs: Readonly<Record<string, string>>): boolean {
  const inList = (list: string | undefined, v: string | undefined) => list === undefined || list.split(',').map((x) => x.trim()).includes(v ?? '');
  if (!inList(f.arch, attrs['arch']) || !inList(f.os, attrs['os']) || !inList(f.release, attrs['release'])) return false;
  return f.cond === undefined || f.cond.trim() === '' || evaluateCond(f.cond, attrs);
}
