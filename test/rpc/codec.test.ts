import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeResponse,
  XmlRpcFault,
  type XmlRpcValue,
} from '../../src/rpc/index.js';
import { UserError } from '../../src/errors.js';

const call = (params: string, name = 'x.y') => `<?xml version="1.0"?><methodCall><methodName>${name}</methodName><params>${params}</params></methodCall>`;
const one = (value: string) => parseMethodCall(call(`<param>${value}</param>`)).params[0];

function assertMalformed(body: string | Buffer, pattern?: RegExp, limits?: { maxBytes?: number; maxDepth?: number }) {
  assert.throws(
    () => parseMethodCall(body, limits),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
      assert.equal(e.code, 'E_XMLRPC_MALFORMED');
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
  );
}

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

test('size and depth limits', () => {
  const big = call(`<param><value>${'a'.repeat(1024 * 1024)}</value></param>`);
  assertMalformed(big, /exceeds the limit of 1048576/);
  assertMalformed(Buffer.from(big), /exceeds the limit/);
  assertMalformed(call('<param><value>abcdef</value></param>'), /exceeds the limit of 50/, { maxBytes: 50 });
  assert.equal(parseMethodCall(call(`<param><value>${'a'.repeat(1000)}</value></param>`), { maxBytes: 2000 }).params[0], 'a'.repeat(1000));

  const nest = (n: number) => '<value><array><data>'.repeat(n) + '<value>x</value>' + '</data></array></value>'.repeat(n);
  const nestedStruct = (n: number) => '<value><struct><member><name>k</name>'.repeat(n) + '<value>x</value>' + '</member></struct></value>'.repeat(n);
  assert.equal(JSON.stringify(parseMethodCall(call(`<param>${nest(32)}</param>`)).params[0]).split('[').length - 1, 32);
  assertMalformed(call(`<param>${nest(33)}</param>`), /deeper than 32/);
  assertMalformed(call(`<param>${nestedStruct(33)}</param>`), /deeper than 32/);
  assert.ok(parseMethodCall(call(`<param>${nestedStruct(32)}</param>`)));
  assertMalformed(call(`<param>${nest(5)}</param>`), /deeper than 4/, { maxDepth: 4 });
  // Very deep plain XML (not XML-RPC values) is stopped by the element-nesting bound, not the stack.
  assertMalformed(call(`<param><value>${'<a>'.repeat(50000)}${'</a>'.repeat(50000)}</value></param>`), /deeper/);
  assert.throws(() => parseMethodCall(call(''), { maxBytes: 0 }), { code: 'E_XMLRPC_LIMITS' });
});
