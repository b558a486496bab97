// Edge cases of the XML-RPC codec the mutation run showed open (docs/mutation/rpc-codec.md): a
// two-byte UTF-16 BOM, offsets after a BOM, lone CRs as line ends, where the XML declaration may
// stand and how its encoding is spelt, boolean attributes, a wrong single child, doubles only in
// decimal. A file of its own so that an incremental mutation run re-runs only the mutants it covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMethodCall, parseMethodResponse } from '../../src/rpc/index.js';
import { refused } from './refused.js';

const call = (params: string) => `<methodCall><methodName>x.y</methodName><params>${params}</params></methodCall>`;

test('a body of exactly the two bytes of a UTF-16 BOM is UTF-16, not bad UTF-8', () => {
  refused(() => parseMethodCall(Buffer.from([0xfe, 0xff])), 'UTF-16 documents are not supported');
  refused(() => parseMethodCall(Buffer.from([0xff, 0xfe])), 'UTF-16 documents are not supported');
});

test('a UTF-8 BOM is not part of the document: offsets count from the character after it', () => {
  const doc = call('<param><value>a\u0007</value></param>');
  const at = doc.indexOf('\u0007');
  refused(() => parseMethodCall(`\uFEFF${doc}`), 'illegal character U+0007 in the document', `offset ${at}`);
  refused(() => parseMethodCall(Buffer.from(`\uFEFF${doc}`)), 'illegal character U+0007 in the document', `offset ${at}`);
});

test('a lone CR ends a line like LF and CR LF (XML 1.0 §2.11): error lines count it', () => {
  refused(
    () => parseMethodCall('<methodCall>\r<methodName>a</methodName>\r</methodCal>'),
    "Expected closing tag 'methodCall' (opened in line 1, col 1) instead of closing tag 'methodCal'.",
    'line 3, column 1',
  );
});

test('the XML declaration: only at the start (white space before it allowed), encoding with spaces around "="', () => {
  const body = (decl: string) => `${decl}<methodCall><methodName>a</methodName></methodCall>`;
  refused(() => parseMethodCall(body('\n <?xml version="1.0" encoding="latin1"?>')), 'unsupported encoding "latin1"');
  refused(() => parseMethodCall(body('<?xml version="1.0" encoding ="latin1"?>')), 'unsupported encoding "latin1"');
  refused(() => parseMethodCall(body('<?xml version="1.0" encoding= "latin1"?>')), 'unsupported encoding "latin1"');
  // Anywhere else it is the validator's error, not an encoding check.
  refused(
    () => parseMethodCall(body('<!-- c --><?xml version="1.0" encoding="latin1"?>')),
    'XML declaration allowed only at the start of the document.',
    'line 1, column 16',
  );
});

test('attributes are ignored, but a boolean attribute (no value) is not well-formed', () => {
  refused(() => parseMethodCall('<methodCall flag><methodName>a</methodName></methodCall>'), "boolean attribute 'flag' is not allowed.", 'line 1, column 13');
});

test('an element that must hold exactly one named child, holding one other, names both', () => {
  refused(
    () => parseMethodCall(call('<param><value><array><value>1</value></array></value></param>')),
    '<array> must contain exactly one <data>, found <value>',
    '/params/param[0]/value/array',
  );
  refused(() => parseMethodCall(call('<param><int>1</int></param>')), '<param> must contain exactly one <value>, found <int>', '/params/param[0]');
  refused(
    () => parseMethodResponse('<methodResponse><fault><struct/></fault></methodResponse>'),
    '<fault> must contain exactly one <value>, found <struct>',
    '/fault',
  );
});

test('doubles: decimal only, any number of integer digits', () => {
  const one = (text: string) => parseMethodCall(call(`<param><value><double>${text}</double></value></param>`)).params[0];
  assert.equal(one('12.5'), 12.5);
  assert.equal(one('-100'), -100);
  assert.equal(one('10e2'), 1000);
  for (const bad of ['0x10', '0b11', '0o7', '1_0', 'Infinity']) refused(() => one(bad), `bad <double> ${JSON.stringify(bad)}`, '/params/param[0]/value/double');
});
