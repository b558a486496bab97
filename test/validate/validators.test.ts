// The shared validators (src/validate): node and DNS names, attribute names, the bearer matcher.
// iSCSI names have their own tests (test/iscsi/iscsi-name.test.ts, test/storage/naming.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDnsName, isNodeName, validHostname } from '../../src/validate/hostname.js';
import { validAttributeName } from '../../src/validate/attribute-name.js';
import { bearerMatcher, MAX_BEARER_CHARS } from '../../src/validate/bearer.js';

test('node names: one lower-case RFC 1123 label of at most 63', () => {
  for (const ok of ['compute-0-1', 'a', '0', 'x'.repeat(63), 'nas-1']) assert.ok(isNodeName(ok), ok);
  for (const bad of ['', 'Compute-0-1', '-a', 'a-', 'a.b', 'x'.repeat(64), 'a_b', 'a b', 'é']) assert.equal(isNodeName(bad), false, bad);
  assert.equal(validHostname('compute-0-0'), 'compute-0-0');
  assert.throws(
    () => validHostname('Bad', 'hostname'),
    (e: Error & { code?: string; where?: string }) =>
      e.code === 'E_BAD_HOSTNAME' && e.where === 'hostname' && /^hostname: not a valid host name: "Bad"/.test(e.message),
  );
});

test('DNS names: labels of letters, digits and - joined by dots, any case, at most 253', () => {
  for (const ok of ['frontend', 'Frontend.Local', 'a.b.c', `${'a'.repeat(63)}.b`, '10.1.1.1']) assert.ok(isDnsName(ok), ok);
  const long = Array.from({ length: 64 }, () => 'abc').join('.'); // 255 characters
  for (const bad of ['', '.a', 'a.', 'a..b', '-a.b', 'a-.b', `${'a'.repeat(64)}.b`, long, 'a b', 'a_b', 'a/b']) assert.equal(isDnsName(bad), false, bad);
});

test('attribute names: XML entity names, at most 128, the field named in the error', () => {
  for (const ok of ['Kickstart_Timezone', '_x', 'os.version', 'a-b', 'A'.repeat(128)]) assert.equal(validAttributeName(ok), ok);
  for (const bad of ['', '1a', '.a', 'a b', 'a&b', 'A'.repeat(129)])
    assert.throws(() => validAttributeName(bad, 'attributes'), { code: 'E_BAD_ATTRIBUTE', where: 'attributes' }, bad);
});

test('bearer matcher: exactly "Bearer <token>"; anything else, or a token too long, is no match', () => {
  const m = bearerMatcher('s3cret-TOKEN_0123456789');
  assert.equal(m('Bearer s3cret-TOKEN_0123456789'), true);
  for (const bad of [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'bearer s3cret-TOKEN_0123456789',
    'Basic s3cret-TOKEN_0123456789',
    'Bearer s3cret-TOKEN_012345678',
    'Bearer s3cret-TOKEN_0123456789 ',
    'Bearer  s3cret-TOKEN_0123456789',
    'Bearer s3cret-TOKEN_0123456789\n',
  ])
    assert.equal(m(bad), false, JSON.stringify(bad));
  const long = 'T'.repeat(MAX_BEARER_CHARS + 1);
  assert.equal(bearerMatcher(long)(`Bearer ${long}`), false, 'over the bound: refused even when equal');
  const max = 'T'.repeat(MAX_BEARER_CHARS);
  assert.equal(bearerMatcher(max)(`Bearer ${max}`), true);
  assert.equal(bearerMatcher('')('Bearer '), false, 'an empty expected token matches nothing');
});
