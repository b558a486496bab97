// Per-host rendering of node items into kickstart sections. Attributes are entities; a <var>
// defines or copies an attribute for the rest of its file; filters drop items; <file> becomes
// shell that writes the file; <eval> runs on the frontend (only when the operator allowed it);
// <include> inlines a file from the include directory (never outside it).
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { nodeFromXml, parts as partsFromXml, type Item, type NodeFile, type Part } from './node-file.js';
import { parseXml } from './xml.js';
import { isSecretName } from '../log/logger.js';
import { passes } from './cond.js';
import { expandEntities } from './entities.js';
import { checkCommandEntities } from './kickstart-attributes.js';
import { UserError, type NetrootError } from '../errors.js';

const INCLUDE_MAX_BYTES = 1024 * 1024;
/** Output of one <eval> (Rocks reads all of it; netroot stops there, and fails the render). */
const EVAL_MAX_BYTES = 1024 * 1024;
/** mode="xml" output may hold an <eval> again: this deep at most. */
const EVAL_MAX_DEPTH = 8;
let evalDepth = 0;

export interface Sections {
  main: string[];
  packages: Set<string>;
  pre: Array<{ header: string; body: string; node: string }>;
  post: Array<{ header: string; body: string; node: string }>;
  /** <firstboot> blocks (issue #20): not kickstart; a golden clone's OS runs them once. Absent: ignored. */
  firstboot?: Array<{ interpreter: string | undefined; body: string; node: string }>;
}

export interface RenderOptions {
  allowEval: boolean;
  includeDir: string;
  evalTimeoutMs?: number;
}

/** Shell single-quoting: safe for any value. */
export function shq(v: string): string {
  return v.includes("'") ? `'${v.replace(/'/g, `'\\''`)}'` : `'${v}'`;
}

/** A delimiter no line of `body` equals (lines split at \n). */
function heredocDelimiter(body: string): string {
  if (!body.includes('NETROOT_EOF')) return 'NETROOT_EOF';
  const lines = `\n${body}\n`;
  let d = 'NETROOT_EOF';
  while (lines.includes(`\n${d}\n`)) d += '_';
  return d;
}

function fileShell(p: Extract<Part, { kind: 'file' }>, attrs: Record<string, string>, where: string, path: string, opts: RenderOptions): string {
  const name = expandEntities(p.name, attrs, where);
  if (!name.startsWith('/') || name.includes('\0') || name.includes('\n'))
    throw new UserError('E_XML_FILE_NAME', `<file name="${name}">: an absolute path is expected`, { where });
  // vars="expanded": the shell expands $VARS when the script runs; literal: written as is.
  // The body is everything inside the tag: text (entities expanded), CDATA as is, and the output of
  // a nested <eval> or <include>.
  const rendered = renderParts(p.parts, attrs, path, opts, undefined, true);
  const body = rendered.startsWith('\n') ? rendered.slice(1) : rendered;
  const qname = shq(name);
  const lines: string[] = [`mkdir -p "$(dirname ${qname})"`];
  const redirect = p.mode === 'append' ? '>>' : '>';
  if (p.expr !== undefined) lines.push(`${expandEntities(p.expr, attrs, where)} ${redirect} ${qname}`);
  // No non-space character: what trim() would leave empty.
  else if (!/\S/.test(body)) lines.push(p.mode === 'append' ? `touch ${qname}` : `: > ${qname}`);
  else {
    const d = heredocDelimiter(body);
    lines.push(`cat ${redirect} ${qname} << ${p.expanded ? d : `'${d}'`}`, body.endsWith('\n') ? body.slice(0, -1) : body, d);
  }
  if (p.perms) lines.push(`chmod ${p.perms} ${qname}`);
  if (p.owner) {
    // Rocks writes user.group; chown wants user:group (user:group is kept as written).
    const owner = expandEntities(p.owner, attrs, where);
    lines.push(`chown ${shq(owner.includes(':') ? owner : owner.replace('.', ':'))} ${qname}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * With `command` (a <main> child), each attribute is checked for its place on the command line.
 * `inFile`: the parts are a <file>'s body (an <eval mode="xml"> there may not print a <file>).
 */
function renderParts(parts: Part[], attrs: Record<string, string>, path: string, opts: RenderOptions, command?: string, inFile = false): string {
  let out = '';
  const template = command === undefined ? '' : parts.map((p) => (p.kind === 'text' ? p.text : ' ')).join('');
  let offset = 0;
  for (const p of parts) {
    const where = `${path}:${p.line}`;
    const at = offset;
    offset += p.kind === 'text' ? p.text.length : 1;
    switch (p.kind) {
      case 'text':
        if (command !== undefined && !p.raw) checkCommandEntities(command, template, at, p.text, attrs, where);
        out += p.raw ? p.text : expandEntities(p.text, attrs, where);
        break;
      case 'file':
        if (passes(p.filters, attrs)) out += fileShell(p, attrs, where, path, opts);
        break;
      case 'var':
        setVar(p, attrs, where);
        break;
      case 'include': {
        const file = expandEntities(p.file, attrs, where);
        let real: string;
        let root: string;
        try {
          root = realpathSync(opts.includeDir);
          real = realpathSync(join(root, file));
        } catch {
          throw new UserError('E_INCLUDE_MISSING', `<include file="${file}">: no such file in ${opts.includeDir}`, { where });
        }
        if (!real.startsWith(root + sep)) throw new UserError('E_INCLUDE_OUTSIDE', `<include file="${file}"> leaves the include directory`, { where });
        let text: string;
        try {
          if (statSync(real).size > INCLUDE_MAX_BYTES)
            throw new UserError('E_FILE_TOO_LARGE', `<include file="${file}"> is larger than ${INCLUDE_MAX_BYTES} bytes: refused`, { where });
          text = readFileSync(real, 'utf8');
        } catch (e) {
          if (e instanceof UserError) throw e;
          throw new UserError('E_INCLUDE_MISSING', `<include file="${file}">: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
            where,
          });
        }
        out += text;
        break;
      }
      case 'eval': {
        const output = runEval(p, attrs, where, opts);
        if (!p.xml) out += output;
        else {
          const root = evalXml(output, where);
          const problems: NetrootError[] = [];
          const sub = partsFromXml(root.children, `${where} <eval> output`, problems, root.line, [], inFile);
          throwEvalProblems(problems, where);
          out += nested(() => renderParts(sub, attrs, `${where} <eval> output`, opts, command, inFile));
        }
        break;
      }
    }
  }
  return out;
}

/**
 * The environment an <eval> runs with: PATH, and the node's attributes as Rocks exports them, as far
 * as a shell can name them: a dotted name (os.version) is given with `_` for each `.` (os_version; an
 * attribute really named os_version wins), names that are no shell identifier then are left out, and
 * so are attributes named like secrets (the log redaction rule: secret, password, token, chap ...): no
 * eval needs an iSCSI CHAP secret, and a child process could leak it.
 */
export function evalEnvironment(attrs: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  const dotted: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (isSecretName(k) || v.includes('\0')) continue;
    if (k.includes('.')) dotted.push([k.replace(/\./g, '_'), v]);
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env[k] = v;
  }
  for (const [k, v] of dotted) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !(k in env)) env[k] = v;
  env['PATH'] = process.env['PATH'] ?? '/usr/bin:/bin';
  return env;
}

function runEval(p: { shell: string; body: string }, attrs: Record<string, string>, where: string, opts: RenderOptions): string {
  if (!opts.allowEval)
    throw new UserError('E_EVAL_DISABLED', '<eval> runs code on the frontend and is disabled (set profile.allowEval: true to allow it)', { where });
  const r = spawnSync(p.shell, [], {
    input: expandEntities(p.body, attrs, where),
    encoding: 'utf8',
    timeout: opts.evalTimeoutMs ?? 10_000,
    maxBuffer: EVAL_MAX_BYTES,
    env: evalEnvironment(attrs),
  });
  if (r.error || r.status !== 0)
    throw new UserError(
      'E_EVAL_FAILED',
      `<eval shell="${p.shell}"> failed: ${r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 200)}`}`,
      { where },
    );
  return r.stdout;
}

/**
 * mode="xml" output, as Rocks splices it into the node file: a <kickstart> fragment or bare node-XML
 * elements (text in between is kept). Parsed with the node files' parser (no DOCTYPE/ENTITY).
 */
function evalXml(output: string, where: string) {
  const body = output.replace(/^\s*<\?xml[^>]*\?>/, '');
  const whole = /^\s*<kickstart[\s>/]/.test(body);
  try {
    const root = parseXml(whole ? body : `<kickstart>${body}</kickstart>`, `${where} <eval> output`, EVAL_MAX_BYTES + 64);
    if (root.tag !== 'kickstart') throw new UserError('E_XML_ROOT', `the root element must be <kickstart>, not <${root.tag}>`);
    return root;
  } catch (e) {
    throw new UserError(
      'E_EVAL_XML',
      `<eval mode="xml"> printed malformed node XML: ${(e as Error).message}${
        (e as UserError).where
          ? ` (output line ${String((e as UserError).where)
              .split(':')
              .pop()})`
          : ''
      }`,
      { where },
    );
  }
}

function throwEvalProblems(problems: NetrootError[], where: string): void {
  if (problems.length === 0) return;
  const first = problems[0]!;
  const at = first.where?.split(':').pop();
  throw new UserError(
    'E_EVAL_XML',
    `<eval mode="xml"> printed node XML that is not valid: ${first.message}${at ? ` (output line ${at})` : ''}${problems.length > 1 ? ` and ${problems.length - 1} more problem(s)` : ''}`,
    { where },
  );
}

function nested<T>(f: () => T): T {
  if (evalDepth >= EVAL_MAX_DEPTH) throw new UserError('E_EVAL_XML', `<eval mode="xml"> output nests <eval> deeper than ${EVAL_MAX_DEPTH}`);
  evalDepth++;
  try {
    return f();
  } finally {
    evalDepth--;
  }
}

function setVar(v: { name: string; val?: string | undefined; ref?: string | undefined }, attrs: Record<string, string>, where: string): void {
  if (v.val !== undefined) attrs[v.name] = expandEntities(v.val, attrs, where);
  else if (v.ref !== undefined) {
    const r = attrs[v.ref];
    if (r === undefined) throw new UserError('E_XML_ENTITY', `<var ref="${v.ref}">: undefined attribute ${v.ref}`, { where });
    attrs[v.name] = r;
  } else throw new UserError('E_XML_VAR', `<var name="${v.name}"> needs val or ref`, { where });
}

function scriptHeader(section: 'pre' | 'post', interpreter: string | undefined, arg: string | undefined): string {
  return `%${section}${interpreter ? ` --interpreter=${interpreter}` : ''}${arg ? ` ${arg}` : ''}`;
}

/** An <eval mode="xml"> may print a <var>: counted as one. */
function partsSetVar(parts: readonly Part[]): boolean {
  return parts.some((p) => p.kind === 'var' || (p.kind === 'eval' && p.xml) || (p.kind === 'file' && partsSetVar(p.parts)));
}

/** Whether rendering the node can set an attribute (a <var>, at top level or inside a script, command or file). */
function setsVar(node: NodeFile): boolean {
  return node.items.some((it) => it.kind === 'var' || it.kind === 'eval' || ((it.kind === 'script' || it.kind === 'main') && partsSetVar(it.parts)));
}

/**
 * Adds one node's contribution to the sections. <var> is file-local: a node that has one works on
 * a copy of `hostAttrs`; the others only read them (nothing else here writes an attribute).
 */
export function renderNode(node: NodeFile, hostAttrs: Readonly<Record<string, string>>, s: Sections, opts: RenderOptions): void {
  const attrs: Record<string, string> = setsVar(node) ? { ...hostAttrs } : (hostAttrs as Record<string, string>);
  renderItems(node, node.items, attrs, s, opts);
}

function renderItems(node: NodeFile, items: readonly Item[], attrs: Record<string, string>, s: Sections, opts: RenderOptions): void {
  for (const it of items) {
    const path = it.file ?? node.path;
    const where = `${path}:${it.line}`;
    switch (it.kind) {
      case 'var':
        setVar(it, attrs, where);
        break;
      case 'package': {
        if (!passes(it.filters, attrs)) break;
        const name = expandEntities(it.name, attrs, where);
        // An attribute value must not smuggle a second line (or a section header) into %packages.
        if (!/^[^\s%#][^\r\n%#]*$/.test(name))
          throw new UserError('E_XML_PACKAGE', `<package> expands to ${JSON.stringify(name)}: one package name expected`, { where });
        s.packages.add(`${it.disable ? '-' : ''}${it.meta && !name.startsWith('@') ? '@' : ''}${name}`);
        break;
      }
      case 'main':
        if (passes(it.filters, attrs))
          s.main.push(
            `${it.command} ${renderParts(it.parts, attrs, path, opts, it.command)
              .trim()
              .replace(/\s*\n\s*/g, ' ')}`.trimEnd(),
          );
        break;
      case 'script': {
        if (!passes(it.filters, attrs)) break;
        const args = it.arg === undefined ? undefined : expandEntities(it.arg, attrs, where);
        if (it.section === 'firstboot') {
          s.firstboot?.push({ interpreter: it.interpreter, body: renderParts(it.parts, attrs, path, opts).replace(/^\n+/, '').trimEnd(), node: node.name });
          break;
        }
        if (args !== undefined && /[\r\n]/.test(args)) throw new UserError('E_XML_SCRIPT_ARG', `<${it.section} arg> expands to more than one line`, { where });
        // trimEnd strips what /\s+$/ would (WhiteSpace and LineTerminator), without its quadratic backtracking.
        const rendered = renderParts(it.parts, attrs, path, opts);
        let lead = 0;
        while (rendered.charCodeAt(lead) === 10) lead++;
        const body = rendered.slice(lead).trimEnd();
        // Anaconda (pykickstart) ends a section at a line `%end` or at the next section header, even
        // inside a heredoc and after leading white space (it strips lines before looking), and reads
        // `%include` anywhere as an include: such a line would cut or change the script, so it is refused.
        const cut = body.includes('%') ? /^[ \t]*(%end|%include|%(packages|pre|post|pre-install|onerror|traceback|addon|anaconda))(\s|$)/m.exec(body) : null;
        if (cut) throw new UserError('E_KS_SECTION_LINE', `a line starting with ${cut[1]} inside <${it.section}> would end the section in Anaconda`, { where });
        s[it.section].push({ header: scriptHeader(it.section, it.interpreter, args), body, node: node.name });
        break;
      }
      case 'eval': {
        // Rocks' mode="xml" at the top level: the output is node XML, its items rendered here.
        const root = evalXml(runEval(it, attrs, where, opts), where);
        const problems: NetrootError[] = [];
        const sub = nodeFromXml(node.name, `${where} <eval> output`, root, problems);
        throwEvalProblems(problems, where);
        nested(() =>
          renderItems(
            { ...node, path },
            sub.items.map((x) => ({ ...x, file: `${where} <eval> output` })),
            attrs,
            s,
            opts,
          ),
        );
        break;
      }
    }
  }
}
