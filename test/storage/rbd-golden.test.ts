// `netroot golden` on `storage.backend: rbd` (issue #20) against a real single-node Ceph cluster
// (test/helpers/ceph.ts) and a real tgtd with bs_rbd: create --from HOST (a diskless host's RBD
// image, written over iSCSI) and --image IMAGE (laid into a temporary file, then rbd import),
// list/show (show --verify says there is no checksum, the snapshot is protected), clone allocation
// through golden=NAME with the clone attributes (boot `os` at once), remove refused while clones
// exist, promote (a flattened copy of a clone's current state as the next version), and the
// cluster's mon stopped: allocation of a clone says E_STORAGE_DOWN naming E_RBD_DOWN (not "no
// such golden volume") and rolls back. One cluster for the file. Needs root, ceph, tgt, tgt-rbd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { RbdBackend } from '../../src/storage/rbd.js';
import { recordedExport } from '../../src/discovery/plugins/iscsi-allocation.js';
import { CEPH_TOOLS, rbdSync, startCephCluster, type CephCluster } from '../helpers/ceph.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { cli } from '../helpers/cli.js';
import { writeImage } from '../image/helpers.js';
import { cdb, TestInitiator } from '../iscsi/helpers/initiator.js';
import { freePort, startTgtd, tempDir, type Tgtd } from './helpers.js';

const TOOLS: Array<[string, string]> = [...CEPH_TOOLS, ['tgtd', 'tgt'], ['/usr/lib/tgt/backing-store/bs_rbd.so', 'tgt-rbd']];
const notRoot = process.getuid?.() !== 0 ? 'needs root (tgtd, loop device)' : false;
const skip = skipUnless(TOOLS) || (process.env['CI'] === 'true' ? false : notRoot);

const BS = 512;
const UUID = '7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const mac = (i: number) => `52:54:00:00:2b:${i.toString(16).padStart(2, '0')}`;
const block = (lba: number) => Buffer.from(`rbd golden lba${lba} `.repeat(40).slice(0, BS), 'latin1');

function rootTarball(dir: string): Buffer {
  const src = join(dir, 'img-src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc/os-release'), 'ID=rbd-golden-test\n');
  const out = join(dir, 'root.tar.gz');
  assert.equal(spawnSync('tar', ['-czf', out, '-C', src, '.']).status, 0);
  const b = readFileSync(out);
  rmSync(src, { recursive: true });
  rmSync(out);
  return b;
}

describe('netroot golden on storage.backend rbd (real Ceph cluster, tgtd bs_rbd)', { skip }, () => {
  let ceph: CephCluster;
  let tgtd: Tgtd;
  let tmp: ReturnType<typeof tempDir>;
  let f: Frontend;
  let dir: string;
  let set: string[];
  const ctl = 5000 + ((process.pid + 7919) % 20000);
  const attrs = async (host: string) => Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: host })).map((a) => [a.name, a.value]));
  const images = () => rbdSync(ceph, ['ls', ceph.pool]).split('\n').filter(Boolean).sort();
  const golden = (...argv: string[]) => cli(dir, ...set, 'golden', ...argv);

  /** One iSCSI session as `host`'s own initiator through tgtd. */
  async function asHost(host: string, fn: (i: TestInitiator, lun: number) => Promise<void>): Promise<void> {
    const rec = recordedExport(host, await attrs(host))!;
    const i = await TestInitiator.connect(tgtd.port);
    try {
      const l = await i.login({
        initiator: rec.spec.initiatorIqn,
        target: rec.spec.targetIqn,
        chap: { user: rec.spec.chap.user, secret: rec.spec.chap.secret },
      });
      assert.equal(l.statusClass, 0, `login ${host}: ${l.statusClass}/${l.statusDetail}`);
      // tgt's power-on UNIT ATTENTION goes to the first command of a new nexus.
      if ((await i.scsi(cdb.tur(), { lun: rec.spec.lun })).status !== 0) assert.equal((await i.scsi(cdb.tur(), { lun: rec.spec.lun })).status, 0);
      await fn(i, rec.spec.lun);
      await i.logout();
    } finally {
      i.close();
    }
  }
  const read = async (i: TestInitiator, lun: number, lba: number, n: number) => {
    const r = await i.scsi(cdb.rw10(0x28, lba, n), { lun, readLength: n * BS });
    assert.equal(r.status, 0);
    return r.data;
  };

  before(async () => {
    assertTools(TOOLS);
    const t0 = performance.now();
    tmp = tempDir('nrt-rbdg-');
    ceph = await startCephCluster();
    tgtd = await startTgtd(await freePort(), ctl);
    dir = join(tmp.dir, 'fe');
    mkdirSync(dir, { recursive: true });
    const overrides: Record<string, string> = {
      'iscsi.port': String(tgtd.port),
      'storage.backend': 'rbd',
      'storage.tgtControlPort': String(ctl),
      'storage.rbd.pool': ceph.pool,
      'storage.rbd.conf': ceph.conf,
      'storage.rbd.clientId': ceph.clientId,
      'storage.rbd.keyring': ceph.clientKeyring,
      'storage.rbd.timeoutSeconds': '3',
    };
    f = createFrontend(loadConfig({ env: {}, overrides: { ...frontendOverrides(dir), ...overrides } }), { logger: silentLogger });
    await f.start();
    set = ['--set', `http.port=${f.httpPort()}`, '--set', 'http.host=127.0.0.1', ...Object.entries(overrides).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
    process.stderr.write(`# ceph cluster started in ${Math.round(ceph.startMs)} ms, setup ${Math.round(performance.now() - t0)} ms\n`);
  });
  after(async () => {
    await f?.stop();
    await tgtd?.stop();
    await ceph?.stop();
    tmp?.cleanup();
  });

  test('create --from HOST and --image, list/show, clones via golden=NAME boot at once, remove refused, promote', { timeout: 180_000 }, async () => {
    // An "installed" diskless host: blocks written over iSCSI, a boot record with its root UUID.
    const src = (await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' })).name;
    await asHost(src, async (i, lun) => {
      const w = await i.scsi(cdb.rw10(0x2a, 0, 16, true), { lun, write: Buffer.concat(Array.from({ length: 16 }, (_, lba) => block(lba))) });
      assert.equal(w.status, 0);
    });
    await f.store.boot.put({ host: src, kernel: 'k', initrd: 'i', overlay: null, args: `root=UUID=${UUID}` });

    let r = await golden('create', 'g1', '--from', src, '--json');
    assert.equal(r.code, 0, r.err);
    const g1 = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(g1['name'], 'g1');
    assert.equal(g1['sizeBytes'], 16 << 20);
    assert.equal(g1['from'], `host ${src}`);
    assert.equal(g1['version'], 1);
    assert.deepEqual(g1['boot'], { rootUuid: UUID, osImage: null });
    assert.equal(g1['snapshot'], `${ceph.pool}/_golden.g1@golden`);
    assert.equal(g1['sha256'], undefined, 'no checksum is pretended');
    assert.deepEqual(g1['clones'], []);
    assert.equal(r.err, '');
    assert.match(rbdSync(ceph, ['snap', 'ls', `${ceph.pool}/_golden.g1`]), /golden/);

    r = await golden('create', 'g1', '--from', src);
    assert.equal(r.code, 2);
    assert.match(r.err, /golden volume g1 exists/);

    // --image: laid into a temporary file (removed afterwards), imported, recorded with its boot facts.
    writeImage(f.config.tftp.root, 'img1', { root: rootTarball(tmp.dir) });
    r = await golden('create', 'gi', '--image', 'img1', '--size', '24M', '--json');
    assert.equal(r.code, 0, r.err);
    const gi = JSON.parse(r.out) as { sizeBytes: number; from: string; boot: { rootUuid: string; osImage: string } };
    assert.equal(gi.sizeBytes, 24 << 20);
    assert.equal(gi.from, 'image img1');
    assert.equal(gi.boot.osImage, 'img1');
    const exported = join(tmp.dir, 'gi.raw');
    rbdSync(ceph, ['export', `${ceph.pool}/_golden.gi@golden`, exported]);
    assert.match(
      spawnSync('blkid', ['-p', '-O', String(1 << 20), '-o', 'export', exported], { encoding: 'utf8' }).stdout,
      new RegExp(`^UUID=${gi.boot.rootUuid}$`, 'm'),
    );
    rmSync(exported);
    assert.deepEqual(
      readdirSync(join(dir, 'rbd')).filter((n) => n.startsWith('.golden-')),
      [],
      'the temporary image is gone',
    );

    r = await golden('list');
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^NAME\s+VERSION\s+SIZE GiB\s+CLONES\s+COPY\s+FROM\s+CREATED\s+SHA256\ng1\s+1\s+0\.02\s+0\s+rbd\s+host compute-0-0\s+\S+\s+-\ngi\s+1\s+0\.02\s+0\s+rbd\s+image img1\s+\S+\s+-\n$/,
    );
    r = await golden('show', 'g1', '--verify');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^snapshot\s+rbd\/_golden\.g1@golden$/m);
    assert.match(r.out, new RegExp(`^boot\\s+root=UUID=${UUID}$`, 'm'));
    assert.match(r.out, /^verified\s+no checksum: rbd\/_golden\.g1@golden is a protected RBD snapshot, which cannot be written \(checked: protected\)$/m);
    assert.doesNotMatch(r.out, /sha256/);
    r = await golden('show', 'g1', '--verify', '--json');
    assert.equal(r.code, 0, r.err);
    assert.match((JSON.parse(r.out) as { immutable: string }).immutable, /protected RBD snapshot/);
    // An unprotected snapshot (changed by hand) is reported, not verified.
    rbdSync(ceph, ['snap', 'unprotect', `${ceph.pool}/_golden.gi@golden`]);
    r = await golden('show', 'gi', '--verify');
    assert.equal(r.code, 1);
    assert.match(r.err, /golden volume gi: its snapshot rbd\/_golden\.gi@golden is not protected/);
    r = await golden('show', 'nope');
    assert.equal(r.code, 2);
    assert.match(r.err, /no golden volume nope/);
    // Unprotected, gi is simply removed (nothing was cloned from it).
    r = await golden('remove', 'gi');
    assert.equal(r.code, 0, r.err);

    // golden=g1: the next diskless host gets an RBD clone with the attributes that boot it at once.
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1' });
    const c1 = (await f.engine.add({ mac: mac(2) }, { appliance: 'compute-diskless' })).name;
    assert.match(rbdSync(ceph, ['info', `${ceph.pool}/${c1}`]), /parent: rbd\/_golden\.g1@golden/);
    const a = await attrs(c1);
    assert.equal(a['iscsi_golden'], 'g1');
    assert.equal(a['iscsi_root_uuid'], UUID);
    assert.match(a['iscsi_clone_id'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal((await f.store.hosts.get(c1))!.bootAction, 'os');
    const mine = Buffer.alloc(BS, `${c1} was here;`);
    await asHost(c1, async (i, lun) => {
      const d = await read(i, lun, 0, 16);
      for (let lba = 0; lba < 16; lba++) assert.deepEqual(d.subarray(lba * BS, (lba + 1) * BS), block(lba), `block ${lba}`);
      assert.equal((await i.scsi(cdb.rw10(0x2a, 0, 1, true), { lun, write: mine })).status, 0);
    });
    r = await golden('list', '--json');
    assert.deepEqual((JSON.parse(r.out) as Array<{ clones: string[] }>)[0]!.clones, [c1]);

    r = await golden('remove', 'g1');
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`golden volume g1 has 1 clone\\(s\\): ${c1}`));
    r = await golden('create', 'g9', '--from', c1);
    assert.equal(r.code, 2);
    assert.match(r.err, /is a clone; freezing a clone/);

    // promote: c1's current state (golden blocks under its write) is g1-v2, parent g1, same boot.
    r = await golden('promote', c1, '--json');
    assert.equal(r.code, 0, r.err);
    const g2 = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(g2['name'], 'g1-v2');
    assert.equal(g2['version'], 2);
    assert.equal(g2['parent'], 'g1');
    assert.equal(g2['from'], `host ${c1}`);
    assert.deepEqual(g2['boot'], { rootUuid: UUID, osImage: null });
    assert.doesNotMatch(rbdSync(ceph, ['info', `${ceph.pool}/_golden.g1-v2`]), /parent:/, 'a flattened copy, not a clone of g1');
    assert.match(rbdSync(ceph, ['info', `${ceph.pool}/${c1}`]), /parent: rbd\/_golden\.g1@golden/, 'the clone keeps its base');
    r = await golden('promote', src);
    assert.equal(r.code, 2);
    assert.match(r.err, /is not a clone/);
    r = await golden('promote', c1, '--name', 'g1-v2');
    assert.equal(r.code, 2);
    assert.match(r.err, /golden volume g1-v2 exists/);

    // A clone of g1-v2 reads the promoted state; the version after counts on.
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1-v2' });
    const c2 = (await f.engine.add({ mac: mac(3) }, { appliance: 'compute-diskless' })).name;
    assert.equal((await attrs(c2))['iscsi_golden'], 'g1-v2');
    await asHost(c2, async (i, lun) => {
      const d = await read(i, lun, 0, 2);
      assert.deepEqual(d.subarray(0, BS), mine);
      assert.deepEqual(d.subarray(BS), block(1));
    });
    r = await golden('promote', c2, '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([(JSON.parse(r.out) as { name: string }).name, (JSON.parse(r.out) as { version: number }).version], ['g1-v3', 3]);

    // Clones gone, their golden volumes can go.
    await f.engine.remove(c2);
    await f.engine.remove(c1);
    for (const n of ['g1-v3', 'g1-v2', 'g1']) {
      r = await golden('remove', n);
      assert.equal(r.code, 0, r.err);
    }
    assert.deepEqual(images(), [src]);
  });

  test('the Ceph mon stopped: a clone allocation says E_STORAGE_DOWN (E_RBD_DOWN), not "no such golden volume", and rolls back', {
    timeout: 120_000,
  }, async () => {
    const be = f.storage.nodes[0]!.backend;
    assert.ok(be instanceof RbdBackend);
    const raw = join(tmp.dir, 'gd.raw');
    writeFileSync(raw, Buffer.concat(Array.from({ length: 64 }, (_, lba) => block(lba))));
    await be.importGolden('gd', raw, 'test');
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'gd' });
    const before = images();
    await ceph.stopMon();
    try {
      await assert.rejects(f.engine.add({ mac: mac(4) }, { appliance: 'compute-diskless' }), (err: Error & { code?: string; cause?: { code?: string } }) => {
        assert.equal(err.code, 'E_PLUGIN_FAILED');
        assert.equal(err.cause?.code, 'E_STORAGE_DOWN');
        assert.match(
          err.message,
          /golden volume gd is not on any storage node that answered; no answer from: local \(E_RBD_DOWN: the Ceph cluster is not reachable/,
        );
        assert.doesNotMatch(err.message, /no storage node holds golden volume/);
        return true;
      });
      assert.equal(await f.store.hosts.byMac(mac(4)), null, 'the host add was rolled back');
    } finally {
      await ceph.startMon();
    }
    assert.deepEqual(images(), before, 'no image was left');
    // The cluster back: the same add gets its clone.
    const h = (await f.engine.add({ mac: mac(4) }, { appliance: 'compute-diskless' })).name;
    assert.equal((await attrs(h))['iscsi_golden'], 'gd');
    await f.engine.remove(h);
  });
});
