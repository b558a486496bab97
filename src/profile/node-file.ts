// One Rocks node file (a "role"): <kickstart> with description/copyright/changelog (ignored),
// package, pre, post, main, var, eval, include, and netroot's <firstboot> (a golden clone's first-boot
// shell, issue #20). Turned into a list of items in document order;
// rendering (entities, filters) happens per host in render.ts. Rocks tags netroot does not act on
// (<configure>, <screen>, <service> ...) and <main> commands RHEL 8/9 Anaconda no longer knows are
// kept out and reported as warnings (W_IGNORED_TAG), never as errors; any other unknown tag is an
// error naming file and line.
import type { XElement, XChild } from './xml.js';
import { isElement, textOf } from './xml.js';
import { andFilters, decodeXmlText, filtersOf, parseCond, type Filters } from './cond.js';
import { UserError, type NetrootError } from '../errors.js';

/** A piece of a pre/post/main body. */
export type Part =
  | { kind: 'text'; text: string; raw: boolean; line: number }
  | {
      kind: 'file';
      name: string;
      mode: 'create' | 'append';
      owner?: string | undefined;
      perms?: string | undefined;
      expanded: boolean;
      expr?: string | undefined;
      parts: Part[];
      filters: Filters;
      line: number;
    }
  | { kind: 'eval'; shell: string; body: string; xml: boolean; line: number }
  | { kind: 'include'; file: string; line: number }
  | { kind: 'var'; name: string; val?: string | undefined; ref?: string | undefined; line: number };

/** `file` is set on items merged in from a site extend-<name>.xml, so errors name that file. */
export type Item = (
  | { kind: 'package'; name: string; meta: boolean; disable: boolean; filters: Filters; line: number }
  | {
      kind: 'script';
      section: 'pre' | 'post' | 'firstboot';
      interpreter?: string | undefined;
      arg?: string | undefined;
      filters: Filters;
      parts: Part[];
      line: number;
    }
  | { kind: 'main'; command: string; parts: Part[]; filters: Filters; line: number }
  | { kind: 'var'; name: string; val?: string | undefined; ref?: string | undefined; line: number }
  | { kind: 'eval'; shell: string; body: string; xml: boolean; line: number }
) & { file?: string | undefined };

export interface NodeFile {
  name: string;
  path: string;
  items: Item[];
}

const IGNORED = new Set(['description', 'copyright', 'changelog', 'log', 'si_copyright', 'rocks']);
/** Rocks tags netroot parses but does not act on: a warning each (the compiler reports each tag once). */
const NOT_ACTED_ON = new Set(['configure', 'screen', 'service', 'boot', 'debug', 'attributes', 'installclass', 'jumpstart']);
const FILTER_ATTRS = ['arch', 'os', 'release', 'cond', 'phase'];

/** Kickstart commands of RHEL 8/9 Anaconda (pykickstart), the names a <main> child may have. */
export const KICKSTART_COMMANDS = new Set([
  'authselect',
  'authconfig',
  'auth',
  'autopart',
  'autostep',
  'bootloader',
  'btrfs',
  'cdrom',
  'clearpart',
  'cmdline',
  'device',
  'deviceprobe',
  'driverdisk',
  'eula',
  'fcoe',
  'firewall',
  'firstboot',
  'graphical',
  'group',
  'halt',
  'harddrive',
  'hmc',
  'ignoredisk',
  'iscsi',
  'iscsiname',
  'keyboard',
  'lang',
  'liveimg',
  'logging',
  'logvol',
  'mediacheck',
  'module',
  'mount',
  'network',
  'nfs',
  'nvdimm',
  'ostreecontainer',
  'ostreesetup',
  'part',
  'partition',
  'poweroff',
  'pwpolicy',
  'raid',
  'realm',
  'reboot',
  'repo',
  'reqpart',
  'rescue',
  'rhsm',
  'rootpw',
  'selinux',
  'services',
  'shutdown',
  'skipx',
  'snapshot',
  'sshkey',
  'sshpw',
  'syspurpose',
  'text',
  'timesource',
  'timezone',
  'updates',
  'url',
  'user',
  'vnc',
  'volgroup',
  'xconfig',
  'zerombr',
  'zfcp',
  'zipl',
]);
/** Commands of older kickstarts (Rocks 5-7 files use them) that RHEL 8/9 refuses: left out with a warning. */
const INCLUDE_LINE = /^[ \t]*%include[ \t]+(\S+)[ \t]*$/;

/** `%include FILE` lines in a <main> command's own text (not in CDATA), and the command without them. */
function mainIncludes(m: XElement): { files: string[]; rest: XElement } {
  const files: string[] = [];
  const children: XChild[] = [];
  for (const ch of m.children) {
    if (isElement(ch) || ch.cdata || !ch.text.includes('%include')) {
      children.push(ch);
      continue;
    }
    const kept: string[] = [];
    for (const line of ch.text.split('\n')) {
      const inc = INCLUDE_LINE.exec(line);
      if (inc) files.push(inc[1]!);
      else kept.push(line);
    }
    children.push({ text: kept.join('\n'), cdata: false });
  }
  return { files, rest: { ...m, children } };
}

export const OBSOLETE_COMMANDS = new Set([
  'install',
  'upgrade',
  'interactive',
  'mouse',
  'langsupport',
  'lilo',
  'lilocheck',
  'key',
  'monitor',
  'dmraid',
  'multipath',
  'method',
]);

/** A tag netroot does not act on: collected per node file, reported once per tag by the compiler. */
export interface Ignored {
  tag: string;
  where: string;
}

function checkAttrs(e: XElement, allowed: string[], where: string, problems: NetrootError[]): void {
  for (const k of Object.keys(e.attrs)) {
    if (!allowed.includes(k)) problems.push(new UserError('E_XML_UNKNOWN_ATTR', `<${e.tag}> has an unknown attribute ${k}`, { where }));
  }
  if (e.attrs['cond'] !== undefined) {
    try {
      parseCond(decodeXmlText(e.attrs['cond']));
    } catch (err) {
      problems.push(new UserError('E_COND_SYNTAX', (err as Error).message, { where }));
    }
  }
}

/** Rocks' eval modes: quote (the default: the output is text) and xml (the output is node XML again). */
function checkEvalMode(c: XElement, where: string, problems: NetrootError[]): void {
  const mode = c.attrs['mode'];
  if (mode !== undefined && mode !== 'quote' && mode !== 'xml')
    problems.push(new UserError('E_XML_EVAL_MODE', `<eval mode="${mode}">: mode is quote or xml`, { where }));
}

const PERMS = /^([0-7]{1,4}|[ugoa]*[-+=][rwxXstugo]*(,[ugoa]*[-+=][rwxXstugo]*)*)$/;
const OWNER = /^[A-Za-z0-9_&;$-][A-Za-z0-9_&;$.-]*([:.][A-Za-z0-9_&;$-][A-Za-z0-9_&;$.-]*)?$/;

export function parts(children: XChild[], path: string, problems: NetrootError[], parentLine: number, ignored: Ignored[], inFile = false): Part[] {
  const out: Part[] = [];
  for (const c of children) {
    if (!isElement(c)) {
      out.push({ kind: 'text', text: c.text, raw: c.cdata, line: parentLine });
      continue;
    }
    const where = `${path}:${c.line}`;
    switch (c.tag) {
      case 'file': {
        if (inFile) {
          problems.push(new UserError('E_XML_UNKNOWN_TAG', '<file> inside a <file>', { where }));
          break;
        }
        // rcs: Rocks checks the file into RCS on the node; netroot writes it only.
        checkAttrs(c, ['name', 'mode', 'owner', 'perms', 'vars', 'expr', 'rcs', ...FILTER_ATTRS], where, problems);
        const name = c.attrs['name'];
        if (!name) {
          problems.push(new UserError('E_XML_FILE_NAME', '<file> needs a name attribute', { where }));
          break;
        }
        const mode = c.attrs['mode'] ?? 'create';
        if (mode !== 'create' && mode !== 'append')
          problems.push(new UserError('E_XML_FILE_MODE', `<file mode="${mode}">: mode is create or append`, { where }));
        const vars = c.attrs['vars'] ?? 'literal';
        if (vars !== 'literal' && vars !== 'expanded')
          problems.push(new UserError('E_XML_FILE_VARS', `<file vars="${vars}">: vars is literal or expanded`, { where }));
        const perms = c.attrs['perms'] === '' ? undefined : c.attrs['perms'];
        const owner = c.attrs['owner'] === '' ? undefined : c.attrs['owner'];
        if (perms !== undefined && !PERMS.test(perms))
          problems.push(
            new UserError('E_XML_FILE_PERMS', `<file perms="${perms}">: a chmod mode expected (octal like 0644 or symbolic like u+rwx,g-w)`, { where }),
          );
        if (owner !== undefined && !OWNER.test(owner))
          problems.push(new UserError('E_XML_FILE_OWNER', `<file owner="${owner}">: user, user.group or user:group expected`, { where }));
        out.push({
          kind: 'file',
          name,
          mode: mode === 'append' ? 'append' : 'create',
          owner,
          perms,
          expanded: vars === 'expanded',
          expr: c.attrs['expr'],
          parts: parts(c.children, path, problems, c.line, ignored, true),
          filters: filtersOf(c.attrs),
          line: c.line,
        });
        break;
      }
      case 'eval':
        checkAttrs(c, ['shell', 'mode'], where, problems);
        checkEvalMode(c, where, problems);
        out.push({ kind: 'eval', shell: c.attrs['shell'] ?? 'sh', body: textOf(c), xml: c.attrs['mode'] === 'xml', line: c.line });
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
        if (NOT_ACTED_ON.has(c.tag)) ignored.push({ tag: c.tag, where });
        else problems.push(new UserError('E_XML_UNKNOWN_TAG', `unknown tag <${c.tag}> inside ${inFile ? 'a <file>' : 'a script'}`, { where }));
    }
  }
  return out;
}

/** Builds the node model; every problem found is pushed, so `check` can report all at once. */
export function nodeFromXml(name: string, path: string, root: XElement, problems: NetrootError[], ignored: Ignored[] = []): NodeFile {
  if (root.tag !== 'kickstart')
    problems.push(new UserError('E_XML_ROOT', `the root element must be <kickstart>, not <${root.tag}>`, { where: `${path}:${root.line}` }));
  const items: Item[] = [];
  for (const c of root.children) {
    if (!isElement(c)) {
      if (c.text.trim() !== '') problems.push(new UserError('E_XML_TEXT', 'text outside any tag', { where: `${path}:${root.line}` }));
      continue;
    }
    const where = `${path}:${c.line}`;
    if (IGNORED.has(c.tag)) continue;
    if (NOT_ACTED_ON.has(c.tag)) {
      ignored.push({ tag: c.tag, where });
      continue;
    }
    switch (c.tag) {
      case 'package': {
        checkAttrs(c, ['type', 'disable', 'enable', ...FILTER_ATTRS], where, problems);
        const pkg = textOf(c).trim();
        // A package, a group (@core, or a meta package's name: "Mail/WWW/News Tools"), an environment
        // (@^name, or ^name as a meta package), each optionally with a group option.
        if (!/^(@\^?|\^)?[A-Za-z0-9_+.&;*-][A-Za-z0-9_+.&;*:/() -]*?( --(nodefaults|optional))?$/.test(pkg))
          problems.push(new UserError('E_XML_PACKAGE', `<package> has no valid package name: ${JSON.stringify(pkg)}`, { where }));
        items.push({
          kind: 'package',
          name: pkg,
          meta: c.attrs['type'] === 'meta',
          disable: c.attrs['disable'] !== undefined && c.attrs['disable'] !== 'false',
          filters: filtersOf(c.attrs),
          line: c.line,
        });
        break;
      }
      case 'pre':
      case 'post':
        checkAttrs(c, ['interpreter', 'arg', 'chroot', ...FILTER_ATTRS], where, problems);
        {
          // chroot="no" (Rocks): the script runs outside the installed system, kickstart's --nochroot.
          const noChroot = c.attrs['chroot'] !== undefined && ['no', 'false', 'off', 'n', '0'].includes(c.attrs['chroot'].toLowerCase());
          const arg = noChroot && !(c.attrs['arg'] ?? '').includes('--nochroot') ? [c.attrs['arg'], '--nochroot'].filter(Boolean).join(' ') : c.attrs['arg'];
          items.push({
            kind: 'script',
            section: c.tag,
            interpreter: c.attrs['interpreter'],
            arg,
            filters: filtersOf(c.attrs),
            parts: parts(c.children, path, problems, c.line, ignored),
            line: c.line,
          });
        }
        break;
      case 'firstboot':
        // netroot's own (issue #20): shell a golden clone runs once, in its own OS, at its first boot.
        checkAttrs(c, ['interpreter', ...FILTER_ATTRS], where, problems);
        items.push({
          kind: 'script',
          section: 'firstboot',
          interpreter: c.attrs['interpreter'],
          arg: undefined,
          filters: filtersOf(c.attrs),
          parts: parts(c.children, path, problems, c.line, ignored),
          line: c.line,
        });
        break;
      case 'main':
        checkAttrs(c, FILTER_ATTRS, where, problems);
        for (let m of c.children) {
          if (!isElement(m)) {
            if (m.text.trim() !== '') problems.push(new UserError('E_XML_TEXT', '<main> holds command tags, not text', { where }));
            continue;
          }
          const mw = `${path}:${m.line}`;
          checkAttrs(m, FILTER_ATTRS, mw, problems);
          // Rocks writes `%include FILE` inside a command (base.xml: <install>%include
          // /tmp/partition-info</install>, the partitioning its %pre wrote). Anaconda reads
          // %include as a line of its own in the command section: each one becomes its own item,
          // kept even when the command around it is obsolete, and leaves the command's text.
          const includes = mainIncludes(m);
          for (const file of includes.files) {
            items.push({
              kind: 'main',
              command: '%include',
              parts: [{ kind: 'text', text: file, raw: true, line: m.line }],
              filters: andFilters(filtersOf(c.attrs), filtersOf(m.attrs)),
              line: m.line,
            });
          }
          if (includes.files.length > 0) m = includes.rest;
          if (OBSOLETE_COMMANDS.has(m.tag)) {
            ignored.push({ tag: `main/${m.tag}`, where: mw });
            continue;
          }
          if (!KICKSTART_COMMANDS.has(m.tag)) {
            problems.push(new UserError('E_XML_MAIN', `<main><${m.tag}>: not a kickstart command of RHEL 8/9 Anaconda`, { where: mw }));
            continue;
          }
          // A <main> filter applies to every command in it, AND-ed with the command's own.
          items.push({
            kind: 'main',
            command: m.tag,
            parts: parts(m.children, path, problems, m.line, ignored),
            filters: andFilters(filtersOf(c.attrs), filtersOf(m.attrs)),
            line: m.line,
          });
        }
        break;
      case 'var':
        checkAttrs(c, ['name', 'val', 'ref'], where, problems);
        if (!c.attrs['name']) problems.push(new UserError('E_XML_VAR', '<var> needs a name attribute', { where }));
        else items.push({ kind: 'var', name: c.attrs['name'], val: c.attrs['val'], ref: c.attrs['ref'], line: c.line });
        break;
      case 'eval':
        // At the top level an <eval> can only add node XML (Rocks' mode="xml": <package>, <post>...).
        checkAttrs(c, ['shell', 'mode'], where, problems);
        checkEvalMode(c, where, problems);
        if (c.attrs['mode'] !== 'xml')
          problems.push(new UserError('E_XML_EVAL_MODE', '<eval> outside a script or <file> needs mode="xml" (its output is node XML)', { where }));
        else items.push({ kind: 'eval', shell: c.attrs['shell'] ?? 'sh', body: textOf(c), xml: true, line: c.line });
        break;
      default:
        problems.push(new UserError('E_XML_UNKNOWN_TAG', `unknown tag <${c.tag}>`, { where }));
    }
  }
  return { name, path, items };
}
