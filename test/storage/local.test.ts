// LocalBackend's shared half (local.ts), through each real local backend with its target out of
// reach: tgt with no tgtd on the control port, LIO with no configfs, the embedded adapter with a
// target that fails every call. The volume half never asks the target; every input is refused
// with the same code before the target is asked; deleteVolume refuses when it cannot tell whether
// the volume is exported, and keeps the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NetrootError } from '../../src/errors.js';
import { EmbeddedBackend, type EmbeddedTargetLike } from '../../src/storage/embedded.js';
import { LioBackend } from '../../src/storage/lio.js';
import { LocalBackend } from '../../src/storage/local.js';
import { TgtBackend } from '../../src/storage/tgt.js';
import { nodeSpec, tempDir } from './helpers.js';

const MiB = 1 << 20;

/** An embedded target that is never reachable; counts how often it was asked. */
class UnreachableTarget implements EmbeddedTargetLike {
  calls = 0;
  private fail(): never {
    this.calls++;
    throw new NetrootError('E_STORAGE_DOWN', 'target unreachable');
  }
  addTarget(): unknown {
    return this.fail();
  }
  removeTarget(): unknown {
    return this.fail();
  }
  listTargets(): Iterable<string> {
    return this.fail();
  }
}

const spec = nodeSpec(1);

const unreachable = new UnreachableTarget();
const kinds = {
  // Port 29997: no tgtd listens there (tgt.test.ts's own tgtd uses a free port of its choosing).
  tgt: (dir: string) => new TgtBackend({ volumesDir: join(dir, 'v'), controlPort: 29997, portal: '127.0.0.1' }),
  lio: (dir: string) => new LioBackend({ volumesDir: join(dir, 'v'), configfsRoot: join(dir, 'no-configfs'), portal: '10.1.1.1' }),
  embedded: (dir: string) => new EmbeddedBackend({ target: unreachable, volumesDir: join(dir, 'v'), portal: '10.1.1.1' }),
};

for (const [kind, make] of Object.entries(kinds)) {
  test(`${kind}: the volume half works without the target; bad input is refused before the target is asked`, async () => {
    const t = tempDir();
    try {
      const be = make(t.dir);
      assert.ok(be instanceof LocalBackend);
      assert.equal(be.kind, kind);
      const v = await be.createVolume({ name: 'compute-0-0', sizeBytes: 16 * MiB });
      assert.equal(v.sizeBytes, 16 * MiB);
      assert.equal((await be.resizeVolume('compute-0-0', 32 * MiB)).sizeBytes, 32 * MiB);
      assert.deepEqual(
        (await be.listVolumes()).map((x) => [x.name, x.sizeBytes]),
        [['compute-0-0', 32 * MiB]],
      );
      assert.ok((await be.capacity()).totalBytes > 0);

      await assert.rejects(be.exportVolume({ ...spec, targetIqn: 'not-an-iqn' }), { code: 'E_STORAGE_BAD_IQN' });
      await assert.rejects(be.exportVolume({ ...spec, volume: '../etc' }), { code: 'E_STORAGE_BAD_NAME' });
      await assert.rejects(be.exportVolume({ ...spec, chap: { user: 'u', secret: 'short' } }), { code: 'E_STORAGE_BAD_SECRET' });
      await assert.rejects(be.unexport('not-an-iqn'), { code: 'E_STORAGE_BAD_IQN' });
      await assert.rejects(be.reconcile([spec, spec]), { code: 'E_STORAGE_BAD_SPEC' });
      await assert.rejects(be.deleteVolume('../x'), { code: 'E_STORAGE_BAD_NAME' });
      // Everything above was answered without the target.
      if (kind === 'embedded') assert.equal(unreachable.calls, 0);

      await assert.rejects(be.exportVolume(spec), { code: 'E_STORAGE_DOWN' });
      await assert.rejects(be.listExports(), { code: 'E_STORAGE_DOWN' });
      await assert.rejects(be.reconcile([spec]), { code: 'E_STORAGE_DOWN' });
    } finally {
      t.cleanup();
    }
  });
}

test('tgt and LIO: deleteVolume asks the target whether the volume is exported, and keeps it when it cannot tell', async () => {
  const t = tempDir();
  try {
    for (const be of [kinds.tgt(join(t.dir, 'tgt')), kinds.lio(join(t.dir, 'lio'))]) {
      const v = await be.createVolume({ name: 'compute-0-0', sizeBytes: 16 * MiB });
      await assert.rejects(be.deleteVolume('compute-0-0'), { code: 'E_STORAGE_DOWN' });
      assert.ok(existsSync(v.path!), `${be.kind}: the volume file is kept`);
    }
  } finally {
    t.cleanup();
  }
});
