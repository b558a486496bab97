// Golden volumes and clones on the tgt and LIO backends (issue #20, Build 2: src/storage/file-clones.ts).
// Both paths for real:
//  - a file system that cannot reflink (tmpfs, /dev/shm): every clone is a full copy and the log says
//    so (`golden clone is a full copy`, naming the clone, the golden volume and the bytes copied);
//  - one that can (XFS with reflink=1, made by mkfs.xfs in a file and loop-mounted; root): the clone
//    shares its blocks with the golden file (filefrag's `shared` extents), no warning, a real tgtd
//    exports it with CHAP and a write over iSCSI changes the clone only.
// The clone semantics (content, mode, records, refusals, reset, promote) are the embedded target's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canClone } from '../../src/storage/backend.js';
import { TgtBackend } from '../../src/storage/tgt.js';
import { LioBackend } from '../../src/storage/lio.js';
import { goldenCatalogOf } from '../../src/storage/golden-catalog.js';
import { NetrootError } from '../../src/errors.js';
import { captureLogs } from '../helpers/log-capture.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { cdb, TestInitiator } from '../iscsi/helpers/initiator.js';
import { freePort, nodeSpec, startTgtd, type Tgtd } from './helpers.js';
import { createFrontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { cli } from '../helpers/cli.js';

const code = (c: string) => (e: unknown) => e instanceof NetrootError && e.code === c;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const MiB = 1 << 20;
const notRoot = process.getuid?.() !== 0 && process.env['CI'] !== 'true' ? 'needs root (tgtd; the loop mount of an XFS file system)' : false;

/** A 4 MiB "installed" volume: a few marked blocks, the rest a hole. */
function installed(path: string): Buffer {
  const b = Buffer.alloc(4 * MiB);
  for (let i = 0; i < 8; i++) b.write(`golden block ${i} `.repeat(20), i * 256 * 1024);
  writeFileSync(path, b);
  return b;
}

describe('tgt and LIO clones where the file system cannot reflink (tmpfs): full copies, with a warning', () => {
  let dir: string;
  let tgtd: Tgtd | undefined;
  const ctl = 5000 + ((process.pid + 2113) % 20000);
  before(() => {
    // tmpfs has no FICLONE: this is the fallback path on every machine, whatever /tmp is.
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'nrt-fclone-'));
  });
  after(async () => {
    await tgtd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // tgt asks a real tgtd whether a clone is exported (reset); LIO a stand-in configfs tree.
  for (const kind of ['tgt', 'lio'] as const) {
    const skip = kind === 'tgt' ? skipUnless([['tgtd', 'tgt']]) || notRoot : false;
    test(`${kind}: golden from a volume, clone, write, refusals, reset, promote`, { skip }, async () => {
      const logs = captureLogs('info');
      const volumesDir = join(dir, kind, 'volumes');
      let be: TgtBackend | LioBackend;
      if (kind === 'tgt') {
        tgtd = await startTgtd(await freePort(), ctl);
        be = new TgtBackend({ volumesDir, portal: '127.0.0.1', port: tgtd.port, controlPort: ctl, logger: logs.logger });
      } else {
        mkdirSync(join(dir, kind, 'configfs'), { recursive: true });
        be = new LioBackend({ volumesDir, portal: '127.0.0.1', configfsRoot: join(dir, kind, 'configfs'), mode: 'directory', logger: logs.logger });
      }
      assert.ok(canClone(be), `${kind} is a CloningBackend`);
      mkdirSync(volumesDir, { recursive: true });
      const src = join(volumesDir, 'compute-0-0.img');
      const data = installed(src);
      const cat = goldenCatalogOf(be, join(dir, 'tmp'));
      assert.ok(cat, `${kind} has a golden catalog`);
      assert.equal(cat.kind, kind);
      const frozen = await cat.freeze('g1', 'compute-0-0', {
        from: 'host compute-0-0',
        boot: { rootUuid: '7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f', osImage: null },
      });
      assert.equal(frozen.entry.reflinked, false);
      assert.match(frozen.warning ?? '', /cannot reflink .*: golden volume g1 is a full copy of 4194304 bytes$/);
      assert.equal(await be.hasGolden('g1'), true);
      assert.deepEqual(await be.goldenBoot('g1'), { rootUuid: '7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f', osImage: null });

      const c = await be.cloneVolume('c1', 'g1', 6 * MiB);
      assert.equal(c.sizeBytes, 6 * MiB, 'grown to the size asked for');
      assert.equal(statSync(c.path!).mode & 0o777, 0o600, 'a volume, not the golden 0444');
      assert.deepEqual(readFileSync(c.path!).subarray(0, 4 * MiB), data);
      const warned = logs.records.filter((r) => r['msg'] === 'golden clone is a full copy');
      assert.equal(warned.length, 1, JSON.stringify(logs.records));
      assert.equal(warned[0]!['level'], 'warn');
      assert.equal(warned[0]!['volume'], 'c1');
      assert.match(
        String(warned[0]!['warning']),
        /^the file system of .* cannot reflink \(.*\): clone c1 of golden volume g1 is a full copy of 4194304 bytes$/,
      );
      assert.deepEqual(await cat.clonesOf('g1'), ['c1']);
      assert.equal(await be.volumes.cloneOf('c1'), 'g1');
      assert.deepEqual(
        (await be.listVolumes()).map((v) => v.name),
        ['c1', 'compute-0-0'],
        'no temporary file is left to look like a volume',
      );

      // The node writes its clone: the golden file is untouched (its identity and sha256 still verify).
      writeFileSync(c.path!, 'node c1 wrote this', { flag: 'r+' });
      assert.equal((await cat.verify('g1')).checksummed, true);
      await assert.rejects(be.cloneVolume('c1', 'g1'), code('E_STORAGE_EXISTS'));
      await assert.rejects(be.cloneVolume('c2', 'nope'), code('E_GOLDEN_NOT_FOUND'));
      await assert.rejects(cat.remove('g1'), code('E_GOLDEN_IN_USE'));
      await assert.rejects(be.resetClone('compute-0-0'), code('E_GOLDEN_SOURCE'));

      // promote: the clone's current state, the next version of the line (a copy of the clone file).
      const v2 = await cat.promote('c1', { from: 'host c1' });
      assert.equal(v2.name, 'g1-v2');
      assert.equal(v2.version, 2);
      assert.equal(v2.parent, 'g1');
      assert.equal(readFileSync(v2.path!).subarray(0, 18).toString(), 'node c1 wrote this');
      assert.equal(logs.records.filter((r) => r['msg'] === 'golden volume is a full copy').length, 1);

      // reset: the clone is the golden volume again, at the same size.
      const r = await be.resetClone('c1');
      assert.equal(r.sizeBytes, 6 * MiB);
      assert.deepEqual(readFileSync(r.path!).subarray(0, 4 * MiB), data);
      assert.equal(logs.records.filter((x) => x['msg'] === 'golden clone is a full copy').length, 2);

      // A golden file changed under it: no clone is made from it.
      await be.deleteVolume('c1');
      await cat.remove('g1-v2');
      await cat.remove('g1');
      await assert.rejects(be.cloneVolume('c1', 'g1'), code('E_GOLDEN_NOT_FOUND'));
    });
  }

  test('a golden file changed since it was recorded is not cloned (E_GOLDEN_CHANGED), and nothing is left', async () => {
    const volumesDir = join(dir, 'changed', 'volumes');
    const be = new LioBackend({ volumesDir, portal: '127.0.0.1', configfsRoot: join(dir, 'changed', 'configfs'), mode: 'directory' });
    mkdirSync(volumesDir, { recursive: true });
    installed(join(volumesDir, 'src.img'));
    const g = (await be.golden.create('g', join(volumesDir, 'src.img'), 'test')).info;
    spawnSync('chmod', ['0644', g.path]);
    writeFileSync(g.path, 'changed', { flag: 'r+' });
    await assert.rejects(be.cloneVolume('c', 'g'), code('E_GOLDEN_CHANGED'));
    assert.equal(await be.volumes.get('c'), null);
    assert.equal(await be.volumes.cloneOf('c'), null);
  });
});

const XFS_TOOLS: Array<[string, string]> = [
  ['mkfs.xfs', 'xfsprogs'],
  ['filefrag', 'e2fsprogs'],
  ['tgtd', 'tgt'],
];

describe('tgt clones on XFS with reflink=1 (a loop-mounted file system): shared blocks, no warning, served by tgtd', {
  skip: skipUnless(XFS_TOOLS) || notRoot,
}, () => {
  let dir: string;
  let mnt: string;
  let tgtd: Tgtd | undefined;
  const ctl = 5000 + ((process.pid + 4241) % 20000);
  before(() => {
    assertTools(XFS_TOOLS);
    dir = mkdtempSync('/tmp/nrt-xfs-');
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const img = join(dir, 'xfs.img');
    // 300 MiB is mkfs.xfs's smallest file system; the file is sparse (a few MiB are written).
    assert.equal(spawnSync('truncate', ['-s', '320M', img]).status, 0);
    const mk = spawnSync('mkfs.xfs', ['-q', '-m', 'reflink=1', img], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const m = spawnSync('mount', ['-o', 'loop', img, mnt], { encoding: 'utf8' });
    assert.equal(m.status, 0, `mount -o loop (XFS): ${m.stderr}`);
  });
  after(async () => {
    await tgtd?.stop();
    if (mnt) spawnSync('umount', [mnt]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('golden and clone are reflinks; tgtd serves the clone with CHAP; a write over iSCSI changes the clone only', { timeout: 60_000 }, async () => {
    const logs = captureLogs('info');
    tgtd = await startTgtd(await freePort(), ctl);
    const volumesDir = join(mnt, 'volumes');
    const be = new TgtBackend({ volumesDir, portal: '127.0.0.1', port: tgtd.port, controlPort: ctl, logger: logs.logger });
    mkdirSync(volumesDir, { recursive: true });
    const data = installed(join(volumesDir, 'src.img'));
    const made = await be.golden.create('g', join(volumesDir, 'src.img'), 'host src');
    assert.equal(made.info.reflinked, true);
    assert.equal(made.warning, undefined);
    const golden = made.info.path;
    const before = sha(golden);

    const c = await be.cloneVolume('compute-0-0', 'g');
    assert.deepEqual(readFileSync(c.path!), data);
    assert.deepEqual(
      logs.records.filter((r) => r['level'] === 'warn'),
      [],
      'a reflink warns of nothing',
    );
    assert.equal(logs.records.filter((r) => r['msg'] === 'golden clone (reflink)').length, 1);
    // The FICLONE result: the clone's data extents are shared with the golden file.
    const frag = spawnSync('filefrag', ['-v', c.path!], { encoding: 'utf8' });
    assert.equal(frag.status, 0, frag.stderr);
    assert.match(frag.stdout, /shared/, `the clone's extents are shared:\n${frag.stdout}`);

    // Served by tgtd as any volume (LUN 1, CHAP, ACL): read the golden data, write a block.
    const spec = nodeSpec(1);
    await be.exportVolume(spec);
    const i = await TestInitiator.connect(tgtd.port);
    try {
      const l = await i.login({ initiator: spec.initiatorIqn, target: spec.targetIqn, chap: { user: spec.chap.user, secret: spec.chap.secret } });
      assert.equal(l.statusClass, 0, `login ${l.statusClass}/${l.statusDetail}`);
      // tgt's power-on UNIT ATTENTION goes to the first command of a new nexus.
      if ((await i.scsi(cdb.tur(), { lun: 1 })).status !== 0) assert.equal((await i.scsi(cdb.tur(), { lun: 1 })).status, 0);
      const r = await i.scsi(cdb.rw10(0x28, 0, 8), { lun: 1, readLength: 4096 });
      assert.equal(r.status, 0);
      assert.deepEqual(r.data, data.subarray(0, 4096));
      const w = await i.scsi(cdb.rw10(0x2a, 0, 1, true), { lun: 1, write: Buffer.alloc(512, 'W') });
      assert.equal(w.status, 0);
      await i.logout();
    } finally {
      i.close();
    }
    await be.unexport(spec.targetIqn);
    assert.deepEqual(readFileSync(c.path!).subarray(0, 512), Buffer.alloc(512, 'W'), 'the write is in the clone');
    assert.equal(sha(golden), before, 'the golden file is unchanged');
    await be.golden.verifyIdentity('g');
  });
  test('storage.backend tgt: golden create --from a host, then golden=NAME gives a new host a reflink clone that boots os at once', {
    timeout: 60_000,
  }, async () => {
    tgtd ??= await startTgtd(await freePort(), ctl);
    const dir2 = join(mnt, 'fe');
    mkdirSync(dir2, { recursive: true });
    const overrides: Record<string, string> = {
      'iscsi.port': String(tgtd.port),
      'storage.backend': 'tgt',
      'storage.tgtControlPort': String(ctl),
      'storage.volumesDir': join(mnt, 'fe-volumes'),
    };
    const f = createFrontend(loadConfig({ env: {}, overrides: { ...frontendOverrides(dir2), ...overrides } }), { logger: silentLogger });
    await f.start();
    try {
      const set = [
        '--set',
        `http.port=${f.httpPort()}`,
        '--set',
        'http.host=127.0.0.1',
        ...Object.entries(overrides).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
      ];
      const src = (await f.engine.add({ mac: '52:54:00:00:2c:01' }, { appliance: 'compute-diskless' })).name;
      const uuid = '7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
      await f.store.boot.put({ host: src, kernel: 'k', initrd: 'i', overlay: null, args: `root=UUID=${uuid}` });
      const srcVol = join(mnt, 'fe-volumes', `${src}.img`);
      writeFileSync(srcVol, 'installed root', { flag: 'r+' });
      const r = await cli(dir2, ...set, 'golden', 'create', 'g1', '--from', src, '--json');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '', 'a reflink: no warning');
      assert.equal((JSON.parse(r.out) as { reflinked: boolean }).reflinked, true);
      await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1' });
      const c1 = (await f.engine.add({ mac: '52:54:00:00:2c:02' }, { appliance: 'compute-diskless' })).name;
      const attrs = Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: c1 })).map((a) => [a.name, a.value]));
      assert.equal(attrs['iscsi_golden'], 'g1');
      assert.equal(attrs['iscsi_root_uuid'], uuid);
      assert.equal(attrs['iscsi_lun'], '1');
      assert.equal((await f.store.hosts.get(c1))!.bootAction, 'os', 'a clone boots its OS at once');
      const cloneVol = join(mnt, 'fe-volumes', `${c1}.img`);
      assert.equal(readFileSync(cloneVol).subarray(0, 14).toString(), 'installed root');
      assert.match(spawnSync('filefrag', ['-v', cloneVol], { encoding: 'utf8' }).stdout, /shared/);
      const l = await cli(dir2, ...set, 'golden', 'list');
      assert.match(l.out, /^g1\s+1\s+\S+\s+1\s+reflink\s/m);
    } finally {
      await f.stop();
    }
  });
});
