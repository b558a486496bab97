// The cheap look at an /RPC2 body before the XML parser sees it. fast-xml-parser's work (validate,
// then parse, then our tree walk) grows with the elements and references in a document, about 5 µs
// each on this machine's kind, far more than with its bytes: 64 KiB of `<value><int>1</int></value>`
// takes ~60 ms, 64 KiB of text ~10 ms. Counting `<` and `&` is one pass over the bytes with no
// allocation (both are ASCII, so UTF-8 multi-byte sequences never contain them), and it stops at the
// first one over the limit. A node's call has about 40.

const LT = 0x3c;
const AMP = 0x26;

/** True when `body` holds more than `max` of `<` and `&` together. */
export function tooMuchMarkup(body: Uint8Array, max: number): boolean {
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if ((b === LT || b === AMP) && ++n > max) return true;
  }
  return false;
}
