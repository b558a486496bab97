import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';

interface Res {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}
function get(port: number, path: string, opts: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: opts.localAddress ?? '127.0.0.1', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function setup() {
  const kernel = Buffer.alloc(100_000);
  for (let i = 0; i < kernel.length; i++) kernel[i] = i % 251;
  const { f, dir, port } = await loopbackFrontend({
    prefix: 'nrt-boot-',
    overrides: LOOPBACK_NETWORK,
    prepare: (config, dir) => {
      mkdirSync(join(config.tftp.root, 'install'), { recursive: true });
      writeFileSync(join(config.tftp.root, 'install', 'vmlinuz'), kernel);
      writeFileSync(join(dir, 'secret.txt'), 'outside the boot root');
      symlinkSync(join(dir, 'secret.txt'), join(config.tftp.root, 'escape'));
    },
  });
  return { f, dir, kernel, port };
}

test('iPXE script per MAC: path and query forms, unknown MACs wait, others refused', async () => {
  const { f, dir, port } = await setup();
  try {
    for (const path of ['/boot/ipxe/52:54:00:aa:00:01', '/boot/ipxe/52-54-00-AA-00-01', '/boot/ipxe?mac=525400aa0001']) {
      const r = await get(port, path, { localAddress: '127.0.0.2' });
      assert.equal(r.status, 200, path);
      assert.match(
        r.body.toString(),
        /^#!ipxe\n# netroot: 52:54:00:aa:00:01 is compute-0-0, action install\nkernel http:\/\/127\.0\.0\.1:\d+\/boot\/files\/install\/vmlinuz initrd=initrd\.img inst\.ks=http:\/\/127\.0\.0\.1:\d+\/install\/kickstart\/compute-0-0 ip=dhcp/,
      );
    }
    const wait = await get(port, '/boot/ipxe/52:54:00:aa:00:99', { localAddress: '127.0.0.5' });
    assert.equal(wait.status, 200);
    assert.match(wait.body.toString(), /not registered yet/);
    const other = await get(port, '/boot/ipxe/52:54:00:aa:00:01', { localAddress: '127.0.0.5' });
    assert.equal(other.status, 403);
    const bad = await get(port, '/boot/ipxe/not-a-mac');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body.toString()).code, 'E_BAD_MAC');
    const pxe = await get(port, '/boot/pxelinux.cfg/01-52-54-00-aa-00-01', { localAddress: '127.0.0.2' });
    assert.match(pxe.body.toString(), /KERNEL http:\/\/127\.0\.0\.1:\d+\/boot\/files\/install\/vmlinuz/);
    const grub = await get(port, '/boot/grub/grub.cfg-01-52-54-00-aa-00-01', { localAddress: '127.0.0.2' });
    assert.match(grub.body.toString(), /linux \(http,127\.0\.0\.1:\d+\)\/boot\/files\/install\/vmlinuz/);
    await f.store.hosts.update('compute-0-0', { bootAction: 'os' });
    const noRecord = await get(port, '/boot/ipxe/52:54:00:aa:00:01', { localAddress: '127.0.0.2' });
    assert.equal(noRecord.status, 409);
    assert.match(JSON.parse(noRecord.body.toString()).message, /no diskless boot files yet/);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});

test('boot files: whole, ranged, and never outside the boot root', async () => {
  const { f, dir, port, kernel } = await setup();
  try {
    const whole = await get(port, '/boot/files/install/vmlinuz');
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(kernel));
    const part = await get(port, '/boot/files/install/vmlinuz', { headers: { Range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 1000-1999/${kernel.length}`);
    assert.ok(part.body.equals(kernel.subarray(1000, 2000)));
    for (const path of ['/boot/files/escape', '/boot/files/install/..%2f..%2fsecret.txt', '/boot/files/%2e%2e/secret.txt', '/boot/files/install/vmlinuz%00']) {
      const r = await get(port, path);
      assert.ok(r.status === 403 || r.status === 404, `${path} → ${r.status}`);
      assert.doesNotMatch(r.body.toString(), /outside the boot root/);
    }
    const missing = await get(port, '/boot/files/nope');
    assert.equal(missing.status, 404);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
