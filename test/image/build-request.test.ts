import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, buildRequestFrom, frontendSources, ImageRegistry } from '../../src/image/index.js';
import { NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { imagesDirEntries } from './helpers.js';

function withFile(text: string, fn: (file: string) => void): void {
  const dir = tempStateDir('nrt-breq-');
  try {
    writeFileSync(join(dir, 'image.yaml'), text);
    fn(join(dir, 'image.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const configError = (re: RegExp) => (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_CONFIG' && e.user && re.test(e.message);

test('--from-config: the file fills what the flags leave out; flags win; packages are merged (file first)', () => {
  assert.deepEqual(buildRequestFrom(undefined, { distribution: 'debian-12' }), { distribution: 'debian-12' });
  withFile('distribution: debian-12\nname: site-image\npackages: [vim, htop]\n', (f) => {
    assert.deepEqual(buildRequestFrom(f, { distribution: '' }), { distribution: 'debian-12', name: 'site-image', packages: ['vim', 'htop'] });
    assert.deepEqual(buildRequestFrom(f, { distribution: 'debian-13', name: 'mine', packages: ['less', 'vim'] }), {
      distribution: 'debian-13',
      name: 'mine',
      packages: ['vim', 'htop', 'less', 'vim'],
    });
  });
  withFile('', (f) => assert.deepEqual(buildRequestFrom(f, { distribution: 'debian-12' }), { distribution: 'debian-12', name: undefined, packages: [] }));
});

test('--from-config: unknown keys, wrong types, a non-mapping, bad YAML and a missing file are refused by name', () => {
  withFile('distribution: debian-12\npackage: [vim]\n', (f) =>
    assert.throws(
      () => buildRequestFrom(f, { distribution: '' }),
      configError(/^from-config: .*image\.yaml: unknown key "package" \(distribution, name, packages\)/),
    ),
  );
  withFile('packages: vim\n', (f) => assert.throws(() => buildRequestFrom(f, { distribution: '' }), configError(/packages must be a list of names/)));
  withFile('packages: [vim, 3]\n', (f) => assert.throws(() => buildRequestFrom(f, { distribution: '' }), configError(/packages must be a list of names/)));
  withFile('name: 12\n', (f) => assert.throws(() => buildRequestFrom(f, { distribution: '' }), configError(/name must be a string/)));
  withFile('- vim\n- htop\n', (f) => assert.throws(() => buildRequestFrom(f, { distribution: '' }), configError(/expected a mapping/)));
  withFile('distribution: [unclosed\n', (f) => assert.throws(() => buildRequestFrom(f, { distribution: '' }), configError(/cannot read/)));
  assert.throws(
    () => buildRequestFrom('/nonexistent/image.yaml', { distribution: '' }),
    configError(/^from-config: cannot read \/nonexistent\/image\.yaml: no such file or directory$/),
  );
});

test('buildImage refuses unknown distributions and bad package names before anything is made', async () => {
  const boot = tempStateDir('nrt-breq-');
  try {
    const registry = new ImageRegistry(boot);
    for (const d of ['debian-11', 'toString', '__proto__', '']) {
      await assert.rejects(
        buildImage({ distribution: d }, { registry }),
        (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_DISTRIBUTION' && e.user && /image build knows debian-12/.test(e.message),
        d,
      );
    }
    for (const p of ['Vim', 'a,b', '-o', 'x y', '../x']) {
      await assert.rejects(
        buildImage({ distribution: 'debian-12', packages: [p] }, { registry }),
        (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_PACKAGE' && e.user && /not a Debian package name/.test(e.message),
        p,
      );
    }
    await assert.rejects(
      buildImage({ distribution: 'debian-12', name: 'Bad/Name' }, { registry }),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_BAD_IMAGE_NAME',
    );
    assert.deepEqual(imagesDirEntries(boot), []);
  } finally {
    rmSync(boot, { recursive: true, force: true });
  }
});

test('frontendSources: deb822 debian.sources first, else a sources.list with a deb line, else none', () => {
  const sys = tempStateDir('nrt-breq-');
  try {
    assert.equal(frontendSources(sys), null);
    mkdirSync(join(sys, 'etc/apt/sources.list.d'), { recursive: true });
    writeFileSync(join(sys, 'etc/apt/sources.list'), '# nothing here\n');
    assert.equal(frontendSources(sys), null);
    writeFileSync(join(sys, 'etc/apt/sources.list'), 'deb http://deb.debian.org/debian bookworm main\n');
    assert.equal(frontendSources(sys), join(sys, 'etc/apt/sources.list'));
    writeFileSync(join(sys, 'etc/apt/sources.list.d/debian.sources'), 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n');
    assert.equal(frontendSources(sys), join(sys, 'etc/apt/sources.list.d/debian.sources'));
  } finally {
    rmSync(sys, { recursive: true, force: true });
  }
});
