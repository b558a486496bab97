// EmbeddedBackend against an in-memory target that behaves like src/iscsi's IscsiTarget would:
// it refuses duplicate IQNs, unknown removals and LUN files that do not exist or have the wrong
// size, and it decides logins (initiator name, source address, CHAP) from the config it was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedBackend, type EmbeddedTargetConfig, type EmbeddedTargetLike } from '../../src/storage/embedded.js';
import type { ExportSpec } from '../../src/storage/spec.js';
import { tempDir } from './helpers.js';

const MiB = 1 << 20;

class MemoryTarget implements EmbeddedTargetLike {
  readonly targets = new Map<string, EmbeddedTargetConfig>();
  adds = 0;
  addTarget(t: EmbeddedTargetConfig): void {
    if (this.targets.has(t.iqn)) throw new Error(`target ${t.iqn} exists`);
    for (const l of t.luns) {
      const st = statSync(l.path);
      if (st.size !== l.sizeBytes) throw new Error(`LUN ${l.lun}: file has ${st.size} bytes, config says ${l.sizeBytes}`);
    }
    this.targets.set(t.iqn, structuredClone(t));
    this.adds++;
  }
  removeTarget(iqn: string): void {
    if (!this.targets.delete(iqn)) throw new Error(`no target ${iqn}`);
  }
  async listTargets(): Promise<EmbeddedTargetConfig[]> {
    return [...this.targets.values()];
  }
  /** The login decision the real target makes from this config. */
  login(iqn: string, o: { initiator: string; address: string; user: string; secret: string }): boolean {
    const t = this.targets.get(iqn);
    if (!t?.allowedInitiators.includes(o.initiator)) return false;
    if (t.allowedAddresses && !t.allowedAddresses.includes(o.address)) return false;
    return !t.chap || (t.chap.user === o.user && t.chap.secret === o.secret);
  }
}

const spec: ExportSpec = {
  volume: 'compute-0-0',
  targetIqn: 'iqn.2026-11.local.netroot:compute-0-0',
  initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-0',
  sourceAddress: '10.1.255.254',
  chap: { user: 'compute-0-0', secret: 'Abcdef123456Xyz0' },
  lun: 0,
};
const who = { initiator: spec.initiatorIqn, address: '10.1.255.254', user: 'compute-0-0', secret: 'Abcdef123456Xyz0' };

function setup(target = new MemoryTarget()) {
  const t = tempDir();
  const be = new EmbeddedBackend({ target, volumesDir: join(t.dir, 'volumes'), portal: '10.1.1.1', port: 3260 });
  return { t, be, target };
}

test('export hands the target the LUN file, the one initiator, its address and CHAP', async () => {
  const { t, be, target } = setup();
  try {
    const v = await be.createVolume({ name: 'compute-0-0', sizeBytes: 16 * MiB });
    const info = await be.exportVolume(spec);
    assert.deepEqual(info, { ...spec, portal: '10.1.1.1', port: 3260 });
    assert.deepEqual(target.targets.get(spec.targetIqn), {
      iqn: spec.targetIqn,
      luns: [{ lun: 0, path: v.path, sizeBytes: 16 * MiB }],
      allowedInitiators: [spec.initiatorIqn],
      chap: { user: 'compute-0-0', secret: 'Abcdef123456Xyz0' },
      allowedAddresses: ['10.1.255.254'],
    });
    assert.equal(target.login(spec.targetIqn, who), true);
    assert.equal(target.login(spec.targetIqn, { ...who, secret: 'Wrong0123456789a' }), false);
    assert.equal(target.login(spec.targetIqn, { ...who, initiator: 'iqn.2026-11.local.netroot:initiator.compute-0-1' }), false);
    assert.equal(target.login(spec.targetIqn, { ...who, address: '10.1.255.253' }), false);
    await be.exportVolume(spec);
    assert.equal(target.adds, 1, 'the same spec again is a no-op');
    assert.deepEqual(await be.listExports(), [info]);
  } finally {
    t.cleanup();
  }
});

test('a changed spec replaces the target; mutual CHAP is passed through', async () => {
  const { t, be, target } = setup();
  try {
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 16 * MiB });
    await be.exportVolume(spec);
    const mutual = { ...spec, chap: { ...spec.chap, secret: 'NewSecret0123456', mutualUser: 'target-compute-0-0', mutualSecret: 'Mutual0123456789' } };
    await be.exportVolume(mutual);
    assert.equal(target.adds, 2);
    assert.deepEqual(target.targets.get(spec.targetIqn)!.chap, mutual.chap);
    assert.equal(target.login(spec.targetIqn, who), false);
    assert.equal(target.login(spec.targetIqn, { ...who, secret: 'NewSecret0123456' }), true);
  } finally {
    t.cleanup();
  }
});

test('deleteVolume refused while exported; unexport idempotent; bad input refused', async () => {
  const { t, be, target } = setup();
  try {
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 16 * MiB });
    await be.exportVolume(spec);
    await assert.rejects(be.deleteVolume('compute-0-0'), { code: 'E_STORAGE_IN_USE' });
    await assert.rejects(be.exportVolume({ ...spec, volume: '../x' }), { code: 'E_STORAGE_BAD_NAME' });
    await assert.rejects(be.exportVolume({ ...spec, volume: 'missing' }), { code: 'E_STORAGE_NOT_FOUND' });
    await assert.rejects(be.exportVolume({ ...spec, targetIqn: spec.targetIqn + '-2' }), { code: 'E_STORAGE_IN_USE' });
    await assert.rejects(be.resizeVolume('compute-0-0', 8 * MiB), { code: 'E_STORAGE_SHRINK' });
    await be.unexport(spec.targetIqn);
    await be.unexport(spec.targetIqn);
    assert.equal(target.targets.size, 0);
    await be.deleteVolume('compute-0-0');
    assert.deepEqual(await be.listVolumes(), []);
  } finally {
    t.cleanup();
  }
});

test('reconcile after a frontend restart: stale targets removed, missing added, resized LUN updated', async () => {
  const target = new MemoryTarget();
  const first = setup(target);
  try {
    const s1: ExportSpec = {
      ...spec,
      volume: 'compute-0-1',
      targetIqn: 'iqn.2026-11.local.netroot:compute-0-1',
      initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-1',
    };
    delete s1.sourceAddress;
    await first.be.createVolume({ name: 'compute-0-0', sizeBytes: 16 * MiB });
    await first.be.createVolume({ name: 'compute-0-1', sizeBytes: 16 * MiB });
    await first.be.exportVolume(spec);
    await first.be.exportVolume(s1);
    // A new adapter over the same (still running) target and volumes: it knows nothing yet.
    const be = new EmbeddedBackend({ target, volumesDir: first.be.volumes.dir, portal: '10.1.1.1' });
    assert.deepEqual(await be.listExports(), []);
    assert.deepEqual(await be.reconcile([spec]), { added: [], removed: [s1.targetIqn], updated: [spec.targetIqn] });
    assert.deepEqual([...target.targets.keys()], [spec.targetIqn]);
    assert.deepEqual(await be.reconcile([spec]), { added: [], removed: [], updated: [] });
    await be.resizeVolume('compute-0-0', 32 * MiB);
    assert.deepEqual(await be.reconcile([spec, s1]), { added: [s1.targetIqn], removed: [], updated: [spec.targetIqn] });
    assert.equal(target.targets.get(spec.targetIqn)!.luns[0]!.sizeBytes, 32 * MiB);
    assert.deepEqual(
      (await be.listVolumes()).map((v) => v.name),
      ['compute-0-0', 'compute-0-1'],
    );
    await assert.rejects(be.reconcile([{ ...spec, lun: -1 }]), { code: 'E_STORAGE_BAD_SPEC' });
  } finally {
    first.t.cleanup();
  }
});
