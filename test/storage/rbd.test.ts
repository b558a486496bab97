// RbdBackend against a real single-node Ceph cluster (test/helpers/ceph.ts: mon, mgr, memstore
// OSD in a temporary directory) and a real tgtd with Debian's bs_rbd, with real iSCSI logins
// (libiscsi's iscsi-inq for CHAP, the test initiator for reads and writes). Also the allocation
// plugin in a real frontend on `storage.backend: rbd`, with the mon stopped. One cluster for the
// whole file (its start is most of this file's time). Needs root, ceph-mon/osd/mgr, ceph-common,
// tgt, tgt-rbd and libiscsi-bin; under CI=true nothing skips.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RbdBackend } from '../../src/storage/rbd.js';
import { canClone } from '../../src/storage/backend.js';
import type { ExportSpec } from '../../src/storage/spec.js';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { createStorageNode } from '../../src/app/storage-node.js';
import { RemoteBackend } from '../../src/storage/remote.js';
import { CEPH_TOOLS, rbdSync, startCephCluster, type CephCluster } from '../helpers/ceph.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { waitFor } from '../helpers/wait.js';
import { cdb, TestInitiator } from '../iscsi/helpers/initiator.js';
import { freePort, iscsiInq, startTgtd, tempDir, type Tgtd } from './helpers.js';

const TOOLS: Array<[string, string]> = [...CEPH_TOOLS, ['tgtd', 'tgt'], ['/usr/lib/tgt/backing-store/bs_rbd.so', 'tgt-rbd'], ['iscsi-inq', 'libiscsi-bin']];
const notRoot = process.getuid?.() !== 0 ? 'needs root (tgtd)' : false;
const skip = skipUnless(TOOLS) || (process.env['CI'] === 'true' ? false : notRoot);

const MiB = 1 << 20;
const BS = 512;
const mac = (i: number) => `52:54:00:00:0c:${i.toString(16).padStart(2, '0')}`;
/** Block `lba` of the golden image: its number, repeated. */
const block = (lba: number) => Buffer.alloc(BS, `golden-block-${lba};`);

describe('RbdBackend on a real Ceph cluster and tgtd (bs_rbd)', { skip }, () => {
  let ceph: CephCluster;
  let tgtd: Tgtd;
  let tmp: ReturnType<typeof tempDir>;
  let be: RbdBackend;
  const ctl = 5000 + (process.pid % 20000);
  const spec = (host: string): ExportSpec => ({
    volume: host,
    targetIqn: `iqn.2026-11.local.netroot:${host}`,
    initiatorIqn: `iqn.2026-11.local.netroot:initiator.${host}`,
    chap: { user: host, secret: 'Abcdef123456Xyz0' },
    lun: 1,
  });
  const opts = () => ({
    pool: ceph.pool,
    conf: ceph.conf,
    clientId: ceph.clientId,
    keyring: ceph.clientKeyring,
    timeoutSeconds: 3,
    stateDir: join(tmp.dir, 'rbd'),
    controlPort: ctl,
    portal: '127.0.0.1',
    port: tgtd.port,
  });
  const session = async (e: ExportSpec): Promise<TestInitiator> => {
    const i = await TestInitiator.connect(tgtd.port);
    const l = await i.login({ initiator: e.initiatorIqn, target: e.targetIqn, chap: { user: e.chap.user, secret: e.chap.secret } });
    assert.equal(l.statusClass, 0, `login ${l.statusClass}/${l.statusDetail}: ${tgtd.log()}`);
    // tgt reports a power-on UNIT ATTENTION to the first command of a new nexus: take it here.
    let tur = await i.scsi(cdb.tur(), { lun: e.lun });
    if (tur.status !== 0) tur = await i.scsi(cdb.tur(), { lun: e.lun });
    assert.equal(tur.status, 0, `TEST UNIT READY: sense ${JSON.stringify(tur.sense)}`);
    return i;
  };

  before(async () => {
    assertTools(TOOLS);
    tmp = tempDir('nrt-rbd-');
    ceph = await startCephCluster();
    process.stderr.write(`# ceph cluster started in ${Math.round(ceph.startMs)} ms\n`);
    tgtd = await startTgtd(await freePort(), ctl);
    be = new RbdBackend(opts());
  });
  after(async () => {
    await tgtd?.stop();
    await ceph?.stop();
    tmp?.cleanup();
    if (ceph) assert.equal(existsSync(ceph.dir), false);
  });

  test('volumes are RBD images: create (idempotent), list, grow, refuse shrink, delete (idempotent)', async () => {
    const cap0 = await be.capacity();
    assert.ok(cap0.totalBytes > 512 * MiB && cap0.freeBytes <= cap0.totalBytes, JSON.stringify(cap0));
    const v = await be.createVolume({ name: 'vol-a', sizeBytes: 16 * MiB });
    assert.deepEqual({ name: v.name, sizeBytes: v.sizeBytes, path: v.path }, { name: 'vol-a', sizeBytes: 16 * MiB, path: 'rbd/vol-a' });
    assert.equal((await be.createVolume({ name: 'vol-a', sizeBytes: 16 * MiB })).sizeBytes, 16 * MiB);
    await assert.rejects(be.createVolume({ name: 'vol-a', sizeBytes: 32 * MiB }), { code: 'E_STORAGE_EXISTS' });
    assert.match(rbdSync(ceph, ['ls', ceph.pool]), /^vol-a$/m);
    // A thin image counts at its provisioned size: exactly under a limit; against `ceph df` (whose
    // stored/max_avail move with metadata writes) within 1 MiB.
    const limited = new RbdBackend({ ...opts(), limitBytes: 100 * MiB });
    assert.deepEqual(await limited.capacity(), { totalBytes: 100 * MiB, freeBytes: 84 * MiB });
    const drop = cap0.freeBytes - (await be.capacity()).freeBytes;
    assert.ok(Math.abs(drop - 16 * MiB) < MiB, `free space dropped by ${drop}`);
    assert.equal((await be.resizeVolume('vol-a', 24 * MiB)).sizeBytes, 24 * MiB);
    await assert.rejects(be.resizeVolume('vol-a', 8 * MiB), { code: 'E_STORAGE_SHRINK' });
    await assert.rejects(be.createVolume({ name: '../x', sizeBytes: MiB }), { code: 'E_STORAGE_BAD_NAME' });
    await assert.rejects(be.createVolume({ name: 'huge', sizeBytes: 2 ** 40 }), { code: 'E_STORAGE_FULL' });
    assert.deepEqual(
      (await be.listVolumes()).map((x) => [x.name, x.sizeBytes]),
      [['vol-a', 24 * MiB]],
    );
    // A key the cluster does not know: E_RBD_AUTH, and neither key is in the message.
    const wrongKey = execFileSync('ceph-authtool', ['--gen-print-key'], { encoding: 'utf8' }).trim();
    const badKeyring = join(tmp.dir, 'wrong.keyring');
    writeFileSync(badKeyring, `[client.${ceph.clientId}]\n\tkey = ${wrongKey}\n`, { mode: 0o600 });
    await assert.rejects(new RbdBackend({ ...opts(), keyring: badKeyring }).listVolumes(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_RBD_AUTH');
      assert.ok(!err.message.includes(wrongKey) && !err.message.includes(wrongKey.slice(0, 12)), err.message);
      assert.ok(!err.message.includes(readFileSync(ceph.clientKeyring, 'utf8').split('key = ')[1]!.trim()), err.message);
      return true;
    });
    await be.deleteVolume('vol-a');
    await be.deleteVolume('vol-a');
    assert.deepEqual(await be.listVolumes(), []);
    assert.doesNotMatch(rbdSync(ceph, ['ls', ceph.pool]), /vol-a/);
  });

  test('export through tgtd bs_rbd: CHAP logins, read/write of the LUN, in-use refusal, reconcile', async () => {
    const e = spec('compute-0-0');
    await be.createVolume({ name: e.volume, sizeBytes: 16 * MiB });
    const info = await be.exportVolume(e);
    assert.deepEqual({ portal: info.portal, port: info.port, lun: info.lun }, { portal: '127.0.0.1', port: tgtd.port, lun: 1 });
    const inq = (over: Partial<Parameters<typeof iscsiInq>[0]> = {}) =>
      iscsiInq({
        host: '127.0.0.1',
        port: tgtd.port,
        targetIqn: e.targetIqn,
        lun: 1,
        initiatorIqn: e.initiatorIqn,
        user: e.chap.user,
        secret: e.chap.secret,
        ...over,
      });
    const ok = await inq();
    assert.ok(ok.ok, `${ok.stderr}\n${tgtd.log()}`);
    assert.match(ok.stdout, /DIRECT_ACCESS/);
    assert.equal((await inq({ secret: 'Abcdef123456Xyz1' })).ok, false);
    assert.equal((await inq({ initiatorIqn: 'iqn.2026-11.local.netroot:initiator.other' })).ok, false);
    assert.equal((await inq({ user: undefined, secret: undefined })).ok, false);

    const i = await session(e);
    try {
      const cap = await i.scsi(cdb.readCapacity16(), { lun: 1, readLength: 32 });
      assert.equal(cap.status, 0);
      assert.equal(cap.data.readBigUInt64BE(0) + 1n, BigInt((16 * MiB) / BS));
      const data = Buffer.alloc(8 * BS, 'rbd-through-tgt;');
      assert.equal((await i.scsi(cdb.rw10(0x2a, 100, 8, true), { lun: 1, write: data })).status, 0);
      const back = await i.scsi(cdb.rw10(0x28, 100, 8), { lun: 1, readLength: 8 * BS });
      assert.deepEqual(back.data, data);
      await i.logout();
    } finally {
      i.close();
    }
    // The write is in the image, as the cluster sees it.
    const out = join(tmp.dir, 'export.raw');
    rbdSync(ceph, ['export', '--no-progress', `${ceph.pool}/${e.volume}`, out]);
    assert.deepEqual(readFileSync(out).subarray(100 * BS, 108 * BS), Buffer.alloc(8 * BS, 'rbd-through-tgt;'));
    rmSync(out);

    assert.deepEqual(await be.listExports(), [{ ...e, portal: '127.0.0.1', port: tgtd.port }]);
    assert.equal(statSync(join(tmp.dir, 'rbd', 'rbd-tgt-exports.json')).mode & 0o077, 0);
    await assert.rejects(be.deleteVolume(e.volume), { code: 'E_STORAGE_IN_USE' });
    // The LUN is held open by tgtd's librbd: even the rbd CLI cannot remove it behind our back.
    assert.throws(() => rbdSync(ceph, ['rm', `${ceph.pool}/${e.volume}`]), /watchers|busy/i);

    // tgtd restarted empty → reconcile re-adds; a second reconcile changes nothing.
    await tgtd.stop();
    tgtd = await startTgtd(tgtd.port, ctl);
    assert.deepEqual(await be.reconcile([e]), { added: [e.targetIqn], removed: [], updated: [] });
    assert.deepEqual(await be.reconcile([e]), { added: [], removed: [], updated: [] });
    assert.ok((await inq()).ok);
    // A grown image is re-exported by the next reconcile (tgt reads the size at export).
    await be.resizeVolume(e.volume, 20 * MiB);
    assert.deepEqual(await be.reconcile([e]), { added: [], removed: [], updated: [e.targetIqn] });
    assert.deepEqual(await be.reconcile([]), { added: [], removed: [e.targetIqn], updated: [] });
    // The killed tgtd's watch on the image lingers until `osd client watch timeout` (5 s here):
    // until then the image is in use.
    await waitFor(
      () =>
        be.deleteVolume(e.volume).then(
          () => true,
          (err: Error & { code?: string }) => {
            if (err.code !== 'E_STORAGE_IN_USE') throw err;
            return false;
          },
        ),
      { what: "the killed tgtd's watch to expire", timeoutMs: 20_000, intervalMs: 500 },
    );
  });

  test('golden volumes: clones share the golden snapshot, removal is refused while clones exist', async () => {
    assert.ok(canClone(be));
    const img = join(tmp.dir, 'golden.raw');
    writeFileSync(img, Buffer.concat(Array.from({ length: (8 * MiB) / BS }, (_, lba) => block(lba))));
    const g = await be.importGolden('os1', img, 'image test');
    assert.equal(g.sizeBytes, 8 * MiB);
    assert.equal(g.from, 'image test');
    assert.ok(await be.hasGolden('os1'));
    assert.equal(await be.hasGolden('nope'), false);
    await assert.rejects(be.importGolden('os1', img, 'again'), { code: 'E_GOLDEN_EXISTS' });
    assert.deepEqual(
      (await be.listGolden()).map((x) => x.name),
      ['os1'],
    );
    // Golden images are not volumes.
    assert.deepEqual(await be.listVolumes(), []);

    const c = await be.cloneVolume('compute-0-1', 'os1', 16 * MiB);
    assert.equal(c.sizeBytes, 16 * MiB, 'grown to the requested size');
    await assert.rejects(be.cloneVolume('compute-0-1', 'os1'), { code: 'E_STORAGE_EXISTS' });
    await assert.rejects(be.cloneVolume('compute-0-2', 'nope'), { code: 'E_GOLDEN_NOT_FOUND' });
    assert.equal(await be.volumes.cloneOf('compute-0-1'), 'os1');
    assert.match(rbdSync(ceph, ['info', `${ceph.pool}/compute-0-1`]), /parent: rbd\/_golden\.os1@golden/);
    assert.deepEqual(await be.clonesOf('os1'), ['compute-0-1']);
    await assert.rejects(be.removeGolden('os1'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_GOLDEN_IN_USE');
      assert.match(err.message, /compute-0-1/);
      return true;
    });

    // Through tgt: the clone reads the golden blocks; a write lands in the clone only.
    const e = spec('compute-0-1');
    await be.exportVolume(e);
    const i = await session(e);
    try {
      const rd = await i.scsi(cdb.rw10(0x28, 0, 16), { lun: 1, readLength: 16 * BS });
      for (let lba = 0; lba < 16; lba++) assert.deepEqual(rd.data.subarray(lba * BS, (lba + 1) * BS), block(lba), `block ${lba}`);
      assert.equal((await i.scsi(cdb.rw10(0x2a, 3, 1, true), { lun: 1, write: Buffer.alloc(BS, 0x5a) })).status, 0);
      await i.logout();
    } finally {
      i.close();
    }
    const gold = join(tmp.dir, 'g.raw');
    rbdSync(ceph, ['export', '--no-progress', `${ceph.pool}/_golden.os1@golden`, gold]);
    assert.deepEqual(readFileSync(gold).subarray(3 * BS, 4 * BS), block(3), 'the golden snapshot is untouched');

    // reset: refused while exported; then the clone reads the golden block again.
    await assert.rejects(be.resetClone('compute-0-1'), { code: 'E_STORAGE_IN_USE' });
    await be.unexport(e.targetIqn);
    assert.equal((await be.resetClone('compute-0-1')).sizeBytes, 16 * MiB);
    await be.exportVolume(e);
    const j = await session(e);
    try {
      const rd = await j.scsi(cdb.rw10(0x28, 3, 1), { lun: 1, readLength: BS });
      assert.deepEqual(rd.data, block(3));
      await j.logout();
    } finally {
      j.close();
    }
    await be.unexport(e.targetIqn);

    // Freezing a plain volume makes a second golden — while it is exported and was just written
    // through tgt (the copy is of a snapshot tgtd's librbd takes); a clone cannot be frozen.
    await be.createVolume({ name: 'installed', sizeBytes: 4 * MiB });
    const inst = spec('installed');
    await be.exportVolume(inst);
    const w = await session(inst);
    try {
      assert.equal((await w.scsi(cdb.rw10(0x2a, 7, 1, true), { lun: 1, write: Buffer.alloc(BS, 'installed-os;') })).status, 0);
      await w.logout();
    } finally {
      w.close();
    }
    const g2 = await be.freezeGolden('os2', 'installed', 'host installed');
    assert.deepEqual([g2.name, g2.sizeBytes, g2.from], ['os2', 4 * MiB, 'host installed']);
    const g2raw = join(tmp.dir, 'g2.raw');
    rbdSync(ceph, ['export', '--no-progress', `${ceph.pool}/_golden.os2@golden`, g2raw]);
    assert.deepEqual(readFileSync(g2raw).subarray(7 * BS, 8 * BS), Buffer.alloc(BS, 'installed-os;'));
    assert.doesNotMatch(rbdSync(ceph, ['snap', 'ls', `${ceph.pool}/installed`]), /netroot-freeze/, 'the freeze snapshot is gone');
    await be.unexport(inst.targetIqn);
    await assert.rejects(be.freezeGolden('os3', 'compute-0-1', 'x'), { code: 'E_GOLDEN_SOURCE' });
    await assert.rejects(be.freezeGolden('os3', 'missing', 'x'), { code: 'E_GOLDEN_SOURCE' });
    await assert.rejects(be.resetClone('installed'), { code: 'E_GOLDEN_SOURCE' });

    await be.deleteVolume('compute-0-1');
    assert.deepEqual(await be.clonesOf('os1'), []);
    await be.removeGolden('os1');
    await be.removeGolden('os2');
    await be.deleteVolume('installed');
    assert.deepEqual(await be.listGolden(), []);
    assert.equal(rbdSync(ceph, ['ls', ceph.pool]).trim(), '');
  });

  test('a storage node (`storage serve --backend rbd`) serves RBD volumes over its API', async () => {
    const node = createStorageNode({
      backend: 'rbd',
      token: 't'.repeat(40),
      httpHost: '127.0.0.1',
      httpPort: 0,
      iscsiHost: '127.0.0.1',
      iscsiPort: tgtd.port,
      portal: '127.0.0.1',
      volumesDir: join(tmp.dir, 'unused'),
      rbd: { pool: ceph.pool, conf: ceph.conf, clientId: ceph.clientId, keyring: ceph.clientKeyring, timeoutSeconds: 3, stateDir: join(tmp.dir, 'sn') },
      tgtControlPort: ctl,
      logger: silentLogger,
    });
    await node.start();
    try {
      const r = new RemoteBackend({ url: `http://127.0.0.1:${node.httpPort()}`, token: 't'.repeat(40), kind: 'rbd' });
      assert.equal(await r.remoteKind(), 'rbd');
      assert.equal((await r.createVolume({ name: 'remote-1', sizeBytes: 4 * MiB })).sizeBytes, 4 * MiB);
      assert.deepEqual(
        (await r.listVolumes()).map((v) => v.name),
        ['remote-1'],
      );
      assert.ok((await r.capacity()).freeBytes > 0);
      await r.deleteVolume('remote-1');
      assert.deepEqual(await r.listVolumes(), []);
    } finally {
      await node.stop();
    }
  });

  describe('the allocation plugin on storage.backend rbd', () => {
    let f: Frontend;
    let dir: string;
    const logs: string[] = [];
    const attrs = async (host: string) => Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: host })).map((a) => [a.name, a.value]));
    const recorded = async (host: string): Promise<ExportSpec> => {
      const a = await attrs(host);
      return {
        volume: a['iscsi_volume'] ?? host,
        targetIqn: a['iscsi_target']!,
        initiatorIqn: a['iscsi_initiator']!,
        chap: { user: a['iscsi_user']!, secret: a['iscsi_secret']! },
        lun: Number(a['iscsi_lun']),
      };
    };
    const images = () => rbdSync(ceph, ['ls', ceph.pool]).split('\n').filter(Boolean).sort();
    const key = () => /key = (\S+)/.exec(readFileSync(ceph.clientKeyring, 'utf8'))?.[1] ?? 'no key found';

    before(async () => {
      dir = join(tmp.dir, 'fe');
      mkdirSync(join(dir, 'plugins'), { recursive: true });
      writeFileSync(
        join(dir, 'plugins', '70-site.mjs'),
        [
          `import { existsSync, readFileSync } from 'node:fs';`,
          `const refuse = ${JSON.stringify(join(dir, 'refuse'))};`,
          `const killMon = ${JSON.stringify(join(dir, 'kill-mon'))};`,
          'export default { name: "70-site", async added() {',
          '  if (existsSync(killMon)) { process.kill(Number(readFileSync(killMon, "utf8")), "SIGKILL"); throw new Error("site plugin refused after the mon died"); }',
          '  if (existsSync(refuse)) throw new Error("site plugin refused");',
          '} };',
          '',
        ].join('\n'),
      );
      const config = loadConfig({
        env: {},
        overrides: {
          ...frontendOverrides(dir),
          'iscsi.port': String(tgtd.port),
          'storage.backend': 'rbd',
          'storage.tgtControlPort': String(ctl),
          'storage.rbd.pool': ceph.pool,
          'storage.rbd.conf': ceph.conf,
          'storage.rbd.clientId': ceph.clientId,
          'storage.rbd.keyring': ceph.clientKeyring,
          'storage.rbd.timeoutSeconds': '3',
        },
      });
      f = createFrontend(config, { logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }) });
      await f.start();
    });
    after(async () => {
      await f?.stop();
    });

    test('a new diskless node gets an RBD image exported by tgt; a refused add rolls both back', async () => {
      const h = await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
      const a = await attrs(h.name);
      assert.equal(a['iscsi_lun'], '1');
      assert.equal(a['iscsi_port'], String(tgtd.port));
      assert.deepEqual(images(), [h.name]);
      const e = await recorded(h.name);
      const i = await session(e);
      try {
        assert.equal((await i.scsi(cdb.rw10(0x2a, 0, 1, true), { lun: 1, write: Buffer.alloc(BS, 'node-data;') })).status, 0);
        await i.logout();
      } finally {
        i.close();
      }

      writeFileSync(join(dir, 'refuse'), '');
      await assert.rejects(f.engine.add({ mac: mac(2) }, { appliance: 'compute-diskless' }), { code: 'E_PLUGIN_FAILED' });
      rmSync(join(dir, 'refuse'));
      assert.deepEqual(images(), [h.name], "the refused node's image was removed");
      assert.deepEqual(
        (await f.storage.nodes[0]!.backend.listExports()).map((x) => x.targetIqn),
        [e.targetIqn],
      );
    });

    test('the Ceph mon stopped: allocation fails cleanly (E_RBD_DOWN, no secret), exported volumes keep serving; lost mid-add: the host is kept failed until removed', async () => {
      const serving = await recorded('compute-0-0');
      await ceph.stopMon();
      try {
        const t0 = performance.now();
        await assert.rejects(f.engine.add({ mac: mac(3) }, { appliance: 'compute-diskless' }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'E_PLUGIN_FAILED');
          // pickStorageNode's E_STORAGE_DOWN, naming the node's own code.
          assert.match(err.message, /no storage node answered: local \(E_RBD_DOWN: the Ceph cluster is not reachable: rbd du rbd failed/);
          assert.ok(!err.message.includes(key()), 'the client key is not in the error');
          return true;
        });
        assert.ok(performance.now() - t0 < 30_000, 'bounded by storage.rbd.timeoutSeconds');
        assert.equal(await f.store.hosts.byMac(mac(3)), null, 'the host add was rolled back');
        assert.deepEqual(
          (await f.storage.nodes[0]!.backend.listExports()).map((x) => x.targetIqn),
          [serving.targetIqn],
          'no target was left for it',
        );
        // tgtd's librbd talks to the OSD directly: the exported volume reads and writes on.
        const i = await session(serving);
        try {
          assert.deepEqual((await i.scsi(cdb.rw10(0x28, 0, 1), { lun: 1, readLength: BS })).data, Buffer.alloc(BS, 'node-data;'));
          const w = Buffer.alloc(BS, 'written-while-mon-down;');
          assert.equal((await i.scsi(cdb.rw10(0x2a, 1, 1, true), { lun: 1, write: w })).status, 0);
          assert.deepEqual((await i.scsi(cdb.rw10(0x28, 1, 1), { lun: 1, readLength: BS })).data, w);
          await i.logout();
        } finally {
          i.close();
        }
      } finally {
        await ceph.startMon();
      }
      assert.ok(!logs.join('\n').includes(key()), 'the client key is never logged');
      // The cluster lost in the middle of an add (after the image was made and exported, before
      // the add completed): the target goes, the image cannot (the mon is down), so the host is
      // kept as failed saying what is left; once the cluster is back, removing it cleans up.
      writeFileSync(join(dir, 'kill-mon'), String(ceph.monPid()));
      try {
        await assert.rejects(f.engine.add({ mac: mac(5) }, { appliance: 'compute-diskless' }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'E_PLUGIN_FAILED');
          assert.match(err.message, /site plugin refused after the mon died/);
          assert.match(err.message, /plugin 40-iscsi-allocation could not undo: the Ceph cluster is not reachable: rbd rm rbd\/compute-0-\d+ failed/);
          assert.ok(!err.message.includes(key()));
          return true;
        });
      } finally {
        rmSync(join(dir, 'kill-mon'));
        await ceph.stopMon();
        await ceph.startMon();
      }
      const failed = (await f.store.hosts.byMac(mac(5)))!;
      assert.equal(failed.state, 'failed');
      assert.deepEqual(
        (await f.storage.nodes[0]!.backend.listExports()).map((x) => x.targetIqn),
        [serving.targetIqn],
        'its target was removed',
      );
      assert.ok(images().includes(failed.name), 'its image is left until the cluster answers');
      await f.engine.remove(failed.name);
      assert.ok(!images().includes(failed.name));
      // The cluster back: the next node is allocated.
      const h = await f.engine.add({ mac: mac(4) }, { appliance: 'compute-diskless' });
      assert.deepEqual(images(), ['compute-0-0', h.name].sort());
      await f.engine.remove(h.name);
      await f.engine.remove('compute-0-0');
      assert.deepEqual(images(), []);
    });
  });
});
