// TgtBackend against a real tgtd of our own (control port + portal on 127.0.0.1), with real
// logins by libiscsi's iscsi-inq. Needs root, tgt and libiscsi-bin; skips saying so otherwise
// (never under CI=true).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TgtBackend, parseTgtShow } from '../../src/storage/tgt.js';
import type { ExportSpec } from '../../src/storage/spec.js';
import { freePort, iscsiInq, rootToolsMissing, startTgtd, tempDir, type Tgtd } from './helpers.js';

const SAMPLE = `Target 1: iqn.2026-11.local.netroot:compute-0-0
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store type: null
            Backing store path: None
            Backing store flags: 
        LUN: 1
            Type: disk
            Size: 67 MB, Block size: 512
            Backing store type: rdwr
            Backing store path: /tmp/tgtexp/a.img
            Backing store flags: 
    Account information:
        compute-0-0
        tgtmutual (outgoing)
    ACL information:
        iqn.2026-11.local.netroot:initiator.compute-0-0
Target 3: iqn.2026-11.local.netroot:compute-0-1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
    Account information:
    ACL information:
`;

test('parseTgtShow reads targets, LUN backing paths, accounts and ACLs', () => {
  const t = parseTgtShow(SAMPLE);
  assert.equal(t.length, 2);
  assert.deepEqual(t[0], {
    tid: 1,
    iqn: 'iqn.2026-11.local.netroot:compute-0-0',
    luns: [
      { lun: 0, type: 'controller', path: null },
      { lun: 1, type: 'disk', path: '/tmp/tgtexp/a.img' },
    ],
    accounts: [
      { user: 'compute-0-0', outgoing: false },
      { user: 'tgtmutual', outgoing: true },
    ],
    acls: ['iqn.2026-11.local.netroot:initiator.compute-0-0'],
  });
  assert.deepEqual(t[1], { tid: 3, iqn: 'iqn.2026-11.local.netroot:compute-0-1', luns: [{ lun: 0, type: 'controller', path: null }], accounts: [], acls: [] });
  assert.deepEqual(parseTgtShow(''), []);
  assert.throws(() => parseTgtShow('garbage\n'), { code: 'E_STORAGE_TGT_PARSE' });
});

/** The "Size: N MB" line tgt prints for LUN 1 of a target (decimal MB). */
function tgtSize(ctl: number, iqn: string): string {
  const out = spawnSync('tgtadm', ['-C', String(ctl), '--lld', 'iscsi', '--op', 'show', '--mode', 'target'], { encoding: 'utf8' }).stdout;
  const block = out.split(/^Target \d+: /m).find((b) => b.startsWith(iqn)) ?? '';
  return /LUN: 1[\s\S]*?(Size: \d+ MB)/.exec(block)?.[1] ?? '';
}

const skip = rootToolsMissing(['tgtd', 'tgtadm', 'iscsi-inq']);

describe('TgtBackend with a real tgtd', { skip: skip ?? false }, () => {
  let tgtd: Tgtd;
  let tmp: ReturnType<typeof tempDir>;
  let be: TgtBackend;
  const ctl = 3000 + (process.pid % 20000);
  const IQN = 'iqn.2026-11.local.netroot:compute-0-0';
  const INIT = 'iqn.2026-11.local.netroot:initiator.compute-0-0';
  const spec: ExportSpec = { volume: 'compute-0-0', targetIqn: IQN, initiatorIqn: INIT, chap: { user: 'compute-0-0', secret: 'Abcdef123456Xyz0' }, lun: 1 };
  const login = (over: Partial<Parameters<typeof iscsiInq>[0]> = {}) =>
    iscsiInq({ host: '127.0.0.1', port: tgtd.port, targetIqn: IQN, lun: 1, initiatorIqn: INIT, user: 'compute-0-0', secret: spec.chap.secret, ...over });

  before(async () => {
    tmp = tempDir();
    tgtd = await startTgtd(await freePort(), ctl);
    be = new TgtBackend({ volumesDir: join(tmp.dir, 'volumes'), controlPort: ctl, portal: '127.0.0.1', port: tgtd.port });
  });
  after(async () => {
    await tgtd?.stop();
    tmp?.cleanup();
  });

  test('export → a real login succeeds with the right initiator and CHAP, fails otherwise', async () => {
    const v = await be.createVolume({ name: 'compute-0-0', sizeBytes: 64 << 20 });
    assert.equal(v.sizeBytes, 64 << 20);
    assert.ok(v.allocatedBytes < 1 << 20, 'sparse');
    const info = await be.exportVolume(spec);
    assert.equal(info.portal, '127.0.0.1');
    assert.equal(info.port, tgtd.port);
    const ok = await login();
    assert.ok(ok.ok, `login failed: ${ok.stderr}\n${tgtd.log()}`);
    assert.match(ok.stdout, /Peripheral Device Type:DIRECT_ACCESS/);
    const wrongSecret = await login({ secret: 'Abcdef123456Xyz1' });
    assert.equal(wrongSecret.ok, false);
    assert.match(wrongSecret.stderr, /Authentication failure/);
    const otherInit = await login({ initiatorIqn: 'iqn.2026-11.local.netroot:initiator.compute-0-1' });
    assert.equal(otherInit.ok, false);
    assert.match(otherInit.stderr, /not found|Authorization|failure/i);
    const noChap = await login({ user: undefined, secret: undefined });
    assert.equal(noChap.ok, false);
  });

  test('exporting the same spec again changes nothing; listExports returns it', async () => {
    const before = await be.show();
    await be.exportVolume(spec);
    assert.deepEqual(await be.show(), before);
    const list = await be.listExports();
    assert.deepEqual(list, [{ ...spec, portal: '127.0.0.1', port: tgtd.port }]);
    const state = statSync(join(tmp.dir, 'tgt-exports.json'));
    assert.equal(state.mode & 0o077, 0, 'state file with secrets is private');
  });

  test('deleteVolume is refused while exported; data is never touched by unexport', async () => {
    await assert.rejects(be.deleteVolume('compute-0-0'), { code: 'E_STORAGE_IN_USE' });
    assert.equal(readFileSync(join(tmp.dir, 'volumes', 'compute-0-0.img')).length, 64 << 20);
  });

  test('a changed secret replaces the export: old secret fails, new one logs in', async () => {
    const changed = { ...spec, chap: { ...spec.chap, secret: 'NewSecret0123456' } };
    await be.exportVolume(changed);
    assert.equal((await login()).ok, false);
    const ok = await login({ secret: 'NewSecret0123456' });
    assert.ok(ok.ok, ok.stderr);
    await be.exportVolume(spec);
  });

  test('mutual CHAP: the initiator must see the target answer with the mutual secret', async () => {
    const mutual: ExportSpec = { ...spec, chap: { ...spec.chap, mutualUser: 'target-compute-0-0', mutualSecret: 'Mutual0123456789' } };
    await be.exportVolume(mutual);
    const t = (await be.show()).find((x) => x.iqn === IQN)!;
    assert.deepEqual(
      t.accounts.find((a) => a.outgoing),
      { user: 'target-compute-0-0', outgoing: true },
    );
    const ok = await login({ mutualUser: 'target-compute-0-0', mutualSecret: 'Mutual0123456789' });
    assert.ok(ok.ok, ok.stderr);
    const bad = await login({ mutualUser: 'target-compute-0-0', mutualSecret: 'Wrong01234567890' });
    assert.equal(bad.ok, false);
    await be.exportVolume(spec);
    assert.equal(
      (await be.show()).find((x) => x.iqn === IQN)!.accounts.some((a) => a.outgoing),
      false,
    );
  });

  test('bad specs are refused before tgtd is touched', async () => {
    await assert.rejects(be.exportVolume({ ...spec, lun: 0 }), { code: 'E_STORAGE_BAD_SPEC' });
    await assert.rejects(be.exportVolume({ ...spec, sourceAddress: '127.0.0.1' }), { code: 'E_STORAGE_UNSUPPORTED' });
    await assert.rejects(be.exportVolume({ ...spec, volume: '../etc/passwd' }), { code: 'E_STORAGE_BAD_NAME' });
    await assert.rejects(be.exportVolume({ ...spec, targetIqn: 'iqn.2026-13.local.netroot:x' }), { code: 'E_STORAGE_BAD_IQN' });
    await assert.rejects(be.exportVolume({ ...spec, volume: 'missing', targetIqn: IQN + '-b', chap: { user: 'other', secret: 'Abcdef123456Xyz0' } }), {
      code: 'E_STORAGE_NOT_FOUND',
    });
    await be.createVolume({ name: 'compute-0-1', sizeBytes: 1 << 20 });
    await assert.rejects(
      be.exportVolume({ ...spec, volume: 'compute-0-1', targetIqn: IQN.replace('0-0', '0-1'), initiatorIqn: INIT.replace('0-0', '0-1') }),
      (e: Error & { code?: string }) => e.code === 'E_STORAGE_BAD_SPEC' && /already used/.test(e.message) && !e.message.includes(spec.chap.secret),
    );
  });

  test('reconcile after a tgtd restart re-creates exports; undesired managed targets are removed', async () => {
    await tgtd.stop();
    await assert.rejects(be.listExports(), { code: 'E_STORAGE_DOWN' });
    tgtd = await startTgtd(tgtd.port, ctl);
    assert.deepEqual(await be.listExports(), []);
    const spec1: ExportSpec = {
      volume: 'compute-0-1',
      targetIqn: IQN.replace('0-0', '0-1'),
      initiatorIqn: INIT.replace('0-0', '0-1'),
      chap: { user: 'compute-0-1', secret: 'Other0123456789a' },
      lun: 1,
    };
    const r1 = await be.reconcile([spec, spec1]);
    assert.deepEqual(r1, { added: [IQN, spec1.targetIqn], removed: [], updated: [] });
    assert.ok((await login()).ok);
    const r2 = await be.reconcile([spec, spec1]);
    assert.deepEqual(r2, { added: [], removed: [], updated: [] });
    // A target someone else made in the same tgtd (not our volumes dir) is left alone.
    spawnSync('tgtadm', [
      '-C',
      String(ctl),
      '--lld',
      'iscsi',
      '--op',
      'new',
      '--mode',
      'target',
      '--tid',
      '9',
      '--targetname',
      'iqn.2026-11.org.example:foreign',
    ]);
    const r3 = await be.reconcile([{ ...spec, chap: { ...spec.chap, secret: 'Changed012345678' } }]);
    assert.deepEqual(r3, { added: [], removed: [spec1.targetIqn], updated: [IQN] });
    const iqns = (await be.show()).map((t) => t.iqn).sort();
    assert.deepEqual(iqns, ['iqn.2026-11.local.netroot:compute-0-0', 'iqn.2026-11.org.example:foreign']);
    assert.ok((await login({ secret: 'Changed012345678' })).ok);
    // A grown volume is re-exported so tgt serves the new size.
    await be.resizeVolume('compute-0-0', 96 << 20);
    const changedSpec = { ...spec, chap: { ...spec.chap, secret: 'Changed012345678' } };
    assert.deepEqual(await be.reconcile([changedSpec]), { added: [], removed: [], updated: [IQN] });
    assert.ok((await login({ secret: 'Changed012345678' })).ok);
    assert.match(tgtSize(ctl, IQN), /Size: 101 MB/, '96 MiB in decimal MB');
    // Volume data survives: both volume files are still there.
    assert.deepEqual(
      (await be.listVolumes()).map((v) => v.name),
      ['compute-0-0', 'compute-0-1'],
    );
  });

  test('unexport is idempotent and then the volume can be deleted', async () => {
    await be.unexport(IQN);
    await be.unexport(IQN);
    assert.equal((await login({ secret: 'Changed012345678' })).ok, false);
    await be.deleteVolume('compute-0-0');
    await be.deleteVolume('compute-0-0');
    assert.deepEqual(
      (await be.listVolumes()).map((v) => v.name),
      ['compute-0-1'],
    );
    const accounts = spawnSync('tgtadm', ['-C', String(ctl), '--lld', 'iscsi', '--op', 'show', '--mode', 'account'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(accounts, /compute-0-0/, 'its CHAP account went with it');
  });
});

test('TgtBackend without a tgtd answers E_STORAGE_DOWN', { skip: rootToolsMissing(['tgtadm']) ?? false }, async () => {
  const tmp = tempDir();
  try {
    const be = new TgtBackend({ volumesDir: join(tmp.dir, 'v'), controlPort: 29999, portal: '127.0.0.1' });
    await assert.rejects(be.listExports(), { code: 'E_STORAGE_DOWN' });
  } finally {
    tmp.cleanup();
  }
});
