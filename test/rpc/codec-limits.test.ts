// The slow codec tests (a 1 MiB body, 50 000 nested elements, deep arrays and structs): a file of their
// own, listed after codec.test.ts in stryker.config.mjs so a mutant the fast file kills never runs
// them. Boundaries of the size and nesting limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMethodCall } from '../../src/rpc/index.js';
import { assertMalformed, P, refused } from './refused.js';

const call = (params: string, name = 'x.y') => `<?xml version="1.0"?><methodCall><methodName>${name}</methodName><params>${params}</params></methodCall>`;

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

test('element nesting: the parser bound is 3 per allowed level + 8, so the value-depth check speaks first for XML-RPC values', () => {
  const deep = (n: number) => `<value>${'<a>'.repeat(n)}${'</a>'.repeat(n)}</value>`;
  refused(() => parseMethodCall(call(`<param>${deep(101)}</param>`)), 'unknown type <a>', P);
  refused(() => parseMethodCall(call(`<param>${deep(102)}</param>`)), 'nesting deeper than 32 levels');
  refused(() => parseMethodCall(call(`<param>${deep(8)}</param>`), { maxDepth: 1 }), 'unknown type <a>', P);
  refused(() => parseMethodCall(call(`<param>${deep(9)}</param>`), { maxDepth: 1 }), 'nesting deeper than 1 levels');
  const nest = (n: number) => '<value><array><data>'.repeat(n) + '<value>x</value>' + '</data></array></value>'.repeat(n);
  const nestedStruct = (n: number) => '<value><struct><member><name>k</name>'.repeat(n) + '<value>x</value>' + '</member></struct></value>'.repeat(n);
  assert.ok(parseMethodCall(call(`<param>${nest(4)}</param>`), { maxDepth: 4 }));
  assert.ok(parseMethodCall(call(`<param>${nestedStruct(4)}</param>`), { maxDepth: 4 }));
  refused(
    () => parseMethodCall(call(`<param>${nestedStruct(5)}</param>`), { maxDepth: 4 }),
    'nesting deeper than 4 levels',
    `${P}${'/struct/member[0]/value'.repeat(4)}/struct`,
  );
  refused(
    () => parseMethodCall(call(`<param>${nest(5)}</param>`), { maxDepth: 4 }),
    'nesting deeper than 4 levels',
    `${P}${'/array/data/value[0]'.repeat(4)}/array`,
  );
  // The bound is per param: two params of the full depth are fine.
  assert.equal(parseMethodCall(call(`<param>${nest(4)}</param><param>${nest(4)}</param>`), { maxDepth: 4 }).params.length, 2);
});
