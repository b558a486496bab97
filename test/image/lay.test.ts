// layImage (src/image/lay.ts, `golden create --image`): a root tarball laid onto a new volume as the
// lab installer lays it onto a node's disk — MBR with one active Linux partition at 1 MiB, ext4
// with the given UUID and label, the tarball's files with their owners, modes and links, and
// /etc/fstab naming the root by UUID — checked by mounting the result (read-only, in a private
// mount namespace). Refusals: a bad size or UUID, an existing output, a broken tarball (nothing left
// behind). Needs root (loop device, mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layImage, mbr, PARTITION_OFFSET } from '../../src/image/index.js';
import { tempStateDir } from '../helpers/tmp.js';

const skip = process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (loop device, mount, tar with owners)';
const UUID = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';

function tarball(dir: string): string {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  mkdirSync(join(src, 'sbin'), { recursive: true });
  writeFileSync(join(src, 'etc/os-release'), 'ID=test\n');
  writeFileSync(join(src, 'sbin/init'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(src, 'etc/owned'), 'mine\n', { mode: 0o640 });
  chownSync(join(src, 'etc/owned'), 1234, 4321);
  symlinkSync('../sbin/init', join(src, 'etc/init-link'));
  const out = join(dir, 'root.tar.gz');
  const r = spawnSync('tar', ['-czf', out, '--numeric-owner', '-C', src, '.']);
  assert.equal(r.status, 0, String(r.stderr));
  return out;
}

test('mbr(): one active Linux partition from 1 MiB to the end, the disk signature from the UUID', () => {
  const b = mbr(64 << 20, UUID);
  assert.equal(b.length, 512);
  assert.equal(b.readUInt16BE(510), 0x55aa);
  assert.equal(b.toString('hex', 440, 444), '3c4d5e6f');
  assert.equal(b[446], 0x80);
  assert.equal(b[450], 0x83);
  assert.equal(b.readUInt32LE(454), 2048);
  assert.equal(b.readUInt32LE(458), (64 << 20) / 512 - 2048);
  assert.ok(b.subarray(462, 510).equals(Buffer.alloc(48)), 'no other partition');
});

test('layImage: the root on an ext4 partition with its UUID, owners, links and fstab', { skip, timeout: 60_000 }, async () => {
  const dir = tempStateDir('nrt-lay-');
  try {
    const tgz = tarball(dir);
    const out = join(dir, 'vol.img');
    assert.deepEqual(await layImage({ tarball: tgz, out, sizeBytes: 32 << 20, rootUuid: UUID }), { rootUuid: UUID });
    const img = readFileSync(out);
    assert.equal(img.length, 32 << 20);
    assert.ok(img.subarray(0, 512).equals(mbr(32 << 20, UUID)));
    assert.equal(existsSync(`${out}.mnt`), false, 'the mount point is removed');
    const blk = spawnSync('blkid', ['-p', '-O', String(PARTITION_OFFSET), '-o', 'export', out], { encoding: 'utf8' });
    assert.match(blk.stdout, new RegExp(`^UUID=${UUID}$`, 'm'));
    assert.match(blk.stdout, /^LABEL=netroot-root$/m);
    assert.match(blk.stdout, /^TYPE=ext4$/m);
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const look = spawnSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -o ro,loop,offset=$3 "$1" "$2" && cat "$2/etc/fstab" "$2/etc/os-release" && stat -c "%u:%g %a" "$2/etc/owned" && readlink "$2/etc/init-link" && stat -c %a "$2/sbin/init"',
        'sh',
        out,
        mnt,
        String(PARTITION_OFFSET),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(look.status, 0, look.stderr);
    assert.equal(look.stdout, `UUID=${UUID} / ext4 defaults 0 1\nID=test\n1234:4321 640\n../sbin/init\n755\n`);
    // No loop device is left attached to the volume.
    assert.equal(spawnSync('losetup', ['-j', out], { encoding: 'utf8' }).stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('layImage refusals: size, UUID, an existing output; a broken tarball leaves nothing behind', { skip, timeout: 60_000 }, async () => {
  const dir = tempStateDir('nrt-lay-');
  try {
    const tgz = tarball(dir);
    const out = join(dir, 'vol.img');
    await assert.rejects(layImage({ tarball: tgz, out, sizeBytes: 8 << 20 }), { code: 'E_STORAGE_BAD_SIZE' });
    await assert.rejects(layImage({ tarball: tgz, out, sizeBytes: (32 << 20) + 512 }), { code: 'E_STORAGE_BAD_SIZE' });
    await assert.rejects(layImage({ tarball: tgz, out, sizeBytes: 32 << 20, rootUuid: 'nope' }), { code: 'E_BAD_ROOT_UUID' });
    assert.equal(existsSync(out), false);
    writeFileSync(out, 'precious');
    await assert.rejects(layImage({ tarball: tgz, out, sizeBytes: 32 << 20 }), { code: 'EEXIST' });
    assert.equal(readFileSync(out, 'utf8'), 'precious');
    const bad = join(dir, 'bad.tar.gz');
    writeFileSync(bad, 'not gzip at all');
    const out2 = join(dir, 'vol2.img');
    await assert.rejects(layImage({ tarball: bad, out: out2, sizeBytes: 32 << 20 }), (e: unknown) => {
      const err = e as { code: string; message: string };
      assert.equal(err.code, 'E_IMAGE_TOOL');
      assert.match(err.message, /lay image failed/);
      return true;
    });
    assert.equal(existsSync(out2), false);
    assert.equal(existsSync(`${out2}.mnt`), false);
    assert.equal(spawnSync('losetup', ['-j', out2], { encoding: 'utf8' }).stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
