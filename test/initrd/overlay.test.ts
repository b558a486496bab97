import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { renderNodeOverlay, renderOverlayFiles, OverlayRenderer, shellQuote, readCpio, typeOf, kernelArgs, type NodeBootInfo } from '../../src/initrd/index.js';
import { assertGolden } from '../helpers/golden.js';

const INITRD_GOLDEN = 'test/initrd/golden';
import type { OverlayBuilder } from '../../src/boot/diskless.js';
import { BUSYBOX, runParse, skipBusybox } from './init-shell.js';
import { assertTools, skipUnless } from '../helpers/tools.js';

const CPIO: [string, string] = ['cpio', 'cpio'];

const TEMPLATES = resolve('initrd-templates');

const node: NodeBootInfo = {
  hostname: 'compute-0-0',
  initiatorIqn: 'iqn.2026-11.org.netroot:compute-0-0',
  targetIqn: 'iqn.2026-11.org.netroot.frontend:compute-0-0.root',
  portal: '10.1.1.1',
  port: 3260,
  lun: 1,
  chapUser: 'compute-0-0',
  chapSecret: `it's"a$(secret)\`x\`;&|<>*?`,
  rootUuid: '3f1c2b7e-9a5d-4c1b-8e2f-0123456789ab',
  interface: 'bootnet',
  mac: '52:54:00:12:34:56',
};
/** A CHAP secret as netroot generates them (alphanumeric): the one dracut's command line can carry. */
const plain: NodeBootInfo = { ...node, chapSecret: 'Xk3v9QpL2mZr7TtA' };

/** The overlay templates without dracut's CHAP file: node.conf alone takes any printable secret. */
function nodeConfOnlyTemplates(): string {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-tpl-'));
  cpSync(join(TEMPLATES, 'overlay'), join(dir, 'overlay'), { recursive: true });
  rmSync(join(dir, 'overlay', 'etc', 'netroot', 'chap.cmdline.hbs'));
  return dir;
}

test('node.conf renders as the golden file', async () => {
  const files = await renderOverlayFiles(node, nodeConfOnlyTemplates());
  const conf = files.find((f) => f.path === 'etc/netroot/node.conf');
  assert.ok(conf);
  assert.equal(conf.mode, 0o600);
  assertGolden('node.conf', conf.content.toString('utf8'), INITRD_GOLDEN);
  const noChap = await renderOverlayFiles({ ...node, chapUser: undefined, chapSecret: undefined, interface: undefined, mac: undefined }, TEMPLATES);
  assertGolden('node.conf-nochap', noChap.find((f) => f.path === 'etc/netroot/node.conf')?.content.toString('utf8') ?? '', INITRD_GOLDEN);
});

test('the overlay is a gzipped newc archive: node.conf and the CHAP file 0600, deterministic, nothing under lib/', async () => {
  const img = await renderNodeOverlay(plain, TEMPLATES);
  assert.equal(img[0], 0x1f);
  assert.equal(img[1], 0x8b);
  assert.deepEqual(await renderNodeOverlay(plain, TEMPLATES), img);
  const recs = readCpio(img);
  // Only directories that are real directories in a dracut initrd: a `lib` or `bin` entry would make
  // the kernel's unpacker replace dracut's usr-merge symlink with an empty directory.
  assert.deepEqual(
    recs.map((r) => `${typeOf(r.mode)} ${(r.mode & 0o7777).toString(8)} ${r.name}`),
    [
      'dir 755 etc',
      'dir 755 etc/conf.d',
      'file 644 etc/conf.d/90-netroot-chap.conf',
      'file 644 etc/conf.d/91-netroot-firstboot.conf',
      'dir 755 etc/iscsi',
      'file 644 etc/iscsi/initiatorname.iscsi',
      'dir 755 etc/netroot',
      'file 600 etc/netroot/chap.cmdline',
      'file 600 etc/netroot/firstboot-role.sh',
      'file 600 etc/netroot/node.conf',
      'file 755 etc/netroot/personalise.sh',
    ],
  );
  assert.ok(
    recs
      .find((r) => r.name === 'etc/netroot/node.conf')
      ?.data.toString()
      .includes('NETROOT_CHAP_SECRET='),
  );
  assert.equal(recs.find((r) => r.name === 'etc/iscsi/initiatorname.iscsi')?.data.toString(), `InitiatorName=${node.initiatorIqn}\n`);
  assert.equal(
    recs.find((r) => r.name === 'etc/netroot/chap.cmdline')?.data.toString(),
    `rd.iscsi.username=compute-0-0 rd.iscsi.password=${plain.chapSecret}\n`,
  );
  const other = await renderNodeOverlay({ ...plain, rootUuid: '00000000-0000-4000-8000-000000000000' }, TEMPLATES);
  assert.notDeepEqual(other, img);
});

// An independent reader: GNU cpio must list the archive as the kernel's unpacker will see it.
test('GNU cpio lists the overlay: node.conf 0600 among the same paths readCpio sees', { skip: skipUnless([CPIO]) }, async () => {
  assertTools([CPIO]);
  const img = await renderNodeOverlay(plain, TEMPLATES);
  const list = spawnSync('cpio', ['-tv', '--quiet'], { input: gunzipSync(img) });
  assert.equal(list.status, 0, `cpio -tv failed: ${list.error?.message ?? list.stderr.toString()}`);
  const out = list.stdout.toString();
  assert.match(out, /^-rw------- .* etc\/netroot\/node\.conf$/m);
  assert.match(out, /^-rw------- .* etc\/netroot\/chap\.cmdline$/m);
  assert.deepEqual(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).pop()),
    readCpio(img).map((r) => r.name),
  );
});

test('dracut CHAP file: empty without CHAP; a secret dracut would alter is refused by name, never shown', async () => {
  const none = await renderOverlayFiles({ ...plain, chapUser: undefined, chapSecret: undefined }, TEMPLATES);
  assert.equal(none.find((f) => f.path === 'etc/netroot/chap.cmdline')?.content.toString(), '');
  await assert.rejects(renderOverlayFiles(node, TEMPLATES), (e: unknown) => {
    const err = e as { code: string; message: string };
    assert.equal(err.code, 'E_TEMPLATE');
    assert.match(err.message, /chap\.cmdline\.hbs: the CHAP secret cannot go on dracut's command line/);
    assert.ok(!err.message.includes('secret)'), 'the secret itself is not in the message');
    return true;
  });
  for (const bad of ['a*b', "a'b", 'a"b', 'a$b', 'a\\b']) {
    await assert.rejects(renderOverlayFiles({ ...plain, chapSecret: bad }, TEMPLATES), { code: 'E_TEMPLATE' });
  }
});

test('the secret is in the overlay, never in the kernel arguments', async () => {
  const r = new OverlayRenderer(TEMPLATES, { console: 'ttyS0' });
  const n = { ...plain, chapUser: 'chap-user-4711' };
  const args = r.kernelArgs(n);
  assert.ok(!args.includes(plain.chapSecret!));
  assert.ok(!args.includes('chap-user-4711'));
  const conf = readCpio(await r.renderOverlay(n)).find((x) => x.name === 'etc/netroot/node.conf');
  assert.ok(conf?.data.toString().includes(shellQuote(n.chapSecret)));
  assert.ok(conf?.data.toString().includes("NETROOT_CHAP_USER='chap-user-4711'"));
  assert.equal(args, kernelArgs(n, { console: 'ttyS0' }));
  // What boot/diskless.ts expects from us (checked by the type checker, exercised here).
  const builder: OverlayBuilder = r;
  assert.equal(builder.kernelArgs(n), args);
});

test('busybox sh reads node.conf back to the exact values, hostile characters included', { skip: skipBusybox }, async () => {
  const conf = (await renderOverlayFiles(node, nodeConfOnlyTemplates())).find((f) => f.path === 'etc/netroot/node.conf')?.content.toString() ?? '';
  const r = runParse('quiet', { nodeConf: conf });
  assert.ok(r.ok, r.vars['nr_err']);
  assert.equal(r.vars['nr_chap_secret'], node.chapSecret);
  assert.equal(r.vars['nr_chap_user'], node.chapUser);
  assert.equal(r.vars['nr_target'], node.targetIqn);
  assert.equal(r.vars['nr_portal'], node.portal);
  assert.equal(r.vars['nr_port'], '3260');
  assert.equal(r.vars['nr_root'], `UUID=${node.rootUuid}`);
  assert.equal(r.vars['nr_iface'], 'bootnet');
  assert.equal(r.vars['nr_ifname'], 'bootnet');
  assert.equal(r.vars['nr_ifmac'], node.mac);
  assert.equal(r.vars['nr_hostname'], 'compute-0-0');
  assert.equal(r.vars['nr_initiator'], node.initiatorIqn);
  // Nothing in the secret ran: $(secret) would have failed or printed.
  assert.ok(!r.stdout.includes('secret: not found'));
});

test('shellQuote: single quotes, refuses control characters', { skip: skipBusybox }, () => {
  for (const v of ['', 'plain', "it's", '$HOME', '`id`', '\\', 'a b', '"', "''", 'ünï']) {
    const out = spawnSync(BUSYBOX ?? 'busybox', ['sh', '-c', `printf %s ${shellQuote(v)}`], { encoding: 'utf8' });
    assert.equal(out.stdout, v);
  }
  assert.equal(shellQuote(null), "''");
  assert.throws(() => shellQuote(undefined), { code: 'E_TEMPLATE_VALUE' });
  assert.equal(shellQuote(3260), "'3260'");
  assert.throws(() => shellQuote('a\nb'), { code: 'E_TEMPLATE_VALUE' });
  assert.throws(() => shellQuote('a\u0000'), { code: 'E_TEMPLATE_VALUE' });
  assert.throws(() => shellQuote({}), { code: 'E_TEMPLATE_VALUE' });
});

test('templates are strict: a misspelt field fails instead of rendering empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-tpl-'));
  try {
    cpSync(join(TEMPLATES, 'overlay'), join(dir, 'overlay'), { recursive: true });
    writeFileSync(join(dir, 'overlay', 'etc', 'typo.hbs'), 'X={{shq hostnme}}\n');
    await assert.rejects(renderOverlayFiles(plain, dir), (e: unknown) => {
      const err = e as { code: string; message: string };
      assert.equal(err.code, 'E_TEMPLATE');
      assert.match(err.message, /etc\/typo\.hbs: .*undefined field/);
      return true;
    });
    writeFileSync(join(dir, 'overlay', 'etc', 'typo.hbs'), 'X={{hostnme}}\n');
    await assert.rejects(renderOverlayFiles(plain, dir), /etc\/typo\.hbs: .*"hostnme" not defined/);
    // Plain files are copied with their mode; .hbs without a directive get 0644.
    rmSync(join(dir, 'overlay', 'etc', 'typo.hbs'));
    writeFileSync(join(dir, 'overlay', 'etc', 'motd'), 'hello\n', { mode: 0o640 });
    writeFileSync(join(dir, 'overlay', 'etc', 'hostname.hbs'), '{{hostname}}\n');
    const files = await renderOverlayFiles(plain, dir);
    assert.deepEqual(
      files.map((f) => [f.path, f.mode.toString(8)]),
      [
        ['etc/conf.d/90-netroot-chap.conf', '644'],
        ['etc/conf.d/91-netroot-firstboot.conf', '644'],
        ['etc/hostname', '644'],
        ['etc/iscsi/initiatorname.iscsi', '644'],
        ['etc/motd', '640'],
        ['etc/netroot/chap.cmdline', '600'],
        ['etc/netroot/firstboot-role.sh', '600'],
        ['etc/netroot/node.conf', '600'],
        ['etc/netroot/personalise.sh', '755'],
      ],
    );
    assert.equal(files[2]?.content.toString(), 'compute-0-0\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid node data is refused before anything renders', async () => {
  await assert.rejects(renderNodeOverlay({ ...node, chapSecret: 'two\nlines' }, TEMPLATES), { code: 'E_NODE_BOOT_INFO' });
  await assert.rejects(renderNodeOverlay({ ...node, hostname: "x'; reboot; '" }, TEMPLATES), { code: 'E_NODE_BOOT_INFO' });
});
