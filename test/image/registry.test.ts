import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageRegistry } from '../../src/image/index.js';
import { mountsUnder } from '../../src/image/registry.js';
import { NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { imagesDirEntries, rootSkip, writeImage } from './helpers.js';

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof NetrootError && e.code === c && (!re || re.test(e.message));

test('get: a whole image returns its manifest; a missing file, a wrong size, no manifest, a foreign manifest are named', async () => {
  const boot = tempStateDir('nrt-reg-');
  try {
    const reg = new ImageRegistry(boot);
    const m = writeImage(boot, 'debian-12');
    assert.deepEqual(await reg.get('debian-12'), m);
    assert.equal(reg.relative('debian-12', 'vmlinuz'), 'images/debian-12/vmlinuz');
    await assert.rejects(reg.get('nope'), code('E_IMAGE_NOT_FOUND', /^os_image: no image "nope"/));
    await assert.rejects(reg.get('nope', null), code('E_IMAGE_NOT_FOUND', /^no image "nope"/));
    await assert.rejects(reg.get('../etc'), code('E_BAD_IMAGE_NAME'));

    truncateSync(join(boot, 'images/debian-12/initrd.img'), m.initrd.size - 1);
    await assert.rejects(
      reg.get('debian-12'),
      code('E_IMAGE_INCOMPLETE', new RegExp(`initrd\\.img is ${m.initrd.size - 1} bytes, the manifest says ${m.initrd.size}`)),
    );
    unlinkSync(join(boot, 'images/debian-12/initrd.img'));
    await assert.rejects(reg.get('debian-12'), code('E_IMAGE_INCOMPLETE', /image debian-12: initrd\.img is missing/));

    writeImage(boot, 'other');
    writeFileSync(join(boot, 'images/other/manifest.json'), JSON.stringify({ ...m, name: 'debian-12' }));
    await assert.rejects(reg.get('other'), code('E_IMAGE_INCOMPLETE', /its manifest names "debian-12"/));
    unlinkSync(join(boot, 'images/other/manifest.json'));
    await assert.rejects(reg.get('other'), code('E_IMAGE_INCOMPLETE', /image other has no readable manifest: no manifest\.json/));
    writeFileSync(join(boot, 'images/other/manifest.json'), '{');
    await assert.rejects(reg.get('other'), code('E_IMAGE_INCOMPLETE', /manifest is not JSON/));
  } finally {
    rmSync(boot, { recursive: true, force: true });
  }
});

test('list: sorted, whole images with their manifest, broken ones with their problem, staging never shown', async () => {
  const boot = tempStateDir('nrt-reg-');
  try {
    const reg = new ImageRegistry(boot);
    assert.deepEqual(await reg.list(), []);
    writeImage(boot, 'b-image');
    writeImage(boot, 'a-image');
    unlinkSync(join(boot, 'images/a-image/root.tar.gz'));
    await reg.staging('c-image');
    writeFileSync(join(boot, 'images/stray-file'), '');
    const all = await reg.list();
    assert.deepEqual(
      all.map((i) => [i.name, i.problem]),
      [
        ['a-image', 'image a-image: root.tar.gz is missing'],
        ['b-image', null],
      ],
    );
    assert.equal(all[1]!.manifest?.name, 'b-image');
  } finally {
    rmSync(boot, { recursive: true, force: true });
  }
});

test('staging + commit registers by one rename; commit refuses an existing name; remove leaves nothing', async () => {
  const boot = tempStateDir('nrt-reg-');
  try {
    const reg = new ImageRegistry(boot);
    writeImage(boot, 'taken');
    const s = await reg.staging('fresh');
    assert.match(s, /\/images\/\.staging-fresh-\d+-[0-9a-f]{8}$/);
    writeImage(s, 'fresh'); // s/images/fresh: a complete directory to commit
    await reg.commit(join(s, 'images/fresh'), 'fresh');
    assert.equal((await reg.get('fresh')).name, 'fresh');
    const s2 = await reg.staging('taken');
    writeImage(s2, 'taken');
    await assert.rejects(reg.commit(join(s2, 'images/taken'), 'taken'), code('E_IMAGE_EXISTS', /image taken already exists/));
    assert.ok(existsSync(join(s2, 'images/taken/manifest.json')), 'the refused directory is left to its owner');
    rmSync(s, { recursive: true });
    rmSync(s2, { recursive: true });
    await reg.remove('fresh');
    await assert.rejects(reg.remove('fresh'), code('E_IMAGE_NOT_FOUND'));
    assert.deepEqual(imagesDirEntries(boot), ['taken']);
  } finally {
    rmSync(boot, { recursive: true, force: true });
  }
});

test("sweep removes staging of dead processes and removal leftovers, keeps a live process's", async () => {
  const boot = tempStateDir('nrt-reg-');
  try {
    const reg = new ImageRegistry(boot);
    const dead = spawnSync('true').pid!; // exited: its pid is free (and not reused this soon)
    mkdirSync(join(boot, 'images', `.staging-debian-12-${dead}-0123abcd`, 'root/etc'), { recursive: true });
    mkdirSync(join(boot, 'images', '.removing-old-89abcdef/x'), { recursive: true });
    const live = await reg.staging('debian-12'); // this process
    writeImage(boot, 'kept');
    const removed = await reg.sweep();
    assert.deepEqual(removed.sort(), [`.removing-old-89abcdef`, `.staging-debian-12-${dead}-0123abcd`]);
    assert.ok(existsSync(live));
    assert.deepEqual(imagesDirEntries(boot), [live.split('/').pop()!, 'kept'].sort());
    assert.deepEqual(await reg.sweep(), []);
  } finally {
    rmSync(boot, { recursive: true, force: true });
  }
});

test("sweep never deletes through a mount (a root's /dev left bound by a killed build)", { skip: rootSkip }, async () => {
  const boot = tempStateDir('nrt-reg-');
  const leftover = join(boot, 'images', '.staging-x-999999999-0123abcd');
  const mnt = join(leftover, 'root/dev');
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  try {
    writeFileSync(join(mnt, 'sentinel'), 'host file');
    assert.deepEqual(mountsUnder(boot), [mnt]);
    await assert.rejects(new ImageRegistry(boot).sweep(), code('E_IMAGE_MOUNTED', /mounted inside/));
    assert.ok(existsSync(join(mnt, 'sentinel')), 'nothing under the mount was deleted');
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(boot, { recursive: true, force: true });
  }
});
