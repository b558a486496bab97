// The lab BMC's pieces that need no root: the chassis_control request parser (input that ipmi_sim
// builds from IPMI requests), lan.conf and the control script's validation, QEMU's command line
// for a BMC node, and the QMP client against a real QEMU (paused, no network) and against
// malformed answers. The whole path (ipmi_sim + ipmitool + QEMU in a namespace) is test/e2e/ipmi-bmc.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CHASSIS_REQUEST_MAX, chassisControlScript, lanConf, parseChassisRequest, qemuArgs, qmpCommand } from '../../src/lab/index.js';
import { NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const QEMU: [string, string] = ['qemu-system-x86_64', 'qemu-system-x86'];

test('parseChassisRequest reads what ipmi_sim sends its chassis_control program', () => {
  assert.deepEqual(parseChassisRequest('get power'), { op: 'get', params: ['power'] });
  assert.deepEqual(parseChassisRequest('get power boot\n'), { op: 'get', params: ['power', 'boot'] });
  assert.deepEqual(parseChassisRequest('set power 1'), { op: 'set', sets: [{ param: 'power', on: true }] });
  assert.deepEqual(parseChassisRequest('set power 0'), { op: 'set', sets: [{ param: 'power', on: false }] });
  assert.deepEqual(parseChassisRequest('set reset 1'), { op: 'set', sets: [{ param: 'reset' }] });
  assert.deepEqual(parseChassisRequest('set shutdown 1'), { op: 'set', sets: [{ param: 'shutdown' }] });
  assert.deepEqual(parseChassisRequest('set reset 0'), { op: 'set', sets: [] }, 'a zero pulse does nothing');
  assert.deepEqual(parseChassisRequest('set boot pxe'), { op: 'set', sets: [{ param: 'boot', device: 'pxe' }] });
  assert.deepEqual(parseChassisRequest('set identify 15 0'), { op: 'set', sets: [{ param: 'identify', seconds: 15, force: false }] });
  assert.deepEqual(parseChassisRequest('set boot default power 1'), {
    op: 'set',
    sets: [
      { param: 'boot', device: 'default' },
      { param: 'power', on: true },
    ],
  });
});

test('parseChassisRequest refuses malformed, unknown and oversize requests with E_LAB_BMC', () => {
  const bad = [
    '',
    '   ',
    'frob power',
    'get',
    'get reset',
    'get power frob',
    'set',
    'set power',
    'set power 2',
    'set power on',
    'set power "1"',
    'set boot',
    'set boot floppy',
    'set identify',
    'set identify 15',
    'set identify 256 0',
    'set identify 1234 0',
    'set identify 15 7',
    'set frob 1',
    'set power 1; reboot',
    'set power 1 $(id)',
    'get power\u0000',
    'get pöwer',
    `get ${'power '.repeat(50)}`,
  ];
  assert.ok(bad.at(-1)!.length > CHASSIS_REQUEST_MAX);
  for (const b of bad)
    assert.throws(
      () => parseChassisRequest(b),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_LAB_BMC' && e.message.length < 300,
      JSON.stringify(b),
    );
});

test('lanConf: one admin user, LAN channel 1 on the address, the VM interface, the control program; refuses what it cannot quote', () => {
  const conf = lanConf({ name: 'node0', address: '10.78.0.10', user: 'admin', password: 'Secr3t-pw', chassisControl: '/tmp/x/bmc/node0/chassis-control' });
  assert.match(conf, /^name "node0"$/m);
  assert.match(conf, /^ {4}addr 10\.78\.0\.10 623$/m);
  assert.match(conf, /^ {2}serial kcs 10\.78\.0\.10 9002 codec VM$/m);
  assert.match(conf, /^ {2}chassis_control "\/tmp\/x\/bmc\/node0\/chassis-control"$/m);
  assert.match(conf, /^ {2}user 2 true "admin" "Secr3t-pw" admin 10 md5$/m);
  assert.doesNotMatch(conf, /^\s*user 1 /m, 'no anonymous user');
  assert.doesNotMatch(conf, /\b(none|straight)\b/, 'no unauthenticated or clear-text IPMI 1.5 logins');
  const base = { name: 'node0', address: '10.78.0.10', user: 'admin', password: 'pw', chassisControl: '/tmp/c' };
  for (const o of [
    { ...base, password: 'has"quote' },
    { ...base, password: 'has space' },
    { ...base, password: '' },
    { ...base, password: 'x'.repeat(17) },
    { ...base, user: 'ad\nmin' },
    { ...base, name: 'Node 0' },
    { ...base, chassisControl: '/tmp/a"b' },
  ])
    assert.throws(
      () => lanConf(o),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_LAB_BMC' && !e.message.includes(o.password || '\u0000'),
    );
  const script = chassisControlScript('/tmp/x/bmc/chassis.sock', 'node0');
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.match(script, /--unix-socket '\/tmp\/x\/bmc\/chassis\.sock' --data-binary "\$\*" 'http:\/\/lab\/chassis\/node0'/);
  assert.throws(() => chassisControlScript("/tmp/it's", 'node0'), /unsafe/);
});

test('qemuArgs: the command line bootNode runs; extra arguments (a BMC node’s IPMI devices) come last', () => {
  const bios = qemuArgs({ mac: '52:54:00:00:00:01', firmware: 'bios', memoryMb: 256 }, 'tap3');
  assert.deepEqual(bios, [
    '-accel',
    'tcg',
    '-m',
    '256',
    '-nographic',
    '-no-reboot',
    '-boot',
    'n',
    '-netdev',
    'tap,id=n0,ifname=tap3,script=no,downscript=no',
    '-device',
    'e1000,netdev=n0,mac=52:54:00:00:00:01',
  ]);
  const uefi = qemuArgs(
    { mac: '52:54:00:00:00:02', firmware: 'uefi', nicRom: false, nicModel: 'virtio-net-pci', disk: '/d.img', extraArgs: ['-device', 'isa-ipmi-kcs,bmc=bmc0'] },
    'bmc0',
    '/v.fd',
  );
  assert.deepEqual(uefi.slice(0, 6), [
    '-machine',
    'q35',
    '-drive',
    'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
    '-drive',
    'if=pflash,format=raw,file=/v.fd',
  ]);
  assert.ok(uefi.includes('virtio-net-pci,netdev=n0,mac=52:54:00:00:00:02,romfile=,bootindex=1'));
  assert.deepEqual(uefi.slice(-4), ['-drive', 'file=/d.img,format=raw,if=ide,index=0', '-device', 'isa-ipmi-kcs,bmc=bmc0']);
  assert.throws(() => qemuArgs({ mac: '52:54:00:00:00:02', firmware: 'uefi' }, 'tap0'), /OVMF variable store/);
});

test('qmpCommand delivers system_powerdown to a real QEMU (paused, no network)', { skip: skipUnless([QEMU]) }, async () => {
  assertTools([QEMU]);
  const dir = tempStateDir('nrt-qmp-');
  const sock = join(dir, 'qmp.sock');
  const q = spawn('qemu-system-x86_64', ['-accel', 'tcg', '-S', '-display', 'none', '-nodefaults', '-qmp', `unix:${sock},server=on,wait=off`], {
    stdio: 'ignore',
  });
  try {
    await waitFor(() => existsSync(sock), { what: `QEMU's QMP socket ${sock}`, intervalMs: 25 });
    await qmpCommand(sock, 'system_powerdown', 10_000);
    await assert.rejects(
      qmpCommand(sock, 'no-such-command', 10_000),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_LAB_BMC' && /no-such-command has not been found/.test(e.message),
    );
  } finally {
    q.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmpCommand rejects garbage, oversize and silent QMP peers, and a missing socket', async () => {
  const dir = tempStateDir('nrt-qmp-');
  const serve = async (name: string, onConn: (write: (s: string) => void) => void) => {
    const path = join(dir, name);
    const srv = createServer((c) => onConn((s) => c.write(s)));
    await new Promise<void>((r) => srv.listen(path, r));
    return { path, close: () => srv.close() };
  };
  const cases: Array<[string, (w: (s: string) => void) => void, RegExp]> = [
    ['garbage', (w) => w('this is not json\n'), /unreadable answer/],
    ['huge', (w) => w('x'.repeat(70_000)), /longer than 64 KiB/],
    ['silent', () => {}, /no answer within/],
    ['error', (w) => w('{"QMP":{}}\n{"error":{"class":"GenericError","desc":"nope"}}\n'), /nope/],
  ];
  try {
    for (const [name, onConn, re] of cases) {
      const s = await serve(`${name}.sock`, onConn);
      try {
        await assert.rejects(
          qmpCommand(s.path, 'system_powerdown', 300),
          (e: unknown) => e instanceof NetrootError && e.code === 'E_LAB_BMC' && re.test(e.message),
          name,
        );
      } finally {
        s.close();
      }
    }
    await assert.rejects(qmpCommand(join(dir, 'absent.sock'), 'system_powerdown', 300), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
