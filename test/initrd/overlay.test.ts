import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { renderNodeOverlay, renderOverlayFiles, OverlayRenderer, shellQuote, readCpio, typeOf, kernelArgs, type NodeBootInfo } from '../../src/initrd/index.js';
import { assertInitrdGolden } from './golden.js';
import type { OverlayBuilder } from '../../src/boot/diskless.js';
import { BUSYBOX, runParse, skipBusybox } from './init-shell.js';

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
  interface: 'eth0',
};

test('node.conf renders as the golden file', async () => {
  const files = await renderOverlayFiles(node, TEMPLATES);
  const conf = files.find((f) => f.path === 'etc/netroot/node.conf');
  assert.ok(conf);
  assert.equal(conf.mode, 0o600);
  assertInitrdGolden('node.conf', conf.content.toString('utf8'));
  const noChap = await renderOverlayFiles({ ...node, chapUser: undefined, chapSecret: undefined, interface: undefined }, TEMPLATES);
  assertInitrdGolden('node.conf-nochap', noChap.find((f) => f.path === 'etc/netroot/node.conf')?.content.toString('utf8') ?? '');
});

test('the overlay is a gzipped newc archive with node.conf at mode 0600, deterministic', async () => {
  const img = await renderNodeOverlay(node, TEMPLATES);
  assert.equal(img[0], 0x1f);
  assert.equal(img[1], 0x8b);
  assert.deepEqual(await renderNodeOverlay(node, TEMPLATES), img);
  const recs = readCpio(img);
  assert.deepEqual(recs.map((r) => `${typeOf(r.mode)} ${(r.mode & 0o7777).toString(8)} ${r.name}`), ['dir 755 etc', 'dir 755 etc/netroot', 'file 600 etc/netroot/node.conf']);
  assert.ok(recs[2]?.data.toString().includes('NETROOT_CHAP_SECRET='));
  const other = await renderNodeOverlay({ ...node, rootUuid: '00000000-0000-4000-8000-000000000000' }, TEMPLATES);
  assert.notDeepEqual(other, img);
  const list = spawnSync('cpio', ['-tv', '--quiet'], { input: gunzipSync(img) });
  if (list.status === 0) assert.match(list.stdout.toString(), /^-rw------- .* etc\/netroot\/node\.conf$/m);
});

test('the secret is in the overlay, never in the kernel arguments', async () => {
  const r = new OverlayRenderer(TEMPLATES, { console: 'ttyS0' });
  const n = { ...node, chapUser: 'chap-user-4711' };
  const args = r.kernelArgs(n);
  assert.ok(!args.includes('secret'));
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
  const conf = (await renderOverlayFiles(node, TEMPLATES)).find((f) => f.path === 'etc/netroot/node.conf')?.content.toString() ?? '';
  const r = runParse('quiet', { nodeConf: conf });
  assert.ok(r.ok, r.vars['nr_err']);
  assert.equal(r.vars['nr_chap_secret'], node.chapSecret);
  assert.equal(r.vars['nr_chap_user'], node.chapUser);
  assert.equal(r.vars['nr_target'], node.targetIqn);
  assert.equal(r.vars['nr_portal'], node.portal);
  assert.equal(r.vars['nr_port'], '3260');
  assert.equal(r.vars['nr_root'], `UUID=${node.rootUuid}`);
  assert.equal(r.vars['nr_iface'], 'eth0');
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
    await assert.rejects(renderOverlayFiles(node, dir), (e: unknown) => {
      const err = e as { code: string; message: string };
      assert.equal(err.code, 'E_TEMPLATE');
      assert.match(err.message, /etc\/typo\.hbs: .*undefined field/);
      return true;
    });
    writeFileSync(join(dir, 'overlay', 'etc', 'typo.hbs'), 'X={{hostnme}}\n');
    await assert.rejects(renderOverlayFiles(node, dir), /etc\/typo\.hbs: .*"hostnme" not defined/);
    // Plain files are copied with their mode; .hbs without a directive get 0644.
    rmSync(join(dir, 'overlay', 'etc', 'typo.hbs'));
    writeFileSync(join(dir, 'overlay', 'etc', 'motd'), 'hello\n', { mode: 0o640 });
    writeFileSync(join(dir, 'overlay', 'etc', 'hostname.hbs'), '{{hostname}}\n');
    const files = await renderOverlayFiles(node, dir);
    assert.deepEqual(files.map((f) => [f.path, f.mode.toString(8)]), [['etc/hostname', '644'], ['etc/motd', '640'], ['etc/netroot/node.conf', '600']]);
    assert.equal(files[0]?.content.toString(), 'compute-0-0\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid node data is refused before anything renders', async () => {
  await assert.rejects(renderNodeOverlay({ ...node, chapSecret: 'two\nlines' }, TEMPLATES), { code: 'E_NODE_BOOT_INFO' });
  await assert.rejects(renderNodeOverlay({ ...node, hostname: "x'; reboot; '" }, TEMPLATES), { code: 'E_NODE_BOOT_INFO' });
});
