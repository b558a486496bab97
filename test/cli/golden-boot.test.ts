// A golden clone boots its OS without an install (issue #20): `golden create --from HOST` records
// the source's root file-system UUID (its boot record's root=UUID=) and OS image; insert-ethers then
// gives a host of an appliance with golden=NAME a clone, a boot record over that root, an overlay
// with its clone id, and boot action `os`. boot=reset gives it a new clone id (a new overlay). A
// golden volume that records no root UUID warns at create, and its clones install as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { startFrontend } from '../helpers/frontend.js';
import { readCpio } from '../../src/initrd/cpio.js';

const mac = (i: number) => `52:54:00:00:21:${i.toString(16).padStart(2, '0')}`;
const UUID = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';

test('a clone of a golden volume with a recorded root boots os at once; boot=reset renews its clone id; no root UUID → install', {
  timeout: 120_000,
}, async () => {
  const t = await startFrontend();
  const { f, dir, at } = t;
  try {
    // The source host, "installed": its boot record names its root file system.
    await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    await f.store.boot.put({
      host: 'compute-0-0',
      kernel: 'diskless/vmlinuz',
      initrd: 'diskless/initrd.img',
      overlay: null,
      args: `root=UUID=${UUID} rd.neednet=1`,
    });
    let r = await cli(dir, ...at, 'golden', 'create', 'g1', '--from', 'compute-0-0', '--json');
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /clones of g1 will install/);
    const g1 = JSON.parse(r.out) as { boot?: { rootUuid: string; osImage: string | null }; version: number };
    assert.deepEqual(g1.boot, { rootUuid: UUID, osImage: null });
    assert.equal(g1.version, 1);
    r = await cli(dir, ...at, 'golden', 'show', 'g1');
    assert.match(r.out, new RegExp(`^boot\\s+root=UUID=${UUID}$`, 'm'));
    assert.match(r.out, /^version\s+1$/m);

    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1' });
    // The role's first-boot section (a site extend- file), rendered for the clone into its overlay.
    mkdirSync(f.config.profile.siteDir, { recursive: true });
    writeFileSync(
      join(f.config.profile.siteDir, 'extend-compute-diskless.xml'),
      '<?xml version="1.0"?>\n<kickstart>\n<firstboot>echo "welcome &hostname;" > /etc/motd</firstboot>\n</kickstart>\n',
    );
    const added = await f.engine.add({ mac: mac(2) }, { appliance: 'compute-diskless' });
    const host = added.name;
    const h = (await f.store.hosts.get(host))!;
    assert.equal(h.bootAction, 'os');
    assert.equal(h.state, 'installed');
    assert.equal(h.stateDetail, 'clone of golden volume g1');
    const a = await t.attrs(host);
    assert.equal(a['iscsi_golden'], 'g1');
    assert.equal(a['iscsi_root_uuid'], UUID);
    assert.match(a['iscsi_clone_id'] ?? '', /^[0-9a-f]{16}$/);
    const rec = (await f.store.boot.get(host))!;
    assert.match(rec.args, new RegExp(`(^| )root=UUID=${UUID}( |$)`));
    assert.doesNotMatch(rec.args, new RegExp(a['iscsi_secret']!));
    assert.ok(rec.overlay);
    const overlayPath = join(f.config.stateDir, rec.overlay!);
    const files = new Map(readCpio(readFileSync(overlayPath)).map((e) => [e.name, e]));
    const conf = files.get('etc/netroot/node.conf');
    assert.ok(conf, 'the overlay has node.conf');
    assert.match(conf.data.toString(), new RegExp(`^NETROOT_CLONE_ID='${a['iscsi_clone_id']}'$`, 'm'));
    assert.match(files.get('etc/netroot/firstboot-role.sh')?.data.toString() ?? '', new RegExp(`^echo "welcome ${host}" > /etc/motd$`, 'm'));
    assert.equal((files.get('etc/netroot/personalise.sh')?.mode ?? 0) & 0o777, 0o755);
    assert.ok(files.has('etc/conf.d/91-netroot-firstboot.conf'));
    const spec = await f.booter.specForHost(h);
    assert.equal(spec.action, 'os');
    const events = (await f.store.events.list({ host })).map((e) => e.kind);
    assert.ok(events.includes('host.cloned'), events.join(' '));

    // boot=reset: a new clone id, a new overlay (the old one is removed), still boot action os.
    r = await cli(dir, ...at, 'host', 'set', host, 'boot=reset');
    assert.equal(r.code, 0, r.err);
    const b = await t.attrs(host);
    assert.notEqual(b['iscsi_clone_id'], a['iscsi_clone_id']);
    const rec2 = (await f.store.boot.get(host))!;
    assert.notEqual(rec2.overlay, rec.overlay);
    assert.equal(existsSync(overlayPath), false);
    assert.equal((await f.store.hosts.get(host))!.bootAction, 'os');

    // Removing the host clears every clone attribute with the others.
    await f.engine.remove(host);
    assert.deepEqual(
      Object.keys(await t.attrs(host)).filter((k) => k.startsWith('iscsi_')),
      [],
    );

    // A golden volume frozen from a host with no boot record: a warning, and its clones install.
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: '' });
    const plain = await f.engine.add({ mac: mac(4) }, { appliance: 'compute-diskless' });
    r = await cli(dir, ...at, 'golden', 'create', 'g0', '--from', plain.name, '--json');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`host ${plain.name} has no diskless boot record .*clones of g0 will install instead`));
    assert.equal((JSON.parse(r.out) as { boot?: unknown }).boot, undefined);
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g0' });
    const c0 = await f.engine.add({ mac: mac(5) }, { appliance: 'compute-diskless' });
    assert.equal((await f.store.hosts.get(c0.name))!.bootAction, 'install');
    assert.equal((await t.attrs(c0.name))['iscsi_golden'], 'g0');
    assert.equal(await f.store.boot.get(c0.name), null);
  } finally {
    await f.stop();
  }
});
