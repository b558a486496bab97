import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatIsoDate,
  parseIsoDate,
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeResponse,
  XmlRpcFault,
  type XmlRpcValue,
} from '../../src/rpc/index.js';
import { NetrootError } from '../../src/errors.js';
import { assertMalformed, P, refused } from './refused.js';

const call = (params: string, name = 'x.y') => `<?xml version="1.0"?><methodCall><methodName>${name}</methodName><params>${params}</params></methodCall>`;
const one = (value: string) => parseMethodCall(call(`<param>${value}</param>`)).params[0];

test('parses every scalar type from a hand-written document', () => {
  assert.equal(one('<value><int>42</int></value>'), 42);
  assert.equal(one('<value><i4>-7</i4></value>'), -7);
  assert.equal(one('<value><i8>9007199254740991</i8></value>'), 9007199254740991);
  assert.equal(one('<value><int>+5</int></value>'), 5);
  assert.equal(one('<value><boolean>1</boolean></value>'), true);
  assert.equal(one('<value><boolean>0</boolean></value>'), false);
  assert.equal(one('<value><string> a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; </string></value>'), ' a <b> & "c" \'d\' ');
  assert.equal(one('<value>  untyped stays a string  </value>'), '  untyped stays a string  ');
  assert.equal(one('<value></value>'), '');
  assert.equal(one('<value><string/></value>'), '');
  assert.equal(one('<value><string>&#65;&#x42;&#x1F600;</string></value>'), 'AB😀');
  assert.equal(one('<value><string><![CDATA[<raw & text>]]></string></value>'), '<raw & text>');
  assert.equal(one('<value><string>cr&#13;lf\r\nx</string></value>'), 'cr\rlf\nx');
  assert.equal(one('<value><double>-1.5</double></value>'), -1.5);
  assert.equal(one('<value><double>1e+300</double></value>'), 1e300);
  assert.equal(one('<value><double>.25</double></value>'), 0.25);
  assert.equal(one('<value><nil/></value>'), null);
  assert.deepEqual(one('<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>'), new Date('1998-07-17T14:08:55Z'));
  assert.deepEqual(one('<value><dateTime.iso8601>2026-11-22T10:00:00+02:00</dateTime.iso8601></value>'), new Date('2026-11-22T08:00:00Z'));
  assert.deepEqual(one('<value><dateTime.iso8601>0050-01-01T00:00:00Z</dateTime.iso8601></value>'), new Date('0050-01-01T00:00:00Z'));
  assert.deepEqual(one('<value><base64>aGVs\n bG8=</base64></value>'), Buffer.from('hello'));
  assert.deepEqual(one('<value><base64></base64></value>'), Buffer.alloc(0));
});

test('parses arrays, structs, whitespace between elements, and no params', () => {
  const v = one(`<value>
    <struct>
      <member><name>a</name><value><array><data>
        <value><int>1</int></value>
        <value>two</value>
        <value><struct></struct></value>
      </data></array></value></member>
      <member><value><boolean>1</boolean></value><name>b c</name></member>
    </struct>
  </value>`);
  assert.deepEqual(v, { a: [1, 'two', {}], 'b c': true });
  assert.deepEqual(parseMethodCall('<methodCall><methodName>system.listMethods</methodName></methodCall>'), { method: 'system.listMethods', params: [] });
  assert.deepEqual(parseMethodCall(Buffer.from('\uFEFF' + call(''))), { method: 'x.y', params: [] });
});

test('a struct member named __proto__ is plain data', () => {
  const v = one(
    '<value><struct><member><name>__proto__</name><value><struct><member><name>polluted</name><value>1</value></member></struct></value></member></struct></value>',
  ) as Record<string, XmlRpcValue>;
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { polluted: '1' });
});

const ALL: XmlRpcValue[] = [
  0,
  -2147483648,
  2147483647,
  2147483648,
  -9007199254740991,
  3.25,
  -1e-7,
  1.7976931348623157e308,
  true,
  false,
  '',
  'plain',
  ' spaces\tand\nnewlines\r\n & <tags> "quotes" \'apos\' ]]> ünïcødé 😀',
  null,
  new Date('2026-11-22T16:40:05Z'),
  new Date('0001-01-01T00:00:00Z'),
  Buffer.from([0, 1, 2, 253, 254, 255]),
  Buffer.alloc(0),
  [],
  [1, 'a', [true, [null]]],
  {},
  { name: 'compute-0-0', nested: { list: [1.5, { deep: Buffer.from('x') }] }, when: new Date('2000-02-29T23:59:59Z'), empty: '' },
];

test('round trip of every type through serializeMethodCall → parseMethodCall', () => {
  const parsed = parseMethodCall(serializeMethodCall('netroot.test', ALL));
  assert.equal(parsed.method, 'netroot.test');
  assert.deepEqual(parsed.params, ALL);
});

test('round trip of every type through serializeResponse → parseMethodResponse', () => {
  for (const v of ALL) assert.deepEqual(parseMethodResponse(serializeResponse(v)), v);
  assert.deepEqual(parseMethodResponse(serializeResponse(ALL)), ALL);
});

test('serializes the expected wire types', () => {
  const doc = serializeMethodCall('m', [1, 2 ** 40, 0.5, true, null, 'a<&>b\r', new Date('2026-01-02T03:04:05.678Z'), Buffer.from('hi')]);
  assert.match(doc, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<methodCall><methodName>m<\/methodName><params>/);
  for (const frag of [
    '<value><int>1</int></value>',
    '<value><i8>1099511627776</i8></value>',
    '<value><double>0.5</double></value>',
    '<value><boolean>1</boolean></value>',
    '<value><nil/></value>',
    '<value><string>a&lt;&amp;&gt;b&#13;</string></value>',
    '<value><dateTime.iso8601>20260102T03:04:05</dateTime.iso8601></value>',
    '<value><base64>aGk=</base64></value>',
  ])
    assert.ok(doc.includes(frag), `missing ${frag} in ${doc}`);
});

test('values that XML-RPC cannot carry are refused with E_XMLRPC_VALUE', () => {
  const cyclic: Record<string, XmlRpcValue> = {};
  cyclic['self'] = cyclic;
  for (const v of [NaN, Infinity, 'nul\u0000char', '\uD800lone', new Date(NaN), cyclic, { k: 'bell\u0007' }] as XmlRpcValue[]) {
    assert.throws(() => serializeResponse(v), { code: 'E_XMLRPC_VALUE' });
  }
  assert.throws(() => serializeResponse(new Map() as unknown as XmlRpcValue), { code: 'E_XMLRPC_VALUE' });
  assert.throws(() => serializeResponse(undefined as unknown as XmlRpcValue), { code: 'E_XMLRPC_VALUE' });
  assert.throws(() => serializeMethodCall('bad name', []), { code: 'E_XMLRPC_VALUE' });
  // A value that appears twice without a cycle is fine.
  const shared = [1];
  assert.deepEqual(parseMethodResponse(serializeResponse([shared, shared])), [[1], [1]]);
});

test('faults: serialize and raise as XmlRpcFault', () => {
  const doc = serializeFault(-32601, 'no such method: a.b\u0000');
  assert.throws(
    () => parseMethodResponse(doc),
    (e: unknown) => {
      assert.ok(e instanceof XmlRpcFault);
      assert.equal(e.faultCode, -32601);
      assert.equal(e.faultString, 'no such method: a.b\uFFFD');
      return true;
    },
  );
  const hand = `<?xml version="1.0"?><methodResponse><fault><value><struct>
    <member><name>faultCode</name><value><int>4</int></value></member>
    <member><name>faultString</name><value><string>Too many parameters.</string></value></member>
    </struct></value></fault></methodResponse>`;
  assert.throws(() => parseMethodResponse(hand), { faultCode: 4, faultString: 'Too many parameters.' });
  assert.throws(() => parseMethodResponse('<methodResponse><fault><value><int>1</int></value></fault></methodResponse>'), { code: 'E_XMLRPC_MALFORMED' });
  assert.throws(() => parseMethodResponse('<methodResponse><params></params></methodResponse>'), { code: 'E_XMLRPC_MALFORMED' });
  assert.throws(() => serializeFault(1.5, 'x'), { code: 'E_XMLRPC_VALUE' });
});

test('malformed documents: structure', () => {
  assertMalformed('', /Start tag|root/);
  assertMalformed('not xml at all');
  assertMalformed(call('<param><value><int>1</int></value></param>').replace('</params>', ''), /line/);
  assertMalformed('<methodCall><methodName>a</methodName><params><param><value><int>1</value></param></params></methodCall>');
  assertMalformed('<methodCall><methodName>a</methodName></methodCall><methodCall/>');
  assertMalformed('<methodCall><methodName>a</methodName></methodCall>trailing');
  assertMalformed('<methodResponse><params/></methodResponse>', /expected <methodCall>/);
  assertMalformed('<methodCall><params/></methodCall>', /methodName/);
  assertMalformed('<methodCall><methodName>a b</methodName></methodCall>', /method name/);
  assertMalformed('<methodCall><methodName>a</methodName><extra/></methodCall>', /extra/);
  assertMalformed(call('<param><value><int>1</int></value><value><int>2</int></value></param>'));
  assertMalformed(call('<value>1</value>'), /param/);
  assertMalformed(call('<param><value><struct><member><name>a</name></member></struct></value></param>'), /member/);
  assertMalformed(call('<param><value><array><value>1</value></array></value></param>'), /data/);
  assertMalformed(call('<param><value>text<int>1</int></value></param>'), /text/);
  assertMalformed(call('<param><value><int><b/>1</int></value></param>'));
  assertMalformed(call('<param><value><int>1</int><int>2</int></value></param>'));
  assertMalformed(call('<param><value><nil>x</nil></value></param>'));
});

test('malformed documents: unknown types and bad scalars', () => {
  assertMalformed(call('<param><value><float>1</float></value></param>'), /unknown type <float>/);
  assertMalformed(call('<param><value><ex:nil/></value></param>'), /unknown type/);
  for (const bad of ['', 'abc', '1.0', '0x10', '2147483648', '-2147483649', '1 2', '١٢']) {
    assertMalformed(call(`<param><value><int>${bad}</int></value></param>`), /int/);
  }
  assertMalformed(call('<param><value><i8>9007199254740992</i8></value></param>'), /range/);
  assertMalformed(call(`<param><value><i4>${'9'.repeat(100)}</i4></value></param>`));
  for (const bad of ['2', 'true', '', 'yes']) assertMalformed(call(`<param><value><boolean>${bad}</boolean></value></param>`), /boolean/);
  for (const bad of ['nan', 'inf', '-inf', '1e999', '1.2.3', '', '0x1p3'])
    assertMalformed(call(`<param><value><double>${bad}</double></value></param>`), /double/);
  for (const bad of ['aGk', 'a===', 'aGk*', 'a=Gk']) assertMalformed(call(`<param><value><base64>${bad}</base64></value></param>`), /base64/);
  for (const bad of ['2026-13-01T00:00:00', '20260230T00:00:00', '20260101T24:00:00', 'yesterday', '20260101T00:00:00+25:00']) {
    assertMalformed(call(`<param><value><dateTime.iso8601>${bad}</dateTime.iso8601></value></param>`), /dateTime|time zone/);
  }
});

test('malformed documents: entities, DTDs and encodings', () => {
  const bomb =
    `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>` +
    call('<param><value>&lol2;</value></param>').replace('<?xml version="1.0"?>', '');
  assertMalformed(bomb, /DOCTYPE/);
  assertMalformed('<!DOCTYPE methodCall SYSTEM "file:///etc/passwd"><methodCall><methodName>a</methodName></methodCall>', /DOCTYPE/);
  assertMalformed(call('<param><value>&xxe;</value></param>'), /undefined entity &xxe;/);
  assertMalformed(call('<param><value>&nbsp;</value></param>'), /undefined entity/);
  assertMalformed(call('<param><value>fish & chips</value></param>'), /&/);
  assertMalformed(call('<param><value>&#0;</value></param>'), /legal XML character/);
  assertMalformed(call('<param><value>&#xD800;</value></param>'), /legal XML character/);
  assertMalformed(call('<param><value>&#x110000;</value></param>'), /legal XML character/);
  assertMalformed(call('<param><value>bell\u0007</value></param>'), /illegal character U\+0007/);
  assertMalformed(Buffer.from([...Buffer.from(call('<param><value>')), 0xc3, 0x28, ...Buffer.from('</value></param>')]), /UTF-8/);
  assertMalformed(Buffer.from('\uFEFF<methodCall/>', 'utf16le'), /UTF-16/);
  assertMalformed('<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>a</methodName></methodCall>', /encoding/);
});

// ---------------------------------------------------------------------------------------------
// Boundaries (issue #22): every limit on both sides, every message and `where` exactly.

const param = (value: string) => () => parseMethodCall(call(`<param>${value}</param>`));
const response = (inner: string) => () => parseMethodResponse(`<methodResponse>${inner}</methodResponse>`);
const cannot = (f: () => unknown, message: string) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof NetrootError);
    assert.equal(e.code, 'E_XMLRPC_VALUE');
    assert.equal(e.message, `cannot encode as XML-RPC: ${message}`);
    return true;
  });

test('character references: each edge of the XML Char ranges; decimal and hex; at most 7 digits / 6 hex digits', () => {
  const legal: Array<[string, string]> = [
    ['&#9;', '\t'],
    ['&#10;', '\n'],
    ['&#13;', '\r'],
    ['&#32;', ' '],
    ['&#x20;', ' '],
    ['&#xA;', '\n'],
    ['&#xD7FF;', '\uD7FF'],
    ['&#xE000;', '\uE000'],
    ['&#xfffd;', '\uFFFD'],
    ['&#x10000;', '\u{10000}'],
    ['&#x10FFFF;', '\u{10FFFF}'],
    ['&#1114111;', '\u{10FFFF}'],
    ['&#0000065;', 'A'],
    ['&#x000041;', 'A'],
    ['a&lt;b&gt;c&amp;d&lt;e', 'a<b>c&d<e'],
  ];
  for (const [ref, want] of legal) assert.equal(one(`<value>${ref}</value>`), want, ref);
  // The base follows the x: hex 41 and decimal 65 are both A.
  assert.equal(one('<value>&#x41;&#65;</value>'), 'AA');
  for (const ref of ['&#8;', '&#11;', '&#12;', '&#31;', '&#xD800;', '&#xDFFF;', '&#xFFFE;', '&#xFFFF;', '&#x110000;', '&#1114112;', '&#0;']) {
    refused(param(`<value>${ref}</value>`), `character reference ${ref} is not a legal XML character`, `/methodCall/params/param/value`);
  }
  // Too many digits is not a character reference at all.
  refused(param('<value>&#00000065;</value>'), 'undefined entity &#00000065;', '/methodCall/params/param/value');
  refused(param('<value>&#x0000041;</value>'), 'undefined entity &#x0000041;', '/methodCall/params/param/value');
  refused(param('<value><string>&#x;</string></value>'), 'undefined entity &#x;', '/methodCall/params/param/value/string');
  // A reference name of 11 characters is still read up to its ';', 12 are a bare '&'.
  refused(param('<value>&abcdefghijk;</value>'), 'undefined entity &abcdefghijk;', '/methodCall/params/param/value');
  refused(param('<value>&abcdefghijkl;</value>'), "bare '&' in character data", '/methodCall/params/param/value');
  // Text after the last reference is kept; a member name is decoded too.
  assert.deepEqual(one('<value><struct><member><name>a&amp;b</name><value>x&#33;tail</value></member></struct></value>'), { 'a&b': 'x!tail' });
});

test('illegal characters in the document: each edge of the ranges, named by code point and offset', () => {
  const at = call('<param><value>ab').replace(/<\/params><\/methodCall>$/, '').length;
  for (const [ch, name] of [
    ['\u0000', '0000'],
    ['\u0008', '0008'],
    ['\u000B', '000b'],
    ['\u000C', '000c'],
    ['\u000E', '000e'],
    ['\u001F', '001f'],
    ['\uFFFE', 'fffe'],
    ['\uFFFF', 'ffff'],
    ['\uD800', 'd800'],
    ['\uDBFF', 'dbff'],
    ['\uDC00', 'dc00'],
    ['\uDFFF', 'dfff'],
  ]) {
    refused(param(`<value>ab${ch}</value>`), `illegal character U+${name} in the document`, `offset ${at}`);
  }
  for (const ok of ['\t', '\n', ' ', '\uD7FF', '\uE000', '\uFFFD', '\u{10000}', '\u{10FFFF}', '\uD800\uDC00', '\uDBFF\uDFFF'])
    assert.equal(one(`<value>${ok}</value>`), ok);
  // Line ends: CR LF and a lone CR both become LF (XML 1.0 §2.11).
  assert.equal(one('<value>a\rb\r\nc\n\rd</value>'), 'a\nb\nc\n\nd');
});

test('body size: exactly maxBytes is read, one byte more is refused; bytes, not characters, are counted', () => {
  const doc = call('<param><value>é</value></param>');
  const bytes = Buffer.byteLength(doc);
  assert.equal(bytes, doc.length + 1);
  assert.deepEqual(parseMethodCall(doc, { maxBytes: bytes }).params, ['é']);
  assert.deepEqual(parseMethodCall(Buffer.from(doc), { maxBytes: bytes }).params, ['é']);
  refused(() => parseMethodCall(doc, { maxBytes: bytes - 1 }), `body of ${bytes} bytes exceeds the limit of ${bytes - 1}`);
  refused(() => parseMethodCall(Buffer.from(doc), { maxBytes: bytes - 1 }), `body of ${bytes} bytes exceeds the limit of ${bytes - 1}`);
  // Limits must be positive integers; 1 is one.
  for (const limits of [{ maxBytes: 0 }, { maxBytes: -1 }, { maxBytes: 1.5 }, { maxDepth: 0 }, { maxDepth: 2.5 }, { maxDepth: -3 }]) {
    assert.throws(() => parseMethodCall(doc, limits), { code: 'E_XMLRPC_LIMITS', message: 'XML-RPC limits must be positive integers' }, JSON.stringify(limits));
  }
  refused(() => parseMethodCall(doc, { maxBytes: 1 }), `body of ${bytes} bytes exceeds the limit of 1`);
  assert.deepEqual(parseMethodCall(call('<param><value><array><data><value>1</value></data></array></value></param>'), { maxDepth: 1 }).params, [['1']]);
});

test('encodings: UTF-8 only (BOM or not); UTF-16 BOMs and bad UTF-8 refused with their own message', () => {
  const doc = call('<param><value>ü</value></param>');
  assert.deepEqual(parseMethodCall(Buffer.from(`\uFEFF${doc}`)).params, ['ü']);
  assert.deepEqual(parseMethodCall(`\uFEFF${doc}`).params, ['ü']);
  refused(() => parseMethodCall(Buffer.from([0xfe, 0xff, 0x00, 0x3c])), 'UTF-16 documents are not supported');
  refused(() => parseMethodCall(Buffer.from([0xff, 0xfe, 0x3c, 0x00])), 'UTF-16 documents are not supported');
  // Only those two pairs: FE FE, FF FF, FE alone are simply not UTF-8.
  for (const b of [[0xfe, 0xfe, 0x3c], [0xff, 0xff, 0x3c], [0xfe], [0x3c, 0xff, 0xfe]])
    refused(() => parseMethodCall(Buffer.from(b)), 'body is not valid UTF-8');
  for (const enc of ['UTF-8', 'utf8', 'US-ASCII', 'ascii']) {
    assert.deepEqual(parseMethodCall(`<?xml version="1.0" encoding = '${enc}'?><methodCall><methodName>a</methodName></methodCall>`).method, 'a', enc);
  }
  for (const enc of ['latin1', 'utf-16', 'utf-88', 'xutf8', '']) {
    refused(
      () => parseMethodCall(`<?xml version="1.0" encoding="${enc}"?><methodCall><methodName>a</methodName></methodCall>`),
      `unsupported encoding ${JSON.stringify(enc)}`,
    );
  }
  // No declaration, or one without an encoding: UTF-8.
  assert.equal(parseMethodCall('<?xml version="1.0"?><methodCall><methodName>a</methodName></methodCall>').method, 'a');
});

test('DTDs: DOCTYPE or ENTITY anywhere, in any case, even inside CDATA, is refused before parsing', () => {
  for (const body of [
    '<!doctype methodCall><methodCall><methodName>a</methodName></methodCall>',
    call('<param><value><![CDATA[<!ENTITY x "y">]]></value></param>'),
    call('<param><value><![CDATA[<!entity x>]]></value></param>'),
  ])
    refused(() => parseMethodCall(body), 'DOCTYPE and ENTITY declarations are not allowed');
});

test('well-formedness: the validator message with line and column (or line alone); CDATA or text outside the root refused', () => {
  refused(
    () => parseMethodCall('<methodCall><methodName>a</methodName></methodCal>'),
    "Expected closing tag 'methodCall' (opened in line 1, col 1) instead of closing tag 'methodCal'.",
    'line 1, column 39',
  );
  refused(() => parseMethodCall('\n\n'), 'Start tag expected.', 'line 1');
  refused(() => parseMethodCall('<methodCall><methodName>a</methodName></methodCall><methodCall/>'), 'expected one root element, found 2');
  // A CDATA section is content: outside the root element it is not well-formed XML (XML 1.0 §2.1).
  refused(() => parseMethodCall('<methodCall><methodName>a</methodName></methodCall><![CDATA[x]]>'), 'CDATA outside the root element');
  refused(() => parseMethodCall('<![CDATA[]]><methodCall><methodName>a</methodName></methodCall>'), 'CDATA outside the root element');
  // Comments, processing instructions, attributes and white space around the root are fine.
  assert.deepEqual(parseMethodCall('<?xml version="1.0"?>\n<!-- c --><?pi x?>\n<methodCall>\n<methodName a="b">a<!-- x --></methodName>\n</methodCall>\n'), {
    method: 'a',
    params: [],
  });
  assert.deepEqual(one('<value><int type="x">7</int></value>'), 7);
  assert.equal(one('<value>a<![CDATA[]]>b<![CDATA[<c>]]></value>'), 'ab<c>');
});

test('integers: 32-bit bounds for int and i4, safe-integer bounds for i8, 24 characters at most, -0 is 0', () => {
  for (const t of ['int', 'i4']) {
    assert.equal(one(`<value><${t}>2147483647</${t}></value>`), 2147483647);
    assert.equal(one(`<value><${t}> -2147483648 </${t}></value>`), -2147483648);
    refused(param(`<value><${t}>2147483648</${t}></value>`), `<${t}> 2147483648 is outside the 32-bit range`, `${P}/${t}`);
    refused(param(`<value><${t}>-2147483649</${t}></value>`), `<${t}> -2147483649 is outside the 32-bit range`, `${P}/${t}`);
  }
  assert.equal(one('<value><i8>2147483648</i8></value>'), 2147483648);
  assert.equal(one('<value><i8>-9007199254740991</i8></value>'), -9007199254740991);
  refused(param('<value><i8>-9007199254740992</i8></value>'), '<i8> -9007199254740992 is outside the range a JavaScript number holds exactly', `${P}/i8`);
  refused(param('<value><i8>9007199254740992</i8></value>'), '<i8> 9007199254740992 is outside the range a JavaScript number holds exactly', `${P}/i8`);
  assert.equal(one(`<value><int>${'0'.repeat(23)}7</int></value>`), 7);
  refused(param(`<value><int>${'0'.repeat(24)}7</int></value>`), `bad <int> "${'0'.repeat(24)}7"`, `${P}/int`);
  refused(param(`<value><i8>${'1'.repeat(50)}</i8></value>`), `bad <i8> "${'1'.repeat(40)}"`, `${P}/i8`);
  refused(param('<value><i4>1a</i4></value>'), 'bad <i4> "1a"', `${P}/i4`);
  refused(param('<value><int>a1</int></value>'), 'bad <int> "a1"', `${P}/int`);
  refused(param('<value><int>+-1</int></value>'), 'bad <int> "+-1"', `${P}/int`);
  assert.ok(Object.is(one('<value><int>-0</int></value>'), 0));
  assert.ok(Object.is(one('<value><i8>-0</i8></value>'), 0));
  refused(param('<value><int>1<b/></int></value>'), 'unexpected element <b> inside <int>', `${P}/int`);
});

test('booleans, doubles, strings and nil: each accepted form and each refusal, message and place', () => {
  assert.equal(one('<value><boolean> 1 </boolean></value>'), true);
  assert.equal(one('<value><boolean>\n0\n</boolean></value>'), false);
  refused(param('<value><boolean>01</boolean></value>'), 'bad <boolean> "01"', `${P}/boolean`);
  refused(param(`<value><boolean>${'x'.repeat(60)}</boolean></value>`), `bad <boolean> "${'x'.repeat(40)}"`, `${P}/boolean`);
  refused(param('<value><boolean><b/></boolean></value>'), 'unexpected element <b> inside <boolean>', `${P}/boolean`);
  for (const [text, want] of [
    ['1.', 1],
    ['-.5', -0.5],
    ['+1.5e+3', 1500],
    ['1E5', 100000],
    ['2e-3', 0.002],
    [' 7 ', 7],
    ['0', 0],
  ] as const)
    assert.equal(one(`<value><double>${text}</double></value>`), want, text);
  const d400 = `0.${'0'.repeat(397)}1`;
  assert.equal(d400.length, 400);
  assert.equal(one(`<value><double>${d400}</double></value>`), Number(d400));
  refused(param(`<value><double>${d400}0</double></value>`), `bad <double> "${`${d400}0`.slice(0, 40)}"`, `${P}/double`);
  for (const bad of ['.', '1e', 'e5', '1.5.', '--1', '1e+-2', '1 e5'])
    refused(param(`<value><double>${bad}</double></value>`), `bad <double> ${JSON.stringify(bad)}`, `${P}/double`);
  refused(param('<value><double>1e309</double></value>'), 'bad <double> "1e309"', `${P}/double`);
  refused(param('<value><double><b/></double></value>'), 'unexpected element <b> inside <double>', `${P}/double`);
  refused(param('<value><string><b/></string></value>'), 'unexpected element <b> inside <string>', `${P}/string`);
  assert.equal(one('<value><nil> \n </nil></value>'), null);
  refused(param('<value><nil>x</nil></value>'), 'unexpected text in <nil>', `${P}/nil`);
  refused(param('<value><nil><b/></nil></value>'), 'unexpected element <b> inside <nil>', `${P}/nil`);
  refused(param('<value><float>1</float></value>'), 'unknown type <float>', P);
  refused(param('<value><int>1</int><int>2</int></value>'), '<value> must contain exactly one <int>, found <int><int>', P);
  refused(param('<value>x<int>1</int></value>'), 'unexpected text in <value>', P);
});

test('base64: white space ignored, length a multiple of 4, at most two "=" at the end', () => {
  assert.deepEqual(one('<value><base64> aG\tk=\r\n </base64></value>'), Buffer.from('hi'));
  assert.deepEqual(one('<value><base64>+/+/</base64></value>'), Buffer.from([0xfb, 0xff, 0xbf]));
  assert.deepEqual(one('<value><base64>YQ==</base64></value>'), Buffer.from('a'));
  for (const bad of ['YQ=', '====', 'Y===', 'YQ=a', 'Y-_a', 'YQ==YQ=='])
    refused(param(`<value><base64>${bad}</base64></value>`), 'bad <base64> content', `${P}/base64`);
  refused(param('<value><base64><b/></base64></value>'), 'unexpected element <b> inside <base64>', `${P}/base64`);
});

test('dateTime.iso8601: calendar and clock bounds, fractions truncated to ms, zones both ways, messages', () => {
  const ok: Array<[string, string]> = [
    ['20240229T00:00:00', '2024-02-29T00:00:00.000Z'],
    ['20000229T23:59:59', '2000-02-29T23:59:59.000Z'],
    ['1998-12-31T00:00:00Z', '1998-12-31T00:00:00.000Z'],
    ['19980131T00:00:00', '1998-01-31T00:00:00.000Z'],
    ['19980101T000000', '1998-01-01T00:00:00.000Z'],
    [' 19980717T14:08:55 ', '1998-07-17T14:08:55.000Z'],
    ['19980717T14:08:55.5', '1998-07-17T14:08:55.500Z'],
    ['19980717T14:08:55.1239', '1998-07-17T14:08:55.123Z'],
    ['19980717T14:08:55.123456789', '1998-07-17T14:08:55.123Z'],
    ['19980717T14:08:55+0530', '1998-07-17T08:38:55.000Z'],
    ['19980717T14:08:55-05:30', '1998-07-17T19:38:55.000Z'],
    ['19980717T14:08:55+23:59', '1998-07-16T14:09:55.000Z'],
    ['19980717T14:08:55-00:00', '1998-07-17T14:08:55.000Z'],
    ['00000101T00:00:00', '0000-01-01T00:00:00.000Z'],
  ];
  for (const [text, iso] of ok) assert.equal(parseIsoDate(text).toISOString(), iso, text);
  const invalid = [
    '20230229T00:00:00',
    '19000229T00:00:00',
    '20260431T00:00:00',
    '20261232T00:00:00',
    '20260001T00:00:00',
    '20261301T00:00:00',
    '20260100T00:00:00',
  ];
  for (const t of [...invalid, '20260101T24:00:00', '20260101T23:60:00', '20260101T23:59:60']) {
    refused(() => parseIsoDate(t), `<dateTime.iso8601> ${JSON.stringify(t)} is not a valid date`, 'dateTime.iso8601');
  }
  for (const t of ['20260101T00:00:00+24:00', '20260101T00:00:00-00:60'])
    refused(() => parseIsoDate(t), `bad time zone in <dateTime.iso8601> ${JSON.stringify(t)}`, 'dateTime.iso8601');
  for (const t of [
    '2026010T00:00:00',
    '20260101 00:00:00',
    '20260101T00:00',
    '20260101T00:00:00+05',
    '20260101T00:00:00.',
    'x20260101T00:00:00',
    '20260101T00:00:00Zx',
  ])
    refused(() => parseIsoDate(t), `bad <dateTime.iso8601> ${JSON.stringify(t)}`, 'dateTime.iso8601');
  refused(() => parseIsoDate('y'.repeat(50)), `bad <dateTime.iso8601> "${'y'.repeat(40)}"`, 'dateTime.iso8601');
  refused(
    param('<value><dateTime.iso8601>20261301T00:00:00</dateTime.iso8601></value>'),
    '<dateTime.iso8601> "20261301T00:00:00" is not a valid date',
    `${P}/dateTime.iso8601`,
  );
  refused(param('<value><dateTime.iso8601><b/></dateTime.iso8601></value>'), 'unexpected element <b> inside <dateTime.iso8601>', `${P}/dateTime.iso8601`);
});

test('arrays and structs: structure errors with their place; members writable and deletable data; the last duplicate wins', () => {
  refused(param('<value><array><data><int>1</int></data></array></value>'), 'expected <value>, found <int>', `${P}/array/data/value[0]`);
  refused(param('<value><array><data><value>1</value>x</data></array></value>'), 'unexpected text in <data>', `${P}/array/data`);
  refused(param('<value><array>x<data></data></array></value>'), 'unexpected text in <array>', `${P}/array`);
  refused(param('<value><array></array></value>'), '<array> must contain exactly one <data>, found nothing', `${P}/array`);
  refused(param('<value><array><data/><data/></array></value>'), '<array> must contain exactly one <data>, found <data><data>', `${P}/array`);
  refused(param('<value><array><data><value>1</value><value><bad/></value></data></array></value>'), 'unknown type <bad>', `${P}/array/data/value[1]`);
  const S = `${P}/struct`;
  refused(param('<value><struct>x</struct></value>'), 'unexpected text in <struct>', S);
  refused(param('<value><struct><member><name>a</name><value/></member><value/></struct></value>'), 'expected <member>, found <value>', `${S}/member[1]`);
  refused(param('<value><struct><member>x<name>a</name><value/></member></struct></value>'), 'unexpected text in <member>', `${S}/member[0]`);
  for (const m of ['<name>a</name>', '<value/>', '<name>a</name><name>b</name><value/>', '<name>a</name><value/><value/>', '<name>a</name><value/><x/>', ''])
    refused(param(`<value><struct><member>${m}</member></struct></value>`), '<member> must contain one <name> and one <value>', `${S}/member[0]`);
  refused(param('<value><struct><member><name><b/>a</name><value/></member></struct></value>'), 'unexpected element <b> inside <name>', `${S}/member[0]/name`);
  refused(param('<value><struct><member><name>a</name><value><bad/></value></member></struct></value>'), 'unknown type <bad>', `${S}/member[0]/value`);
  const v = one(
    '<value><struct><member><name>a</name><value>1</value></member><member><name>b</name><value>x</value></member><member><name>a</name><value>2</value></member></struct></value>',
  ) as Record<string, XmlRpcValue>;
  assert.deepEqual(Object.keys(v), ['a', 'b']);
  assert.equal(v['a'], '2');
  v['a'] = 'changed';
  assert.equal(v['a'], 'changed');
  delete v['b'];
  assert.deepEqual(v, { a: 'changed' });
});

test('methodCall: its shape, method names of 1..200 allowed characters, messages and places', () => {
  const name200 = `${'a'.repeat(196)}_.:/`;
  assert.equal(parseMethodCall(call('', name200)).method, name200);
  assert.equal(parseMethodCall(call('', ' \n a.B9 \n ')).method, 'a.B9');
  refused(() => parseMethodCall(call('', `${name200}x`)), `bad method name ${JSON.stringify(`${name200}x`.slice(0, 60))}`);
  refused(() => parseMethodCall(call('', '')), 'bad method name ""');
  refused(() => parseMethodCall(call('', 'a-b')), 'bad method name "a-b"');
  refused(() => parseMethodCall(call('', '<b/>a')), 'unexpected element <b> inside <methodName>', '/methodName');
  refused(() => parseMethodCall('<methodCall>x<methodName>a</methodName></methodCall>'), 'unexpected text in <methodCall>', '/methodCall');
  refused(() => parseMethodCall('<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>'), '<methodCall> must contain one <methodName>');
  refused(() => parseMethodCall('<methodCall><methodName>a</methodName><params/><params/></methodCall>'), '<methodCall> has more than one <params>');
  refused(() => parseMethodCall('<methodCall><methodName>a</methodName><extra/></methodCall>'), 'unexpected element <extra> in <methodCall>');
  refused(() => parseMethodCall('<methodResponse/>'), 'root element is <methodResponse>, expected <methodCall>');
  refused(() => parseMethodCall(call('x<param><value/></param>')), 'unexpected text in <params>', '/params');
  refused(() => parseMethodCall(call('<param><value/></param><value/>')), 'expected <param>, found <value>', '/params/param[1]');
  refused(() => parseMethodCall(call('<param></param>')), '<param> must contain exactly one <value>, found nothing', '/params/param[0]');
  assert.deepEqual(parseMethodCall(call('<param><value>a</value></param><param><value><int>2</int></value></param>')).params, ['a', 2]);
  assert.deepEqual(parseMethodCall('<methodCall><params><param><value>p</value></param></params><methodName>m</methodName></methodCall>'), {
    method: 'm',
    params: ['p'],
  });
});

test('methodResponse: one param exactly; faults need a struct with an int faultCode and a string faultString', () => {
  const fault = (value: string) => response(`<fault><value>${value}</value></fault>`);
  const members = (code: string, str: string) =>
    `<struct><member><name>faultCode</name><value>${code}</value></member><member><name>faultString</name><value>${str}</value></member></struct>`;
  refused(response(''), '<methodResponse> must contain exactly one <params>, found nothing', '/methodResponse');
  refused(response('<params/><params/>'), '<methodResponse> must contain exactly one <params>, found <params><params>', '/methodResponse');
  refused(response('<foo/>'), 'unexpected element <foo> in <methodResponse>');
  refused(response('<params/>'), 'a response carries exactly one param, found 0');
  refused(response('<params><param><value>a</value></param><param><value>b</value></param></params>'), 'a response carries exactly one param, found 2');
  refused(() => parseMethodResponse(call('')), 'root element is <methodCall>, expected <methodResponse>');
  assert.equal(parseMethodResponse('<methodResponse><params><param><value>ok</value></param></params></methodResponse>'), 'ok');
  refused(response('<fault></fault>'), '<fault> must contain exactly one <value>, found nothing', '/fault');
  for (const v of [
    '<nil/>',
    'str',
    '<array><data/></array>',
    '<dateTime.iso8601>20260101T00:00:00</dateTime.iso8601>',
    '<base64>YQ==</base64>',
    '<int>1</int>',
  ])
    refused(fault(v), 'fault value is not a struct');
  for (const [code, str] of [
    ['<double>1.5</double>', 'x'],
    ['1', 'x'],
    ['<int>1</int>', '<int>2</int>'],
  ] as const)
    refused(fault(members(code, str)), 'fault needs an int faultCode and a string faultString');
  refused(
    fault('<struct><member><name>faultCode</name><value><int>1</int></value></member></struct>'),
    'fault needs an int faultCode and a string faultString',
  );
  refused(fault('<struct><member><name>faultString</name><value>x</value></member></struct>'), 'fault needs an int faultCode and a string faultString');
  refused(
    fault(`${members('<int>1</int>', 'x')}`.replace('<value><int>1</int>', '<value><bad/>')),
    'unknown type <bad>',
    '/fault/value/struct/member[0]/value',
  );
  assert.throws(fault(members('<double>3</double>', '')), (e: unknown) => {
    assert.ok(e instanceof XmlRpcFault);
    assert.equal(e.name, 'XmlRpcFault');
    assert.equal(e.code, 'E_XMLRPC_FAULT');
    assert.equal(e.faultCode, 3);
    assert.equal(e.faultString, '');
    assert.equal(e.message, 'XML-RPC fault 3: ');
    return true;
  });
  assert.equal(new XmlRpcFault(-1, 'why').message, 'XML-RPC fault -1: why');
});

test('writing: exact documents, int/i8/double at their bounds, escapes, Date years 0..9999, Uint8Array views, refusals by message', () => {
  const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
  assert.equal(serializeResponse(1), `${DECL}<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>\n`);
  assert.equal(
    serializeMethodCall('a.b', ['x', { k: [true, false] }]),
    `${DECL}<methodCall><methodName>a.b</methodName><params><param><value><string>x</string></value></param><param><value><struct><member><name>k</name><value><array><data><value><boolean>1</boolean></value><value><boolean>0</boolean></value></data></array></value></member></struct></value></param></params></methodCall>\n`,
  );
  assert.equal(serializeMethodCall('m', []), `${DECL}<methodCall><methodName>m</methodName><params></params></methodCall>\n`);
  assert.equal(
    serializeFault(-32601, 'x'),
    `${DECL}<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>-32601</int></value></member><member><name>faultString</name><value><string>x</string></value></member></struct></value></fault></methodResponse>\n`,
  );
  const wire = (v: XmlRpcValue) => serializeResponse(v).replace(/^.*<param>|<\/param>.*\n$/gs, '');
  assert.equal(wire(2147483647), '<value><int>2147483647</int></value>');
  assert.equal(wire(-2147483648), '<value><int>-2147483648</int></value>');
  assert.equal(wire(2147483648), '<value><i8>2147483648</i8></value>');
  assert.equal(wire(-2147483649), '<value><i8>-2147483649</i8></value>');
  assert.equal(wire(9007199254740991), '<value><i8>9007199254740991</i8></value>');
  assert.equal(wire(-9007199254740991), '<value><i8>-9007199254740991</i8></value>');
  assert.equal(wire(9007199254740992), '<value><double>9007199254740992</double></value>');
  assert.equal(wire(0.5), '<value><double>0.5</double></value>');
  assert.equal(wire(-0), '<value><int>0</int></value>');
  assert.equal(wire('a&&b<<c>>d\r\re'), '<value><string>a&amp;&amp;b&lt;&lt;c&gt;&gt;d&#13;&#13;e</string></value>');
  assert.equal(wire({ 'a<&>\r': 1 }), '<value><struct><member><name>a&lt;&amp;&gt;&#13;</name><value><int>1</int></value></member></struct></value>');
  assert.equal(
    wire({ skipped: undefined, kept: null } as unknown as XmlRpcValue),
    '<value><struct><member><name>kept</name><value><nil/></value></member></struct></value>',
  );
  const bare = Object.assign(Object.create(null) as Record<string, XmlRpcValue>, { n: 1 });
  assert.equal(wire(bare), '<value><struct><member><name>n</name><value><int>1</int></value></member></struct></value>');
  const big = Buffer.from([1, 2, 3, 4, 5, 6]);
  assert.equal(
    wire(new Uint8Array(big.buffer, big.byteOffset + 2, 3) as unknown as XmlRpcValue),
    `<value><base64>${Buffer.from([3, 4, 5]).toString('base64')}</base64></value>`,
  );
  assert.equal(wire(new Date('2026-03-04T05:06:07.999Z')), '<value><dateTime.iso8601>20260304T05:06:07</dateTime.iso8601></value>');
  assert.equal(formatIsoDate(new Date('0005-01-02T03:04:05Z')), '00050102T03:04:05');
  assert.equal(formatIsoDate(new Date('9999-12-31T23:59:59Z')), '99991231T23:59:59');
  const y0 = new Date(0);
  y0.setUTCFullYear(0, 0, 1);
  assert.equal(formatIsoDate(y0), '00000101T00:00:00');
  const before = new Date(0);
  before.setUTCFullYear(-1, 11, 31);
  cannot(() => formatIsoDate(before), 'year -1 is outside 0..9999');
  cannot(() => formatIsoDate(new Date('+010000-01-01T00:00:00Z')), 'year 10000 is outside 0..9999');
  cannot(() => formatIsoDate(new Date(NaN)), 'invalid Date');
  cannot(() => serializeResponse(NaN), 'NaN (XML-RPC has no NaN or infinity)');
  cannot(() => serializeResponse(-Infinity), '-Infinity (XML-RPC has no NaN or infinity)');
  cannot(() => serializeResponse('ok\u0008'), 'a string contains U+0008, which XML 1.0 cannot carry');
  cannot(() => serializeResponse({ 'k\uFFFE': 1 }), 'a struct member name contains U+fffe, which XML 1.0 cannot carry');
  cannot(() => serializeResponse(new Map() as unknown as XmlRpcValue), 'an object of class Map');
  cannot(() => serializeResponse(Object.create(Object.create(null) as object) as XmlRpcValue), 'an object of class ?');
  cannot(() => serializeResponse((() => 1) as unknown as XmlRpcValue), 'a value of type function');
  cannot(() => serializeResponse(undefined as unknown as XmlRpcValue), 'a value of type undefined');
  const loop: XmlRpcValue[] = [];
  loop.push([loop]);
  cannot(() => serializeResponse(loop), 'a value contains itself');
  cannot(() => serializeMethodCall('a b', []), 'method name "a b"');
  cannot(() => serializeMethodCall('', []), 'method name ""');
  cannot(() => serializeMethodCall('a'.repeat(201), []), `method name "${'a'.repeat(201)}"`);
  assert.ok(serializeMethodCall('a'.repeat(200), []).includes(`<methodName>${'a'.repeat(200)}</methodName>`));
});

test('faults: code bounds are 32 bits; every illegal character of the message is replaced, the rest kept', () => {
  for (const code of [-2147483648, 2147483647]) assert.throws(() => parseMethodResponse(serializeFault(code, 'm')), { faultCode: code });
  for (const code of [2147483648, -2147483649, 1.5, NaN]) cannot(() => serializeFault(code, 'm'), `fault code ${code} is not a 32-bit integer`);
  assert.throws(() => parseMethodResponse(serializeFault(1, 'a\u0000b\u0007c\uD800d\uFFFFe\r<&>')), { faultString: 'a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\r<&>' });
});
