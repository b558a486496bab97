// The lab's check that a diskless guest booted from its own iSCSI volume (issue #22 item 5): the
// lines initrd-templates/lab-root/init prints, parsed and checked against the allocated target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGuestProof, parseGuestProof } from '../../src/lab/guest-proof.js';

const TARGET = 'iqn.2026-11.local.netroot:compute-0-0';
const INITIATOR = 'iqn.2026-11.local.netroot:initiator.compute-0-0';
const console = [
  '[    5.1] sd 2:0:0:0: [sda] Attached SCSI disk',
  'netroot-root: booted compute-0-0\r',
  'netroot-root: root device /dev/sda',
  `netroot-root: iscsi session target ${TARGET} initiator ${INITIATOR} disks sda`,
  'netroot-root: ready',
].join('\n');

test('the root device and the session are read from the console, CR line ends too', () => {
  assert.deepEqual(parseGuestProof(console, 'compute-0-0'), {
    rootDevice: '/dev/sda',
    sessions: [{ target: TARGET, initiator: INITIATOR, disks: ['sda'] }],
  });
  const partitioned = console.replace('root device /dev/sda', 'root device /dev/sdb1').replace('disks sda', 'disks sda,sdb');
  const proof = parseGuestProof(partitioned, 'compute-0-0');
  assert.deepEqual(proof.sessions[0]?.disks, ['sda', 'sdb']);
  checkGuestProof(proof, { target: TARGET, initiator: INITIATOR }, 'compute-0-0');
});

test('a root on its own session passes; every other story is refused with what the guest said', () => {
  const ok = parseGuestProof(console, 'compute-0-0');
  checkGuestProof(ok, { target: TARGET, initiator: INITIATOR }, 'compute-0-0');
  const refused = (text: string, expect = { target: TARGET, initiator: INITIATOR }) =>
    assert.throws(
      () => checkGuestProof(parseGuestProof(text, 'compute-0-0'), expect, 'compute-0-0'),
      (e: unknown) => (e as { code?: string }).code === 'E_LAB_ROOT' && /the guest said root/.test((e as Error).message),
    );
  refused(console, { target: 'iqn.2026-11.local.netroot:compute-0-1', initiator: INITIATOR }); // another node's volume
  refused(console, { target: TARGET, initiator: 'iqn.2026-11.local.netroot:initiator.compute-0-1' }); // another initiator
  refused(console.replace('root device /dev/sda', 'root device /dev/vda')); // root not behind the session
  refused(console.replace('root device /dev/sda', 'root device /dev/root')); // a name that is no disk
  refused(console.replace('disks sda', 'disks none')); // a session with no disk
  refused(
    console
      .split('\n')
      .filter((l) => !l.includes('iscsi session'))
      .join('\n'),
  ); // no session at all
  refused(`${console}\nnetroot-root: iscsi session target ${TARGET} initiator ${INITIATOR} disks sdb`); // two sessions with it
});

test('a root that printed no device is refused before any check', () => {
  assert.throws(
    () => parseGuestProof('netroot-root: booted compute-0-0\nnetroot-root: ready\n', 'compute-0-0'),
    (e: unknown) => (e as { code?: string }).code === 'E_LAB_ROOT' && /did not print its root device/.test((e as Error).message),
  );
});
