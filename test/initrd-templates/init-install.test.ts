// netroot.mode=install in init.sh: network first, then the installer as a child (its exit cannot end PID 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX, INIT_SH, skipBusybox } from '../initrd/init-shell.js';

function runInstallMode(installer: string | null, netOk = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-inst-'));
  try {
    const script = join(dir, 'install.sh');
    if (installer !== null) writeFileSync(script, installer);
    // net_up is replaced (no network in a unit test); the order of calls is what is checked.
    const body = `. "$1"; nr_reset; say() { echo "SAY $*"; }; hostname() { :; };
net_up() { echo NET_UP; ${netOk ? 'return 0' : 'nr_err="no DHCP lease on: eth0"; return 1'}; }
install_mode "$2"; echo "RC=$? ERR=$nr_err"`;
    const r = spawnSync(BUSYBOX ?? 'busybox', ['sh', '-c', body, 'sh', INIT_SH, script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('install mode brings the network up, then runs the installer as a child whose exit does not end init', { skip: skipBusybox }, () => {
  const out = runInstallMode('echo INSTALLER ran; exit 3\n');
  assert.deepEqual(out.trim().split('\n'), ['SAY install mode', 'NET_UP', 'INSTALLER ran', 'RC=1 ERR=installer returned (status 3)']);
});

test('install mode stops before the installer when the network fails', { skip: skipBusybox }, () => {
  const out = runInstallMode('echo INSTALLER ran\n', false);
  assert.deepEqual(out.trim().split('\n'), ['SAY install mode', 'NET_UP', 'RC=1 ERR=no DHCP lease on: eth0']);
});

test('install mode without an installer names the missing file', { skip: skipBusybox }, () => {
  const out = runInstallMode(null);
  assert.match(out, /RC=1 ERR=netroot.mode=install, but this initrd has no .*install\.sh/);
  assert.doesNotMatch(out, /NET_UP/);
});
