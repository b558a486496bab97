// The frontend's TFTP: the boot root and per-node files rendered by the Booter (same renderers as
// HTTP), guarded like the HTTP boot routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createFrontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { decodeTftp, encodeTftp } from '../../src/tftp/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { rawPeer } from './udp-peer.js';

/** A whole lockstep read with a raw client bound to `from`; returns the file or the error packet. */
async function fetchFile(port: number, name: string, from = '127.0.0.1'): Promise<Buffer | { code: number; message: string }> {
  const peer = await rawPeer(from);
  try {
    await peer.send(encodeTftp({ op: 'RRQ', filename: name, mode: 'octet', options: new Map() }), port);
    const parts: Buffer[] = [];
    for (;;) {
      const r = await peer.next(3000);
      assert.ok(r, 'answer');
      const p = decodeTftp(r.msg);
      if (p.op === 'ERROR') return { code: p.code, message: p.message };
      assert.equal(p.op, 'DATA');
      if (p.op !== 'DATA') throw new Error('unreachable');
      parts.push(p.data);
      await new Promise<void>((res, rej) =>
        peer.socket.send(encodeTftp({ op: 'ACK', block: p.block }), r.rinfo.port, '127.0.0.1', (e) => (e ? rej(e) : res())),
      );
      if (p.data.length < 512) return Buffer.concat(parts);
    }
  } finally {
    peer.close();
  }
}

test('frontend TFTP: boot root files, rendered pxelinux/iPXE/GRUB per MAC, guarded per node', async () => {
  const dir = tempStateDir('nrt-ftftp-');
  const config = loadConfig({
    env: {},
    overrides: {
      stateDir: dir,
      'http.host': '127.0.0.1',
      'http.port': '0',
      'tftp.host': '127.0.0.1',
      'tftp.port': '0',
      'iscsi.host': '127.0.0.1',
      'iscsi.port': '0',
      'network.frontendAddress': '127.0.0.1',
      'network.privateNetwork': '127.0.0.0/8',
    },
  });
  mkdirSync(config.tftp.root, { recursive: true });
  const efi = Buffer.alloc(5000, 0x5a);
  writeFileSync(join(config.tftp.root, 'ipxe.efi'), efi);
  const f = createFrontend(config, { logger: silentLogger });
  await f.store.hosts.add({
    name: 'compute-0-0',
    appliance: 'compute',
    rack: 0,
    rank: 0,
    interfaces: [{ mac: '52:54:00:aa:00:01', ip: '127.0.0.2', subnet: '127.0.0.0/8', device: 'eth0' }],
  });
  await f.start();
  try {
    const tftp = f.tftp();
    assert.ok(tftp);
    const port = tftp.port();
    const got = await fetchFile(port, '/ipxe.efi');
    assert.ok(Buffer.isBuffer(got) && got.equals(efi));
    const pxe = await fetchFile(port, 'pxelinux.cfg/01-52-54-00-aa-00-01', '127.0.0.2');
    assert.ok(Buffer.isBuffer(pxe));
    assert.equal(pxe.toString(), await f.booter.pxelinuxConfig('52:54:00:aa:00:01'));
    assert.match(pxe.toString(), /KERNEL http:\/\/127\.0\.0\.1:\d+\/boot\/files\/install\/vmlinuz/);
    const ipxe = await fetchFile(port, 'ipxe/52:54:00:aa:00:01', '127.0.0.2');
    assert.ok(Buffer.isBuffer(ipxe));
    assert.equal(ipxe.toString(), await f.booter.ipxeScript('52:54:00:aa:00:01'));
    const grub = await fetchFile(port, 'grub/grub.cfg-01-52-54-00-aa-00-01', '127.0.0.2');
    assert.ok(Buffer.isBuffer(grub));
    assert.match(grub.toString(), /linux \(http,127\.0\.0\.1:\d+\)/);
    // Another machine asking for compute-0-0's file: access violation, nothing served.
    const other = await fetchFile(port, 'pxelinux.cfg/01-52-54-00-aa-00-01', '127.0.0.5');
    assert.deepEqual(other, { code: 2, message: 'access violation' });
    // An unknown MAC gets the "wait" script, like over HTTP.
    const unknown = await fetchFile(port, 'ipxe/52-54-00-aa-00-99', '127.0.0.5');
    assert.ok(Buffer.isBuffer(unknown));
    assert.match(unknown.toString(), /not registered yet/);
    assert.deepEqual(await fetchFile(port, 'nope'), { code: 1, message: 'file not found' });
    assert.ok(tftp.metrics.completed >= 5);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
