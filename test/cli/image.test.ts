// `netroot image list|show|remove|import` and the image line of `host show`, against fake images
// (test/image/helpers.ts writeImage: files whose sizes and sums match their manifest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { openStore } from '../../src/store/index.js';
import { fakeRoot, imagesDirEntries, treeHash, writeImage } from '../image/helpers.js';

async function setup(): Promise<{ dir: string; boot: string }> {
  const dir = tempStateDir('nrt-cli-img-');
  for (const [name, mac, ip, app] of [
    ['compute-0-0', '52:54:00:aa:00:01', '10.1.255.254', 'compute'],
    ['compute-0-1', '52:54:00:aa:00:02', '10.1.255.253', 'compute'],
    ['compute-0-2', '52:54:00:aa:00:03', '10.1.255.252', 'compute-diskless'],
  ] as const) {
    const r = await cli(dir, 'host', 'add', name, '--appliance', app, '--mac', mac, '--ip', ip);
    assert.equal(r.code, 0, r.err);
  }
  return { dir, boot: join(dir, 'tftpboot') };
}

async function ok(dir: string, ...argv: string[]): Promise<string> {
  const r = await cli(dir, ...argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
  return r.out;
}

async function refused(dir: string, argv: string[], re: RegExp): Promise<void> {
  const r = await cli(dir, ...argv);
  assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code}: ${r.err}`);
  assert.match(r.err, /^netroot: /);
  assert.match(r.err, re, argv.join(' '));
}

async function putBootRecord(dir: string, host: string, image: string): Promise<void> {
  const store = openStore(dir);
  try {
    await store.boot.put({ host, kernel: `images/${image}/vmlinuz`, initrd: `images/${image}/initrd.img`, overlay: null, args: 'root=UUID=x' });
  } finally {
    await store.close();
  }
}

test('image list: whole images and broken ones with their problem; --json', async () => {
  const { dir, boot } = await setup();
  try {
    assert.match(await ok(dir, 'image', 'list'), /^IMAGE\s+DISTRIBUTION\s+KERNEL\s+ROOT MiB\s+CREATED\s+PROBLEM\n$/);
    assert.deepEqual(JSON.parse(await ok(dir, 'image', 'list', '--json')), []);
    writeImage(boot, 'debian-12');
    writeImage(boot, 'broken');
    unlinkSync(join(boot, 'images/broken/vmlinuz'));
    const out = await ok(dir, 'image', 'list');
    assert.match(out, /\nbroken\s+.*image broken: vmlinuz is missing\n/);
    assert.match(out, /\ndebian-12\s+debian-12\s+6\.1\.0-test-amd64\s+0\s+2026-01-01T00:00:00\.000Z\s+-\n/);
    const all = JSON.parse(await ok(dir, 'image', 'list', '--json')) as Array<{ name: string; problem: string | null }>;
    assert.deepEqual(
      all.map((i) => [i.name, i.problem]),
      [
        ['broken', 'image broken: vmlinuz is missing'],
        ['debian-12', null],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image show: the manifest and the hosts using it; a broken image shows its problem; an unknown one exit 2', async () => {
  const { dir, boot } = await setup();
  try {
    const m = writeImage(boot, 'debian-12');
    await ok(dir, 'attr', 'set', 'os_image', 'debian-12', '--host', 'compute-0-1');
    await putBootRecord(dir, 'compute-0-2', 'debian-12');
    const out = await ok(dir, 'image', 'show', 'debian-12');
    assert.match(out, /^image debian-12: debian-12 \(build, 2026-01-01T00:00:00\.000Z\)\n/);
    assert.match(out, new RegExp(`sha256 ${m.kernel.sha256}`));
    assert.match(out, /\n {2}hosts {4}compute-0-1 compute-0-2\n$/);
    const j = JSON.parse(await ok(dir, 'image', 'show', 'debian-12', '--json')) as { name: string; problem: null; hosts: string[] };
    assert.deepEqual([j.name, j.problem, j.hosts], ['debian-12', null, ['compute-0-1', 'compute-0-2']]);
    unlinkSync(join(boot, 'images/debian-12/root.tar.gz'));
    assert.match(
      await ok(dir, 'image', 'show', 'debian-12'),
      /^image debian-12: PROBLEM: image debian-12: root\.tar\.gz is missing\n {2}hosts {4}compute-0-1 compute-0-2\n$/,
    );
    await refused(dir, ['image', 'show', 'nope'], /no image "nope"/);
    await refused(dir, ['image', 'show', '../etc'], /not a valid image name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image remove: refused (exit 2, hosts named) while os_image at any level or a boot record uses it; then removed, nothing left', async () => {
  const { dir, boot } = await setup();
  try {
    writeImage(boot, 'debian-12');
    writeImage(boot, 'other');
    await ok(dir, 'attr', 'set', 'os_image', 'debian-12', '--host', 'compute-0-0');
    await refused(dir, ['image', 'remove', 'debian-12'], /image debian-12 is used by 1 host\(s\): compute-0-0 \(change their os_image first\)/);
    await ok(dir, 'attr', 'unset', 'os_image', '--host', 'compute-0-0');
    await ok(dir, 'attr', 'set', 'os_image', 'debian-12', '--appliance', 'compute');
    await refused(dir, ['image', 'remove', 'debian-12'], /used by 2 host\(s\): compute-0-0 compute-0-1/);
    await ok(dir, 'attr', 'unset', 'os_image', '--appliance', 'compute');
    await ok(dir, 'attr', 'set', 'os_image', 'debian-12');
    await refused(dir, ['image', 'remove', 'debian-12'], /used by 3 host\(s\): compute-0-0 compute-0-1 compute-0-2/);
    await ok(dir, 'attr', 'set', 'os_image', 'other', '--appliance', 'compute-diskless'); // overrides the global one there
    await refused(dir, ['image', 'remove', 'other'], /used by 1 host\(s\): compute-0-2/);
    await ok(dir, 'attr', 'unset', 'os_image');
    await ok(dir, 'attr', 'unset', 'os_image', '--appliance', 'compute-diskless');
    // no os_image anywhere, but a diskless boot record into the image
    await putBootRecord(dir, 'compute-0-1', 'debian-12');
    await refused(dir, ['image', 'remove', 'debian-12'], /used by 1 host\(s\): compute-0-1/);
    await ok(dir, 'host', 'remove', 'compute-0-1', '--yes');
    assert.equal(await ok(dir, 'image', 'remove', 'debian-12'), 'removed image debian-12\n');
    assert.deepEqual(imagesDirEntries(boot), ['other'], 'no directory, no .removing- leftover');
    await refused(dir, ['image', 'remove', 'debian-12'], /no image "debian-12"/);
    // an appliance still choosing the image (no host yet): removed, with a note
    await ok(dir, 'appliance', 'add', 'gpu', '--root-node', 'compute', '--basename', 'gpu');
    await ok(dir, 'attr', 'set', 'os_image', 'other', '--appliance', 'gpu');
    const r = await cli(dir, 'image', 'remove', 'other');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /note: os_image is still other at appliance gpu/);
    assert.deepEqual(imagesDirEntries(boot), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('host show: the os_image with its status, text and --json; a boot record into another image is shown too', async () => {
  const { dir, boot } = await setup();
  try {
    assert.doesNotMatch(await ok(dir, 'host', 'show', 'compute-0-0'), /image:/);
    let j = JSON.parse(await ok(dir, 'host', 'show', 'compute-0-0', '--json')) as Record<string, unknown>;
    assert.deepEqual([j['osImage'], j['osImageProblem']], [null, null]);
    writeImage(boot, 'debian-12');
    await ok(dir, 'attr', 'set', 'os_image', 'debian-12', '--appliance', 'compute');
    assert.match(await ok(dir, 'host', 'show', 'compute-0-0'), /\nimage: {6}debian-12 \(ok\)\n/);
    j = JSON.parse(await ok(dir, 'host', 'show', 'compute-0-0', '--json')) as Record<string, unknown>;
    assert.deepEqual([j['osImage'], j['osImageProblem'], 'bootImage' in j], ['debian-12', null, false]);
    unlinkSync(join(boot, 'images/debian-12/initrd.img'));
    assert.match(await ok(dir, 'host', 'show', 'compute-0-0'), /\nimage: {6}debian-12 \(PROBLEM: image debian-12: initrd\.img is missing\)\n/);
    j = JSON.parse(await ok(dir, 'host', 'show', 'compute-0-0', '--json')) as Record<string, unknown>;
    assert.deepEqual([j['osImage'], j['osImageProblem']], ['debian-12', 'image debian-12: initrd.img is missing']);
    rmSync(join(boot, 'images/debian-12'), { recursive: true });
    assert.match(await ok(dir, 'host', 'show', 'compute-0-0'), /\nimage: {6}debian-12 \(PROBLEM: no image "debian-12" \(netroot image list\)\)\n/);
    // the diskless boot record still points into an old image the os_image no longer names
    writeImage(boot, 'debian-12');
    await putBootRecord(dir, 'compute-0-0', 'old');
    const out = await ok(dir, 'host', 'show', 'compute-0-0');
    assert.match(
      out,
      /\nimage: {6}debian-12 \(ok\)\nboot image: old \(PROBLEM: no image "old" \(netroot image list\)\) \(the diskless boot record's, not os_image\)\n$/,
    );
    j = JSON.parse(await ok(dir, 'host', 'show', 'compute-0-0', '--json')) as Record<string, unknown>;
    assert.deepEqual([j['bootImage'], j['bootImageProblem']], ['old', 'no image "old" (netroot image list)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot kickstart of a host whose os_image is missing or incomplete is refused (exit 2), naming the image', async () => {
  const { dir, boot } = await setup();
  try {
    await ok(dir, 'attr', 'set', 'os_image', 'debian-12', '--host', 'compute-0-0');
    await refused(dir, ['kickstart', 'compute-0-0'], /os_image: no image "debian-12"/);
    writeImage(boot, 'debian-12');
    unlinkSync(join(boot, 'images/debian-12/root.tar.gz'));
    await refused(dir, ['kickstart', 'compute-0-0'], /os_image: image debian-12: root\.tar\.gz is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image import of a directory that is not a root: exit 2 naming every missing piece; the directory unchanged; nothing registered', async () => {
  const { dir, boot } = await setup();
  try {
    const src = fakeRoot(join(dir, 'src'), 'el', ['usr/bin/dracut', 'usr/sbin/iscsistart', 'usr/lib/modules']);
    const before = treeHash(src);
    await refused(
      dir,
      ['image', 'import', src, '--name', 'rocky'],
      /cannot boot diskless:\n {2}- no kernel.*\n {2}- no dracut \(install dracut\)\n {2}- no iscsistart/,
    );
    assert.equal(treeHash(src), before);
    assert.deepEqual(imagesDirEntries(boot), []);
    await refused(dir, ['image', 'import', src], /--name is required/);
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'x'), '');
    await refused(dir, ['image', 'import', join(dir, 'empty'), '--name', 'x'], /no \/etc\/os-release.*\n.*no \/bin\/sh/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
