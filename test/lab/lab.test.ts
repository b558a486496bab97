// Lab pieces that need neither root nor a network: console marker waits, option validation, images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleLog, Lab, markerInitrd, rootImage, markerBootFiles, kernelVersion } from '../../src/lab/index.js';
import { readCpio } from '../../src/initrd/index.js';
import { NetrootError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';
import { assertTools, skipUnless } from '../helpers/tools.js';

const BUSYBOX: [string, string] = ['/bin/busybox', 'busybox-static'];
const EXT4: Array<[string, string]> = [
  ['mkfs.ext4', 'e2fsprogs'],
  ['debugfs', 'e2fsprogs'],
];

test('ConsoleLog resolves on a marker split across chunks and reports lines', async () => {
  const s = new PassThrough();
  const lines: string[] = [];
  const con = new ConsoleLog(s, (l) => lines.push(l));
  const wait = con.waitFor(/MARK-\d+/, 5000);
  s.write('SeaBIOS\r\niPXE ... MA');
  s.write('RK-42 done\n');
  assert.equal(await wait, 'SeaBIOS\r\niPXE ... MARK-42'.length, 'index just after the match');
  assert.deepEqual(lines, ['SeaBIOS', 'iPXE ... MARK-42 done']);
  await con.waitFor('SeaBIOS', 10); // already present: resolves at once
});

test('ConsoleLog times out with the last console lines, and rejects when the console closes', async () => {
  const s = new PassThrough();
  const con = new ConsoleLog(s);
  s.write('line one\n\x1b[2Jline two\n');
  await assert.rejects(
    con.waitFor('NEVER', 50),
    (e: unknown) => e instanceof NetrootError && e.code === 'E_LAB_TIMEOUT' && /line one\nline two/.test(e.message),
  );
  const p = con.waitFor('NEVER', 5000);
  s.destroy();
  await assert.rejects(p, (e: unknown) => e instanceof NetrootError && e.code === 'E_LAB_CONSOLE');
});

test('Lab derives the namespace and frontend address from its options, and rejects bad ones', () => {
  const lab = new Lab({ workDir: '/tmp/x' });
  assert.equal(lab.namespace, `nrt-lab-${process.pid}`);
  assert.equal(lab.frontendAddress, '10.77.0.1');
  const other = new Lab({ name: 'e2e-a', subnet: '192.168.40.128/25', workDir: '/tmp/x' });
  assert.equal(other.frontendAddress, '192.168.40.129');
  assert.equal(other.prefixLength, 25);
  assert.throws(() => new Lab({ subnet: '10.77.0.0', workDir: '/tmp/x' }), /E_LAB_SUBNET|not a\.b\.c\.d/);
  assert.throws(() => new Lab({ subnet: '10.0.0.0/31', workDir: '/tmp/x' }), /\/8\.\.\/30/);
  assert.throws(() => new Lab({ name: 'Bad Name', workDir: '/tmp/x' }), /lab name/);
  assert.throws(() => lab.spawnInNamespace('true', []), /not up/);
});

test('markerInitrd: /init prints the marker with the command line and powers off; busybox and console present', { skip: skipUnless([BUSYBOX]) }, () => {
  assertTools([BUSYBOX]);
  const recs = readCpio(gunzipSync(markerInitrd('HELLO-1')));
  const byName = new Map(recs.map((r) => [r.name, r]));
  const init = byName.get('init');
  assert.ok(init, 'has /init');
  const text = init.data.toString();
  assert.match(text, /^#!\/bin\/busybox sh\n/);
  assert.match(text, /echo "HELLO-1 cmdline=\$\(\/bin\/busybox cat \/proc\/cmdline\)"/);
  assert.match(text, /poweroff -f/);
  assert.equal(byName.get('bin/busybox')?.data.length, statSync('/bin/busybox').size);
  assert.ok(byName.has('dev/console'));
  assert.throws(() => markerInitrd('bad"marker'), /marker/);
});

test('rootImage and markerBootFiles are cached under the kernel version; the ext4 image holds /sbin/init', { skip: skipUnless([BUSYBOX, ...EXT4]) }, () => {
  assertTools([BUSYBOX, ...EXT4]);
  const dir = tempStateDir('nrt-lab-img-');
  try {
    const img = rootImage(dir, 'ROOT-MARK', 8);
    assert.equal(img, join(dir, 'images', kernelVersion(), 'root-ROOT-MARK-8M.ext4'));
    assert.equal(statSync(img).size, 8 * 1024 * 1024);
    const init = execFileSync('debugfs', ['-R', 'cat /sbin/init', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.match(init, /echo "ROOT-MARK root=/);
    const mtime = statSync(img).mtimeMs;
    assert.equal(rootImage(dir, 'ROOT-MARK', 8), img);
    assert.equal(statSync(img).mtimeMs, mtime, 'second call reuses the cached image');
    const files = markerBootFiles(dir, 'M1');
    assert.ok(files.initrd.startsWith(join(dir, 'images', files.kernelVersion)));
    assert.ok(statSync(files.initrd).size > 500_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
