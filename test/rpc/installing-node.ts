// The XML-RPC tests' frontend: the loopback frontend with two diskless nodes due for install —
// compute-0-0 at 127.0.0.2 with its iSCSI attributes (CHAP secret SECRET), and compute-0-1 at
// 127.0.0.3 without them — and a client that calls a netroot.* method from a node's address.
import assert from 'node:assert/strict';
import type { Frontend } from '../../src/app/frontend.js';
import { InstallTokens } from '../../src/boot/install-tokens.js';
import { parseMethodResponse, serializeMethodCall, XmlRpcFault, type XmlRpcValue } from '../../src/rpc/index.js';
import { rpc } from '../http/clients.js';
import { fixtureHost, iscsiAttrs, LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';

export const SECRET = 'Zx81SecretChap';
export const UUID = '0f1e2d3c-aaaa-4bbb-8ccc-000000000001';

export async function installingNodes(prefix: string): Promise<{ f: Frontend; dir: string; port: number; tokens: InstallTokens }> {
  const { f, dir, port } = await loopbackFrontend({
    prefix,
    overrides: LOOPBACK_NETWORK,
    hosts: [
      fixtureHost(0, { appliance: 'compute-diskless', bootAction: 'install', attrs: iscsiAttrs('compute-0-0', SECRET) }),
      fixtureHost(1, { appliance: 'compute-diskless', bootAction: 'install' }),
    ],
  });
  return { f, dir, port, tokens: new InstallTokens(f.store) };
}

/** Calls `method` from `from` (a node's address); resolves with its value, rejects with XmlRpcFault on a fault. */
export async function call(port: number, method: string, params: XmlRpcValue[], from = '127.0.0.2'): Promise<XmlRpcValue> {
  const r = await rpc(port, serializeMethodCall(method, params), from);
  assert.equal(r.status, 200, r.body);
  return parseMethodResponse(r.body);
}

/** The fault a call ends in (fails the test when it succeeds). */
export async function fault(p: Promise<XmlRpcValue>): Promise<XmlRpcFault> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof XmlRpcFault, String(e));
    return e;
  }
  assert.fail('the call succeeded');
}
