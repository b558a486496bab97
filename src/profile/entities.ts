// Entity expansion at render time: the five XML built-ins, numeric character references, and
// attributes as entities (`&hostname;`). An undefined entity is an error naming file and line.
import { UserError } from '../errors.js';

const BUILTIN: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ENTITY = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z_][\w.-]*);/g;

/**
 * A text cut at its entity references, once per text: literal pieces (built-in entities and valid
 * character references already decoded), attribute names, and invalid character references (an
 * error when expanded, as before). Expanding is then a concatenation, not a regex replace per request.
 */
type Piece = string | { attr: string } | { badChar: string };
const pieces = new Map<string, Piece[]>();

function cut(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of text.matchAll(ENTITY)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const name = m[1]!;
    if (name.startsWith('#')) {
      // XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
      const cp = name.startsWith('#x') ? parseInt(name.slice(2), 16) : Number(name.slice(1));
      const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      out.push(ok ? String.fromCodePoint(cp) : { badChar: name });
      continue;
    }
    const b = BUILTIN[name];
    out.push(b !== undefined ? b : { attr: name });
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function expandEntities(text: string, attrs: Readonly<Record<string, string>>, where: string): string {
  if (!text.includes('&')) return text;
  let p = pieces.get(text);
  if (p === undefined) {
    p = cut(text);
    if (pieces.size > 50_000) pieces.clear();
    pieces.set(text, p);
  }
  // Left to right: the first bad reference or undefined attribute is the one reported.
  let out = '';
  for (const x of p) {
    if (typeof x === 'string') out += x;
    else if ('attr' in x) {
      const v = attrs[x.attr];
      if (v === undefined) throw new UserError('E_XML_ENTITY', `undefined entity &${x.attr}; (set it with: netroot attr set ${x.attr} VALUE)`, { where });
      out += v;
    } else throw new UserError('E_XML_ENTITY', `character reference &${x.badChar}; is not an XML character`, { where });
  }
  return out;
}

/** Names of the attribute entities a text uses (for checks). */
export function entityNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(ENTITY)) if (!m[1]!.startsWith('#') && BUILTIN[m[1]!] === undefined) out.push(m[1]!);
  return out;
}

/** Attribute entities of a text with their offsets (for checks that depend on the place). */
export function attributeRefs(text: string): Array<{ name: string; index: number; length: number }> {
  const out: Array<{ name: string; index: number; length: number }> = [];
  for (const m of text.matchAll(ENTITY))
    if (!m[1]!.startsWith('#') && BUILTIN[m[1]!] === undefined) out.push({ name: m[1]!, index: m.index, length: m[0].length });
  return out;
}
