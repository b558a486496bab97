// Attribute values on kickstart command lines (issue 13). The renderer calls checkCommandEntities
// for each text of a <main> command child just before it substitutes that text's entities, so
// the rules follow the place an attribute stands in, whatever the role: `url --url=&X;` gets the
// URL rule, `lang &X;` the locale rule, an unknown `--opt=&X;` the one-token rule.
// Contract (Anaconda reads a kickstart with Python's str.splitlines, then each command line with
// pykickstart's shlex.split(line, comments=True); the renderer never quotes a value):
//  1. No value on a command line holds a control character or a line separator (C0, DEL, C1,
//     U+2028/U+2029: splitlines breaks at \v \f \x1c-\x1e \x85 too).
//  2. Where one token is expected (an option's value, a known argument, an entity glued to other
//     text) a value holds no white space, quote, backslash or '#' (split, unquoted, escaped, or
//     the rest of the line cut as a comment). Inside the role's own quotes only that quote (and,
//     in "...", a backslash) is refused.
//  3. Known places have a format (PLACES → KINDS); an empty value there is refused.
//  4. An entity that is a command's whole argument string, where the command has no known
//     argument (e.g. `<bootloader>&site_opts;</bootloader>`), may hold several words: rule 1 only.
// A refusal is a UserError E_KICKSTART_ATTRIBUTE with where = the attribute's name; it never
// shows the value of an attribute whose name is a secret's (isSecretName: "the value" instead).
import { isIP } from 'node:net';
import { UserError } from '../errors.js';
import { isSecretName } from '../log/logger.js';
import { attributeRefs } from './entities.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

interface Kind {
  what: string;
  /** What is wrong with a non-empty whole value, or undefined. */
  check: (v: string) => string | undefined;
  /** A list separator, refused even in a part of the value: [pattern, its name]. */
  part?: [RegExp, string];
}

const matches = (re: RegExp, problem: string) => (v: string) => (re.test(v) ? undefined : problem);
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const KINDS = {
  locale: { what: 'one locale like en_US.UTF-8', check: matches(/^([a-z]{2,3}(_[A-Z]{2})?|C|POSIX)(\.[A-Za-z0-9-]+)?(@[A-Za-z0-9]+)?$/, 'is not a locale') },
  keymap: {
    what: 'one keyboard layout like us or de-nodeadkeys',
    check: matches(/^[A-Za-z0-9][A-Za-z0-9_.+-]*(\([A-Za-z0-9_.+-]+\))?$/, 'is not a keyboard layout'),
  },
  timezone: {
    what: 'one Olson time zone name like Europe/Paris, UTC or Etc/GMT+5',
    check: matches(/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*){0,2}$/, 'is not an Olson time zone name'),
  },
  crypted: { what: 'one crypt(3) hash like $6$salt$hash', check: matches(/^(\$[0-9a-z]+\$[./0-9A-Za-z$=,]+|[./0-9A-Za-z]{13})$/, 'is not a crypt(3) hash') },
  word: { what: 'one word', check: () => undefined },
  bootproto: { what: 'one of dhcp, static, bootp, ibft, query', check: matches(/^(dhcp|static|bootp|ibft|query)$/, 'is not a boot protocol') },
  location: { what: 'one of mbr, partition, none, boot', check: matches(/^(mbr|partition|none|boot)$/, 'is not a boot loader location') },
  // Linux's HOST_NAME_MAX is 64: Anaconda refuses a longer static host name.
  hostname: {
    what: 'a host name (letters, digits and -, labels joined by ., at most 64 characters)',
    check: (v: string) => (v.length <= 64 && v.split('.').every((l) => LABEL.test(l)) ? undefined : 'is not a host name'),
  },
  url: { what: 'an http, https, ftp or nfs URL with a host', check: urlProblem },
  address: { what: 'an IP address', check: (v: string) => (isIP(v) ? undefined : 'is not an IP address') },
  port: {
    what: 'a port number 1-65535',
    check: (v: string) => (/^[0-9]{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'is not a port number'),
  },
  // RFC 3720 §3.2.6 names in their normalised (lower-case) form, at most 223 bytes.
  iqn: {
    what: 'an iSCSI name like iqn.2026-01.com.example:node',
    check: (v: string) =>
      v.length <= 223 &&
      /^(iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?|eui\.[0-9A-Fa-f]{16}|naa\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}))$/.test(
        v,
      )
        ? undefined
        : 'is not an iSCSI name',
  },
  disks: {
    what: 'a comma-separated list of disks',
    check: (v: string) => (v.split(',').some((d) => d === '') ? 'has an empty disk name' : undefined),
    part: [/,/, 'a comma'],
  },
} satisfies Record<string, Kind>;

/** `command` (its argument) or `command --option` (that option's value) → the kind of value. */
const PLACES: Record<string, keyof typeof KINDS> = {
  lang: 'locale',
  'lang --addsupport': 'word',
  keyboard: 'keymap',
  'keyboard --vckeymap': 'keymap',
  'keyboard --xlayouts': 'word',
  'keyboard --switch': 'word',
  timezone: 'timezone',
  'timezone --ntpservers': 'word',
  rootpw: 'word', // 'crypted' with --iscrypted
  'network --bootproto': 'bootproto',
  'network --hostname': 'hostname',
  'network --device': 'word',
  'url --url': 'url',
  'url --mirrorlist': 'url',
  'url --metalink': 'url',
  'liveimg --url': 'url',
  iscsiname: 'iqn',
  'iscsi --ipaddr': 'address',
  'iscsi --port': 'port',
  'iscsi --target': 'iqn',
  'iscsi --user': 'word',
  'iscsi --password': 'word',
  'iscsi --reverse-user': 'word',
  'iscsi --reverse-password': 'word',
  'iscsi --iface': 'word',
  'ignoredisk --only-use': 'disks',
  'ignoredisk --drives': 'disks',
  'clearpart --drives': 'disks',
  'bootloader --location': 'location',
};

function urlProblem(v: string): string | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(v);
  if (!m) return 'is not a URL';
  if (!['http', 'https', 'ftp', 'nfs'].includes(m[1]!.toLowerCase())) return `has the scheme ${m[1]}, not http, https, ftp or nfs`;
  // nfs:[options:]server:/path, Anaconda's own NFS form, also names a host.
  if (/^nfs:([^:/]+:)?[A-Za-z0-9][A-Za-z0-9.-]*:\/[^:]*$/i.test(v)) return undefined;
  // The host as written (WHATWG URL would read http:///x as host x): scheme://[user@]host[:port]/...
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(v)?.[1];
  const host = authority?.replace(/^.*@/, '').replace(/:[0-9]*$/, '') ?? '';
  if (host === '') return 'has no host (scheme://host/path)';
  try {
    new URL(v);
  } catch {
    return 'is not a URL';
  }
  return undefined;
}

const show = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);

/** Builtin entities and character references decoded in place, padded so offsets do not move. */
function decodedInPlace(t: string): string {
  const BUILTIN: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return t.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (m, n: string) => {
    let c = BUILTIN[n];
    if (c === undefined) {
      const cp = n.startsWith('#x') ? parseInt(n.slice(2), 16) : Number(n.slice(1));
      c = cp <= 0x10ffff ? String.fromCodePoint(cp) : '?';
    }
    return c + 'x'.repeat(m.length - c.length);
  });
}

interface Token {
  start: number;
  end: number;
}

/** shlex-like split of the role's text: tokens and the quote open at each offset ('' for none). */
function scan(t: string): { tokens: Token[]; quote: string[] } {
  const tokens: Token[] = [];
  const quote: string[] = [];
  let q = '';
  let start = -1;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    quote[i] = q;
    if (q === '' && /\s/.test(c)) {
      if (start >= 0) tokens.push({ start, end: i });
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    if (q === '' && (c === '"' || c === "'")) q = c;
    else if (q !== '' && c === q) q = '';
    else if (c === '\\' && q !== "'" && i + 1 < t.length) quote[++i] = q;
  }
  if (start >= 0) tokens.push({ start, end: t.length });
  return { tokens, quote };
}

const unquote = (s: string) => (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s.endsWith(s[0]) ? s.slice(1, -1) : s);

/** Where one attribute entity stands on a command line; depends on the role's text only. */
interface Place {
  at: number;
  name: string;
  /** `lang`, `url --url=`, `rootpw --iscrypted`: how the message names the place. */
  label: string;
  kind: Kind | undefined;
  /** The role's quote around it ('' for none). */
  quote: string;
  /** The entity is the whole value (else a part of it, glued to other text). */
  whole: boolean;
  /** Rule 4: the command's whole argument string, where no argument format is known. */
  free: boolean;
}

function placesOf(command: string, template: string): Place[] {
  const t = decodedInPlace(template);
  const { tokens, quote } = scan(t);
  return attributeRefs(template).map((ref) => {
    const ti = tokens.findIndex((k) => k.start <= ref.index && ref.index < k.end);
    const tok = t.slice(tokens[ti]!.start, tokens[ti]!.end);
    const entity = t.slice(ref.index, ref.index + ref.length);
    let option: string | undefined;
    let valueText = tok;
    let inName = false;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      if (eq >= 0 && ref.index - tokens[ti]!.start > eq) [option, valueText] = [tok.slice(0, eq), tok.slice(eq + 1)];
      else inName = true;
    } else if (ti > 0) {
      const prev = t.slice(tokens[ti - 1]!.start, tokens[ti - 1]!.end);
      if (/^--[a-z][a-z0-9-]*$/.test(prev) && PLACES[`${command} ${prev}`]) option = prev;
    }
    let kindName = option ? PLACES[`${command} ${option}`] : inName ? undefined : PLACES[command];
    if (command === 'rootpw' && !option && /(^|\s)--iscrypted(\s|=|$)/.test(t)) kindName = 'crypted';
    const kind: Kind | undefined = kindName ? KINDS[kindName] : undefined;
    const label = option ? `${command} ${option}=` : kindName === 'crypted' ? 'rootpw --iscrypted' : command;
    const free = !option && !inName && !kind && t.trim() === entity;
    return { at: ref.index, name: ref.name, label, kind, quote: quote[ref.index] ?? '', whole: unquote(valueText) === entity, free };
  });
}

// A role's command texts are few and fixed: their places are worked out once, not per request.
const placeCache = new Map<string, Place[]>();
function cachedPlaces(command: string, template: string): Place[] {
  const key = `${command}\0${template}`;
  let p = placeCache.get(key);
  if (!p) {
    if (placeCache.size >= 4096) placeCache.clear();
    placeCache.set(key, (p = placesOf(command, template)));
  }
  return p;
}

/** What is wrong with `value` at `p`, or undefined (rules 1-4 of the header). */
function problemAt(p: Place, value: string): string | undefined {
  const ctl = CONTROL.exec(value);
  if (ctl)
    return `has a control character or line break (U+${ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}): a kickstart command is one line`;
  if (p.free) return undefined;
  if (p.quote === '"' && /["\\]/.test(value)) return 'has a " or \\, which would end or escape the quotes around it';
  if (p.quote === "'" && value.includes("'")) return "has a ', which would end the quotes around it";
  if (p.quote === '') {
    if (/\s/.test(value)) return 'has white space, which would split it into several arguments';
    const s = /['"\\#]/.exec(value);
    if (s) return s[0] === '#' ? "has a '#', where Anaconda cuts the line as a comment" : `has a ${s[0]}, which Anaconda reads as shell-like quoting`;
  }
  if (!p.kind) return undefined;
  if (!p.whole) return p.kind.part?.[0].test(value) ? `has ${p.kind.part[1]}, which would split the list` : undefined;
  return value === '' ? 'is empty' : p.kind.check(value);
}

/**
 * Checks the attribute entities of one text part of `<command>` before they are substituted.
 * `template` is the whole text of the command child (other parts as spaces), `offset` where
 * `text` starts in it; `where` (file:line) is named in the message.
 */
export function checkCommandEntities(
  command: string,
  template: string,
  offset: number,
  text: string,
  attrs: Readonly<Record<string, string>>,
  where: string,
): void {
  if (!text.includes('&')) return;
  for (const p of cachedPlaces(command, template)) {
    if (p.at < offset || p.at >= offset + text.length) continue;
    const value = attrs[p.name];
    if (value === undefined) continue; // expandEntities reports it, with file:line
    const problem = problemAt(p, value);
    if (problem) {
      const subject = isSecretName(p.name) ? 'the value' : `the value ${show(value)}`;
      throw new UserError('E_KICKSTART_ATTRIBUTE', `${subject} ${problem}; ${p.label} takes ${p.kind?.what ?? 'one word'} (${where})`, { where: p.name });
    }
  }
}

/** A value shown on a kickstart comment line (the header): one line, like any other. */
export function checkCommentValue(name: string, value: string): void {
  const ctl = CONTROL.exec(value);
  if (ctl)
    throw new UserError(
      'E_KICKSTART_ATTRIBUTE',
      `${isSecretName(name) ? 'the value' : `the value ${show(value)}`} has a control character or line break (U+${ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}): the kickstart's header comment is one line`,
      { where: name },
    );
}
