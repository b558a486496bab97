import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { importImage, ImageRegistry } from '../../src/image/index.js';
import { MultiError, NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { fakeRoot, imagesDirEntries, rootSkip, treeHash, writeImage } from './helpers.js';

async function withDirs(fn: (d: { dir: string; boot: string; registry: ImageRegistry }) => Promise<void>): Promise<void> {
  const dir = tempStateDir('nrt-imp-');
  const boot = join(dir, 'tftpboot');
  try {
    await fn({ dir, boot, registry: new ImageRegistry(boot) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PIECES: Array<[string[], RegExp]> = [
  [['boot', 'usr/lib/modules'], /no kernel: no \/boot\/vmlinuz-<version> or \/lib\/modules\/<version>\/vmlinuz/],
  [['usr/bin/dracut'], /no dracut \(install dracut\)/],
  [['usr/lib/dracut/modules.d/95iscsi'], /no dracut iscsi module/],
  [['usr/sbin/iscsistart'], /no iscsistart/],
  [['usr/lib/os-release'], /no \/etc\/os-release/],
  [['usr/bin/sh'], /no \/bin\/sh/],
];

test('import of a directory that is not a root names each missing piece, all at once; nothing changes anywhere', () =>
  withDirs(async ({ dir, boot, registry }) => {
    for (const [omit, re] of PIECES) {
      const src = fakeRoot(join(dir, `src-${omit[0]!.replace(/\//g, '_')}`), 'debian', omit);
      const before = treeHash(src);
      await assert.rejects(
        importImage(src, 'site', { registry }),
        (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_NOT_A_ROOT' && e.user && re.test(e.message),
        omit.join(' '),
      );
      assert.equal(treeHash(src), before);
    }
    const src = join(dir, 'bare');
    mkdirSync(join(src, 'etc'), { recursive: true });
    writeFileSync(join(src, 'etc/motd'), 'hello\n');
    const before = treeHash(src);
    await assert.rejects(importImage(src, 'site', { registry }), (e: unknown) => {
      assert.ok(e instanceof MultiError);
      assert.match(e.message, new RegExp(`^${src} cannot boot diskless:\\n`));
      for (const [, re] of PIECES) assert.match(e.message, re);
      return true;
    });
    assert.equal(treeHash(src), before, "the operator's directory is never modified");
    assert.deepEqual(imagesDirEntries(boot), [], 'nothing registered, no staging');
    await assert.rejects(
      importImage(join(dir, 'absent'), 'site', { registry }),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_SOURCE' && /absent does not exist/.test(e.message),
    );
    await assert.rejects(importImage(src, 'Bad/Name', { registry }), (e: unknown) => e instanceof NetrootError && e.code === 'E_BAD_IMAGE_NAME');
  }));

test('import of a tarball that is not a root: the tarball is named (not the staging copy), nothing registered, staging removed', { skip: rootSkip }, () =>
  withDirs(async ({ dir, boot, registry }) => {
    const src = fakeRoot(join(dir, 'half'), 'el', ['usr/bin/dracut', 'usr/sbin/iscsistart']);
    const tarball = join(dir, 'half.tar.gz');
    execFileSync('tar', ['--create', '--gzip', '--file', tarball, '--directory', src, '.']);
    const sum = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    await assert.rejects(importImage(tarball, 'half', { registry }), (e: unknown) => {
      assert.ok(e instanceof MultiError, String(e));
      assert.match(e.message, new RegExp(`^${tarball} \\(unpacked\\) cannot boot diskless:\\n`));
      assert.match(e.message, /no dracut \(install dracut\)/);
      assert.match(e.message, /no iscsistart/);
      assert.doesNotMatch(e.message, /\.staging-/);
      return true;
    });
    assert.equal(createHash('sha256').update(readFileSync(tarball)).digest('hex'), sum);
    assert.deepEqual(imagesDirEntries(boot), []);
    // not a tarball at all: the operator's (exit 2), staging gone too
    writeFileSync(join(dir, 'notes.txt'), 'not a tarball\n');
    await assert.rejects(
      importImage(join(dir, 'notes.txt'), 'half', { registry }),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_IMPORT' && e.user && /tar failed/.test(e.message) && !/\.staging-/.test(e.message),
    );
    assert.deepEqual(imagesDirEntries(boot), []);
  }),
);

test('a whole-looking root whose dracut fails: the fix-ups touched only the copy, nothing registered, staging removed', { skip: rootSkip }, () =>
  withDirs(async ({ dir, boot, registry }) => {
    const src = fakeRoot(join(dir, 'src'), 'debian'); // dracut is an empty file: it cannot run
    const before = treeHash(src);
    const lines: string[] = [];
    await assert.rejects(importImage(src, 'site', { registry, progress: (l) => lines.push(l) }), (e: unknown) => {
      assert.ok(e instanceof NetrootError, String(e));
      assert.equal(e.code, 'E_IMAGE_DRACUT');
      assert.equal(e.user, false);
      assert.match(e.message, /^dracut failed \(exit status 126\)/);
      assert.doesNotMatch(e.message, /\.staging-/);
      return true;
    });
    assert.ok(
      lines.some((l) => /diskless fix-up: etc\/hostname: removed/.test(l)),
      lines.join('\n'),
    );
    assert.equal(treeHash(src), before, "the operator's root is unchanged (initiator name, host name, SSH keys)");
    assert.deepEqual(imagesDirEntries(boot), []);
    // an existing name is refused before any copy
    writeImage(boot, 'taken');
    await assert.rejects(importImage(src, 'taken', { registry }), (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_EXISTS');
    assert.deepEqual(imagesDirEntries(boot), ['taken']);
  }),
);

test("an interrupted import (the CLI's SIGINT aborts the signal) registers nothing and removes its staging", { skip: rootSkip }, () =>
  withDirs(async ({ dir, boot, registry }) => {
    const src = fakeRoot(join(dir, 'src'), 'debian');
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(
      importImage(src, 'site', { registry, signal: ac.signal }),
      (e: unknown) =>
        e instanceof NetrootError &&
        e.code === 'E_IMAGE_INTERRUPTED' &&
        e.user === false &&
        e.message === 'image import site interrupted (cp: interrupted): nothing registered',
    );
    assert.deepEqual(imagesDirEntries(boot), []);
  }),
);
