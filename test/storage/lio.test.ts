// LioBackend against a temporary directory standing in for configfs (this machine has none).
// The trees it writes are compared with golden listings (test/golden/lio/*.tree: one line per
// path — d = directory, f = file and contents, l = symlink and target, both relative to the
// stand-in root; the temporary volumes path is written <volumes>); UPDATE_GOLDEN=1 rewrites them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LioBackend, unitSerial } from '../../src/storage/lio.js';
import type { ExportSpec } from '../../src/storage/spec.js';
import { assertGolden } from '../helpers/golden.js';
import { nodeSpec, tempDir } from './helpers.js';

const MiB = 1 << 20;

function snapshot(root: string, volumesDir: string): string {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const rel = p.slice(root.length);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) lines.push(`l ${rel} -> ${readlinkSync(p).replace(root, '')}`);
      else if (st.isDirectory()) {
        lines.push(`d ${rel}/`);
        walk(p);
      } else lines.push(`f ${rel} = ${JSON.stringify(readFileSync(p, 'utf8').split(volumesDir).join('<volumes>'))}`);
    }
  };
  walk(root);
  return lines.join('\n') + '\n';
}

function setup() {
  const t = tempDir('netroot-lio-');
  const root = join(t.dir, 'configfs');
  mkdirSync(root);
  const volumesDir = join(t.dir, 'volumes');
  const be = new LioBackend({ volumesDir, configfsRoot: root, portal: '10.1.1.1', listenAddress: '0.0.0.0', listenPort: 3260 });
  return { t, root, volumesDir, be, snap: () => snapshot(root, volumesDir) };
}

const s0: ExportSpec = nodeSpec(0);
const s1: ExportSpec = {
  volume: 'compute-0-1',
  targetIqn: 'iqn.2026-11.local.netroot:compute-0-1',
  initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-1',
  chap: { user: 'compute-0-1', secret: 'Other0123456789a', mutualUser: 'target-compute-0-1', mutualSecret: 'Mutual0123456789' },
  lun: 0,
};

test('one export: the configfs tree rtslib would write (golden), idempotent, read back', async () => {
  const { t, be, snap } = setup();
  try {
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 64 * MiB });
    const info = await be.exportVolume(s0);
    assert.deepEqual(info, { ...s0, portal: '10.1.1.1', port: 3260 });
    const tree = snap();
    assertGolden('lio/export-one.tree', tree);
    await be.exportVolume(s0);
    assert.equal(snap(), tree, 'a second identical export changes nothing');
    assert.deepEqual(await be.listExports(), [info]);
  } finally {
    t.cleanup();
  }
});

test('two exports (one with mutual CHAP): tree and saveconfig.json goldens; unexport restores the one-export tree', async () => {
  const { t, be, snap, volumesDir } = setup();
  try {
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 64 * MiB });
    await be.createVolume({ name: 'compute-0-1', sizeBytes: 32 * MiB });
    await be.exportVolume(s0);
    const one = snap();
    await be.exportVolume(s1);
    assertGolden('lio/export-two.tree', snap());
    const sc = await be.exportSaveconfig();
    assertGolden('lio/saveconfig.json', JSON.stringify(sc, null, 2).split(volumesDir).join('<volumes>') + '\n');
    assert.equal(sc.storage_objects[1]!.wwn, unitSerial('compute-0-1'));
    assert.deepEqual(
      (await be.listExports()).map((e) => e.targetIqn),
      [s0.targetIqn, s1.targetIqn],
    );
    await be.unexport(s1.targetIqn);
    await be.unexport(s1.targetIqn);
    assert.equal(snap(), one, 'unexport removes its target and storage object, nothing else');
    assert.deepEqual(readdirSync(volumesDir).sort(), ['compute-0-0.img', 'compute-0-1.img'], 'volume data stays');
  } finally {
    t.cleanup();
  }
});

test('deleteVolume is refused while exported; bad specs and unsupported sourceAddress are refused', async () => {
  const { t, be, root } = setup();
  try {
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 64 * MiB });
    await be.exportVolume(s0);
    await assert.rejects(be.deleteVolume('compute-0-0'), { code: 'E_STORAGE_IN_USE' });
    await assert.rejects(be.exportVolume({ ...s0, sourceAddress: '10.1.1.5' }), { code: 'E_STORAGE_UNSUPPORTED' });
    await assert.rejects(be.exportVolume({ ...s0, volume: '../../x' }), { code: 'E_STORAGE_BAD_NAME' });
    await assert.rejects(be.exportVolume({ ...s1 }), { code: 'E_STORAGE_NOT_FOUND' });
    await assert.rejects(be.exportVolume({ ...s1, volume: 'compute-0-0' }), { code: 'E_STORAGE_IN_USE' });
    await assert.rejects(be.createVolume({ name: '../../configfs/target', sizeBytes: MiB }), { code: 'E_STORAGE_BAD_NAME' });
    assert.deepEqual(readdirSync(join(root, 'target', 'iscsi')), [s0.targetIqn], 'failed exports left nothing behind');
    for (const evil of ['../core', '..', 'iqn.2026-11.local.netroot:x/../../core']) await assert.rejects(be.unexport(evil), { code: 'E_STORAGE_BAD_IQN' });
    assert.ok(readdirSync(join(root, 'target', 'core')).length > 0, 'nothing outside target/iscsi was touched');
    await be.unexport(s0.targetIqn);
    await be.deleteVolume('compute-0-0');
    assert.deepEqual(await be.listVolumes(), []);
  } finally {
    t.cleanup();
  }
});

test('reconcile: adds missing, replaces changed (secret, size), removes undesired, leaves foreign targets', async () => {
  const { t, be, root } = setup();
  try {
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 64 * MiB });
    await be.createVolume({ name: 'compute-0-1', sizeBytes: 32 * MiB });
    // A target someone made with targetcli for a LUN outside our volumes directory.
    const foreignSo = join(root, 'target', 'core', 'fileio_7', 'scratch');
    mkdirSync(foreignSo, { recursive: true });
    writeFileSync(join(foreignSo, 'udev_path'), '/srv/scratch.img');
    const flun = join(root, 'target', 'iscsi', 'iqn.2003-01.org.linux-iscsi.x:sn.1', 'tpgt_1', 'lun', 'lun_0');
    mkdirSync(flun, { recursive: true });
    symlinkSync(foreignSo, join(flun, 'abcdef0123'));

    assert.deepEqual(await be.reconcile([s0, s1]), { added: [s0.targetIqn, s1.targetIqn], removed: [], updated: [] });
    assert.deepEqual(await be.reconcile([s0, s1]), { added: [], removed: [], updated: [] });
    const changed = { ...s0, chap: { ...s0.chap, secret: 'Changed012345678' } };
    assert.deepEqual(await be.reconcile([changed, s1]), { added: [], removed: [], updated: [s0.targetIqn] });
    const acl = join(root, 'target', 'iscsi', s0.targetIqn, 'tpgt_1', 'acls', s0.initiatorIqn, 'auth', 'password');
    assert.equal(readFileSync(acl, 'utf8'), 'Changed012345678');
    await be.resizeVolume('compute-0-1', 48 * MiB);
    assert.deepEqual(await be.reconcile([changed, s1]), { added: [], removed: [], updated: [s1.targetIqn] });
    const so1 = readdirSync(join(root, 'target', 'core'))
      .map((h) => join(root, 'target', 'core', h, 'compute-0-1'))
      .find((p) => {
        try {
          return lstatSync(p).isDirectory();
        } catch {
          return false;
        }
      })!;
    assert.match(readFileSync(join(so1, 'control'), 'utf8'), new RegExp(`fd_dev_size=${48 * MiB}`));
    assert.deepEqual(await be.reconcile([s1]), { added: [], removed: [s0.targetIqn], updated: [] });
    assert.deepEqual(readdirSync(join(root, 'target', 'iscsi')).sort(), ['iqn.2003-01.org.linux-iscsi.x:sn.1', s1.targetIqn]);
    assert.ok(lstatSync(foreignSo).isDirectory(), 'foreign storage object untouched');
    assert.deepEqual(
      (await be.listVolumes()).map((v) => v.name),
      ['compute-0-0', 'compute-0-1'],
      'no volume data deleted',
    );
    await assert.rejects(be.reconcile([s1, s1]), { code: 'E_STORAGE_BAD_SPEC' });
  } finally {
    t.cleanup();
  }
});

test('a missing configfs root is E_STORAGE_DOWN', async () => {
  const t = tempDir();
  try {
    const be = new LioBackend({ volumesDir: join(t.dir, 'v'), configfsRoot: join(t.dir, 'nope'), portal: '10.1.1.1' });
    await assert.rejects(be.listExports(), { code: 'E_STORAGE_DOWN' });
  } finally {
    t.cleanup();
  }
});
