// Issue 6, the full lab on netroot's own stack: two blank QEMU nodes (BIOS, e1000 + iPXE, TCG) in
// appliance compute-diskless, boot=install → DHCP → iPXE → installer kernel + initrd over HTTP →
// the real diskless kickstart → install onto their own LUNs on the embedded iSCSI target (CHAP,
// mkfs.ext4, liveimg tarball) → %post XML-RPC installComplete → overlay + kernel args, boot=os →
// diskless boot from their own volumes (root=UUID, netroot=iscsi:...) → the root writes a boot count
// → power cycle → the count is still there. Prints per node the time from power-on to diskless root.
// Then (issue #20, same lab run) compute-0-0's volume becomes golden volume lab-golden and two more
// nodes boot as its clones with no install: each is personalised at its first boot, writes its own
// file from its role's <firstboot>, and after a reboot finds its file, no other's, and its boot count.
// Needs root; skips outside CI when not root. Budget ≤ 12 min on 2 cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FullLab, namespaces } from '../../src/lab/index.js';
import { checkGuestProof } from '../../src/lab/guest-proof.js';
import { openStore } from '../../src/store/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const STAGE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 300_000);

async function lifecycle(backend: 'embedded' | 'tgt', nodes: number, golden = 0): Promise<void> {
  const dir = tempStateDir('nrt-e2e-life-');
  const consoleLog = join(dir, 'console.log');
  const full = new FullLab({
    workDir: dir,
    netroot: [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'],
    nodes,
    backend,
    stageDeadlineMs: STAGE_MS,
    onProgress: (n, w) => process.stdout.write(`# ${n}: ${w}\n`),
    onConsole: (n, l) => appendFileSync(consoleLog, `${n}| ${l}\n`),
  });
  let ok = false;
  try {
    const lives = await full.run();
    assert.deepEqual(
      lives.map((l) => l.host),
      ['compute-0-0', 'compute-0-1'].slice(0, nodes),
    );
    for (const l of lives) {
      assert.equal(l.persistedBoot, 1, `${l.host}: the second diskless boot reads the count the first one wrote`);
      process.stdout.write(
        `# ${backend} ${l.host}: install ${l.installSeconds.toFixed(1)} s, power-on to diskless root ${l.disklessSeconds.toFixed(1)} s (again: ${l.rebootSeconds.toFixed(1)} s), whole life ${l.lifeSeconds.toFixed(1)} s\n`,
      );
    }
    const store = openStore(full.stateDir);
    try {
      for (const l of lives) {
        const h = await store.hosts.get(l.host);
        assert.equal(h?.bootAction, 'os', `${l.host} flipped to os`);
        const rec = await store.boot.get(l.host);
        assert.ok(rec?.overlay, `${l.host} has an overlay`);
        assert.match(rec.args, /root=UUID=[0-9a-f-]{36} netroot=iscsi:/);
        const attrs = new Map((await store.attributes.list({ scope: 'host', target: l.host })).map((a) => [a.name, a.value]));
        // The guest proves its own boot: its root is on a disk of its one session with the target
        // netroot allocated to this host, logged in with the host's initiator name.
        checkGuestProof(l.guest, { target: attrs.get('iscsi_target') ?? '?', initiator: attrs.get('iscsi_initiator') ?? '?' }, l.host);
        process.stdout.write(`# ${l.host}: root ${l.guest.rootDevice}, session ${JSON.stringify(l.guest.sessions)}\n`);
        const secret = attrs.get('iscsi_secret');
        assert.ok(secret && !rec.args.includes(secret), 'no CHAP secret on the kernel command line');
        assert.ok(!full.frontendLog.includes(secret), 'no CHAP secret in the frontend log');
        // tgt's LUN 0 is its controller: the disk is LUN 1 there, LUN 0 on the embedded target.
        assert.match(rec.args, backend === 'tgt' ? /netroot=iscsi:10\.77\.0\.1::3260:1:iqn\./ : /netroot=iscsi:10\.77\.0\.1::3260:0:iqn\./);
      }
    } finally {
      await store.close();
    }
    if (golden > 0) {
      // Issue #20, on the same lab run: compute-0-0's volume (installed, booted twice) is frozen as a
      // golden volume and `golden` more nodes boot as its clones, without installing.
      const t = Date.now();
      const clones = await full.goldenClones({ from: 'compute-0-0', first: nodes, count: golden });
      process.stdout.write(`# golden clones: ${((Date.now() - t) / 1000).toFixed(1)} s for ${golden} clones, two boots each\n`);
      const s2 = openStore(full.stateDir);
      try {
        for (const c of clones) {
          process.stdout.write(
            `# ${c.host} (clone): power-on to root ${c.firstSeconds.toFixed(1)} s, again ${c.rebootSeconds.toFixed(1)} s, boot counts ${c.firstBootCount} → ${c.secondBootCount}, own files ${c.ownFiles.join(' ')}\n`,
          );
          // The golden volume was frozen after compute-0-0's two boots: a clone starts from that count.
          assert.equal(c.firstBootCount, 2, `${c.host} starts from the golden volume's boot count`);
          assert.equal(c.secondBootCount, 3);
          assert.deepEqual(c.ownFiles, [`own-${c.host}`]);
          const h = await s2.hosts.get(c.host);
          assert.equal(h?.stateDetail, 'clone of golden volume lab-golden');
          assert.equal((await s2.events.list({ host: c.host, kind: 'host.installed' })).length, 0, `${c.host} never installed`);
        }
      } finally {
        await s2.close();
      }
    }
    ok = true;
  } finally {
    await full.down();
    assert.ok(!namespaces().includes(full.lab.namespace), 'the lab is torn down');
    if (ok) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`# kept ${dir} (console log: ${consoleLog})\n`);
  }
}

test(
  'lifecycle: two blank nodes install onto their own LUNs on the embedded target, boot diskless, and keep a file across a reboot; then two golden clones of one boot without installing',
  { skip: e2eSkip, timeout: 15 * 60_000 },
  () => lifecycle('embedded', 2, 2),
);

// The same flow with storage.backend tgt (a tgtd in the lab namespace); one node, to keep CI short.
test(
  'lifecycle (tgt variant): a blank node installs onto its LUN on tgt, boots diskless, and keeps a file across a reboot',
  { skip: e2eSkip, timeout: 10 * 60_000 },
  () => lifecycle('tgt', 1),
);
