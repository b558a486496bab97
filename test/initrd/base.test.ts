// Builds the base initrd for real from the installed Debian kernel, busybox-static and open-iscsi,
// and checks the result with GNU cpio. Skipped (with the reason) when those are missing, never
// under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildBaseInitrd, parseLdd, parseModulesDep, readCpio, readModuleIndex, resolveModules, moduleName, typeOf } from '../../src/initrd/index.js';

function installedKernel(): string | undefined {
  if (!existsSync('/lib/modules')) return undefined;
  return readdirSync('/lib/modules')
    .sort()
    .reverse()
    .find((k) => existsSync(join('/lib/modules', k, 'modules.dep')) && existsSync(join('/lib/modules', k, 'kernel')));
}

const kver = installedKernel();
const missing = [
  kver ? null : 'no kernel modules in /lib/modules (linux-image-amd64)',
  existsSync('/bin/busybox') ? null : 'no /bin/busybox (busybox-static)',
  existsSync('/usr/sbin/iscsistart') ? null : 'no /usr/sbin/iscsistart (open-iscsi)',
  spawnSync('cpio', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'no cpio',
].filter((m): m is string => m !== null);
const skip = missing.length === 0 || process.env.CI === 'true' ? false : missing.join('; ');

test('builds a base initrd from the installed kernel that cpio lists completely', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-base-'));
  try {
    const out = join(dir, 'sub', 'initrd-base.img');
    const r = await buildBaseInitrd({ kernelVersion: kver ?? '', out });
    assert.equal(r.out, out);
    assert.ok(r.bytes > 1_000_000 && r.bytes < 40_000_000, `size ${r.bytes}`);
    const raw = gunzipSync(readFileSync(out));
    const list = spawnSync('cpio', ['-t', '--quiet'], { input: raw, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(list.status, 0, list.stderr.toString());
    const names = new Set(list.stdout.toString().trim().split('\n'));
    for (const p of [
      'init',
      'bin/busybox',
      'bin/sh',
      'sbin/switch_root',
      'sbin/insmod',
      'sbin/udhcpc',
      'sbin/findfs',
      'usr/sbin/iscsistart',
      'sbin/iscsistart',
      'dev/console',
      'etc/netroot/udhcpc.script',
      'lib/modules/netroot.load',
      'newroot',
      'proc',
      'sys',
    ]) {
      assert.ok(names.has(p), `${p} missing from the initrd`);
    }
    // Every library ldd lists for iscsistart, at the path ldd printed.
    const ldd = parseLdd(spawnSync('ldd', ['/usr/sbin/iscsistart'], { encoding: 'utf8' }).stdout, 'iscsistart');
    assert.ok(ldd.length > 0);
    for (const lib of ldd) assert.ok(names.has(lib.slice(1)), `${lib} missing`);
    assert.deepEqual(r.libraries, ldd);
    // The modules, decompressed, in an order where every dependency precedes its user.
    const kdir = `lib/modules/${kver}`;
    for (const m of ['e1000', 'virtio_net', 'iscsi_tcp', 'libiscsi', 'scsi_transport_iscsi', 'sd_mod', 'ext4', 'jbd2', 'mbcache', 'crc32c_generic']) {
      assert.ok(
        r.modules.some((p) => moduleName(p) === m),
        `module ${m} not in ${r.modules.join(' ')}`,
      );
    }
    for (const p of r.modules) assert.ok(names.has(`${kdir}/${p}`), `${p} not in the archive`);
    const recs = readCpio(raw);
    const load =
      recs
        .find((x) => x.name === 'lib/modules/netroot.load')
        ?.data.toString()
        .trim()
        .split('\n') ?? [];
    assert.deepEqual(load, r.modules);
    const dep = new Map(
      parseModulesDep(readFileSync(join('/lib/modules', kver ?? '', 'modules.dep'), 'utf8')).map((m) => [
        m.path.replace(/\.(xz|zst|gz)$/, ''),
        m.deps.map((d) => d.replace(/\.(xz|zst|gz)$/, '')),
      ]),
    );
    load.forEach((p, i) => {
      for (const d of dep.get(p) ?? []) assert.ok(load.indexOf(d) >= 0 && load.indexOf(d) < i, `${d} must load before ${p}`);
    });
    // /init is the template, executable; busybox applets are links to /bin/busybox; console is 5:1.
    const init = recs.find((x) => x.name === 'init');
    assert.equal(init?.data.toString(), readFileSync('initrd-templates/init.sh', 'utf8'));
    assert.equal((init?.mode ?? 0) & 0o777, 0o755);
    const sh = recs.find((x) => x.name === 'bin/sh');
    assert.equal(typeOf(sh?.mode ?? 0), 'symlink');
    assert.equal(sh?.data.toString(), '/bin/busybox');
    const console = recs.find((x) => x.name === 'dev/console');
    assert.deepEqual([typeOf(console?.mode ?? 0), console?.rdevMajor, console?.rdevMinor], ['char', 5, 1]);
    assert.ok(r.applets > 100);
    // The same inputs give the same bytes.
    const again = await buildBaseInitrd({ kernelVersion: kver ?? '', out: join(dir, 'again.img') });
    assert.deepEqual(readFileSync(again.out), readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const kernelImage = kver ? `/boot/vmlinuz-${kver}` : '';
const hasQemu = spawnSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }).status === 0;
const skipQemu =
  skip || (hasQemu && existsSync(kernelImage) ? false : process.env.CI === 'true' ? false : `needs qemu-system-x86_64 and ${kernelImage || 'a kernel image'}`);

test('the base initrd boots under QEMU: /init runs, every module loads, a missing setting is a FATAL', { skip: skipQemu, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-qemu-'));
  try {
    const r = await buildBaseInitrd({ kernelVersion: kver ?? '', out: join(dir, 'base.img') });
    // No network device and no initiator: the boot must stop at check_config, say why, and reboot
    // (which -no-reboot turns into QEMU exiting).
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg',
        '-m',
        '512',
        '-nographic',
        '-no-reboot',
        '-net',
        'none',
        '-kernel',
        kernelImage,
        '-initrd',
        r.out,
        '-append',
        'console=ttyS0 quiet panic=-1 root=UUID=3f1c2b7e-9a5d-4c1b-8e2f-0123456789ab',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    qemu.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = setTimeout(() => qemu.kill('SIGKILL'), 150_000);
    await new Promise((resolve) => qemu.on('exit', resolve));
    clearTimeout(deadline);
    const lines = out
      .split(/\r?\n/)
      .filter((l) => l.includes('netroot-initrd:'))
      .map((l) => l.slice(l.indexOf('netroot-initrd:')));
    assert.deepEqual(
      lines,
      [
        `netroot-initrd: start ${kver}`,
        'netroot-initrd: modules loaded',
        'netroot-initrd: FATAL: no initiator name (rd.iscsi.initiator= or node.conf)',
        'netroot-initrd: rebooting in 10 seconds',
      ],
      out,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing inputs are user errors that name the package', async () => {
  await assert.rejects(buildBaseInitrd({ kernelVersion: '0.0.0-none', out: '/tmp/x.img', busybox: '/nonexistent/busybox' }), /busybox-static/);
  await assert.rejects(
    buildBaseInitrd({ kernelVersion: '0.0.0-none', out: '/tmp/x.img', busybox: process.execPath, iscsistart: '/nonexistent/iscsistart' }),
    /open-iscsi/,
  );
  await assert.rejects(buildBaseInitrd({ kernelVersion: '0.0.0-none', out: '/tmp/x.img', busybox: process.execPath, iscsistart: process.execPath }), {
    code: 'E_INITRD_INPUT',
  });
  await assert.rejects(
    buildBaseInitrd({ kernelVersion: '../etc', out: '/tmp/x.img', busybox: process.execPath, iscsistart: process.execPath }),
    /bad kernel version/,
  );
});

test('parseLdd: paths after =>, the loader, vdso skipped, not found is an error', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffc1b5f2000)',
    '\tlibcrypto.so.3 => /lib/x86_64-linux-gnu/libcrypto.so.3 (0x00007f4e6b000000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f4e6ae1e000)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f4e6b6ad000)',
  ].join('\n');
  assert.deepEqual(parseLdd(out, 'x'), ['/lib/x86_64-linux-gnu/libcrypto.so.3', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.deepEqual(parseLdd('\tnot a dynamic executable\n', 'x'), []);
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n', 'x'), /libfoo\.so\.1/);
});

test('resolveModules: dependencies first, each once; builtin and optional; all missing reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-mods-'));
  try {
    mkdirSync(join(dir, '9.9.9'));
    writeFileSync(
      join(dir, '9.9.9', 'modules.dep'),
      [
        'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz',
        'kernel/lib/crc16.ko.xz:',
        'kernel/fs/mbcache.ko.xz:',
        'kernel/fs/jbd2/jbd2.ko.xz:',
        'kernel/drivers/scsi/iscsi_tcp.ko.xz: kernel/drivers/scsi/libiscsi.ko.xz kernel/drivers/scsi/scsi_mod.ko.xz',
        'kernel/drivers/scsi/libiscsi.ko.xz: kernel/drivers/scsi/scsi_mod.ko.xz',
        'kernel/drivers/scsi/scsi_mod.ko.xz:',
        'kernel/crypto/crc32c-generic.ko.xz:',
        'kernel/a.ko: kernel/b.ko',
        'kernel/b.ko: kernel/a.ko',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, '9.9.9', 'modules.builtin'), 'kernel/drivers/net/virtio_net.ko\n');
    const idx = await readModuleIndex(dir, '9.9.9');
    const order = resolveModules(idx, [
      { name: 'crc32c_generic' },
      { name: 'iscsi_tcp' },
      { name: 'ext4' },
      { name: 'scsi_mod' },
      { name: 'virtio_net' },
      { name: 'e1000e', optional: true },
    ]).map((m) => m.name);
    // Depth-first post-order: scsi_mod before libiscsi before iscsi_tcp, ext4's deps before it, none twice.
    assert.deepEqual(order, ['crc32c_generic', 'scsi_mod', 'libiscsi', 'iscsi_tcp', 'crc16', 'mbcache', 'jbd2', 'ext4']);
    assert.throws(() => resolveModules(idx, [{ name: 'e1000' }, { name: 'sd_mod' }, { name: 'ext4' }]), /no module e1000, sd_mod/);
    assert.throws(() => resolveModules(idx, [{ name: 'a' }]), /dependency cycle: a → b → a/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
