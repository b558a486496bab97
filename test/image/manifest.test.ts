import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, validImageName, type ImageManifest } from '../../src/image/index.js';
import { NetrootError } from '../../src/errors.js';

const good: ImageManifest = {
  version: 1,
  name: 'debian-12',
  distribution: 'debian-12',
  source: 'build',
  createdAt: '2026-01-01T00:00:00.000Z',
  kernelVersion: '6.1.0-28-amd64',
  kernel: { file: 'vmlinuz', size: 10, sha256: 'a'.repeat(64) },
  initrd: { file: 'initrd.img', size: 20, sha256: 'b'.repeat(64) },
  rootTarball: { file: 'root.tar.gz', size: 30, sha256: 'c'.repeat(64) },
  dracut: { version: '059', modules: ['iscsi', 'network-legacy'], omitted: [] },
  packages: ['dracut 059-4'],
  rootBytes: 1000,
};

function rejects(text: string, re: RegExp): void {
  assert.throws(
    () => parseManifest(text, 'image x'),
    (e: unknown) => {
      assert.ok(e instanceof NetrootError);
      assert.equal(e.code, 'E_IMAGE_INCOMPLETE');
      assert.equal(e.user, true);
      assert.match(e.message, /^image x: /);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('parseManifest accepts a whole manifest and returns it', () => {
  assert.deepEqual(parseManifest(JSON.stringify(good), 'image x'), good);
});

test('parseManifest rejects bad JSON and bad fields, naming the field', () => {
  rejects('{"version": 1,', /manifest is not JSON/);
  rejects('null', /manifest field \(root\)/);
  rejects(JSON.stringify({ ...good, version: 2 }), /manifest field version/);
  rejects(JSON.stringify({ ...good, name: 'Debian' }), /manifest field name/);
  rejects(JSON.stringify({ ...good, source: 'download' }), /manifest field source/);
  rejects(JSON.stringify({ ...good, kernelVersion: '6.1 with spaces' }), /manifest field kernelVersion/);
  rejects(JSON.stringify({ ...good, kernel: { ...good.kernel, size: -1 } }), /manifest field kernel\.size/);
  rejects(JSON.stringify({ ...good, initrd: { ...good.initrd, sha256: 'xyz' } }), /manifest field initrd\.sha256/);
  rejects(JSON.stringify({ ...good, rootTarball: { ...good.rootTarball, file: '../../etc/shadow' } }), /manifest field rootTarball\.file/);
  rejects(JSON.stringify({ ...good, kernel: { ...good.kernel, file: '..' } }), /manifest field kernel\.file/);
  rejects(JSON.stringify({ ...good, extra: true }), /manifest field/);
  const { packages: _, ...noPackages } = good;
  rejects(JSON.stringify(noPackages), /manifest field packages/);
});

test('validImageName: lower-case letters, digits, . _ -; no "..", "/", upper case; at most 63', () => {
  for (const ok of ['debian-12', 'rocky-9.4', 'a', 'x_y', '0abc', 'a'.repeat(63)]) assert.equal(validImageName(ok), ok);
  for (const bad of ['..', 'a..b', '../etc', 'a/b', '/abs', 'Debian', 'DEBIAN-12', 'a'.repeat(64), '', '.hidden', '-dash', 'sp ace', 'a\nb']) {
    assert.throws(
      () => validImageName(bad),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_BAD_IMAGE_NAME' && e.user && /not a valid image name/.test(e.message),
      JSON.stringify(bad),
    );
  }
});
