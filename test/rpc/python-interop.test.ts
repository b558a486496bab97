// Interop with CPython's xmlrpc.client, an implementation written independently of ours:
// documents go both ways through python3 (no network), then a real HTTP round trip with
// ServerProxy against RpcDispatcher on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  RpcDispatcher,
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeResponse,
  XmlRpcFault,
  formatIsoDate,
  intParam,
  expectArity,
  type XmlRpcValue,
} from '../../src/rpc/index.js';
import { UserError } from '../../src/errors.js';

const hasPython = spawnSync('python3', ['-c', 'import xmlrpc.client'], { stdio: 'ignore' }).status === 0;
const skip = hasPython ? false : process.env.CI === 'true' ? false : 'python3 with xmlrpc.client is not installed';

/** Values as type-tagged JSON, so both languages compare the same thing. */
type Tagged = { t: string; v?: unknown };

function tag(v: XmlRpcValue): Tagged {
  if (v === null) return { t: 'nil' };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (typeof v === 'number') return Number.isInteger(v) ? { t: 'int', v } : { t: 'double', v };
  if (typeof v === 'string') return { t: 'str', v };
  if (v instanceof Date) return { t: 'date', v: formatIsoDate(v) };
  if (Buffer.isBuffer(v)) return { t: 'b64', v: v.toString('base64') };
  if (Array.isArray(v)) return { t: 'arr', v: v.map(tag) };
  return { t: 'struct', v: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tag(x)])) };
}

// tag()/untag() in Python mirror the TypeScript tag() above.
const PY_PRELUDE = String.raw`
import sys, json, base64, datetime, xmlrpc.client as X
def tag(v):
    if v is None: return {"t": "nil"}
    if isinstance(v, bool): return {"t": "bool", "v": v}
    if isinstance(v, int): return {"t": "int", "v": v}
    if isinstance(v, float): return {"t": "int", "v": int(v)} if v.is_integer() else {"t": "double", "v": v}
    if isinstance(v, str): return {"t": "str", "v": v}
    if isinstance(v, datetime.datetime): return {"t": "date", "v": v.strftime("%Y%m%dT%H:%M:%S")}
    if isinstance(v, (bytes, bytearray)): return {"t": "b64", "v": base64.b64encode(v).decode()}
    if isinstance(v, list): return {"t": "arr", "v": [tag(x) for x in v]}
    if isinstance(v, dict): return {"t": "struct", "v": {k: tag(x) for k, x in v.items()}}
    raise TypeError(type(v))
def untag(o):
    t = o["t"]
    if t == "nil": return None
    if t in ("bool", "int", "double", "str"): return o["v"]
    if t == "date": return datetime.datetime.strptime(o["v"], "%Y%m%dT%H:%M:%S")
    if t == "b64": return base64.b64decode(o["v"])
    if t == "arr": return [untag(x) for x in o["v"]]
    if t == "struct": return {k: untag(x) for k, x in o["v"].items()}
    raise TypeError(t)
req = json.load(sys.stdin)
`;

function python(script: string, input: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', PY_PRELUDE + script], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3 failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
    child.stdin?.end(JSON.stringify(input));
  });
}

// Within what Python's dumps can write: ints inside 32 bits, naive datetimes, whole seconds.
const VALUES: XmlRpcValue[] = [
  0,
  -2147483648,
  2147483647,
  3.25,
  -1e-7,
  1e300,
  true,
  false,
  '',
  'tab\there, newline\nthere, cr\rtoo & <tags> "quoted" \'apos\' ]]> ünïcødé 😀 \u2028',
  '   leading and trailing   ',
  null,
  new Date('2026-11-22T16:40:05Z'),
  Buffer.from([0, 1, 2, 253, 254, 255]),
  Buffer.alloc(0),
  Buffer.alloc(300, 7),
  [],
  [1, 'a', [true, [null, []]]],
  {},
  { 'name with spaces': 'compute-0-0', '<&>': { list: [1.5, { deep: Buffer.from('x') }] }, when: new Date('2000-02-29T23:59:59Z') },
];

test('documents written by Python xmlrpc.client.dumps parse as Python itself reads them', { skip }, async () => {
  const out = (await python(
    String.raw`
params = tuple(untag(x) for x in req)
call = X.dumps(params, methodname="netroot.interop", allow_none=True)
resp = X.dumps((untag(req[-1]),), methodresponse=True, allow_none=True)
fault = X.dumps(X.Fault(4, "Too <many> & parameters"), methodresponse=True)
own, name = X.loads(call, use_builtin_types=True)
print(json.dumps({"call": call, "resp": resp, "fault": fault, "name": name, "own": [tag(x) for x in own]}))
`,
    VALUES.map(tag),
  )) as { call: string; resp: string; fault: string; name: string; own: Tagged[] };
  const parsed = parseMethodCall(out.call);
  assert.equal(parsed.method, 'netroot.interop');
  assert.equal(out.name, 'netroot.interop');
  assert.deepEqual(parsed.params.map(tag), out.own, 'we read what Python reads');
  // Python writes a literal CR, which XML turns into LF on both sides; everything else is exact.
  const sent = VALUES.map(tag);
  sent[9] = tag((VALUES[9] as string).replace('\r', '\n'));
  assert.deepEqual(parsed.params.map(tag), sent);
  assert.deepEqual(tag(parseMethodResponse(out.resp)), tag(VALUES[VALUES.length - 1] as XmlRpcValue));
  assert.throws(
    () => parseMethodResponse(out.fault),
    (e: unknown) => e instanceof XmlRpcFault && e.faultCode === 4 && e.faultString === 'Too <many> & parameters',
  );
});

test('documents we write are read by Python xmlrpc.client.loads', { skip }, async () => {
  const withI8: XmlRpcValue[] = [...VALUES, 2 ** 40, -(2 ** 53 - 1)];
  const docs = {
    call: serializeMethodCall('netroot.interop', withI8),
    resp: serializeResponse({ ok: true, list: withI8 }),
    fault: serializeFault(-32601, 'no such method: <x> & y'),
  };
  const out = (await python(
    String.raw`
params, name = X.loads(req["call"], use_builtin_types=True)
(resp,), _ = X.loads(req["resp"], use_builtin_types=True)
try:
    X.loads(req["fault"])
    fault = None
except X.Fault as f:
    fault = {"code": f.faultCode, "string": f.faultString}
print(json.dumps({"name": name, "params": [tag(x) for x in params], "resp": tag(resp), "fault": fault}))
`,
    docs,
  )) as { name: string; params: Tagged[]; resp: Tagged; fault: { code: number; string: string } };
  assert.equal(out.name, 'netroot.interop');
  assert.deepEqual(out.params, withI8.map(tag));
  assert.deepEqual(out.resp, tag({ ok: true, list: withI8 }));
  assert.deepEqual(out.fault, { code: -32601, string: 'no such method: <x> & y' });
});

function listen(d: RpcDispatcher): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void d.handle(Buffer.concat(chunks), { remoteAddress: req.socket.remoteAddress ?? '' }).then((doc) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(doc);
      });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('Python ServerProxy calls the dispatcher over HTTP on 127.0.0.1, faults included', { skip }, async () => {
  const d = new RpcDispatcher();
  d.register('test.echo', async (params) => params, 'Echoes its parameters.');
  d.register('test.whoami', async (_p, ctx) => ctx.remoteAddress);
  d.register('test.add', async (p) => {
    expectArity(p, 2);
    return intParam(p, 0, 'a') + intParam(p, 1, 'b');
  });
  d.register('test.refuse', async () => {
    throw new UserError('E_HOST_NOT_FOUND', 'host compute-9-9 not found');
  });
  const server = await listen(d);
  try {
    const { port } = server.address() as AddressInfo;
    const out = (await python(
      String.raw`
s = X.ServerProxy(req["url"], allow_none=True, use_builtin_types=True)
res = {"methods": s.system.listMethods(), "help": s.system.methodHelp("test.echo"),
       "echo": tag(s.test.echo(*[untag(x) for x in req["values"]])), "whoami": s.test.whoami(), "add": s.test.add(2, 40)}
faults = []
for call in (lambda: s.test.refuse(), lambda: s.no.such(), lambda: s.test.add(1)):
    try:
        call()
        faults.append(None)
    except X.Fault as f:
        faults.append({"code": f.faultCode, "string": f.faultString})
res["faults"] = faults
print(json.dumps(res))
`,
      { url: `http://127.0.0.1:${port}/RPC2`, values: VALUES.map(tag) },
    )) as { methods: string[]; help: string; echo: Tagged; whoami: string; add: number; faults: unknown[] };
    assert.deepEqual(out.methods, ['system.listMethods', 'system.methodHelp', 'test.add', 'test.echo', 'test.refuse', 'test.whoami']);
    assert.equal(out.help, 'Echoes its parameters.');
    const sent = VALUES.map(tag);
    sent[9] = tag((VALUES[9] as string).replace('\r', '\n'));
    assert.deepEqual(out.echo, { t: 'arr', v: sent });
    assert.equal(out.whoami, '127.0.0.1');
    assert.equal(out.add, 42);
    assert.deepEqual(out.faults, [
      { code: -32500, string: 'E_HOST_NOT_FOUND: host compute-9-9 not found' },
      { code: -32601, string: 'no such method: no.such' },
      { code: -32602, string: 'test.add: expected 2 parameters, got 1' },
    ]);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
