// The XML-RPC codec's refusals, asserted the one way the codec, codec-edges and codec-limits tests
// share: E_XMLRPC_MALFORMED with exactly this message and `where`, or matching a pattern.
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { parseMethodCall } from '../../src/rpc/index.js';

/** The path of the first parameter's value, the `where` most refusals name. */
export const P = '/params/param[0]/value';

export function refused(f: () => unknown, message: string, where?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    assert.equal(e.code, 'E_XMLRPC_MALFORMED');
    assert.equal(e.where, where);
    assert.equal(e.message, `${where === undefined ? '' : `${where}: `}malformed XML-RPC: ${message}`);
    return true;
  });
}

/** parseMethodCall(body) is refused with E_XMLRPC_MALFORMED (its message matching `pattern`, if given). */
export function assertMalformed(body: string | Buffer, pattern?: RegExp, limits?: { maxBytes?: number; maxDepth?: number }): void {
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
