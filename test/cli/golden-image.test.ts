// `netroot golden create NAME --image IMAGE [--size SIZE]` (issue #20): an OS image installed once
// into a new golden volume (the image's root laid onto an MBR + ext4 volume, src/image/lay.ts), recorded
// with its root UUID and image, so a clone of it boots the image's kernel and initrd at once and its
// first sector reads the partition table over iSCSI. Refusals: unknown image, --from with --image,
// --size without --image, a size too small. Needs root (loop device, mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { startFrontend } from '../helpers/frontend.js';
import { writeImage } from '../image/helpers.js';
import { TestInitiator, cdb } from '../iscsi/helpers/initiator.js';
import { recordedExport } from '../../src/discovery/plugins/iscsi-allocation.js';

const skip = process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (loop device, mount, tar with owners)';

function rootTarball(dir: string): Buffer {
  const src = join(dir, 'img-src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  mkdirSync(join(src, 'sbin'), { recursive: true });
  writeFileSync(join(src, 'etc/os-release'), 'ID=golden-test\n');
  writeFileSync(join(src, 'sbin/init'), '#!/bin/sh\n', { mode: 0o755 });
  const out = join(dir, 'root.tar.gz');
  assert.equal(spawnSync('tar', ['-czf', out, '-C', src, '.']).status, 0);
  const b = readFileSync(out);
  rmSync(src, { recursive: true });
  rmSync(out);
  return b;
}

test('golden create --image: the image installed once; its clone boots the image at once over that root', { skip, timeout: 120_000 }, async () => {
  const t = await startFrontend();
  const { f, dir, at } = t;
  try {
    writeImage(f.config.tftp.root, 'img1', { root: rootTarball(dir) });
    let r = await cli(dir, ...at, 'golden', 'create', 'gi', '--image', 'img1', '--size', '24M', '--json');
    assert.equal(r.code, 0, r.err);
    const g = JSON.parse(r.out) as { sizeBytes: number; from: string; boot: { rootUuid: string; osImage: string }; path: string; version: number };
    assert.equal(g.sizeBytes, 24 << 20);
    assert.equal(g.from, 'image img1');
    assert.equal(g.boot.osImage, 'img1');
    assert.match(g.boot.rootUuid, /^[0-9a-f-]{36}$/);
    assert.equal(g.version, 1);
    assert.equal(statSync(g.path).mode & 0o777, 0o444);
    const blk = spawnSync('blkid', ['-p', '-O', String(1 << 20), '-o', 'export', g.path], { encoding: 'utf8' });
    assert.match(blk.stdout, new RegExp(`^UUID=${g.boot.rootUuid}$`, 'm'));
    r = await cli(dir, ...at, 'golden', 'show', 'gi', '--verify');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^boot\\s+root=UUID=${g.boot.rootUuid}, os_image img1$`, 'm'));

    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'gi' });
    const host = (await f.engine.add({ mac: '52:54:00:00:23:01' }, { appliance: 'compute-diskless' })).name;
    const h = (await f.store.hosts.get(host))!;
    assert.equal(h.bootAction, 'os');
    const rec = (await f.store.boot.get(host))!;
    assert.equal(rec.kernel, 'images/img1/vmlinuz');
    assert.equal(rec.initrd, 'images/img1/initrd.img');
    assert.match(rec.args, new RegExp(`root=UUID=${g.boot.rootUuid}`));
    const ex = recordedExport(host, await t.attrs(host))!;
    const i = await TestInitiator.connect(f.storage.iscsiPort());
    try {
      const l = await i.login({ initiator: ex.spec.initiatorIqn, target: ex.spec.targetIqn, chap: { user: ex.spec.chap.user, secret: ex.spec.chap.secret } });
      assert.equal(l.statusClass, 0);
      const rd = await i.scsi(cdb.rw10(0x28, 0, 1), { lun: ex.spec.lun, readLength: 512 });
      assert.equal(rd.data.readUInt16BE(510), 0x55aa);
      assert.equal(rd.data[450], 0x83);
      await i.logout();
    } finally {
      i.close();
    }

    // Refusals.
    r = await cli(dir, ...at, 'golden', 'create', 'g2', '--image', 'nosuch');
    assert.equal(r.code, 2);
    assert.match(r.err, /no image "nosuch"/);
    r = await cli(dir, ...at, 'golden', 'create', 'g2', '--image', 'img1', '--from', host);
    assert.equal(r.code, 2);
    assert.match(r.err, /--from HOST or --image IMAGE \(one of them\)/);
    r = await cli(dir, ...at, 'golden', 'create', 'g2', '--from', host, '--size', '1G');
    assert.equal(r.code, 2);
    assert.match(r.err, /--size goes with --image/);
    r = await cli(dir, ...at, 'golden', 'create', 'g2', '--image', 'img1', '--size', '4M');
    assert.equal(r.code, 2);
    assert.match(r.err, /at least 16 MiB/);
    r = await cli(dir, ...at, 'golden', 'list', '--json');
    assert.deepEqual(
      (JSON.parse(r.out) as Array<{ name: string }>).map((x) => x.name),
      ['gi'],
    );
  } finally {
    await f.stop();
  }
});
