// One Rocks node file (a "role"): <kickstart> with description/copyright/changelog (ignored),
// package, pre, post, main, var, eval, include. Turned into a list of items in document order;
// rendering (entities, filters) happens per host in render.ts.
import type { XElement, XChild } from './xml.js';
import { isElement, textOf } from './xml.js';
import { andFilters, filtersOf, parseCond, type Filters } from './cond.js';
import { UserError, type NetrootError } from '../errors.js';

/** A piece of a pre/post/main body. */
export type Part =
  | { kind: 'text'; text: string; raw: boolean; line: number }
  | { kind: 'file'; name: string; mode: 'create' | 'append'; owner?: string | undefined; perms?: string | undefined; expanded: boolean; expr?: string | undefined; body: string; filters: Filters; line: number }
  | { kind: 'eval'; shell: string; body: string; line: number }
  | { kind: 'include'; file: string; line: number }
  | { kind: 'var'; name: string; val?: string | undefined; ref?: string | undefined; line: number };

/** `file` is set on items merged in from a site extend-<name>.xml, so errors name that file. */
export type Item = (
  | { kind: 'package'; name: string; meta: boolean; disable: boolean; filters: Filters; line: number }
  | { kind: 'script'; section: 'pre' | 'post'; interpreter?: string | undefined; arg?: string | undefined; filters: Filters; parts: Part[]; line: number }
  | { kind: 'main'; command: string; parts: Part[]; filters: Filters; line: number }
  | { kind: 'var'; name: string; val?: string | undefined; ref?: string | undefined; line: number }
) & { file?: string | undefined };

export interface NodeFile {
  name: string;
  path: string;
  items: Item[];
}

const IGNORED = new Set(['description', 'copyright', 'changelog', 'si_copyright', 'rocks']);
const FILTER_ATTRS = ['arch', 'os', 'release', 'cond'];

function checkAttrs(e: XElement, allowed: string[], where: string, problems: NetrootError[]): void {
  for (const k of Object.keys(e.attrs)) {
    if (!allowed.includes(k)) problems.push(new UserError('E_XML_UNKNOWN_ATTR', `<${e.tag}> has an unknown attribute ${k}`, { where }));
  }
  if (e.attrs['cond'] !== undefined) {
    try {
      parseCond(e.attrs['cond']);
    } catch (err) {
      problems.push(new UserError('E_COND_SYNTAX', (err as Error).message, { where }));
    }
  }
}

function parts(children: XChild[], path: string, problems: NetrootError[], parentLine: number): Part[] {
  const out: Part[] = [];
  for (const c of children) {
    if (!isElement(c)) {
      out.push({ kind: 'text', text: c.text, raw: c.cdata, line: parentLine });
      continue;
    }
    const where = `${path}:${c.line}`;
    switch (c.tag) {
      case 'file': {
        checkAttrs(c, ['name', 'mode', 'owner', 'perms', 'vars', 'expr', ...FILTER_ATTRS], where, problems);
        const name = c.attrs['name'];
        if (!name) {
          problems.push(new UserError('E_XML_FILE_NAME', '<file> needs a name attribute', { where }));
          break;
        }
        const mode = c.attrs['mode'] ?? 'create';
        if (mode !== 'create' && mode !== 'append') problems.push(new UserError('E_XML_FILE_MODE', `<file mode="${mode}">: mode is create or append`, { where }));
        const vars = c.attrs['vars'] ?? 'literal';
        if (vars !== 'literal' && vars !== 'expanded') problems.push(new UserError('E_XML_FILE_VARS', `<file vars="${vars}">: vars is literal or expanded`, { where }));
        if (c.attrs['perms'] !== undefined && !/^[0-7]{3,4}$/.test(c.attrs['perms'])) problems.push(new UserError('E_XML_FILE_PERMS', `<file perms="${c.attrs['perms']}">: octal permissions expected`, { where }));
        if (c.attrs['owner'] !== undefined && !/^[A-Za-z0-9_&;-]+(\.[A-Za-z0-9_&;-]+)?$/.test(c.attrs['owner'])) problems.push(new UserError('E_XML_FILE_OWNER', `<file owner="${c.attrs['owner']}">: user.group expected`, { where }));
        out.push({ kind: 'file', name, mode: mode === 'append' ? 'append' : 'create', owner: c.attrs['owner'], perms: c.attrs['perms'], expanded: vars === 'expanded', expr: c.attrs['expr'], body: textOf(c), filters: filtersOf(c.attrs), line: c.line });
        break;
      }
      case 'eval':
        checkAttrs(c, ['shell', 'mode'], where, problems);
        out.push({ kind: 'eval', shell: c.attrs['shell'] ?? 'sh', body: textOf(c), line: c.line });
        break;
      case 'include':
        checkAttrs(c, ['file', 'mode'], where, problems);
        if (!c.attrs['file']) problems.push(new UserError('E_XML_INCLUDE', '<include> needs a file attribute', { where }));
        else out.push({ kind: 'include', file: c.attrs['file'], line: c.line });
        break;
      case 'var':
        checkAttrs(c, ['name', 'val', 'ref'], where, problems);
        if (!c.attrs['name']) problems.push(new UserError('E_XML_VAR', '<var> needs a name attribute', { where }));
        else out.push({ kind: 'var', name: c.attrs['name'], val: c.attrs['val'], ref: c.attrs['ref'], line: c.line });
        break;
      default:
        problems.push(new UserError('E_XML_UNKNOWN_TAG', `unknown tag <${c.tag}> inside a script`, { where }));
    }
  }
  return out;
}

/** Builds the node model; every problem found is pushed, so `check` can report all at once. */
export function nodeFromXml(name: string, path: string, root: XElement, problems: NetrootError[]): NodeFile {
  if (root.tag !== 'kickstart') problems.push(new UserError('E_XML_ROOT', `the root element must be <kickstart>, not <${root.tag}>`, { where: `${path}:${root.line}` }));
  const items: Item[] = [];
  for (const c of root.children) {
    if (!isElement(c)) {
      if (c.text.trim() !== '') problems.push(new UserError('E_XML_TEXT', 'text outside any tag', { where: `${path}:${root.line}` }));
      continue;
    }
    const where = `${path}:${c.line}`;
    if (IGNORED.has(c.tag)) continue;
    switch (c.tag) {
      case 'package': {
        checkAttrs(c, ['type', 'disable', 'enable', ...FILTER_ATTRS], where, problems);
        const pkg = textOf(c).trim();
        if (!/^[A-Za-z0-9_+.@&;*-][A-Za-z0-9_+.&;*: -]*$/.test(pkg)) problems.push(new UserError('E_XML_PACKAGE', `<package> has no valid package name: ${JSON.stringify(pkg)}`, { where }));
        items.push({ kind: 'package', name: pkg, meta: c.attrs['type'] === 'meta', disable: c.attrs['disable'] !== undefined && c.attrs['disable'] !== 'false', filters: filtersOf(c.attrs), line: c.line });
        break;
      }
      case 'pre':
      case 'post':
        checkAttrs(c, ['interpreter', 'arg', ...FILTER_ATTRS], where, problems);
        items.push({ kind: 'script', section: c.tag, interpreter: c.attrs['interpreter'], arg: c.attrs['arg'], filters: filtersOf(c.attrs), parts: parts(c.children, path, problems, c.line), line: c.line });
        break;
      case 'main':
        checkAttrs(c, FILTER_ATTRS, where, problems);
        for (const m of c.children) {
          if (!isElement(m)) {
            if (m.text.trim() !== '') problems.push(new UserError('E_XML_TEXT', '<main> holds command tags, not text', { where }));
            continue;
          }
          const mw = `${path}:${m.line}`;
          checkAttrs(m, FILTER_ATTRS, mw, problems);
          if (!/^[a-z][a-z0-9_-]*$/.test(m.tag)) problems.push(new UserError('E_XML_MAIN', `<${m.tag}> is not a kickstart command`, { where: mw }));
          // A <main> filter applies to every command in it, AND-ed with the command's own.
          items.push({ kind: 'main', command: m.tag, parts: parts(m.children, path, problems, m.line), filters: andFilters(filtersOf(c.attrs), filtersOf(m.attrs)), line: m.line });
        }
        break;
      case 'var':
        checkAttrs(c, ['name', 'val', 'ref'], where, problems);
        if (!c.attrs['name']) problems.push(new UserError('E_XML_VAR', '<var> needs a name attribute', { where }));
        else items.push({ kind: 'var', name: c.attrs['name'], val: c.attrs['val'], ref: c.attrs['ref'], line: c.line });
        break;
      default:
        problems.push(new UserError('E_XML_UNKNOWN_TAG', `unknown tag <${c.tag}>`, { where }));
    }
  }
  return { name, path, items };
}
