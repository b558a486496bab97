// One info line per boot script, kickstart, XML-RPC call and overlay (issue #15), each naming the
// host and the MAC — and none carrying the CHAP secret or the install token the answers hold. A real
// frontend on loopback; the node is 127.0.0.2.
// (The overlay holds the CHAP secret too.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createLogger } from '../../src/log/logger.js';
import { serializeMethodCall, parseMethodResponse, XmlRpcFault } from '../../src/rpc/index.js';
import { NODE, startFrontend } from './fixture.js';
import { iscsiAttrs, LOOPBACK_NETWORK } from '../helpers/loopback-frontend.js';

const CHAP = 'Zx81SecretChap';
const MAC = NODE.mac;

function http(port: number, path: string, opts: { method?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        localAddress: '127.0.0.2',
        agent: false,
        headers: opts.body ? { 'content-type': 'text/xml' } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('boot script, kickstart, rpc call and overlay: one info line each with host and mac, no secret', async () => {
  const raw: string[] = [];
  // The loopback frontend of the HTTP tests (compute-0-0 at 127.0.0.2, MAC above), logging JSON
  // lines; the node made diskless and due for install, with its iSCSI attributes.
  const fx = await startFrontend(LOOPBACK_NETWORK, createLogger({ format: 'json', write: (l) => raw.push(l) }));
  const f = fx.f;
  await f.store.hosts.update(NODE.name, { appliance: 'compute-diskless', bootAction: 'install' });
  for (const [name, value] of Object.entries(iscsiAttrs(NODE.name, CHAP))) await f.store.attributes.set({ scope: 'host', target: NODE.name, name, value });
  try {
    const port = fx.port;
    const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    const one = (msg: string) => {
      const found = lines().filter((r) => r['msg'] === msg);
      assert.equal(found.length, 1, `one '${msg}' line: ${raw.join('\n')}`);
      return found[0]!;
    };

    const script = await http(port, `/boot/ipxe/${MAC}`);
    assert.equal(script.status, 200, script.body);
    const b = one('boot script');
    assert.deepEqual(
      [b['level'], b['svc'], b['kind'], b['host'], b['mac'], b['action'], b['from']],
      ['info', 'http', 'ipxe', 'compute-0-0', MAC, 'install', '127.0.0.2'],
    );

    const ks = await http(port, '/install/kickstart/compute-0-0');
    assert.equal(ks.status, 200, ks.body);
    const k = one('kickstart served');
    assert.deepEqual([k['level'], k['host'], k['mac'], k['from'], k['preview']], ['info', 'compute-0-0', MAC, '127.0.0.2', false]);
    const token = /installComplete<\/methodName><params><param><value><string>([A-Za-z0-9_-]{40,})</.exec(ks.body)?.[1];
    assert.ok(token, 'the kickstart carries the install token');

    // A call with a wrong token: a fault, logged with its code and without the token.
    const bogus = 'bogus-token-0123456789abcdef';
    const fault = await http(port, '/RPC2', {
      method: 'POST',
      body: serializeMethodCall('netroot.installComplete', [bogus, { root_uuid: '0f1e2d3c-aaaa-4bbb-8ccc-000000000001' }]),
    });
    assert.throws(() => parseMethodResponse(fault.body), XmlRpcFault);
    const r = one('rpc call');
    assert.deepEqual(
      [r['level'], r['svc'], r['method'], r['host'], r['mac'], r['from']],
      ['info', 'rpc', 'netroot.installComplete', 'compute-0-0', MAC, '127.0.0.2'],
    );
    assert.match(String(r['result']), /^E_/);

    const done = await http(port, '/RPC2', {
      method: 'POST',
      body: serializeMethodCall('netroot.installComplete', [token, { root_uuid: '0f1e2d3c-aaaa-4bbb-8ccc-000000000001' }]),
    });
    parseMethodResponse(done.body);
    const ok = lines().filter((x) => x['msg'] === 'rpc call' && x['result'] === 'ok');
    assert.deepEqual(
      ok.map((x) => [x['method'], x['host'], x['mac']]),
      [['netroot.installComplete', 'compute-0-0', MAC]],
    );

    const overlay = await http(port, '/boot/node/compute-0-0/overlay.img');
    assert.equal(overlay.status, 200);
    const o = one('overlay sent');
    assert.deepEqual([o['level'], o['host'], o['mac'], o['bytes']], ['info', 'compute-0-0', MAC, Buffer.byteLength(overlay.body, 'latin1')]);

    const all = raw.join('\n');
    assert.ok(script.body.includes(CHAP) || ks.body.includes(CHAP), 'the answers do carry the secret (the test would prove nothing otherwise)');
    assert.ok(!all.includes(CHAP), 'no CHAP secret in any line');
    assert.ok(!all.includes(bogus), 'no token in any line');
    assert.ok(!all.includes(token), 'no install token in any line');
  } finally {
    await fx.close();
  }
});
