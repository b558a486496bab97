import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RpcDispatcher,
  parseMethodResponse,
  serializeMethodCall,
  XmlRpcFault,
  faultText,
  stringParam,
  intParam,
  expectArity,
  structParam,
  type XmlRpcValue,
} from '../../src/rpc/index.js';
import { NetrootError, UserError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';

const ctx = { remoteAddress: '10.1.255.254' };

function faultOf(doc: string): XmlRpcFault {
  try {
    parseMethodResponse(doc);
  } catch (e) {
    assert.ok(e instanceof XmlRpcFault, `expected a fault, got ${String(e)}`);
    assert.doesNotMatch(e.faultString, /\n\s+at |\.ts:\d+/, 'a fault string must not carry a stack');
    return e;
  }
  assert.fail(`expected a fault document, got ${doc}`);
}

function build(lines: string[] = []) {
  const d = new RpcDispatcher({ logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
  d.register('test.echo', async (params) => params, 'Returns its parameters as an array.');
  d.register('test.add', async (params, c) => {
    expectArity(params, 2);
    return { sum: intParam(params, 0, 'a') + intParam(params, 1, 'b'), from: c.remoteAddress };
  });
  d.register('test.userError', async () => {
    throw new UserError('E_HOST_NOT_FOUND', 'host compute-9-9 not found');
  });
  d.register('test.crash', async () => {
    throw new Error('db password=hunter2 at /var/lib/netroot');
  });
  d.register('test.leaky', async (params) => {
    const s = structParam(params, 0, 'creds');
    throw new UserError('E_ISCSI_CHAP', `login refused, chap_secret=${String(s['secret'])} for user ${String(s['user'])}`);
  });
  d.register('test.unencodable', async () => NaN);
  d.register('test.name', async (params) => stringParam(params, 0, 'host', { pattern: /^[a-z0-9-]+$/ }));
  return d;
}

test('dispatches a call and serializes the result with the context', async () => {
  const d = build();
  const body = Buffer.from(serializeMethodCall('test.add', [2, 40]));
  assert.deepEqual(parseMethodResponse(await d.handle(body, ctx)), { sum: 42, from: '10.1.255.254' });
  const all: XmlRpcValue[] = [1, 'two', [3], { four: null }, new Date('2026-01-01T00:00:00Z'), Buffer.from('five')];
  assert.deepEqual(parseMethodResponse(await d.handle(Buffer.from(serializeMethodCall('test.echo', all)), ctx)), all);
});

test('system.listMethods and system.methodHelp are built in', async () => {
  const d = build();
  const names = parseMethodResponse(await d.handle(Buffer.from(serializeMethodCall('system.listMethods', [])), ctx));
  assert.deepEqual(names, [
    'system.listMethods',
    'system.methodHelp',
    'test.add',
    'test.crash',
    'test.echo',
    'test.leaky',
    'test.name',
    'test.unencodable',
    'test.userError',
  ]);
  assert.equal(
    parseMethodResponse(await d.handle(Buffer.from(serializeMethodCall('system.methodHelp', ['test.echo'])), ctx)),
    'Returns its parameters as an array.',
  );
  assert.equal(faultOf(await d.handle(Buffer.from(serializeMethodCall('system.methodHelp', ['nope'])), ctx)).faultCode, -32601);
});

test('faults: unknown method, bad params, malformed body', async () => {
  const d = build();
  const unknown = faultOf(await d.handle(Buffer.from(serializeMethodCall('no.such', [])), ctx));
  assert.equal(unknown.faultCode, -32601);
  assert.equal(unknown.faultString, 'no such method: no.such');

  const arity = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.add', [1])), ctx));
  assert.equal(arity.faultCode, -32602);
  assert.equal(arity.faultString, 'test.add: expected 2 parameters, got 1');
  const type = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.add', [1, 'b'])), ctx));
  assert.equal(type.faultString, 'test.add: parameter 2 (b) must be an int, got string');
  const pattern = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.name', ['../etc'])), ctx));
  assert.equal(pattern.faultString, 'test.name: parameter 1 (host) has an invalid format');

  for (const body of ['', '<methodCall>', '<!DOCTYPE x [<!ENTITY a "b">]><methodCall/>', 'x'.repeat(2 * 1024 * 1024)]) {
    const f = faultOf(await d.handle(Buffer.from(body), ctx));
    assert.equal(f.faultCode, -32700);
    assert.match(f.faultString, /malformed XML-RPC/);
  }
});

test('application errors: user errors are shown, others are hidden and logged', async () => {
  const lines: string[] = [];
  const d = build(lines);
  const user = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.userError', [])), ctx));
  assert.equal(user.faultCode, -32500);
  assert.equal(user.faultString, 'E_HOST_NOT_FOUND: host compute-9-9 not found');

  const crash = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.crash', [])), ctx));
  assert.equal(crash.faultCode, -32603);
  assert.equal(crash.faultString, 'internal error in test.crash');
  assert.ok(
    lines.some((l) => l.includes('xmlrpc: method failed') && l.includes('test.crash')),
    lines.join('\n'),
  );

  const unencodable = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.unencodable', [])), ctx));
  assert.equal(unencodable.faultCode, -32603);

  const leaky = faultOf(await d.handle(Buffer.from(serializeMethodCall('test.leaky', [{ user: 'node1', secret: 'S3cr3tValue' }])), ctx));
  assert.doesNotMatch(leaky.faultString, /S3cr3tValue/);
  assert.equal(leaky.faultString, 'E_ISCSI_CHAP: login refused, chap_secret=[redacted] for user node1');
});

test('faultText cuts stacks, redacts secret-like values and bounds the length', () => {
  const e = new NetrootError('E_INTERNAL', 'boom');
  assert.equal(faultText(String(e.stack)), 'NetrootError: boom');
  assert.equal(
    faultText('password: "a b c" token=xyz, CHAP_SECRET=\'q w\'; secret abc'),
    'password: [redacted] token=[redacted], CHAP_SECRET=[redacted]; secret abc',
  );
  // Prose about secrets is not a secret.
  assert.equal(faultText('E_TOKEN_USED: install token was already used'), 'E_TOKEN_USED: install token was already used');
  assert.equal(faultText('x'.repeat(2000)).length, 512);
});

test('register refuses bad and duplicate names', () => {
  const d = build();
  assert.throws(() => d.register('test.echo', async () => 1), /already registered/);
  assert.throws(() => d.register('system.listMethods', async () => 1), /already registered/);
  for (const bad of ['', 'a..b', '.a', 'a b', 'a/b', '1a']) assert.throws(() => d.register(bad, async () => 1), /bad XML-RPC method name/);
});

test('custom limits reach the parser', async () => {
  const d = new RpcDispatcher({ limits: { maxBytes: 200 } });
  d.register('t.echo', async (p) => p);
  assert.deepEqual(parseMethodResponse(await d.handle(Buffer.from(serializeMethodCall('t.echo', ['ok'])), ctx)), ['ok']);
  const f = faultOf(await d.handle(Buffer.from(serializeMethodCall('t.echo', ['x'.repeat(300)])), ctx));
  assert.match(f.faultString, /exceeds the limit of 200/);
});
