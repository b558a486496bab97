// The boot-benchmark reference (src/lab/reference.ts): a diskless node boots entirely from the peer
// stack — dnsmasq DHCP → iPXE → TFTP kernel + initrd → iscsistart logs into tgt → the ext4 LUN is
// mounted as root → switch_root → the root's /sbin/init prints a marker. BIOS and UEFI. Prints the
// power-on-to-root time (LAB.md: ≈29 s BIOS, 33 s UEFI on an idle machine). The initrd is netroot's
// base initrd (src/initrd); every server is a peer. Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { measurePeerDisklessBoot, namespaces } from '../../src/lab/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const BOOT_DEADLINE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 180_000);

test('peer lab: diskless boot, root on a tgt iSCSI LUN, BIOS and UEFI', { skip: e2eSkip, timeout: 2 * BOOT_DEADLINE_MS + 120_000 }, async () => {
  const dir = tempStateDir('nrt-e2e-diskless-');
  try {
    const results = await measurePeerDisklessBoot({ workDir: join(dir, 'lab'), firmwares: ['bios', 'uefi'], deadlineMs: BOOT_DEADLINE_MS });
    assert.deepEqual(
      results.map((r) => r.firmware),
      ['bios', 'uefi'],
    );
    for (const r of results) {
      assert.match(r.line, /^NRT-ISCSI-ROOT root=\/dev\/sd[a-z]$/, 'the root /sbin/init runs with / on the iSCSI disk');
      assert.ok(r.seconds > 1 && r.seconds < BOOT_DEADLINE_MS / 1000);
      process.stdout.write(`# peer diskless boot (dnsmasq + tgt, ${r.firmware}): power-on to root init ${r.seconds.toFixed(1)} s\n`);
    }
    assert.ok(!namespaces().some((n) => n === `nrt-ref-${process.pid}`), 'the lab is torn down');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
