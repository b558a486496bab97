// Builds the installer initrd from the installed kernel, busybox-static, open-iscsi and e2fsprogs
// and reads both concatenated archives back. Skipped (with the reason) when those are missing,
// never under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildInstallerInitrd } from '../../src/initrd/installer.js';
import { readCpio, typeOf } from '../../src/initrd/index.js';

const kver = existsSync('/lib/modules')
  ? readdirSync('/lib/modules')
      .sort()
      .reverse()
      .find((k) => existsSync(join('/lib/modules', k, 'modules.dep')))
  : undefined;
const missing = [
  kver ? null : 'no kernel modules in /lib/modules (linux-image-amd64)',
  existsSync('/bin/busybox') ? null : 'no /bin/busybox (busybox-static)',
  existsSync('/usr/sbin/iscsistart') ? null : 'no /usr/sbin/iscsistart (open-iscsi)',
  existsSync('/sbin/mkfs.ext4') ? null : 'no /sbin/mkfs.ext4 (e2fsprogs)',
].filter((m): m is string => m !== null);
const skip = missing.length === 0 || process.env.CI === 'true' ? false : missing.join('; ');

test('installer initrd = base + install.sh + mkfs.ext4 with its libraries', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-inst-'));
  try {
    const out = join(dir, 'install', 'initrd.img');
    const r = await buildInstallerInitrd({ kernelVersion: kver ?? '', out });
    const raw = gunzipSync(readFileSync(out)); // zlib reads all gzip members
    const recs = readCpio(raw, { concatenated: true });
    const byName = new Map(recs.map((e) => [e.name, e]));
    for (const p of ['init', 'bin/busybox', 'sbin/iscsistart', 'etc/netroot/install.sh', 'sbin/mkfs.ext4']) assert.ok(byName.has(p), `${p} missing`);
    const inst = byName.get('etc/netroot/install.sh');
    assert.equal(inst?.data.toString(), readFileSync('initrd-templates/lab-installer/install.sh', 'utf8'));
    assert.equal((inst?.mode ?? 0) & 0o111, 0o111);
    assert.equal(typeOf(byName.get('sbin/mkfs.ext4')?.mode ?? 0), 'file');
    assert.ok(
      r.installerLibraries.some((l) => /libext2fs\.so/.test(l)),
      r.installerLibraries.join(' '),
    );
    for (const l of r.installerLibraries) assert.ok(byName.has(l.replace(/^\//, '')), `${l} missing`);
    assert.equal(r.bytes, readFileSync(out).length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
