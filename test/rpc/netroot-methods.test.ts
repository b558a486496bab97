import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { call, installingNodes, SECRET, UUID } from './installing-node.js';
import { rpc } from '../http/clients.js';
import { readCpio } from '../../src/initrd/index.js';

const post = (port: number, body: string | Buffer) => rpc(port, body, '127.0.0.2');

const setup = () => installingNodes('nrt-rpc-');

test('installComplete: regenerates overlay + kernel args, flips to os atomically, token single-use', async () => {
  const { f, dir, port, tokens } = await setup();
  try {
    const token = await tokens.issue('compute-0-0', '127.0.0.2');
    const r = (await call(port, 'netroot.installComplete', [token, { root_uuid: UUID }])) as Record<string, string>;
    assert.equal(r['action'], 'os');
    assert.match(
      r['args']!,
      new RegExp(
        `^root=UUID=${UUID} netroot=iscsi:10\\.1\\.1\\.1::3260:0:iqn\\.2026-11\\.local\\.netroot:compute-0-0 rd\\.iscsi\\.initiator=iqn\\.2026-11\\.local\\.netroot:init:compute-0-0`,
      ),
    );
    assert.doesNotMatch(JSON.stringify(r), new RegExp(SECRET), 'no secret on the kernel command line or in the answer');
    const h = await f.store.hosts.get('compute-0-0');
    assert.equal(h?.bootAction, 'os');
    assert.equal(h?.state, 'installed');
    const rec = await f.store.boot.get('compute-0-0');
    assert.ok(rec?.overlay);
    // the overlay is a gzipped newc cpio holding the node's settings, secret included (mode 0600)
    const { readFileSync } = await import('node:fs');
    const entries = readCpio(gunzipSync(readFileSync(join(dir, rec!.overlay!))));
    const conf = entries.find((e) => e.name.endsWith('node.conf'));
    assert.ok(conf, entries.map((e) => e.name).join(','));
    assert.match(conf!.data.toString(), new RegExp(SECRET));
    assert.equal(conf!.mode & 0o777, 0o600);
    // replay: refused, nothing changes
    await assert.rejects(call(port, 'netroot.installComplete', [token, { root_uuid: UUID }]), /already used/);
    // the iPXE script now boots the diskless kernel with base initrd + overlay
    const script = await fetch(`http://127.0.0.1:${port}/boot/ipxe/52:54:00:aa:00:01`).then((x) => x.text());
    assert.match(script, /initrd=initrd\.img initrd=overlay\.img root=UUID=/);
    // overlay served to the node only
    const { request: req } = await import('node:http');
    const status = await new Promise<number>((resolve) =>
      req({ host: '127.0.0.1', port, path: '/boot/node/compute-0-0/overlay.img', localAddress: '127.0.0.9', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end(),
    );
    assert.equal(status, 403);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('forged, foreign, misplaced and malformed calls fault and change nothing', async () => {
  const { f, dir, port, tokens } = await setup();
  try {
    const token = await tokens.issue('compute-0-0', '127.0.0.2');
    const other = await tokens.issue('compute-0-1', '127.0.0.3');
    await assert.rejects(call(port, 'netroot.installComplete', ['A'.repeat(43), { root_uuid: UUID }]), /not valid/);
    await assert.rejects(call(port, 'netroot.installComplete', [token, { root_uuid: UUID }], '127.0.0.3'), /another address/);
    // compute-0-1 has no iSCSI attributes: its regeneration fails half way, boot action unchanged, token unspent
    await assert.rejects(call(port, 'netroot.installComplete', [other, { root_uuid: UUID }], '127.0.0.3'), /no iscsi_initiator attribute/);
    assert.equal((await f.store.hosts.get('compute-0-1'))?.bootAction, 'install');
    await assert.rejects(call(port, 'netroot.installComplete', [token, { root_uuid: 'not-a-uuid' }]), /root_uuid/);
    await assert.rejects(call(port, 'netroot.installComplete', [token]), /expected 2 parameters/);
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><methodCall><methodName>netroot.installComplete</methodName><params><param><value>&b;</value></param></params></methodCall>';
    const r1 = await post(port, bomb);
    assert.match(r1.body, /<fault>/);
    const r2 = await post(port, Buffer.alloc(2 * 1024 * 1024, 'a'));
    assert.ok(r2.status === 413 || /<fault>/.test(r2.body));
    const r3 = await post(port, '<methodCall><methodName>netroot.installComplete</methodName><params>');
    assert.match(r3.body, /<fault>/);
    assert.doesNotMatch(r3.body, /at .*\.ts:\d+/, 'no stack trace in a fault');
    assert.equal((await f.store.hosts.get('compute-0-0'))?.bootAction, 'install');
    assert.equal(await f.store.boot.get('compute-0-0'), null);
    // still works afterwards
    await call(port, 'netroot.installComplete', [token, { root_uuid: UUID }]);
    assert.equal((await f.store.hosts.get('compute-0-0'))?.bootAction, 'os');
    // two racing calls with one token: exactly one wins
    await f.store.hosts.update('compute-0-0', { bootAction: 'install' });
    const t2 = await tokens.issue('compute-0-0', '127.0.0.2');
    const results = await Promise.allSettled([
      call(port, 'netroot.installComplete', [t2, { root_uuid: UUID }]),
      call(port, 'netroot.installComplete', [t2, { root_uuid: UUID }]),
    ]);
    assert.equal(results.filter((x) => x.status === 'fulfilled').length, 1);
    // only one overlay file remains referenced on disk
    assert.equal(readdirSync(join(dir, 'nodes', 'compute-0-0')).filter((n) => n.startsWith('overlay-') && !n.includes('.tmp')).length, 1);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('reportStatus and getBootConfig; system.listMethods lists the netroot methods', async () => {
  const { f, dir, port, tokens } = await setup();
  try {
    const token = await tokens.issue('compute-0-0', '127.0.0.2');
    assert.equal(await call(port, 'netroot.reportStatus', [token, 'installing']), true);
    assert.equal((await f.store.hosts.get('compute-0-0'))?.state, 'installing');
    await assert.rejects(call(port, 'netroot.reportStatus', [token, 'hacked']), /state must be one of/);
    const cfg = (await call(port, 'netroot.getBootConfig', ['compute-0-0'])) as Record<string, unknown>;
    assert.equal(cfg['action'], 'install');
    await assert.rejects(call(port, 'netroot.getBootConfig', ['compute-0-0'], '127.0.0.3'), /no boot configuration/);
    const methods = (await call(port, 'system.listMethods', [])) as string[];
    for (const m of ['netroot.installComplete', 'netroot.reportStatus', 'netroot.getBootConfig', 'system.listMethods']) assert.ok(methods.includes(m), m);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('installComplete {boot: "local"}: a disked node flips to local boot once, with the same token rules', async () => {
  const { f, dir, port, tokens } = await setup();
  try {
    await f.store.hosts.add({
      name: 'compute-1-0',
      appliance: 'compute',
      rack: 1,
      rank: 0,
      bootAction: 'install',
      interfaces: [{ mac: '52:54:00:aa:01:01', ip: '127.0.0.4', subnet: '127.0.0.0/8', device: 'eth0' }],
    });
    const token = await tokens.issue('compute-1-0', '127.0.0.4');
    // From another address, with a bad boot value, or a forged token: refused, nothing changes.
    await assert.rejects(call(port, 'netroot.installComplete', [token, { boot: 'local' }], '127.0.0.2'), /another address/);
    await assert.rejects(call(port, 'netroot.installComplete', [token, { boot: 'disk' }], '127.0.0.4'), /facts\.boot must be "local"/);
    await assert.rejects(call(port, 'netroot.installComplete', ['x'.repeat(43), { boot: 'local' }], '127.0.0.4'), /not valid/);
    assert.equal((await f.store.hosts.get('compute-1-0'))?.bootAction, 'install');
    const r = (await call(port, 'netroot.installComplete', [token, { boot: 'local' }], '127.0.0.4')) as Record<string, string>;
    assert.deepEqual(r, { host: 'compute-1-0', action: 'local' });
    const h = await f.store.hosts.get('compute-1-0');
    assert.equal(h?.bootAction, 'local');
    assert.equal(h?.state, 'installed');
    assert.equal(await f.store.boot.get('compute-1-0'), null, 'no diskless boot record for a disked node');
    await assert.rejects(call(port, 'netroot.installComplete', [token, { boot: 'local' }], '127.0.0.4'), /already used/);
    const script = await fetch(`http://127.0.0.1:${port}/boot/ipxe/52:54:00:aa:01:01`).then((x) => x.text());
    assert.match(script, /action local/);
    assert.match(script, /boots from its next boot device/);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
