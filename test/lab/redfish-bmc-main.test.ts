// The lab Redfish BMC process's pieces (src/lab/redfish-bmc-main.ts) that run without a lab: its
// config file reader (bounds, types, the name and address it pastes into a URL and a listener),
// the Redfish → chassis boot device map, and its chassis socket client against a unix-socket HTTP
// server that answers badly (error status, oversize answer, no answer, garbage power state).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChassisSocketSystem, chassisBootDevice, chassisCall, readChildConfig } from '../../src/lab/redfish-bmc-main.js';
import { tempStateDir } from '../helpers/tmp.js';

const GOOD = { socket: '/x/chassis.sock', name: 'node0', address: '10.78.0.50', port: 443, dir: '/x/redfish', user: 'admin', password: 'pw' };

test('readChildConfig: reads a good file; refuses non-JSON, oversize, missing or malformed fields', () => {
  const dir = tempStateDir('nrt-rfmain-');
  try {
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify(GOOD));
    assert.deepEqual(readChildConfig(f), GOOD);
    const bad: Array<[string, RegExp]> = [
      ['{', /not JSON/],
      ['null', /not an object/],
      [JSON.stringify({ ...GOOD, pad: 'x'.repeat(9000) }), /longer than 8 KiB/],
      [JSON.stringify({ ...GOOD, password: '' }), /password missing/],
      [JSON.stringify({ ...GOOD, socket: 7 }), /socket missing/],
      [JSON.stringify({ ...GOOD, port: 0 }), /port not/],
      [JSON.stringify({ ...GOOD, port: 70000 }), /port not/],
      [JSON.stringify({ ...GOOD, port: '443' }), /port not/],
      [JSON.stringify({ ...GOOD, name: '../etc' }), /bad name/],
      [JSON.stringify({ ...GOOD, address: 'example.com' }), /address not/],
    ];
    for (const [text, re] of bad) {
      writeFileSync(f, text);
      assert.throws(() => readChildConfig(f), re, text.slice(0, 40));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chassisBootDevice: Redfish boot targets to the chassis devices the lab records', () => {
  assert.equal(chassisBootDevice('Pxe'), 'pxe');
  assert.equal(chassisBootDevice('UefiHttp'), 'pxe');
  assert.equal(chassisBootDevice('Cd'), 'cdrom');
  assert.equal(chassisBootDevice('BiosSetup'), 'bios');
  assert.equal(chassisBootDevice('Hdd'), 'default');
  assert.equal(chassisBootDevice(null), 'default');
});

test('chassisCall / ChassisSocketSystem: requests as sent, and errors on a bad status, oversize answer, silence, garbage', async () => {
  const dir = tempStateDir('nrt-rfmain-');
  const socket = join(dir, 'chassis.sock');
  const seen: string[] = [];
  let answer: (res: import('node:http').ServerResponse, body: string) => void = (res) => res.end('power:0\n');
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      answer(res, body);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  try {
    const sys = new ChassisSocketSystem(socket, 'node0');
    assert.equal(await sys.powerState(), 'Off');
    answer = (res, body) => res.end(body === 'get power' ? 'power:0\n' : '');
    await sys.on('Pxe');
    await sys.reset('force', 'Cd');
    await sys.off('graceful');
    await sys.reset('nmi', null);
    assert.deepEqual(seen.slice(1), [
      'POST /chassis/node0 get power',
      'POST /chassis/node0 set boot pxe power 1',
      'POST /chassis/node0 get power',
      'POST /chassis/node0 set boot cdrom power 1',
      'POST /chassis/node0 set shutdown 1',
    ]);
    answer = (res) => res.end('power:1\n');
    assert.equal(await sys.powerState(), 'On');
    answer = (res) => res.end('power:on\n');
    await assert.rejects(sys.powerState(), /unreadable power answer/);
    answer = (res) => {
      res.writeHead(500);
      res.end('chassis control request: boom\n');
    };
    await assert.rejects(chassisCall(socket, 'node0', 'set power 1'), /500 chassis control request: boom/);
    answer = (res) => res.end('x'.repeat(10_000));
    await assert.rejects(chassisCall(socket, 'node0', 'get power'), /longer than 4096/);
    answer = () => {};
    await assert.rejects(chassisCall(socket, 'node0', 'get power', 200), /no answer within 200 ms/);
    await assert.rejects(chassisCall(join(dir, 'absent.sock'), 'node0', 'get power'), /ENOENT/);
  } finally {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
