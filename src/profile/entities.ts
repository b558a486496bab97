// Entity expansion at render time: the five XML built-ins, numeric character references, and
// attributes as entities (`&hostname;`). An undefined entity is an error naming file and line.
import { UserError } from '../errors.js';

const BUILTIN: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ENTITY = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z_][\w.-]*);/g;

export function expandEntities(text: string, attrs: Readonly<Record<string, string>>, where: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (_m, name: string) => {
    if (name.startsWith('#')) {
      // XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
      const cp = name.startsWith('#x') ? parseInt(name.slice(2), 16) : Number(name.slice(1));
      const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (!ok) throw new UserError('E_XML_ENTITY', `character reference &${name}; is not an XML character`, { where });
      return String.fromCodePoint(cp);
    }
    const b = BUILTIN[name];
    if (b !== undefined) return b;
    const v = attrs[name];
    if (v === undefined) throw new UserError('E_XML_ENTITY', `undefined entity &${name}; (set it with: netroot attr set ${name} VALUE)`, { where });
    return v;
  });
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
  for (const m of text.matchAll(ENTITY)) if (!m[1]!.startsWith('#') && BUILTIN[m[1]!] === undefined) out.push({ name: m[1]!, index: m.index, length: m[0].length });
  return out;
}
