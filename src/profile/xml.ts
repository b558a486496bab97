// Order-preserving XML for node and graph files, on fast-xml-parser. Untrusted-input rules:
// files over the size limit are refused; DOCTYPE/ENTITY declarations are refused (entity bombs,
// external entities); malformed XML is an error naming file and line. Entities are NOT expanded
// here: `&name;` stays in text and attribute values, and is expanded per host at render time.
// Every element carries the line of its start tag (fast-xml-parser reports none): start tags are
// scanned from the raw text in document order and matched one to one with the parsed elements.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { UserError } from '../errors.js';

export interface XElement {
  tag: string;
  attrs: Record<string, string>;
  children: XChild[];
  line: number;
}
export type XChild = XElement | { text: string; cdata: boolean };

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

function lineAt(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Lines of every start tag, in document order, skipping comments, CDATA and PIs. */
function startTagLines(text: string): number[] {
  const out: number[] = [];
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<([A-Za-z_][\w.:-]*)/g;
  let line = 1;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    for (let i = last; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
    last = m.index;
    if (m[1]) out.push(line);
  }
  return out;
}

type Raw = Record<string, unknown>;

export function parseXml(text: string, file: string, maxBytes = DEFAULT_MAX_FILE_BYTES): XElement {
  if (Buffer.byteLength(text) > maxBytes) throw new UserError('E_FILE_TOO_LARGE', `larger than ${maxBytes} bytes: refused`, { where: file });
  // Declarations are looked for outside CDATA and comments (a script may well print "<!DOCTYPE html>");
  // masking keeps every offset, so the line reported is the real one.
  const masked = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ' '));
  const decl = /<!(DOCTYPE|ENTITY)/i.exec(masked);
  if (decl)
    throw new UserError('E_XML_ENTITY', `<!${decl[1]}> declarations are refused (entity expansion attacks); attributes are supplied by netroot`, {
      where: `${file}:${lineAt(text, decl.index)}`,
    });
  // fast-xml-parser's validator rejects long entity names (Rocks attribute names are long): validate
  // a copy in which every well-formed named entity is `&amp;`; the parse below keeps the original.
  const v = XMLValidator.validate(text.replace(/&[A-Za-z_][\w.-]*;/g, '&amp;'), { allowBooleanAttributes: false });
  if (v !== true) throw new UserError('E_XML_MALFORMED', `malformed XML: ${v.err.msg}`, { where: `${file}:${v.err.line}` });
  const lines = startTagLines(text);
  let next = 0;
  const convert = (raw: Raw): XChild | null => {
    if ('#text' in raw) return { text: String(raw['#text']), cdata: false };
    if ('#comment' in raw) return null;
    if ('#cdata' in raw) {
      const inner = raw['#cdata'] as Raw[];
      return { text: inner.map((c) => String(c['#text'] ?? '')).join(''), cdata: true };
    }
    const tag = Object.keys(raw).find((k) => k !== ':@');
    if (!tag) return null;
    const line = lines[next++] ?? 0;
    const attrs: Record<string, string> = {};
    for (const [k, val] of Object.entries((raw[':@'] as Record<string, unknown>) ?? {})) attrs[k] = String(val);
    const children = ((raw[tag] as Raw[]) ?? []).map(convert).filter((c): c is XChild => c !== null);
    return { tag, attrs, children, line };
  };
  let parsed: Raw[];
  try {
    parsed = parser.parse(text) as Raw[];
  } catch (e) {
    // fast-xml-parser refuses some inputs the validator let through (e.g. nesting deeper than
    // its limit): still the file's fault, still named.
    throw new UserError('E_XML_MALFORMED', `cannot parse: ${(e as Error).message}`, { where: file });
  }
  const top = parsed.map(convert).filter((c): c is XElement => c !== null && 'tag' in c);
  if (top.length !== 1) throw new UserError('E_XML_MALFORMED', 'expected exactly one root element', { where: `${file}:1` });
  return top[0]!;
}

export function isElement(c: XChild): c is XElement {
  return 'tag' in c;
}

/** Concatenated text of an element's direct text/CDATA children (elements ignored). */
export function textOf(e: XElement): string {
  return e.children.map((c) => (isElement(c) ? '' : c.text)).join('');
}
