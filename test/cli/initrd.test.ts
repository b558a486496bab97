// `netroot initrd build-base`: the base initrd under the boot root with its kernel next to it
// (boot.disklessKernel/disklessInitrd defaults), from the installed Debian kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCpio } from '../../src/initrd/index.js';
import { cli, tempStateDir } from '../helpers/cli.js';

const kver = existsSync('/lib/modules')
  ? readdirSync('/lib/modules')
      .sort()
      .reverse()
      .find((k) => existsSync(`/boot/vmlinuz-${k}`) && existsSync(join('/lib/modules', k, 'modules.dep')))
  : undefined;
const missing = [
  kver ? null : 'no kernel with modules and /boot/vmlinuz (linux-image-amd64)',
  existsSync('/bin/busybox') ? null : 'no /bin/busybox',
  existsSync('/usr/sbin/iscsistart') ? null : 'no iscsistart',
].filter(Boolean);
const skip = missing.length === 0 || process.env.CI === 'true' ? false : missing.join('; ');

test('netroot initrd build-base writes diskless/initrd.img and copies its kernel to diskless/vmlinuz', { skip, timeout: 120_000 }, async () => {
  const dir = tempStateDir('nrt-initrdcli-');
  try {
    const r = await cli(dir, 'initrd', 'build-base', '--kernel-version', kver!, '--json');
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { out: string; kernel: string; kernelFrom: string; kernelVersion: string };
    assert.equal(out.out, join(dir, 'tftpboot', 'diskless', 'initrd.img'));
    assert.equal(out.kernel, join(dir, 'tftpboot', 'diskless', 'vmlinuz'));
    assert.equal(out.kernelFrom, `/boot/vmlinuz-${kver}`);
    assert.equal(statSync(out.kernel).size, statSync(out.kernelFrom).size);
    const names = readCpio(readFileSync(out.out)).map((e) => e.name);
    assert.ok(names.includes('init') || names.includes('/init'), 'the archive has /init');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
