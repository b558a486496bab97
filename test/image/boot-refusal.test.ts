// A host whose image was removed or is incomplete gets no boot answer and no kickstart: the HTTP
// routes refuse with the registry's message, and the frontend log records the refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Frontend } from '../../src/app/frontend.js';
import { createLogger } from '../../src/log/logger.js';
import { fixtureHost, LOOPBACK_NETWORK, loopbackFrontend } from '../helpers/loopback-frontend.js';
import { writeImage } from './helpers.js';

function get(port: number, path: string, from: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function setup(): Promise<{ f: Frontend; dir: string; boot: string; port: number; log: string[] }> {
  const log: string[] = [];
  const { f, dir, config, port } = await loopbackFrontend({
    prefix: 'nrt-imgboot-',
    overrides: LOOPBACK_NETWORK,
    logger: createLogger({ write: (l) => log.push(l) }),
    hosts: [fixtureHost(0, { bootAction: 'os', attrs: { os_image: 'debian-12' } }), fixtureHost(1, { bootAction: 'install' })],
    seed: async (f) => {
      await f.store.boot.put({
        host: 'compute-0-0',
        kernel: 'images/debian-12/vmlinuz',
        initrd: 'images/debian-12/initrd.img',
        overlay: null,
        args: 'root=UUID=x',
      });
    },
  });
  return { f, dir, boot: config.tftp.root, port, log };
}

test('the iPXE script of a host booting a removed or incomplete image is refused, with a log line', async (_t) => {
  const { f, dir, boot, port, log } = await setup();
  try {
    writeImage(boot, 'debian-12');
    const whole = await get(port, '/boot/ipxe/52:54:00:aa:00:01', '127.0.0.2');
    assert.equal(whole.status, 200, whole.text);
    assert.match(whole.text, /kernel http:\/\/127\.0\.0\.1:\d+\/boot\/files\/images\/debian-12\/vmlinuz /);

    unlinkSync(join(boot, 'images/debian-12/initrd.img'));
    const incomplete = await get(port, '/boot/ipxe/52:54:00:aa:00:01', '127.0.0.2');
    assert.equal(incomplete.status, 409);
    assert.deepEqual(JSON.parse(incomplete.text), { code: 'E_IMAGE_INCOMPLETE', message: 'os_image: image debian-12: initrd.img is missing' });
    assert.doesNotMatch(incomplete.text, /#!ipxe/, 'no half-working boot script');

    rmSync(join(boot, 'images/debian-12'), { recursive: true });
    const removed = await get(port, '/boot/ipxe/52:54:00:aa:00:01', '127.0.0.2');
    assert.equal(removed.status, 409);
    assert.equal(JSON.parse(removed.text).code, 'E_IMAGE_NOT_FOUND');
    assert.match(JSON.parse(removed.text).message, /no image "debian-12"/);

    const refusals = log.filter((l) => /request refused/.test(l) && /\/boot\/ipxe\/52:54:00:aa:00:01/.test(l));
    assert.equal(refusals.length, 2, log.join('\n'));
    assert.match(refusals[0]!, /code="E_IMAGE_INCOMPLETE"/);
    assert.match(refusals[1]!, /code="E_IMAGE_NOT_FOUND"/);
    assert.match(refusals[0]!, /initrd\.img is missing/, 'the log line says what is wrong with the image');
    assert.match(refusals[1]!, /no image \\"debian-12\\"/, 'the log line names the image');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the kickstart (and the installer boot script) of a host whose os_image is missing is refused', async () => {
  const { f, dir, boot, port } = await setup();
  try {
    await f.store.attributes.set({ scope: 'host', target: 'compute-0-1', name: 'os_image', value: 'gone' });
    const ks = await get(port, '/install/kickstart/compute-0-1', '127.0.0.1');
    assert.equal(ks.status, 409);
    assert.deepEqual(JSON.parse(ks.text), { code: 'E_IMAGE_NOT_FOUND', message: 'os_image: no image "gone" (netroot image list)' });
    const script = await get(port, '/boot/ipxe/52:54:00:aa:00:02', '127.0.0.3');
    assert.equal(script.status, 409);
    assert.equal(JSON.parse(script.text).code, 'E_IMAGE_NOT_FOUND');
    assert.equal((await f.store.hosts.get('compute-0-1'))?.state, 'discovered', 'a refused kickstart changes nothing');
    writeImage(boot, 'gone');
    unlinkSync(join(boot, 'images/gone/root.tar.gz'));
    const broken = await get(port, '/install/kickstart/compute-0-1', '127.0.0.1');
    assert.equal(broken.status, 409);
    assert.match(JSON.parse(broken.text).message, /image gone: root\.tar\.gz is missing/);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
