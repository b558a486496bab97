// The real-OS journal check on lines from real lab journals: the one reconnect of the root iscsid's
// takeover is tolerated, nothing else is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { journalProblems } from '../e2e/journal-check.js';

// From a UEFI node's first diskless boot in CI (2026-12-04).
const TAKEOVER = [
  '[   49.109880] compute-0-0 iscsid[559]: semop down failed 22',
  '[   71.322272] compute-0-0 kernel:  connection1:0: detected conn error (1020)',
  '[   73.977142] compute-0-0 iscsid[726]: iSCSI daemon with pid=727 started!',
  '[   73.993852] compute-0-0 iscsid[726]: Could not read data from db. Using default and currently negotiated values',
  '[   73.995805] compute-0-0 iscsid[726]: Kernel reported iSCSI connection 1:0 error (1020 - ISCSI_ERR_TCP_CONN_CLOSE: TCP connection closed) state (1)',
  '[   74.113717] compute-0-0 iscsid[726]: connection1:0 is operational after recovery (1 attempts)',
];

test('the takeover reconnect alone is reported, not counted', () => {
  const r = journalProblems(TAKEOVER.join('\n'));
  assert.deepEqual(r.bad, []);
  assert.match(r.takeoverReconnect ?? '', /detected conn error \(1020\)/);
});

// From a UEFI node's first diskless boot in CI (2026-12-05): the guest was starved, and iscsid's
// lines reached the journal 17 s after the reconnect its takeover made.
const SLOW_TAKEOVER = [
  '[   38.338890] compute-0-0.local iscsid[560]: iscsid shutting down.',
  '[   52.186208] compute-0-0 systemd[1]: Starting iscsid.service - iSCSI initiator daemon (iscsid)...',
  '[   57.851732] compute-0-0 iscsid[719]: iSCSI logger with pid=722 started!',
  '[   59.597699] compute-0-0 kernel:  connection1:0: detected conn error (1020)',
  '[   76.249798] compute-0-0 systemd[1]: Started iscsid.service - iSCSI initiator daemon (iscsid).',
  '[   76.266874] compute-0-0 iscsid[722]: iSCSI daemon with pid=723 started!',
  '[   76.323514] compute-0-0 iscsid[722]: Could not read data from db. Using default and currently negotiated values',
  '[   76.350124] compute-0-0 iscsid[722]: Kernel reported iSCSI connection 1:0 error (1020 - ISCSI_ERR_TCP_CONN_CLOSE: TCP connection closed) state (1)',
  '[   76.366460] compute-0-0 iscsid[722]: connection1:0 is operational after recovery (1 attempts)',
];

test('a takeover whose lines the journal got late is still the takeover; a reconnect before the root iscsid started is not', () => {
  const r = journalProblems(SLOW_TAKEOVER.join('\n'));
  assert.deepEqual(r.bad, []);
  assert.match(r.takeoverReconnect ?? '', /59\.597699/);
  const early = SLOW_TAKEOVER.map((l) => l.replace('[   59.597699]', '[   45.000000]'));
  assert.equal(journalProblems(early.join('\n')).bad.length, 1, 'before systemd started the root iscsid');
  const slowRecovery = SLOW_TAKEOVER.map((l) => l.replace('[   76.366460]', '[   95.000000]'));
  assert.equal(journalProblems(slowRecovery.join('\n')).bad.length, 1, 'recovery more than 15 s after the takeover');
});

test('a clean journal has nothing', () => {
  assert.deepEqual(journalProblems(TAKEOVER.filter((l) => !/1020/.test(l)).join('\n')), { bad: [], takeoverReconnect: null });
});

test('I/O errors, a second reconnect, a reconnect without the takeover or far from it all count', () => {
  const io = [...TAKEOVER, '[   90.000000] compute-0-0 kernel: I/O error, dev sda, sector 2048 op 0x1:(WRITE)'];
  assert.equal(journalProblems(io.join('\n')).bad.length, 1);
  const twice = [...TAKEOVER, '[  300.000000] compute-0-0 kernel:  connection1:0: detected conn error (1020)'];
  assert.equal(journalProblems(twice.join('\n')).bad.length, 2);
  const noTakeover = TAKEOVER.filter((l) => !/Could not read data/.test(l));
  assert.equal(journalProblems(noTakeover.join('\n')).bad.length, 1);
  const late = TAKEOVER.map((l) => l.replace('[   71.322272]', '[  200.000000]'));
  assert.equal(journalProblems(late.join('\n')).bad.length, 1);
  const other = [...TAKEOVER.filter((l) => !/1020\)$/.test(l)), '[   71.322272] compute-0-0 kernel:  connection1:0: detected conn error (1011)'];
  assert.equal(journalProblems(other.join('\n')).bad.length, 1, 'another error code is not the takeover');
});
