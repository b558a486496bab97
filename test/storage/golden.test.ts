// Golden volumes and clones in the storage layer (src/storage/golden.ts, volumes.ts clone records,
// EmbeddedBackend.cloneVolume/removeGolden) with the real clone maker (src/iscsi LunClone via
// src/app/storage.ts) and an embedded target that accepts every definition (the iSCSI path is
// test/cli/golden.test.ts's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GoldenVolumes, nextVersionIn } from '../../src/storage/golden.js';
import { EmbeddedBackend, type EmbeddedTargetConfig } from '../../src/storage/embedded.js';
import { makeClone } from '../../src/app/storage.js';
import { NetrootError } from '../../src/errors.js';
import { nodeSpec, tempDir } from './helpers.js';

const code = (c: string) => (e: unknown) => e instanceof NetrootError && e.code === c;

class RecordingTarget {
  readonly targets = new Map<string, EmbeddedTargetConfig>();
  addTarget(t: EmbeddedTargetConfig): void {
    this.targets.set(t.iqn, t);
  }
  removeTarget(iqn: string): void {
    this.targets.delete(iqn);
  }
  listTargets(): string[] {
    return [...this.targets.keys()];
  }
}

test('GoldenVolumes: create records size, sha256, identity and mode 0444; refusals name the problem', async () => {
  const t = tempDir();
  try {
    const src = join(t.dir, 'src.img');
    const data = Buffer.alloc(1 << 20);
    data.write('installed system', 4096);
    writeFileSync(src, data);
    const g = new GoldenVolumes(join(t.dir, 'golden'));
    const r = await g.create('base', src, 'host compute-0-0');
    assert.equal(r.info.sizeBytes, 1 << 20);
    assert.equal(r.info.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(statSync(r.info.path).mode & 0o777, 0o444);
    assert.deepEqual(readFileSync(r.info.path), data);
    assert.equal(r.warning === undefined, r.info.reflinked);
    assert.deepEqual(
      (await g.list()).map((x) => x.name),
      ['base'],
    );
    assert.deepEqual(await g.verifyChecksum('base'), await g.get('base'));
    await assert.rejects(g.create('base', src, 'x'), code('E_GOLDEN_EXISTS'));
    await assert.rejects(g.create('../up', src, 'x'), code('E_STORAGE_BAD_NAME'));
    await assert.rejects(g.create('other', join(t.dir, 'missing.img'), 'x'), code('E_GOLDEN_SOURCE'));
    await assert.rejects(g.require('nope'), code('E_GOLDEN_NOT_FOUND'));
    // Identity: a changed mtime (even with the same bytes) is a changed file.
    utimesSync(r.info.path, new Date(0), new Date(0));
    await assert.rejects(g.verifyIdentity('base'), code('E_GOLDEN_CHANGED'));
    // A damaged record is reported, not trusted.
    writeFileSync(join(t.dir, 'golden', 'base.json'), '{"name":');
    await assert.rejects(g.get('base'), code('E_GOLDEN_CHANGED'));
    await assert.rejects(g.remove('other'), code('E_GOLDEN_NOT_FOUND'));
  } finally {
    t.cleanup();
  }
});

test('EmbeddedBackend: clone a golden volume, export it in the clone form, refuse removal while cloned, delete the clone with its map and record', async () => {
  const t = tempDir();
  try {
    const target = new RecordingTarget();
    const be = new EmbeddedBackend({ target, volumesDir: join(t.dir, 'volumes'), portal: '127.0.0.1', port: 3260, makeClone });
    const src = join(t.dir, 'src.img');
    writeFileSync(src, Buffer.alloc(1 << 20, 1));
    await be.golden.create('base', src, 'test');
    assert.equal(await be.hasGolden('base'), true);
    assert.equal(await be.hasGolden('nope'), false);

    const spec = nodeSpec(0);
    const v = await be.cloneVolume(spec.volume, 'base', 4 << 20);
    assert.equal(v.sizeBytes, 4 << 20);
    assert.equal(await be.volumes.cloneOf(spec.volume), 'base');
    const files = be.volumes.cloneFiles(spec.volume);
    assert.ok(existsSync(files.map));
    await be.exportVolume(spec);
    assert.deepEqual(target.targets.get(spec.targetIqn)!.luns, [
      { lun: 0, path: v.path, sizeBytes: 4 << 20, clone: { golden: join(t.dir, 'volumes', 'golden', 'base.img'), map: files.map } },
    ]);

    await assert.rejects(be.cloneVolume(spec.volume, 'base'), code('E_STORAGE_EXISTS'));
    await assert.rejects(be.cloneVolume('compute-0-9', 'nope'), code('E_GOLDEN_NOT_FOUND'));
    await assert.rejects(be.removeGolden('base'), (e: unknown) => code('E_GOLDEN_IN_USE')(e) && /compute-0-0/.test((e as Error).message));

    // Reset: refused while exported; then the delta is thrown away (a write there is gone), same size.
    await assert.rejects(be.resetClone(spec.volume), code('E_STORAGE_IN_USE'));
    await be.unexport(spec.targetIqn);
    writeFileSync(v.path!, Buffer.alloc(4096, 7), { flag: 'r+' });
    assert.ok(statSync(v.path!).blocks > 0);
    const reset = await be.resetClone(spec.volume);
    assert.equal(reset.sizeBytes, 4 << 20);
    assert.equal(reset.allocatedBytes, 0);
    assert.equal(await be.volumes.cloneOf(spec.volume), 'base');
    await be.createVolume({ name: 'plain', sizeBytes: 1 << 20 });
    await assert.rejects(be.resetClone('plain'), code('E_GOLDEN_SOURCE'));
    await be.deleteVolume('plain');

    // A clone whose golden file changed is not exported by reconcile, and does not keep the others
    // from being exported (the first failure is thrown after all were tried).
    await be.createVolume({ name: 'compute-0-1', sizeBytes: 1 << 20 });
    const goldenPath = join(t.dir, 'volumes', 'golden', 'base.img');
    const st = statSync(goldenPath);
    utimesSync(goldenPath, st.atime, new Date(st.mtimeMs + 1000));
    await assert.rejects(be.reconcile([spec, nodeSpec(0, 'compute-0-1')]), code('E_GOLDEN_CHANGED'));
    assert.deepEqual(target.listTargets(), [nodeSpec(0, 'compute-0-1').targetIqn]);
    utimesSync(goldenPath, st.atime, st.mtime);
    await assert.rejects(be.exportVolume(spec), code('E_GOLDEN_CHANGED')); // the ctime moved on: still refused
    await be.unexport(nodeSpec(0, 'compute-0-1').targetIqn);
    await be.deleteVolume('compute-0-1');

    await be.deleteVolume(spec.volume);
    assert.equal(existsSync(files.map), false);
    assert.equal(existsSync(files.record), false);
    await be.removeGolden('base');
    assert.deepEqual(await be.golden.list(), []);

    const plain = new EmbeddedBackend({ target, volumesDir: join(t.dir, 'v2'), portal: '127.0.0.1' });
    await assert.rejects(plain.cloneVolume('x', 'base'), code('E_STORAGE_UNSUPPORTED'));
  } finally {
    t.cleanup();
  }
});

test('nextVersionIn: 1 + the highest version of the line, whose first volume names it; other lines, cycles and gaps', () => {
  const all = [
    { name: 'g1', version: 1 },
    { name: 'g1-v2', version: 2, parent: 'g1' },
    { name: 'other', version: 1 },
    { name: 'x', version: 4, parent: 'g1-v2' },
    { name: 'orphan', version: 7, parent: 'gone' },
    { name: 'a', version: 1, parent: 'b' },
    { name: 'b', version: 2, parent: 'a' },
  ];
  assert.deepEqual(nextVersionIn(all, 'g1'), { root: 'g1', version: 5 });
  assert.deepEqual(nextVersionIn(all, 'g1-v2'), { root: 'g1', version: 5 });
  assert.deepEqual(nextVersionIn(all, 'other'), { root: 'other', version: 2 });
  // A parent that no longer exists ends the walk at the orphan itself.
  assert.deepEqual(nextVersionIn(all, 'orphan'), { root: 'orphan', version: 8 });
  // A cycle ends the walk instead of looping.
  assert.ok(nextVersionIn(all, 'a').version >= 2);
  assert.deepEqual(nextVersionIn([], 'new'), { root: 'new', version: 1 });
});
