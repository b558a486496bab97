// The lab root tarball: our ustar writer read by Debian tar, deterministic output, field bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLabRootTarball, writeTar } from '../../src/initrd/lab-root.js';

const missing = [
  existsSync('/bin/busybox') ? null : 'no /bin/busybox (busybox-static)',
  spawnSync('tar', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'no tar',
].filter((m): m is string => m !== null);
const skip = missing.length === 0 || process.env.CI === 'true' ? false : missing.join('; ');

test('Debian tar lists and extracts the lab root; the build is deterministic', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-labroot-'));
  try {
    const a = await buildLabRootTarball({ out: join(dir, 'a', 'root.tar.gz') });
    const b = await buildLabRootTarball({ out: join(dir, 'b.tar.gz') });
    assert.ok(a.applets > 100, `applets ${a.applets}`);
    assert.deepEqual(readFileSync(a.out), readFileSync(b.out));
    const list = spawnSync('tar', ['-tzf', a.out], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const names = new Set(list.stdout.trim().split('\n'));
    for (const p of ['bin/busybox', 'sbin/init', 'bin/sh', 'usr/bin/wget', 'var/lib/netroot-lab/', 'tmp/']) assert.ok(names.has(p), `${p} missing`);
    const x = join(dir, 'x');
    spawnSync('mkdir', [x]);
    const ex = spawnSync('tar', ['-xzf', a.out, '-C', x], { encoding: 'utf8' });
    assert.equal(ex.status, 0, ex.stderr);
    assert.equal(readFileSync(join(x, 'sbin/init'), 'utf8'), readFileSync('initrd-templates/lab-root/init', 'utf8'));
    assert.equal(statSync(join(x, 'sbin/init')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(x, 'usr/bin/wget')), '/bin/busybox');
    assert.deepEqual(readFileSync(join(x, 'bin/busybox')), readFileSync('/bin/busybox'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeTar: long paths use the ustar prefix; sizes and contents round-trip; bad paths refused', { skip }, () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
  const data = Buffer.alloc(1000, 7);
  const tar = writeTar([{ path: long, type: 'file', mode: 0o600, data }]);
  assert.equal(tar.length % 512, 0);
  const list = spawnSync('tar', ['-tvf', '-'], { input: tar, encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`-rw------- root/root +1000 .* ${long}\\n`));
  const cat = spawnSync('tar', ['-xOf', '-', long], { input: tar });
  assert.deepEqual(cat.stdout, data);
  assert.throws(() => writeTar([{ path: '../etc/passwd', type: 'file', mode: 0o644 }]), /bad tar path/);
  assert.throws(() => writeTar([{ path: 'x'.repeat(101), type: 'file', mode: 0o644 }]), /too long/);
  assert.throws(() => writeTar([{ path: 'l', type: 'symlink', mode: 0o777, target: 't'.repeat(101) }]), /too long/);
});
