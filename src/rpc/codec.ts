// XML-RPC codec (http://xmlrpc.com/spec.md) on fast-xml-parser, with our own checks around it:
// fast-xml-parser tolerates unclosed tags, leaves unknown entities and numeric character
// references undecoded and does not limit document size, so this module
//   - rejects bodies over limits.maxBytes before decoding them (UTF-8 only, fatal decoding),
//   - rejects any DOCTYPE / ENTITY declaration outright (no DTDs, so no entity expansion bombs),
//   - runs XMLValidator for well-formedness, then parses with entity processing OFF and decodes
//     text itself: the five XML built-ins and character references to legal XML characters only,
//   - bounds XML nesting (maxNestedTags) and array/struct nesting (limits.maxDepth).
// Every problem in an incoming document is a UserError with code E_XMLRPC_MALFORMED; every
// value that cannot be put on the wire (NaN, a cycle, a control character...) is a NetrootError
// with code E_XMLRPC_VALUE. Pure: no sockets, no store.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { NetrootError, UserError } from '../errors.js';
import { DEFAULT_LIMITS, type XmlRpcLimits, type XmlRpcValue } from './types.js';

export const E_XMLRPC_MALFORMED = 'E_XMLRPC_MALFORMED';
export const E_XMLRPC_VALUE = 'E_XMLRPC_VALUE';
export const E_XMLRPC_FAULT = 'E_XMLRPC_FAULT';

/** A fault answer from a server, raised by parseMethodResponse. */
export class XmlRpcFault extends NetrootError {
  readonly faultCode: number;
  readonly faultString: string;
  constructor(faultCode: number, faultString: string) {
    super(E_XMLRPC_FAULT, `XML-RPC fault ${faultCode}: ${faultString}`);
    this.name = 'XmlRpcFault';
    this.faultCode = faultCode;
    this.faultString = faultString;
  }
}

function malformed(message: string, where?: string): UserError {
  return new UserError(E_XMLRPC_MALFORMED, `malformed XML-RPC: ${message}`, where === undefined ? {} : { where });
}

function badValue(message: string): NetrootError {
  return new NetrootError(E_XMLRPC_VALUE, `cannot encode as XML-RPC: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Reading: bytes → checked text → fast-xml-parser tree → our Element tree → values

/** One element with its child elements and its character data (text + CDATA, entity-decoded). */
interface Element {
  name: string;
  children: Element[];
  text: string;
}

type FxpNode = Record<string, unknown>;

/** XML 1.0 Char production, minus what a well-formed document cannot contain. */
const ILLEGAL_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const BUILTIN: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the five built-in entities and character references; anything else is an error. */
function decodeText(raw: string, where: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const amp = raw.indexOf('&', i);
    if (amp < 0) {
      out += raw.slice(i);
      break;
    }
    out += raw.slice(i, amp);
    const semi = raw.indexOf(';', amp);
    if (semi < 0 || semi - amp > 12) throw malformed(`bare '&' in character data`, where);
    const ref = raw.slice(amp + 1, semi);
    const builtin = Object.hasOwn(BUILTIN, ref) ? BUILTIN[ref] : undefined;
    if (builtin !== undefined) out += builtin;
    else if (/^#[0-9]{1,7}$/.test(ref) || /^#x[0-9A-Fa-f]{1,6}$/.test(ref)) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!isXmlChar(cp)) throw malformed(`character reference &${ref}; is not a legal XML character`, where);
      out += String.fromCodePoint(cp);
    } else throw malformed(`undefined entity &${ref};`, where);
    i = semi + 1;
  }
  return out;
}

function toElement(name: string, kids: unknown, path: string): Element {
  const el: Element = { name, children: [], text: '' };
  if (!Array.isArray(kids)) return el;
  for (const k of kids as FxpNode[]) {
    for (const [key, v] of Object.entries(k)) {
      if (key === ':@') continue;
      if (key === '#text') el.text += decodeText(String(v), `${path}/${name}`);
      else if (key === '#cdata') {
        for (const c of Array.isArray(v) ? (v as FxpNode[]) : []) el.text += String(c['#text'] ?? '');
      } else el.children.push(toElement(key, v, `${path}/${name}`));
    }
  }
  return el;
}

function bodyToText(body: string | Buffer, maxBytes: number): string {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > maxBytes) throw malformed(`body of ${size} bytes exceeds the limit of ${maxBytes}`);
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    if (body.length >= 2 && ((body[0] === 0xfe && body[1] === 0xff) || (body[0] === 0xff && body[1] === 0xfe))) {
      throw malformed('UTF-16 documents are not supported');
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
    } catch {
      throw malformed('body is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** Checks and parses a document; returns its single root element. */
function parseDocument(body: string | Buffer, limits: XmlRpcLimits | undefined): { root: Element; maxDepth: number } {
  const maxBytes = limits?.maxBytes ?? DEFAULT_LIMITS.maxBytes;
  const maxDepth = limits?.maxDepth ?? DEFAULT_LIMITS.maxDepth;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0 || !Number.isInteger(maxDepth) || maxDepth <= 0) {
    throw new NetrootError('E_XMLRPC_LIMITS', 'XML-RPC limits must be positive integers');
  }
  let text = bodyToText(body, maxBytes);
  const bad = ILLEGAL_CHAR.exec(text);
  if (bad) throw malformed(`illegal character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} in the document`, `offset ${bad.index}`);
  // XML 1.0 §2.11: line ends are normalised before parsing, so &#13; is the only way to send CR.
  text = text.replace(/\r\n?/g, '\n');
  const decl = /^\s*<\?xml\b([^?]*)\?>/.exec(text);
  if (decl) {
    const enc = /encoding\s*=\s*["']([^"']*)["']/.exec(decl[1] ?? '');
    if (enc && !/^(utf-?8|us-ascii|ascii)$/i.test(enc[1] ?? '')) throw malformed(`unsupported encoding ${JSON.stringify(enc[1])}`);
  }
  // No DTDs at all: internal subsets are where entity bombs and external entities live.
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) throw malformed('DOCTYPE and ENTITY declarations are not allowed');
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true)
    throw malformed(valid.err.msg, valid.err.col === undefined ? `line ${valid.err.line}` : `line ${valid.err.line}, column ${valid.err.col}`);
  let tree: unknown;
  try {
    // Each array/struct level costs 3 elements (value, array|struct, data|member); the envelope ~5.
    const p = new XMLParser({ ...parserOptions, maxNestedTags: 3 * maxDepth + 8 });
    tree = p.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw malformed(/nested/i.test(msg) ? `nesting deeper than ${maxDepth} levels` : msg);
  }
  const roots: Element[] = [];
  for (const node of Array.isArray(tree) ? (tree as FxpNode[]) : []) {
    for (const [key, v] of Object.entries(node)) {
      if (key === '#text') {
        if (String(v).trim() !== '') throw malformed('text outside the root element');
      } else if (key === '#cdata') {
        // XMLValidator lets a CDATA section outside the root through; XML 1.0 §2.1 allows it only in content.
        throw malformed('CDATA outside the root element');
      } else if (key !== ':@') roots.push(toElement(key, v, ''));
    }
  }
  if (roots.length !== 1 || roots[0] === undefined) throw malformed(`expected one root element, found ${roots.length}`);
  return { root: roots[0], maxDepth };
}

const parserOptions = {
  preserveOrder: true,
  ignoreAttributes: true,
  trimValues: false,
  parseTagValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false as const,
};

function onlyWhitespace(el: Element, where: string): void {
  if (el.text.trim() !== '') throw malformed(`unexpected text in <${el.name}>`, where);
}

function noChildren(el: Element, where: string): void {
  const first = el.children[0];
  if (first) throw malformed(`unexpected element <${first.name}> inside <${el.name}>`, where);
}

function single(el: Element, name: string, where: string): Element {
  onlyWhitespace(el, where);
  const c = el.children;
  if (c.length !== 1 || c[0] === undefined || c[0].name !== name) {
    throw malformed(`<${el.name}> must contain exactly one <${name}>, found ${c.map((x) => `<${x.name}>`).join('') || 'nothing'}`, where);
  }
  return c[0];
}

const INT = /^[+-]?[0-9]+$/;
const DOUBLE = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function parseInteger(text: string, type: string, where: string): number {
  const t = text.trim();
  if (!INT.test(t) || t.length > 24) throw malformed(`bad <${type}> ${JSON.stringify(t.slice(0, 40))}`, where);
  const n = Number(t);
  if (type === 'i8') {
    if (!Number.isSafeInteger(n)) throw malformed(`<i8> ${t} is outside the range a JavaScript number holds exactly`, where);
  } else if (n < INT32_MIN || n > INT32_MAX) throw malformed(`<${type}> ${t} is outside the 32-bit range`, where);
  return n === 0 ? 0 : n;
}

const DATE = /^([0-9]{4})-?([0-9]{2})-?([0-9]{2})T([0-9]{2}):?([0-9]{2}):?([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?$/;

/**
 * dateTime.iso8601. The spec's own example is `19980717T14:08:55` (what Python writes); we also
 * accept the extended form `1998-07-17T14:08:55`, fractions and a zone. No zone means UTC.
 */
export function parseIsoDate(text: string, where = 'dateTime.iso8601'): Date {
  const t = text.trim();
  const m = DATE.exec(t);
  if (!m) throw malformed(`bad <dateTime.iso8601> ${JSON.stringify(t.slice(0, 40))}`, where);
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x)) as [number, number, number, number, number, number];
  const frac = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const daysIn = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn || h > 23 || mi > 59 || s > 59) {
    throw malformed(`<dateTime.iso8601> ${JSON.stringify(t)} is not a valid date`, where);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0..99 to 1900+
  date.setUTCHours(h, mi, s, frac);
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(-2));
    if (zh > 23 || zm > 59) throw malformed(`bad time zone in <dateTime.iso8601> ${JSON.stringify(t)}`, where);
    date.setTime(date.getTime() - (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm) * 60_000);
  }
  return date;
}

function parseBase64(text: string, where: string): Buffer {
  const t = text.replace(/[\t\n\r ]+/g, '');
  if (t.length % 4 !== 0 || !BASE64.test(t)) throw malformed('bad <base64> content', where);
  return Buffer.from(t, 'base64');
}

function setMember(obj: { [k: string]: XmlRpcValue }, name: string, value: XmlRpcValue): void {
  // defineProperty, so a member named "__proto__" is data, never a prototype change.
  Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
}

function decodeValue(el: Element, depth: number, maxDepth: number, where: string): XmlRpcValue {
  if (el.name !== 'value') throw malformed(`expected <value>, found <${el.name}>`, where);
  if (el.children.length === 0) return el.text; // untyped value = string (whitespace kept)
  const typed = single(el, el.children[0]?.name ?? '', where);
  const w = `${where}/${typed.name}`;
  switch (typed.name) {
    case 'int':
    case 'i4':
    case 'i8':
      noChildren(typed, w);
      return parseInteger(typed.text, typed.name, w);
    case 'boolean': {
      noChildren(typed, w);
      const t = typed.text.trim();
      if (t !== '0' && t !== '1') throw malformed(`bad <boolean> ${JSON.stringify(t.slice(0, 40))}`, w);
      return t === '1';
    }
    case 'string':
      noChildren(typed, w);
      return typed.text;
    case 'double': {
      noChildren(typed, w);
      const t = typed.text.trim();
      const n = Number(t);
      if (!DOUBLE.test(t) || t.length > 400 || !Number.isFinite(n)) throw malformed(`bad <double> ${JSON.stringify(t.slice(0, 40))}`, w);
      return n;
    }
    case 'dateTime.iso8601':
      noChildren(typed, w);
      return parseIsoDate(typed.text, w);
    case 'base64':
      noChildren(typed, w);
      return parseBase64(typed.text, w);
    case 'nil':
      noChildren(typed, w);
      onlyWhitespace(typed, w);
      return null;
    case 'array': {
      if (depth >= maxDepth) throw malformed(`nesting deeper than ${maxDepth} levels`, w);
      const data = single(typed, 'data', w);
      onlyWhitespace(data, `${w}/data`);
      return data.children.map((v, i) => decodeValue(v, depth + 1, maxDepth, `${w}/data/value[${i}]`));
    }
    case 'struct': {
      if (depth >= maxDepth) throw malformed(`nesting deeper than ${maxDepth} levels`, w);
      onlyWhitespace(typed, w);
      const obj: { [k: string]: XmlRpcValue } = {};
      typed.children.forEach((member, i) => {
        const mw = `${w}/member[${i}]`;
        if (member.name !== 'member') throw malformed(`expected <member>, found <${member.name}>`, mw);
        onlyWhitespace(member, mw);
        const names = member.children.filter((c) => c.name === 'name');
        const values = member.children.filter((c) => c.name === 'value');
        if (names.length !== 1 || values.length !== 1 || member.children.length !== 2 || !names[0] || !values[0]) {
          throw malformed('<member> must contain one <name> and one <value>', mw);
        }
        noChildren(names[0], `${mw}/name`);
        setMember(obj, names[0].text, decodeValue(values[0], depth + 1, maxDepth, `${mw}/value`));
      });
      return obj;
    }
    default:
      throw malformed(`unknown type <${typed.name}>`, where);
  }
}

/** Method names per the spec: letters, digits, `_ . : /`. */
const METHOD_NAME = /^[A-Za-z0-9_.:/]{1,200}$/;

function decodeParams(el: Element, maxDepth: number): XmlRpcValue[] {
  onlyWhitespace(el, '/params');
  return el.children.map((p, i) => {
    const w = `/params/param[${i}]`;
    if (p.name !== 'param') throw malformed(`expected <param>, found <${p.name}>`, w);
    return decodeValue(single(p, 'value', w), 0, maxDepth, `${w}/value`);
  });
}

/** Parses an incoming `<methodCall>`. Throws UserError E_XMLRPC_MALFORMED on anything wrong. */
export function parseMethodCall(body: string | Buffer, limits?: XmlRpcLimits): { method: string; params: XmlRpcValue[] } {
  const { root, maxDepth } = parseDocument(body, limits);
  if (root.name !== 'methodCall') throw malformed(`root element is <${root.name}>, expected <methodCall>`);
  onlyWhitespace(root, '/methodCall');
  const names = root.children.filter((c) => c.name === 'methodName');
  const params = root.children.filter((c) => c.name === 'params');
  const other = root.children.find((c) => c.name !== 'methodName' && c.name !== 'params');
  if (other) throw malformed(`unexpected element <${other.name}> in <methodCall>`);
  if (names.length !== 1 || !names[0]) throw malformed('<methodCall> must contain one <methodName>');
  if (params.length > 1) throw malformed('<methodCall> has more than one <params>');
  noChildren(names[0], '/methodName');
  const method = names[0].text.trim();
  if (!METHOD_NAME.test(method)) throw malformed(`bad method name ${JSON.stringify(method.slice(0, 60))}`);
  return { method, params: params[0] ? decodeParams(params[0], maxDepth) : [] };
}

/** Parses a `<methodResponse>`; a fault is thrown as XmlRpcFault. For our CLI and tests. */
export function parseMethodResponse(body: string | Buffer, limits?: XmlRpcLimits): XmlRpcValue {
  const { root, maxDepth } = parseDocument(body, limits);
  if (root.name !== 'methodResponse') throw malformed(`root element is <${root.name}>, expected <methodResponse>`);
  const first = single(root, root.children[0]?.name ?? 'params', '/methodResponse');
  if (first.name === 'fault') {
    const v = decodeValue(single(first, 'value', '/fault'), 0, maxDepth, '/fault/value');
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date || Buffer.isBuffer(v)) throw malformed('fault value is not a struct');
    const code = v['faultCode'];
    const str = v['faultString'];
    if (typeof code !== 'number' || !Number.isInteger(code) || typeof str !== 'string')
      throw malformed('fault needs an int faultCode and a string faultString');
    throw new XmlRpcFault(code, str);
  }
  if (first.name !== 'params') throw malformed(`unexpected element <${first.name}> in <methodResponse>`);
  const params = decodeParams(first, maxDepth);
  if (params.length !== 1) throw malformed(`a response carries exactly one param, found ${params.length}`);
  return params[0] as XmlRpcValue;
}

// ---------------------------------------------------------------------------------------------
// Writing

function escapeText(s: string, what: string): string {
  const bad = ILLEGAL_CHAR.exec(s);
  if (bad) throw badValue(`${what} contains U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}, which XML 1.0 cannot carry`);
  // CR is written as a reference: a literal one would be turned into LF by the receiving parser.
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYYMMDDTHH:MM:SS` in UTC — the spec's form, and the only one Python's builtin-types mode reads. */
export function formatIsoDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw badValue('invalid Date');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw badValue(`year ${y} is outside 0..9999`);
  return `${pad(y, 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function encodeValue(v: unknown, out: string[], ancestors: Set<object>): void {
  out.push('<value>');
  if (v === null) out.push('<nil/>');
  else if (typeof v === 'string') out.push('<string>', escapeText(v, 'a string'), '</string>');
  else if (typeof v === 'boolean') out.push('<boolean>', v ? '1' : '0', '</boolean>');
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw badValue(`${v} (XML-RPC has no NaN or infinity)`);
    if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) out.push('<int>', String(v === 0 ? 0 : v), '</int>');
    else if (Number.isSafeInteger(v)) out.push('<i8>', String(v), '</i8>');
    else out.push('<double>', String(v), '</double>');
  } else if (v instanceof Date) out.push('<dateTime.iso8601>', formatIsoDate(v), '</dateTime.iso8601>');
  else if (Buffer.isBuffer(v) || v instanceof Uint8Array)
    out.push('<base64>', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), '</base64>');
  else if (typeof v === 'object') {
    if (ancestors.has(v)) throw badValue('a value contains itself');
    ancestors.add(v);
    if (Array.isArray(v)) {
      out.push('<array><data>');
      for (const item of v) encodeValue(item, out, ancestors);
      out.push('</data></array>');
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw badValue(`an object of class ${(v as object).constructor?.name ?? '?'}`);
      out.push('<struct>');
      for (const [k, item] of Object.entries(v)) {
        if (item === undefined) continue;
        out.push('<member><name>', escapeText(k, 'a struct member name'), '</name>');
        encodeValue(item, out, ancestors);
        out.push('</member>');
      }
      out.push('</struct>');
    }
    ancestors.delete(v);
  } else throw badValue(`a value of type ${typeof v}`);
  out.push('</value>');
}

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function serializeResponse(value: XmlRpcValue): string {
  const out = [DECL, '<methodResponse><params><param>'];
  encodeValue(value, out, new Set());
  out.push('</param></params></methodResponse>\n');
  return out.join('');
}

/** A fault document. The message is cleaned (control characters replaced) so a fault always encodes. */
export function serializeFault(code: number, message: string): string {
  if (!Number.isInteger(code) || code < INT32_MIN || code > INT32_MAX) throw badValue(`fault code ${code} is not a 32-bit integer`);
  const clean = message.replace(new RegExp(ILLEGAL_CHAR.source, 'g'), '\uFFFD');
  const out = [DECL, '<methodResponse><fault>'];
  encodeValue({ faultCode: code, faultString: clean }, out, new Set());
  out.push('</fault></methodResponse>\n');
  return out.join('');
}

export function serializeMethodCall(method: string, params: XmlRpcValue[]): string {
  if (!METHOD_NAME.test(method)) throw badValue(`method name ${JSON.stringify(method)}`);
  const out = [DECL, '<methodCall><methodName>', method, '</methodName><params>'];
  for (const p of params) {
    out.push('<param>');
    encodeValue(p, out, new Set());
    out.push('</param>');
  }
  out.push('</params></methodCall>\n');
  return out.join('');
}
