import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { importAssets } from '../../src/boot/assets.js';
import { tempStateDir } from '../helpers/tmp.js';

function fakeSystem(files: string[]): string {
  const root = tempStateDir('nrt-sys-');
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), `contents of ${f}`);
  }
  return root;
}

test('imports iPXE binaries and the newest kernel as copies under the boot root', async () => {
  const sys = fakeSystem([
    'usr/lib/ipxe/undionly.kpxe',
    'usr/lib/ipxe/ipxe.efi',
    'usr/lib/ipxe/snponly.efi',
    'boot/vmlinuz-6.1.0-9-amd64',
    'boot/vmlinuz-6.1.0-56-amd64',
  ]);
  const boot = tempStateDir('nrt-bootroot-');
  const r = await importAssets(boot, { systemRoot: sys });
  assert.deepEqual(
    r.copied.map((c) => c.dest),
    ['undionly.kpxe', 'ipxe.efi', 'snponly.efi', 'diskless/vmlinuz'],
  );
  assert.equal(readFileSync(join(boot, 'diskless/vmlinuz'), 'utf8'), 'contents of boot/vmlinuz-6.1.0-56-amd64');
  assert.ok(!lstatSync(join(boot, 'ipxe.efi')).isSymbolicLink());
  assert.ok(r.missing.some((m) => m.dest === 'pxelinux.0' && m.package === 'pxelinux'));
  rmSync(sys, { recursive: true });
  rmSync(boot, { recursive: true });
});

test('a missing required asset names the package to install', async () => {
  const sys = fakeSystem(['boot/vmlinuz-6.1.0-56-amd64']);
  const boot = tempStateDir('nrt-bootroot-');
  await assert.rejects(
    importAssets(boot, { systemRoot: sys }),
    (e: Error & { code?: string }) => e.code === 'E_ASSETS_MISSING' && /apt-get install ipxe/.test(e.message) && /undionly\.kpxe/.test(e.message),
  );
  const sys2 = fakeSystem(['usr/lib/ipxe/undionly.kpxe', 'usr/lib/ipxe/ipxe.efi']);
  await assert.rejects(importAssets(boot, { systemRoot: sys2 }), /apt-get install linux-image-amd64/);
  rmSync(sys, { recursive: true });
  rmSync(sys2, { recursive: true });
  rmSync(boot, { recursive: true });
});

test('on this machine (Debian ipxe + linux-image-amd64 installed by .ci/run) the real files import', {
  skip: !existsSync('/usr/lib/ipxe/undionly.kpxe') && process.env.CI !== 'true' ? 'Debian ipxe not installed' : false,
}, async () => {
  const boot = tempStateDir('nrt-bootroot-');
  const r = await importAssets(boot);
  assert.ok(r.copied.some((c) => c.dest === 'undionly.kpxe'));
  assert.ok(r.copied.some((c) => c.dest === 'diskless/vmlinuz'));
  rmSync(boot, { recursive: true });
});
