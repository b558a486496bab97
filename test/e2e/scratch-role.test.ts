// roles/cluster/scratch.xml's netroot-scratch, the real script a node runs at every boot, against
// real block devices: loop devices on sparse files, LVM, device-mapper error targets. This machine's
// kernel may have no device-mapper, so the scenarios run in a throw-away QEMU guest that boots the
// installed Debian kernel over this machine's own root (test/helpers/kernel-guest.ts): the same
// lvm2/e2fsprogs/util-linux binaries, nothing on the host touched. One guest boot runs every
// scenario, each with its own loop devices, volume group and mount point; the guest is discarded.
// A failed disk goes through the node's real report helper (roles/sync's netroot-report, curl) to a
// real frontend on this machine (the guest's 10.0.2.2 is 127.0.0.1 here, the node's address): the
// host.status event there names the disk, as the journal line does.
// The usage checks (attribute values, options) are test/roles/scratch.test.ts (no root, no guest).
// Wall time: one guest boot, ~100 s on a loaded 2-core machine (TCG).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { StoredEvent } from '../../src/store/index.js';
import { SyncKeys } from '../../src/sync/index.js';
import { loopbackFrontend, type Loopback } from '../helpers/loopback-frontend.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roleFile } from '../roles/role-files.js';
import { runInKernelGuest, type GuestRun } from '../helpers/kernel-guest.js';
import { assertTools, skipUnless } from '../helpers/tools.js';
import { e2eSkip } from './helpers.js';

const SCRIPT = roleFile('cluster', 'scratch', '/usr/local/sbin/netroot-scratch');
const REPORT = roleFile('sync', 'sync-client', '/usr/local/sbin/netroot-report');
const TOOLS: Array<[string, string]> = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['/bin/busybox', 'busybox-static'],
  ['lvcreate', 'lvm2'],
  ['dmsetup', 'dmsetup'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['losetup', 'mount'],
  ['curl', 'curl'],
];
const skip = e2eSkip || skipUnless(TOOLS);

// The scenarios, in the guest. Each prints `@@ <scenario> <key>=<value>` lines; the script's own
// messages come back as `@@ <scenario> log <line>`. Every path is under the guest's /tmp (a tmpfs).
// The report helper: the arguments noted, then the real netroot-report with this node's sync.conf.
const guestScript = (syncConf: string) => `
set -u
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
W=/tmp/w; mkdir -p $W
cat > $W/netroot-scratch << 'NETROOT_SCRIPT_END'
${SCRIPT}NETROOT_SCRIPT_END
cat > $W/netroot-report << 'NETROOT_SCRIPT_END'
${REPORT}NETROOT_SCRIPT_END
cat > $W/sync.conf << 'NETROOT_SCRIPT_END'
${syncConf}
NETROOT_SCRIPT_END
printf '#!/bin/sh\\nprintf "%%s\\\\n" "$*" >> /tmp/w/reports\\nexec sh /tmp/w/netroot-report --conf /tmp/w/sync.conf "$@"\\n' > $W/report
chmod 755 $W/report
run() { name=$1; shift; sh $W/netroot-scratch --config /dev/null --report $W/report "$@" 2> $W/$name.err; echo "@@ $name rc=$?"; sed "s/^/@@ $name log /" $W/$name.err; }
disk() { truncate -s 64M $W/$1.img; losetup -f --show $W/$1.img; }
show() { # show NAME MOUNT: what is mounted there
  echo "@@ $1 mounted=$(mountpoint -q $2 && echo yes || echo no) dir=$([ -d $2 ] && echo yes || echo no)"
  echo "@@ $1 src=$(readlink -f "$(findmnt -no SOURCE $2)") fstype=$(findmnt -no FSTYPE $2) fssize=$(df -B1 --output=size $2 | tail -1 | tr -d ' ')"
}
R=$(disk root)

# one blank disk: a file system of that size, labelled; then a "reboot": the same disk, data kept
A=$(disk one)
run one --root-device $R --candidates "$A" --mount $W/m1 --vg vg_one
show one $W/m1
echo "@@ one dev=$A devsize=$(blockdev --getsize64 $A) label=$(blkid -o value -s LABEL $A)"
echo keep-one > $W/m1/data; umount $W/m1
run one_again --root-device $R --candidates "$A" --mount $W/m1 --vg vg_one
echo "@@ one_again data=$(cat $W/m1/data 2>&1)"
umount $W/m1

# two blank disks: one LV striped over both; then a "reboot" (VG deactivated), data kept
B1=$(disk two1); B2=$(disk two2)
run two --root-device $R --candidates "$B1 $B2" --mount $W/m2 --vg vg_two
show two $W/m2
echo "@@ two lv=$(lvs --noheadings --nosuffix --units b -o segtype,stripes,lv_size vg_two/scratch | xargs | tr ' ' ,) pvs=$(pvs --noheadings -o pv_name --select vg_name=vg_two | xargs | tr ' ' ,)"
echo keep-two > $W/m2/data; umount $W/m2; vgchange -an vg_two > /dev/null
run two_again --root-device $R --candidates "$B1 $B2" --mount $W/m2 --vg vg_two
echo "@@ two_again data=$(cat $W/m2/data 2>&1)"
umount $W/m2

# no disk but the root: the fallback directory
run none --root-device $R --candidates "$R" --mount $W/m3 --vg vg_none
show none $W/m3

# a foreign ext4: untouched; with --wipe yes: used
F=$(disk foreign)
mkfs.ext4 -q -L data $F; mkdir -p $W/f; mount $F $W/f; echo keep-foreign > $W/f/data; umount $W/f
run foreign --root-device $R --candidates "$F" --mount $W/m4 --vg vg_foreign
show foreign $W/m4
mount -o ro $F $W/f; echo "@@ foreign data=$(cat $W/f/data 2>&1) label=$(blkid -o value -s LABEL $F)"; umount $W/f
run foreign_wipe --root-device $R --candidates "$F" --mount $W/m5 --vg vg_foreign --wipe yes
show foreign_wipe $W/m5
echo "@@ foreign_wipe dev=$F label=$(blkid -o value -s LABEL $F)"
umount $W/m5

# a disk whose middle fails (device-mapper error target between two readable ends): the stripe's
# set-up fails, the disk is named in the journal and reported, /scratch falls back
G1=$(disk fail1); G2=$(disk fail2)
S=$(blockdev --getsz $G2)
printf '0 8192 linear %s 0\\n8192 %s error\\n%s 8192 linear %s %s\\n' $G2 $((S - 16384)) $((S - 8192)) $G2 $((S - 8192)) | dmsetup create nrt_fail
dmsetup mknodes nrt_fail
run fail --root-device $R --candidates "$G1 /dev/mapper/nrt_fail" --mount $W/m6 --vg vg_fail
show fail $W/m6
echo "@@ fail dm=$(readlink -f /dev/mapper/nrt_fail) good=$(readlink -f $G1) active=$(dmsetup ls | grep -c vg_fail)"
echo "@@ fail reports=$(cat $W/reports 2>/dev/null | tr ' ' _)"
rm -f $W/reports

# a disk that does not read at all: named, reported, fallback
H=$(disk dead)
echo "0 $(blockdev --getsz $H) error" | dmsetup create nrt_dead
dmsetup mknodes nrt_dead
run dead --root-device $R --candidates "$H /dev/mapper/nrt_dead" --mount $W/m7 --vg vg_dead
show dead $W/m7
echo "@@ dead dm=$(readlink -f /dev/mapper/nrt_dead) reports=$(cat $W/reports 2>/dev/null | tr ' ' _)"
`;

/** `@@ <scenario> key=value ...` → scenario → key → value; `log` lines → scenario → log[]. */
function parse(out: string): { kv: Map<string, Map<string, string>>; logs: Map<string, string[]> } {
  const kv = new Map<string, Map<string, string>>();
  const logs = new Map<string, string[]>();
  for (const raw of out.split(/\r?\n/)) {
    // A line may start with the console's escape sequences: the marker is found anywhere.
    const m = /@@ (\S+) (.*)$/.exec(raw.trimEnd());
    if (!m) continue;
    const name = m[1]!;
    const rest = m[2]!;
    if (rest.startsWith('log ')) {
      logs.set(name, [...(logs.get(name) ?? []), rest.slice(4)]);
      continue;
    }
    const map = kv.get(name) ?? new Map<string, string>();
    for (const pair of rest.split(' ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) map.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    kv.set(name, map);
  }
  return { kv, logs };
}

let work = '';
let lb: Loopback | undefined;
let statusEvents: StoredEvent[] = [];
let guest: GuestRun | undefined;
let kv = new Map<string, Map<string, string>>();
let logs = new Map<string, string[]>();
const get = (s: string, k: string): string => {
  const v = kv.get(s)?.get(k);
  assert.ok(v !== undefined, `scenario ${s} printed no ${k}; guest console tail:\n${guest?.console.slice(-3000)}`);
  return v;
};
const log = (s: string): string => (logs.get(s) ?? []).join('\n');
const MiB = 1024 * 1024;

before(async () => {
  if (skip) return;
  assertTools(TOOLS);
  work = mkdtempSync(join(tmpdir(), 'nrt-scratch-'));
  // The node: QEMU's user-mode network connects from 127.0.0.1 here.
  lb = await loopbackFrontend({ prefix: 'nrt-scratch-fe-', hosts: [{ name: 'compute-0-9', mac: '52:54:00:aa:00:99', ip: '127.0.0.1' }] });
  const syncConf = `NETROOT_SYNC_URL='http://10.0.2.2:${lb.port}'\nNETROOT_SYNC_SECRET='${new SyncKeys(lb.dir).nodeSecret('compute-0-9')}'`;
  guest = await runInKernelGuest({ workDir: work, script: guestScript(syncConf), timeoutMs: 300_000, net: true });
  ({ kv, logs } = parse(guest.console));
  statusEvents = await lb.f.store.events.list({ kind: 'host.status', host: 'compute-0-9' });
});

after(async () => {
  // The guest (and with it every loop device, VG and dm device it made) is gone once QEMU exits.
  await lb?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('scratch: the guest ran every scenario to the end', { skip }, () => {
  assert.equal(guest?.status, 0, `guest exit: ${guest?.status}\n${guest?.console.slice(-3000)}`);
  for (const s of ['one', 'one_again', 'two', 'two_again', 'none', 'foreign', 'foreign_wipe', 'fail', 'dead'])
    assert.equal(get(s, 'rc'), '0', `${s}:\n${log(s)}`);
});

test('scratch: one blank disk becomes /scratch, ext4 of that size, labelled as netroot scratch; reused after a reboot', { skip }, () => {
  assert.equal(get('one', 'mounted'), 'yes', log('one'));
  assert.equal(get('one', 'src'), get('one', 'dev'));
  assert.equal(get('one', 'fstype'), 'ext4');
  assert.equal(get('one', 'label'), 'nr-scratch');
  const dev = Number(get('one', 'devsize'));
  const fs = Number(get('one', 'fssize'));
  assert.equal(dev, 64 * MiB);
  assert.ok(fs > dev * 0.8 && fs <= dev, `file system ${fs} bytes on a ${dev}-byte disk`);
  assert.equal(get('one_again', 'data'), 'keep-one', 'the earlier scratch is mounted, not made again');
  assert.match(log('one_again'), /earlier scratch: mounted as it is/);
});

test('scratch: two blank disks become one LV striped over both, of their combined size; reused after a reboot', { skip }, () => {
  assert.equal(get('two', 'mounted'), 'yes', log('two'));
  const [segtype, stripes, size] = get('two', 'lv').split(',');
  assert.equal(segtype, 'striped');
  assert.equal(stripes, '2');
  // Each 64 MiB PV gives 60 MiB of 4 MiB extents after its metadata: 120 MiB.
  assert.ok(Number(size) >= 2 * 64 * MiB - 2 * 8 * MiB && Number(size) <= 2 * 64 * MiB, `LV size ${size}`);
  assert.equal(get('two', 'pvs').split(',').length, 2);
  assert.match(get('two', 'src'), /^\/dev\/(dm-\d+|mapper\/vg_two-scratch)$/);
  assert.equal(get('two', 'fstype'), 'ext4');
  assert.ok(Number(get('two', 'fssize')) > 96 * MiB, 'the file system spans both disks');
  assert.match(log('two'), /LVM stripe over 2 disks/);
  assert.equal(get('two_again', 'data'), 'keep-two', 'the earlier stripe is activated and mounted, not made again');
  assert.match(log('two_again'), /earlier scratch stripe/);
});

test('scratch: no disk but the root → /scratch is a directory on the root, with a warning (priority 4)', { skip }, () => {
  assert.equal(get('none', 'mounted'), 'no');
  assert.equal(get('none', 'dir'), 'yes');
  assert.match(log('none'), /^<4>netroot-scratch: no local disk for scratch; .* is a directory on the root file system$/m);
});

test('scratch: a disk with a foreign ext4 is left untouched; scratch_wipe=yes uses it', { skip }, () => {
  assert.equal(get('foreign', 'mounted'), 'no');
  assert.equal(get('foreign', 'data'), 'keep-foreign');
  assert.equal(get('foreign', 'label'), 'data');
  assert.match(log('foreign'), /holds ext4 data: left untouched \(set scratch_wipe=yes to use it\)/);
  assert.match(log('foreign'), /^<4>.*no local disk for scratch/m);
  assert.equal(get('foreign_wipe', 'mounted'), 'yes', log('foreign_wipe'));
  assert.equal(get('foreign_wipe', 'src'), get('foreign_wipe', 'dev'));
  assert.equal(get('foreign_wipe', 'label'), 'nr-scratch');
  assert.match(log('foreign_wipe'), /wiped for scratch \(scratch_wipe=yes\)/);
});

test('scratch: a disk failing during the stripe set-up → fallback; the journal and the report name that disk', { skip }, () => {
  const dm = get('fail', 'dm');
  assert.equal(get('fail', 'mounted'), 'no');
  assert.equal(get('fail', 'dir'), 'yes');
  assert.equal(get('fail', 'active'), '0', 'nothing of the half-made VG stays active');
  const warning = log('fail')
    .split('\n')
    .find((l) => l.startsWith('<4>'));
  assert.ok(warning, log('fail'));
  assert.ok(warning.includes(`disk ${dm} failed`), warning);
  assert.match(warning, /(pvcreate|vgcreate|lvcreate|mkfs\.ext4|mount) .*failed: disk /, 'named by the set-up step that failed, not by the first probe');
  assert.ok(!warning.includes(get('fail', 'good')), `the good disk is not blamed: ${warning}`);
  assert.match(get('fail', 'reports'), new RegExp(`^scratch-disk-failed_${dm}_`), 'the RPC helper was called with the disk');
  const dead = get('dead', 'dm');
  assert.equal(get('dead', 'mounted'), 'no');
  assert.match(log('dead'), new RegExp(`^<4>.*disk ${dead} failed \\(unreadable\\)`, 'm'));
  assert.match(get('dead', 'reports'), new RegExp(`^scratch-disk-failed_${dead}_unreadable`));
  // At the frontend: one host.status event per failed disk, through the node's sync secret.
  const failed = statusEvents.map((e) => e.detail?.['scratch_failed'] as { disk: string; reason: string } | undefined).filter((x) => x !== undefined);
  assert.equal(failed.length, 2, JSON.stringify(statusEvents.map((e) => e.detail)));
  assert.equal(failed[0]!.disk, dm);
  assert.match(failed[0]!.reason, /^(pvcreate|vgcreate|lvcreate|mkfs\.ext4|mount)\b.* failed$/);
  assert.ok(warning.includes(failed[0]!.reason), `the event's reason is the journal's: ${failed[0]!.reason}`);
  assert.deepEqual(failed[1], { disk: dead, reason: 'unreadable' });
  for (const e of statusEvents) assert.equal(e.detail?.['via'], 'sync-secret');
  assert.ok(!/could not report/.test(log('fail') + log('dead')), 'both reports reached the frontend');
});
