// Real `image build` failures (issue 13, "Bad input"): an unknown package, a broken archive, a
// full disk. Each is a clear error, nothing is registered and no staging is left. They run
// mmdebstrap as root against this machine's apt sources (seconds each: apt fails early). Outside
// CI they skip, saying why, when not root, without mmdebstrap or without the Debian archive;
// under CI=true they never skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { buildImage, frontendSources, ImageRegistry } from '../../src/image/index.js';
import { NetrootError } from '../../src/errors.js';
import { cli, tempStateDir } from '../helpers/cli.js';
import { imagesDirEntries, isRoot } from './helpers.js';

/** Whether the archive host of the frontend's apt sources answers on its port (5 s). */
async function archiveReachable(): Promise<string | null> {
  const src = frontendSources();
  const uri = src ? /(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/\S+)/.exec(readFileSync(src, 'utf8'))?.[1] : 'http://deb.debian.org/debian';
  if (!uri) return `no archive URI in ${src}`;
  const u = new URL(uri);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port, timeout: 5000 });
    s.once('connect', () => (s.destroy(), resolve(null)));
    s.once('timeout', () => (s.destroy(), resolve(`the Debian archive ${u.host} does not answer`)));
    s.once('error', (e) => resolve(`the Debian archive ${u.host} is unreachable (${e.message})`));
  });
}

async function skipReason(): Promise<string | false> {
  if (process.env.CI === 'true') return false;
  if (!isRoot) return 'needs root (mmdebstrap --mode=root, mount)';
  if (!['/usr/bin/mmdebstrap', '/usr/local/bin/mmdebstrap'].some((p) => existsSync(p))) return 'needs mmdebstrap (apt-get install mmdebstrap)';
  return (await archiveReachable()) ?? false;
}
const skip = await skipReason();

const noStaging = (boot: string) =>
  assert.deepEqual(
    imagesDirEntries(boot).filter((n) => n.startsWith('.')),
    [],
    'no .staging-* left',
  );

test("image build with an unknown package: exit 2 naming it (apt's words), nothing registered, no staging", { skip, timeout: 300_000 }, async () => {
  const dir = tempStateDir('nrt-build-');
  try {
    const t0 = Date.now();
    const r = await cli(dir, 'image', 'build', 'debian-12', '--packages', 'no-such-package-netroot');
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /\nnetroot: packages: image build debian-12: unknown package no-such-package-netroot \(apt: E: Unable to locate package no-such-package-netroot\)\n$/,
    );
    assert.doesNotMatch(r.err, /\.staging-/, 'no internal staging path in the output');
    assert.ok(Date.now() - t0 < 120_000, `found before building (took ${Date.now() - t0} ms)`);
    const list = await cli(dir, 'image', 'list', '--json');
    assert.deepEqual(JSON.parse(list.out), []);
    noStaging(join(dir, 'tftpboot'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image build from a broken archive: a failure (exit 1) naming the archive, nothing registered, no staging', { skip, timeout: 300_000 }, async () => {
  const dir = tempStateDir('nrt-build-');
  try {
    const sources = join(dir, 'broken.list');
    writeFileSync(sources, 'deb http://127.0.0.1:9/debian bookworm main\n');
    const boot = join(dir, 'tftpboot');
    const registry = new ImageRegistry(boot);
    await assert.rejects(buildImage({ distribution: 'debian-12' }, { registry, sources }), (e: unknown) => {
      assert.ok(e instanceof NetrootError, String(e));
      assert.equal(e.code, 'E_IMAGE_BUILD');
      assert.equal(e.user, false);
      assert.match(e.message, new RegExp(`^image build failed — the archive in ${sources} is unreachable or broken: mmdebstrap failed`));
      assert.match(e.message, /127\.0\.0\.1:9/);
      assert.doesNotMatch(e.message, /\.staging-/);
      return true;
    });
    assert.deepEqual(await registry.list(), []);
    noStaging(boot);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image build on a full disk: a failure (exit 1), nothing registered, no staging', { skip, timeout: 600_000 }, async () => {
  const dir = tempStateDir('nrt-build-');
  const small = join(dir, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', small]);
  try {
    const registry = new ImageRegistry(join(small, 'tftpboot'));
    await assert.rejects(buildImage({ distribution: 'debian-12' }, { registry }), (e: unknown) => {
      assert.ok(e instanceof NetrootError, String(e));
      assert.equal(e.user, false, e.message);
      assert.match(
        e.message,
        new RegExp(
          `^image build failed — no space left on the file system holding ${small}/tftpboot/images: mmdebstrap failed \\(exit status \\d+: the disk is full\\)`,
        ),
      );
      assert.doesNotMatch(e.message, /\.staging-/);
      return true;
    });
    assert.deepEqual(await registry.list(), []);
    noStaging(join(small, 'tftpboot'));
  } finally {
    execFileSync('umount', [small]);
    rmSync(dir, { recursive: true, force: true });
  }
});
