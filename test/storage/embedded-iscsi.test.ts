// EmbeddedBackend over the real in-process target from src/iscsi, with real logins by libiscsi's
// iscsi-inq (Debian libiscsi-bin). Without iscsi-inq the test skips outside CI and fails under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EmbeddedBackend } from '../../src/storage/embedded.js';
import type { ExportSpec } from '../../src/storage/spec.js';
import { IscsiTarget } from '../../src/iscsi/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { freePort, iscsiInq, tempDir } from './helpers.js';
import { assertTools, skipUnless } from '../helpers/tools.js';

const INQ: [string, string] = ['iscsi-inq', 'libiscsi-bin'];

test('embedded target: export through the adapter, then real logins', { skip: skipUnless([INQ]) }, async () => {
  assertTools([INQ]);
  const port = await freePort();
  const target = new IscsiTarget({ host: '127.0.0.1', port, logger: silentLogger });
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
      iscsiInq({
        host: '127.0.0.1',
        port,
        targetIqn: spec.targetIqn,
        lun: 0,
        initiatorIqn: o.initiatorIqn ?? spec.initiatorIqn,
        user: 'compute-0-0',
        secret: o.secret ?? spec.chap.secret,
      });
    const ok = await login();
    assert.ok(ok.ok, ok.stderr);
    assert.match(ok.stdout, /DIRECT_ACCESS/);
    // Each refusal is the login failure it should be (RFC 7143 §11.13.5: 0x0201 authentication,
    // 0x0202 authorization), as libiscsi reports it.
    const wrongSecret = await login({ secret: 'Wrong0123456789a' });
    assert.equal(wrongSecret.ok, false);
    assert.match(wrongSecret.stderr, /Status: Authentication failure\(513\)/, wrongSecret.stderr);
    const wrongInitiator = await login({ initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-1' });
    assert.equal(wrongInitiator.ok, false);
    assert.match(wrongInitiator.stderr, /Status: Authorization failure\(514\)/, wrongInitiator.stderr);
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
