// `netroot golden create|list|show|remove` and clone allocation (issue #20) over a real frontend
// with its embedded iSCSI target on 127.0.0.1: a diskless host's volume is frozen as a golden
// volume, a host of an appliance with `golden=NAME` gets a copy-on-write clone that reads the
// golden content through a real iSCSI session, removal is refused while the clone exists, and a
// golden file changed under its clone is refused at export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, openSync, closeSync, readFileSync, statSync, writeSync } from 'node:fs';
import { cli } from '../helpers/cli.js';
import { startFrontend } from '../helpers/frontend.js';
import { TestInitiator, cdb } from '../iscsi/helpers/initiator.js';
import { recordedExport, resetHostVolume } from '../../src/discovery/plugins/iscsi-allocation.js';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBackend } from '../../src/storage/embedded.js';
import { NetrootError } from '../../src/errors.js';

const BS = 512;
const mac = (i: number) => `52:54:00:00:20:${i.toString(16).padStart(2, '0')}`;

/** "installed" content of block `lba`: its number, repeated. */
function block(lba: number): Buffer {
  const b = Buffer.alloc(BS);
  b.write(`golden lba${lba} `.repeat(60).slice(0, BS), 0, 'latin1');
  return b;
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('golden create --from a host, list/show, clone allocation via golden=NAME read over iSCSI, remove refused, tampered golden refused', {
  timeout: 120_000,
}, async () => {
  const t = await startFrontend();
  const { f, dir, at } = t;
  try {
    const node = f.storage.nodes.find((n) => n.name === 'local')!;
    const be = node.backend;
    assert.ok(be instanceof EmbeddedBackend);

    // An "installed" diskless host: its volume holds recognisable blocks.
    await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    const src = (await be.volumes.require('compute-0-0')).path!;
    const fd = openSync(src, 'r+');
    for (let lba = 0; lba < 64; lba++) writeSync(fd, block(lba), 0, BS, lba * BS);
    closeSync(fd);

    let r = await cli(dir, ...at, 'golden', 'create', 'g1', '--from', 'compute-0-0', '--json');
    assert.equal(r.code, 0, r.err);
    const made = JSON.parse(r.out) as { name: string; sizeBytes: number; sha256: string; reflinked: boolean; path: string; clones: string[]; from: string };
    assert.equal(made.name, 'g1');
    assert.equal(made.sizeBytes, 16 << 20);
    assert.equal(made.sha256, sha256(src));
    assert.equal(made.from, 'host compute-0-0');
    assert.equal(statSync(made.path).mode & 0o777, 0o444);
    // ext4/tmpfs cannot reflink: a full copy, and the warning says so; XFS/btrfs: a reflink, no warning.
    // compute-0-0 never installed (no boot record): its clones will install, and the CLI says so.
    const warnings = r.err.split('\n').filter((l) => l !== '');
    assert.match(warnings[0] ?? '', /^netroot: warning: host compute-0-0 has no diskless boot record .*clones of g1 will install instead/);
    if (made.reflinked) assert.equal(warnings.length, 1);
    else assert.match(warnings[1] ?? '', /^netroot: warning: the file system of .* cannot reflink .*: golden volume g1 is a full copy of 16777216 bytes$/);

    // Refusals: the name is taken, a host without a volume, an unknown host, no --from.
    r = await cli(dir, ...at, 'golden', 'create', 'g1', '--from', 'compute-0-0');
    assert.equal(r.code, 2);
    assert.match(r.err, /golden volume g1 exists/);
    await f.engine.add({ mac: mac(9) }, { appliance: 'compute' });
    r = await cli(dir, ...at, 'golden', 'create', 'g2', '--from', 'compute-0-1');
    assert.equal(r.code, 2);
    assert.match(r.err, /host compute-0-1 has no iSCSI volume/);
    r = await cli(dir, ...at, 'golden', 'create', 'g2', '--from', 'nohost');
    assert.equal(r.code, 2);
    r = await cli(dir, ...at, 'golden', 'create', 'g2');
    assert.equal(r.code, 2);
    assert.match(r.err, /needs --from HOST/);

    r = await cli(dir, ...at, 'golden', 'list');
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^NAME\s+VERSION\s+SIZE GiB\s+CLONES\s+COPY\s+FROM\s+CREATED\s+SHA256\ng1\s+1\s+0\.02\s+0\s+(reflink|full)\s+host compute-0-0\s+\S+\s+[0-9a-f]{16}\n$/,
    );
    r = await cli(dir, ...at, 'golden', 'show', 'g1', '--verify');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sha256\s+[0-9a-f]{64}$/m);
    assert.match(r.out, /^verified\s+yes/m);
    r = await cli(dir, ...at, 'golden', 'show', 'nope');
    assert.equal(r.code, 2);
    assert.match(r.err, /no golden volume nope/);

    // golden=g1 on the appliance: the next diskless host gets a clone, exported in the clone form.
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1' });
    await f.engine.add({ mac: mac(2) }, { appliance: 'compute-diskless' });
    const host = 'compute-0-2';
    assert.equal(await be.volumes.cloneOf(host), 'g1');
    const rec = recordedExport(host, await t.attrs(host))!;
    assert.ok(rec);
    const goldenSum = sha256(made.path);

    const i = await TestInitiator.connect(f.storage.iscsiPort());
    try {
      const l = await i.login({
        initiator: rec.spec.initiatorIqn,
        target: rec.spec.targetIqn,
        chap: { user: rec.spec.chap.user, secret: rec.spec.chap.secret },
      });
      assert.equal(l.statusClass, 0, `login ${l.statusClass}/${l.statusDetail}`);
      const rd = await i.scsi(cdb.rw10(0x28, 0, 64), { lun: rec.spec.lun, readLength: 64 * BS });
      assert.equal(rd.status, 0);
      for (let lba = 0; lba < 64; lba++) assert.deepEqual(rd.data.subarray(lba * BS, (lba + 1) * BS), block(lba), `block ${lba}`);
      // A write goes to the clone's delta: it reads back, the golden file is untouched.
      const mine = Buffer.alloc(BS, 0x5a);
      const w = await i.scsi(cdb.rw10(0x2a, 3, 1, true), { lun: rec.spec.lun, write: mine });
      assert.equal(w.status, 0);
      const back = await i.scsi(cdb.rw10(0x28, 3, 1), { lun: rec.spec.lun, readLength: BS });
      assert.deepEqual(back.data, mine);
      await i.logout();
    } finally {
      i.close();
    }
    assert.equal(sha256(made.path), goldenSum);

    // host set boot=reset (through the running frontend's API): the clone's delta is thrown away,
    // block 3 reads the golden data again, and the host boots its OS.
    r = await cli(dir, ...at, 'host', 'set', host, 'boot=reset');
    assert.equal(r.code, 0, r.err);
    assert.equal((await f.store.hosts.get(host))!.bootAction, 'os');
    const j = await TestInitiator.connect(f.storage.iscsiPort());
    try {
      const l = await j.login({
        initiator: rec.spec.initiatorIqn,
        target: rec.spec.targetIqn,
        chap: { user: rec.spec.chap.user, secret: rec.spec.chap.secret },
      });
      assert.equal(l.statusClass, 0);
      const rd = await j.scsi(cdb.rw10(0x28, 3, 1), { lun: rec.spec.lun, readLength: BS });
      assert.deepEqual(rd.data, block(3));
      await j.logout();
    } finally {
      j.close();
    }
    // A plain volume has nothing to reset to: refused, it stays exported, the boot action unchanged.
    const before = (await f.store.hosts.get('compute-0-0'))!.bootAction;
    r = await cli(dir, ...at, 'host', 'set', 'compute-0-0', 'boot=reset');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /volume compute-0-0 is not a clone/);
    assert.equal((await f.store.hosts.get('compute-0-0'))!.bootAction, before);
    assert.ok((await be.listExports()).some((e) => e.volume === 'compute-0-0'));
    // The storage half directly (what the plugin's reset hook calls).
    await resetHostVolume((await f.store.hosts.get(host))!, f.storage.nodes, { store: f.store, logger: silentLogger });

    r = await cli(dir, ...at, 'golden', 'list', '--json');
    assert.deepEqual(
      (JSON.parse(r.out) as Array<{ name: string; clones: string[] }>).map((g) => [g.name, g.clones]),
      [['g1', [host]]],
    );
    r = await cli(dir, ...at, 'golden', 'remove', 'g1');
    assert.equal(r.code, 2);
    assert.match(r.err, /golden volume g1 has 1 clone\(s\): compute-0-2/);
    assert.ok(statSync(made.path).isFile());

    // The golden file changed under its clone: re-exporting the clone is refused, and so is --verify.
    chmodSync(made.path, 0o644);
    const gfd = openSync(made.path, 'r+');
    writeSync(gfd, Buffer.alloc(BS, 0xee), 0, BS, 10 * BS);
    closeSync(gfd);
    chmodSync(made.path, 0o444);
    await be.unexport(rec.spec.targetIqn);
    await assert.rejects(
      be.exportVolume(rec.spec),
      (e: unknown) => e instanceof NetrootError && e.code === 'E_GOLDEN_CHANGED' && /golden volume g1 .*changed/.test(e.message),
    );
    r = await cli(dir, ...at, 'golden', 'show', 'g1', '--verify');
    assert.equal(r.code, 1);
    assert.match(r.err, /golden volume g1/);

    // Once the clone is gone, the golden volume can be removed.
    await f.engine.remove(host);
    assert.equal(await be.volumes.get(host), null);
    r = await cli(dir, ...at, 'golden', 'remove', 'g1');
    assert.equal(r.code, 0, r.err);
    r = await cli(dir, ...at, 'golden', 'list', '--json');
    assert.deepEqual(JSON.parse(r.out), []);
  } finally {
    await f.stop();
  }
});
