// `netroot golden promote HOST [--name NAME]` (issue #20) over a real frontend and its embedded
// target: a clone's state (golden blocks under its own writes, written over iSCSI) becomes the next
// golden version of its line, with its parent and boot facts; the existing clones keep their base
// (they still export and read as before); a clone of the new version reads the promoted data; the
// version after that counts on; refusals name the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { cli } from '../helpers/cli.js';
import { startFrontend, type TestFrontend } from '../helpers/frontend.js';
import { TestInitiator, cdb } from '../iscsi/helpers/initiator.js';
import { recordedExport } from '../../src/discovery/plugins/iscsi-allocation.js';
import { EmbeddedBackend } from '../../src/storage/embedded.js';

const BS = 512;
const UUID = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const mac = (i: number) => `52:54:00:00:22:${i.toString(16).padStart(2, '0')}`;
const block = (lba: number) => Buffer.from(`golden lba${lba} `.repeat(60).slice(0, BS), 'latin1');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One iSCSI session as the host's own initiator: `fn` gets read/write of whole blocks. */
async function asHost(
  t: TestFrontend,
  host: string,
  fn: (io: { read(lba: number, n: number): Promise<Buffer>; write(lba: number, b: Buffer): Promise<void> }) => Promise<void>,
): Promise<void> {
  const rec = recordedExport(host, await t.attrs(host))!;
  const i = await TestInitiator.connect(t.f.storage.iscsiPort());
  try {
    const l = await i.login({ initiator: rec.spec.initiatorIqn, target: rec.spec.targetIqn, chap: { user: rec.spec.chap.user, secret: rec.spec.chap.secret } });
    assert.equal(l.statusClass, 0, `login ${host}: ${l.statusClass}/${l.statusDetail}`);
    await fn({
      read: async (lba, n) => {
        const r = await i.scsi(cdb.rw10(0x28, lba, n), { lun: rec.spec.lun, readLength: n * BS });
        assert.equal(r.status, 0);
        return r.data;
      },
      write: async (lba, b) => {
        const w = await i.scsi(cdb.rw10(0x2a, lba, b.length / BS, true), { lun: rec.spec.lun, write: b });
        assert.equal(w.status, 0);
      },
    });
    await i.logout();
  } finally {
    i.close();
  }
}

test('golden promote: a clone becomes the next golden version; existing clones keep their base; refusals', { timeout: 180_000 }, async () => {
  const t = await startFrontend();
  const { f, dir, at } = t;
  try {
    const be = f.storage.nodes.find((n) => n.name === 'local')!.backend;
    assert.ok(be instanceof EmbeddedBackend);
    await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    const src = (await be.volumes.require('compute-0-0')).path!;
    const fd = openSync(src, 'r+');
    for (let lba = 0; lba < 16; lba++) writeSync(fd, block(lba), 0, BS, lba * BS);
    closeSync(fd);
    await f.store.boot.put({ host: 'compute-0-0', kernel: 'k', initrd: 'i', overlay: null, args: `root=UUID=${UUID}` });
    let r = await cli(dir, ...at, 'golden', 'create', 'g1', '--from', 'compute-0-0');
    assert.equal(r.code, 0, r.err);
    const g1Sum = sha256(readFileSync(be.golden.pathOf('g1')));

    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1' });
    const a = (await f.engine.add({ mac: mac(2) }, { appliance: 'compute-diskless' })).name;
    const mine = Buffer.alloc(2 * BS, 0x5a);
    await asHost(t, a, (io) => io.write(3, mine));

    // Promote A: version 2 of g1's line, named g1-v2, parent g1, the same root.
    r = await cli(dir, ...at, 'golden', 'promote', a, '--json');
    assert.equal(r.code, 0, r.err);
    const v2 = JSON.parse(r.out) as {
      name: string;
      version: number;
      parent: string;
      from: string;
      boot: { rootUuid: string };
      sizeBytes: number;
      path: string;
    };
    assert.equal(v2.name, 'g1-v2');
    assert.equal(v2.version, 2);
    assert.equal(v2.parent, 'g1');
    assert.equal(v2.from, `host ${a}`);
    assert.equal(v2.boot.rootUuid, UUID);
    assert.equal(statSync(v2.path).mode & 0o777, 0o444);
    const want = Buffer.from(readFileSync(be.golden.pathOf('g1')));
    mine.copy(want, 3 * BS);
    const got = readFileSync(v2.path);
    assert.equal(got.length, want.length);
    assert.ok(got.equals(want), 'the promoted file is the clone as it reads');
    // Sparse where the content is zeros (the 16 MiB volume holds 8 KiB of data).
    assert.ok(statSync(v2.path).blocks * 512 < 1 << 20, `${statSync(v2.path).blocks} blocks allocated`);

    // The existing clone keeps its base: g1 is unchanged, A re-exports (identity check) and reads as before.
    assert.equal(sha256(readFileSync(be.golden.pathOf('g1'))), g1Sum);
    const recA = recordedExport(a, await t.attrs(a))!;
    await be.unexport(recA.spec.targetIqn);
    await be.exportVolume(recA.spec);
    await asHost(t, a, async (io) => {
      assert.deepEqual(await io.read(2, 3), Buffer.concat([block(2), mine]));
    });
    assert.equal(await be.volumes.cloneOf(a), 'g1');
    r = await cli(dir, ...at, 'golden', 'show', 'g1', '--verify');
    assert.equal(r.code, 0, r.err);

    // A new host of g1-v2 reads the promoted state; promoting it gives version 3, parent g1-v2.
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'golden', value: 'g1-v2' });
    const b = (await f.engine.add({ mac: mac(3) }, { appliance: 'compute-diskless' })).name;
    assert.equal((await f.store.hosts.get(b))!.bootAction, 'os');
    await asHost(t, b, async (io) => {
      assert.deepEqual(await io.read(2, 3), Buffer.concat([block(2), mine]));
      await io.write(0, Buffer.alloc(BS, 0x11));
    });
    r = await cli(dir, ...at, 'golden', 'promote', b);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^golden volume g1-v3: version 3 of g1-v2's line, 16777216 bytes from host compute-0-\d+, sha256 [0-9a-f]{64}\n$/);
    r = await cli(dir, ...at, 'golden', 'promote', a, '--name', 'site-gold', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((({ name, version, parent }) => ({ name, version, parent }))(JSON.parse(r.out) as { name: string; version: number; parent: string }), {
      name: 'site-gold',
      version: 4,
      parent: 'g1',
    });
    r = await cli(dir, ...at, 'golden', 'list');
    assert.match(r.out, /^g1-v3\s+3 \(g1-v2\)\s/m);
    r = await cli(dir, ...at, 'golden', 'show', 'g1-v2');
    assert.match(r.out, /^version\s+2 \(promoted from g1\)$/m);

    // Refusals: a taken name, a plain volume, a host without a volume, an unknown host, no host.
    r = await cli(dir, ...at, 'golden', 'promote', a, '--name', 'g1');
    assert.equal(r.code, 2);
    assert.match(r.err, /golden volume g1 exists/);
    r = await cli(dir, ...at, 'golden', 'promote', 'compute-0-0');
    assert.equal(r.code, 2);
    assert.match(r.err, /volume compute-0-0 is not a clone .*golden create NAME --from HOST/);
    const disked = (await f.engine.add({ mac: mac(9) }, { appliance: 'compute' })).name;
    r = await cli(dir, ...at, 'golden', 'promote', disked);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`host ${disked} has no iSCSI volume`));
    r = await cli(dir, ...at, 'golden', 'promote', 'nohost');
    assert.equal(r.code, 2);
    r = await cli(dir, ...at, 'golden', 'promote');
    assert.equal(r.code, 2);
    // The bases are still in use: removing g1 (A's) or g1-v2 (B's) is refused.
    r = await cli(dir, ...at, 'golden', 'remove', 'g1');
    assert.equal(r.code, 2);
    r = await cli(dir, ...at, 'golden', 'remove', 'g1-v2');
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`golden volume g1-v2 has 1 clone\\(s\\): ${b}`));
  } finally {
    await f.stop();
  }
});
