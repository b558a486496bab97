// EmbeddedBackend over the real in-process target from src/iscsi, with real logins by libiscsi's
// iscsi-inq. src/iscsi/index.ts is being written alongside this module: until it exists this test
// skips and says so. It is loaded by path (not a static import) so type-checking does not depend
// on it; the shape it must have is the planned one (EmbeddedTargetLike + start/stop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EmbeddedBackend, type EmbeddedTargetLike } from '../../src/storage/embedded.js';
import type { ExportSpec } from '../../src/storage/backend.js';
import { silentLogger } from '../../src/log/logger.js';
import { freePort, have, iscsiInq, tempDir } from './helpers.js';

const INDEX = resolve('src/iscsi/index.ts');
const why = !existsSync(INDEX) ? 'src/iscsi/index.ts does not exist yet' : !have('iscsi-inq') ? 'iscsi-inq missing (apt-get install libiscsi-bin)' : null;
if (why && process.env['CI'] === 'true' && existsSync(INDEX)) throw new Error(`embedded iSCSI test prerequisites missing under CI: ${why}`);

interface IscsiTargetCtor {
  new (o: { host: string; port: number; logger: typeof silentLogger }): EmbeddedTargetLike & { start(): Promise<unknown> | unknown; stop(): Promise<unknown> | unknown };
}

test('embedded target: export through the adapter, then real logins', { skip: why ?? false }, async () => {
  const mod = (await import(pathToFileURL(INDEX).href)) as { IscsiTarget: IscsiTargetCtor };
  const port = await freePort();
  const target = new mod.IscsiTarget({ host: '127.0.0.1', port, logger: silentLogger });
  await target.start();
  const t = tempDir();
  try {
    const be = new EmbeddedBackend({ target, volumesDir: join(t.dir, 'volumes'), portal: '127.0.0.1', port });
    await be.createVolume({ name: 'compute-0-0', sizeBytes: 16 << 20 });
    const spec: ExportSpec = {
      volume: 'compute-0-0',
      targetIqn: 'iqn.2026-11.local.netroot:compute-0-0',
      initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-0',
      sourceAddress: '127.0.0.1',
      chap: { user: 'compute-0-0', secret: 'Abcdef123456Xyz0' },
      lun: 0,
    };
    await be.exportVolume(spec);
    const login = (o: { initiatorIqn?: string; secret?: string } = {}) =>
      iscsiInq({ host: '127.0.0.1', port, targetIqn: spec.targetIqn, lun: 0, initiatorIqn: o.initiatorIqn ?? spec.initiatorIqn, user: 'compute-0-0', secret: o.secret ?? spec.chap.secret });
    const ok = await login();
    assert.ok(ok.ok, ok.stderr);
    assert.match(ok.stdout, /DIRECT_ACCESS/);
    assert.equal((await login({ secret: 'Wrong0123456789a' })).ok, false);
    assert.equal((await login({ initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-1' })).ok, false);
    // Only 127.0.0.2 allowed: our login from 127.0.0.1 must fail.
    await be.exportVolume({ ...spec, sourceAddress: '127.0.0.2' });
    assert.equal((await login()).ok, false);
    await be.unexport(spec.targetIqn);
    assert.equal((await login()).ok, false);
  } finally {
    await target.stop();
    t.cleanup();
  }
});
