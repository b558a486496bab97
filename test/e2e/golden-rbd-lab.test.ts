// Issue #20, Build 3's last point: a diskless lab node boots its root from an RBD clone through tgt.
// The full lab on `storage.backend: rbd`: a real single-node Ceph cluster (test/helpers/ceph.ts)
// started inside the lab namespace, where the lab's tgtd (bs_rbd, Debian tgt-rbd) and netroot run.
// One blank node installs onto its RBD image (allocated by the iscsi-allocation plugin, exported
// by tgtd with CHAP), `netroot golden create --from` freezes that image as golden RBD image
// lab-golden (`rbd cp` + protected snapshot), and one more node, given golden=lab-golden, gets an
// RBD snapshot clone and boot action os at once: it boots its root from the clone (the lab's root
// marker), is personalised, writes its own file and its boot count, and keeps them across a
// reboot. Afterwards `rbd` shows the clone's parent is the golden snapshot, the clone holds the
// files the node wrote, and the golden image (snapshot and head) holds neither and is byte for
// byte what it was before the clone booted. Prints the wall time (the CI cost). Needs root, QEMU,
// ceph, tgt, tgt-rbd; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FullLab, exitWithin, namespaces } from '../../src/lab/index.js';
import { openStore } from '../../src/store/index.js';
import { CEPH_TOOLS, rbdSync, startCephCluster, type CephCluster } from '../helpers/ceph.js';
import { assertTools } from '../helpers/tools.js';
import { tempStateDir } from '../helpers/tmp.js';
import { e2eSkip } from './helpers.js';

const STAGE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 300_000);
const TOOLS: Array<[string, string]> = [...CEPH_TOOLS, ['tgtd', 'tgt'], ['/usr/lib/tgt/backing-store/bs_rbd.so', 'tgt-rbd'], ['debugfs', 'e2fsprogs']];

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A file of the ext4 root in partition 1 of raw disk image `img` (debugfs, nothing mounted), or null. */
function rootFile(img: string, path: string): string | null {
  // MBR (the lab installer's one primary partition): signature 55 AA, entry 1 at 446, its first LBA at +8.
  const mbr = readFileSync(img).subarray(0, 512);
  assert.equal(mbr.readUInt16LE(510), 0xaa55, `${img} has an MBR`);
  const start = mbr.readUInt32LE(446 + 8);
  assert.ok(start > 0, `${img} has a partition`);
  const r = spawnSync('debugfs', ['-R', `cat ${path}`, `${img}?offset=${start * 512}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return /File not found/.test(r.stderr) ? null : r.stdout;
}

test('golden on rbd (lab): a node installs onto its RBD image, which becomes golden; a clone node boots its root from an RBD snapshot clone through tgt bs_rbd, and its writes land in the clone, not in the golden image', {
  skip: e2eSkip,
  timeout: 12 * 60_000,
}, async () => {
  assertTools(TOOLS);
  const t0 = Date.now();
  const dir = tempStateDir('nrt-e2e-rbd-');
  const consoleLog = join(dir, 'console.log');
  let ceph: CephCluster | undefined;
  const full = new FullLab({
    workDir: dir,
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes: 2,
    backend: 'rbd',
    rbd: async (lab) => {
      ceph = await startCephCluster({ netns: lab.namespace });
      process.stdout.write(`# ceph cluster up in the lab namespace in ${(ceph.startMs / 1000).toFixed(1)} s\n`);
      return { pool: ceph.pool, conf: ceph.conf, clientId: ceph.clientId, keyring: ceph.clientKeyring };
    },
    stageDeadlineMs: STAGE_MS,
    onProgress: (n, w) => process.stdout.write(`# ${n}: ${w}\n`),
    onConsole: (n, l) => appendFileSync(consoleLog, `${n}| ${l}\n`),
  });
  let ok = false;
  try {
    await full.up();
    const c = ceph!;
    const pool = c.pool;
    // The golden source: one node installed onto its own RBD image (not booted: frozen as the installer left it).
    const src = await full.addNode(0);
    assert.equal(src.host, 'compute-0-0');
    assert.match(rbdSync(c, ['info', `${pool}/${src.host}`]), /size 64 MiB/);
    const inst = await full.installStage(src.host, src.mac);
    const code = await exitWithin(inst.node.exited, 30_000);
    await inst.node.powerOff();
    assert.notEqual(code, 'hung', 'the installer rebooted');
    process.stdout.write(`# ${src.host}: install onto its RBD image ${inst.seconds.toFixed(1)} s\n`);

    // Frozen and cloned through the product: golden create --from, golden=lab-golden, insert-ethers.
    const t1 = Date.now();
    const [clone] = await full.goldenClones({ from: src.host, first: 1, count: 1 });
    assert.ok(clone);
    const bootsSeconds = (Date.now() - t1) / 1000;
    assert.equal(clone.host, 'compute-0-1');
    assert.equal(clone.firstBootCount, 0, 'the golden image was never booted: the clone starts with no boot count');
    assert.equal(clone.secondBootCount, 1, 'the reboot reads the count the first boot wrote into the clone');
    assert.deepEqual(clone.ownFiles, ['own-compute-0-1']);

    // In the cluster: the clone is an RBD snapshot clone of the golden's protected snapshot.
    const golden = `${pool}/_golden.lab-golden`;
    assert.match(rbdSync(c, ['info', `${pool}/${clone.host}`]), new RegExp(`parent: ${golden.replace('.', '\\.')}@golden`));
    assert.match(rbdSync(c, ['snap', 'ls', golden, '--format', 'json']), /"protected":\s*"?true/);
    const children = JSON.parse(rbdSync(c, ['children', `${golden}@golden`, '--format', 'json'])) as Array<{ image: string }>;
    assert.deepEqual(
      children.map((x) => x.image),
      [clone.host],
    );

    // Its writes are in the clone and nowhere in the golden image (snapshot and head).
    const files = join(dir, 'rbd-check');
    spawnSync('mkdir', ['-p', files]);
    const ex = (spec: string, out: string) => {
      rbdSync(c, ['export', spec, out]);
      return out;
    };
    const cloneImg = ex(`${pool}/${clone.host}`, join(files, 'clone.raw'));
    const snapImg = ex(`${golden}@golden`, join(files, 'golden-snap.raw'));
    const headImg = ex(golden, join(files, 'golden-head.raw'));
    assert.equal(rootFile(cloneImg, `/var/lib/netroot-lab/own-${clone.host}`), `${clone.host}\n`);
    assert.equal(rootFile(cloneImg, '/var/lib/netroot-lab/boots'), '2\n');
    assert.equal(rootFile(cloneImg, '/etc/hostname')?.trim(), clone.host, 'personalised in the clone');
    for (const g of [snapImg, headImg]) {
      assert.equal(rootFile(g, `/var/lib/netroot-lab/own-${clone.host}`), null, `${g}: no file of the clone`);
      assert.equal(rootFile(g, '/var/lib/netroot-lab/boots'), null, `${g}: no boot count`);
      assert.notEqual(rootFile(g, '/etc/hostname')?.trim(), clone.host, `${g}: not personalised as the clone`);
    }
    assert.equal(sha256(snapImg), sha256(headImg), 'the golden image head is its snapshot: nothing wrote to it');
    assert.notEqual(sha256(cloneImg), sha256(snapImg));

    const store = openStore(full.stateDir);
    try {
      const attrs = new Map((await store.attributes.list({ scope: 'host', target: clone.host })).map((a) => [a.name, a.value]));
      assert.equal(attrs.get('iscsi_golden'), 'lab-golden');
      assert.equal(attrs.get('iscsi_lun'), '1', "tgt's LUN 0 is its controller");
      assert.ok(attrs.get('iscsi_secret'), 'exported with CHAP');
      assert.ok(!full.frontendLog.includes(attrs.get('iscsi_secret')!), 'no CHAP secret in the frontend log');
      assert.equal((await store.events.list({ host: clone.host, kind: 'host.installed' })).length, 0, `${clone.host} never installed`);
    } finally {
      await store.close();
    }
    const wall = (Date.now() - t0) / 1000;
    process.stdout.write(
      `# golden rbd lab: install ${inst.seconds.toFixed(1)} s, clone power-on to root ${clone.firstSeconds.toFixed(1)} s (again ${clone.rebootSeconds.toFixed(1)} s), freeze + clone + two boots ${bootsSeconds.toFixed(1)} s, whole test ${wall.toFixed(1)} s wall\n`,
    );
    ok = true;
  } finally {
    await full.down();
    await ceph?.stop();
    assert.ok(!namespaces().includes(full.lab.namespace), 'the lab is torn down');
    if (ok) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`# kept ${dir} (console log: ${consoleLog})\n`);
  }
});
