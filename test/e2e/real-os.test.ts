// Issue 13, a real distribution in the lab: a Debian 12 image built by `netroot image build`
// (mmdebstrap + the image's own dracut) is installed by a blank node onto its iSCSI LUN, which then
// boots diskless with the image's kernel and dracut initrd into systemd's multi-user.target. Root
// logs in over SSH with the key the kickstart installed, a file survives `systemctl reboot`, and
// reboot and power-off are timed (target ≤ 15 s each, no stop job timing out). The journal must hold
// no CHAP secret and no I/O or iSCSI connection error; /proc/cmdline no secret.
// The image is built once per run (about 5 minutes); NETROOT_E2E_IMAGE=<image dir> reuses one.
// Needs root; skips outside CI when not root.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FullLab, namespaces } from '../../src/lab/index.js';
import { RealOsNode, labSshKey, type RealOsLife } from '../../src/lab/index.js';
import type { Firmware } from '../../src/lab/lab.js';
import { openStore } from '../../src/store/index.js';
import { journalProblems } from './journal-check.js';
import { CpioWriter, gzip, readCpio, typeOf } from '../../src/initrd/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const STAGE_MS = Number(process.env.LAB_BOOT_DEADLINE_MS ?? 420_000);
const NETROOT = [process.execPath, '--import', 'tsx', 'test/helpers/netroot.ts'];
const IMAGE = 'debian-12';

let imageDir = process.env.NETROOT_E2E_IMAGE ?? '';
let buildDir = '';

before(async () => {
  if (e2eSkip || imageDir) return;
  buildDir = tempStateDir('nrt-e2e-image-');
  const t = Date.now();
  const r = spawnSync(NETROOT[0]!, [...NETROOT.slice(1), '--state-dir', join(buildDir, 'state'), 'image', 'build', IMAGE], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  assert.equal(r.status, 0, `image build failed:\n${r.stderr.slice(-4000)}`);
  imageDir = join(buildDir, 'state', 'tftpboot', 'images', IMAGE);
  process.stdout.write(`# image build ${IMAGE}: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
});

after(() => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/**
 * The node's overlay with a wrong CHAP secret in dracut's credentials (everything else as netroot
 * rendered it): what a node with a stale or forged overlay would present to the target.
 */
function overlayWithWrongSecret(overlay: Buffer, secret: string): Buffer {
  const w = new CpioWriter({ mtime: 0 });
  for (const r of readCpio(overlay)) {
    if (typeOf(r.mode) === 'dir') w.dir(r.name, { mode: r.mode & 0o7777 });
    else {
      const text = r.data.toString('utf8');
      w.file(r.name, r.name === 'etc/netroot/chap.cmdline' ? text.replace(secret, 'WrongSecret12345') : r.data, { mode: r.mode & 0o7777 });
    }
  }
  return gzip(w.finish());
}

/**
 * `alone`: no other node runs at the same time, so the shutdown times are the node's own and must
 * meet the target (≤ 15 s). Lives that share the two cores with another prove that no stop job
 * hangs (each would wait 90 s) and print their times.
 */
async function realOsLife(firmware: Firmware, disked = false, alone = true): Promise<void> {
  const dir = tempStateDir(`nrt-e2e-realos-${firmware}${disked ? '-disk' : ''}-`);
  const consoleLog = join(dir, 'console.log');
  const ssh = labSshKey(dir);
  const full = new FullLab({
    workDir: dir,
    netroot: NETROOT,
    nodes: 1,
    image: { name: IMAGE, dir: imageDir },
    volumeGiB: 2,
    memoryMb: 1024,
    sshPublicKey: ssh.pub,
    name: `nrt-os-${firmware}${disked ? '-d' : ''}`,
    stageDeadlineMs: STAGE_MS,
    onProgress: (n, w) => process.stdout.write(`# ${n}: ${w}\n`),
    onConsole: (n, l) => appendFileSync(consoleLog, `${n}| ${l}\n`),
  });
  let ok = false;
  try {
    await full.up();
    let disk: string | undefined;
    if (disked) {
      // The same image, installed onto a blank local disk of the LUN's size by a compute (disked) node.
      await full.cliOk('attr', 'set', 'os_image', IMAGE, '--appliance', 'compute');
      disk = join(dir, 'disk0.img');
      writeFileSync(disk, '');
      truncateSync(disk, 2 * 2 ** 30);
    }
    const life: RealOsLife = await new RealOsNode(full, ssh.key, (n, w) => process.stdout.write(`# ${n}: ${w}\n`)).life({
      index: 0,
      firmware,
      stageDeadlineMs: STAGE_MS,
      ...(disk ? { disk } : {}),
    });
    process.stdout.write(
      `# ${firmware}${disked ? ' disked' : ' diskless'} ${life.host}: install ${life.installSeconds.toFixed(1)} s, power-on to multi-user.target ${life.bootSeconds.toFixed(1)} s ` +
        `(again ${life.secondBootSeconds.toFixed(1)} s), systemctl reboot ${life.rebootSeconds.toFixed(1)} s, systemctl poweroff ${life.poweroffSeconds.toFixed(1)} s` +
        `${life.stopJobs.length ? `, stop jobs: ${life.stopJobs.join('; ')}` : ', no stop job waited'}\n`,
    );
    assert.equal(life.host, 'compute-0-0');
    assert.ok(life.persisted, 'the file written before the reboot is there after it');
    const limit = alone ? 15 : 60;
    assert.ok(life.rebootSeconds <= limit, `systemctl reboot took ${life.rebootSeconds.toFixed(1)} s (limit ${limit} s)`);
    assert.ok(life.poweroffSeconds <= limit, `systemctl poweroff took ${life.poweroffSeconds.toFixed(1)} s (limit ${limit} s)`);
    // The lab's target pings idle connections every 5 s (pingIdleSeconds) and cuts one unanswered
    // for 60 s: a root connection cut while the node lived would show here as a conn error. (The
    // frontend log does show "peer silent" for the installer's session, which the installer drops
    // without a logout when it reboots: that is the dead-peer detection doing its job.)
    const { bad, takeoverReconnect } = journalProblems(life.journal);
    if (takeoverReconnect) process.stdout.write(`# ${firmware}: the root's iscsid took the initrd's session over with one reconnect: ${takeoverReconnect}\n`);
    if (bad.length) writeFileSync(join(dir, 'journal.txt'), life.journal);
    assert.deepEqual(bad, [], `no I/O or iSCSI connection errors in the journal (whole journal: ${join(dir, 'journal.txt')})`);
    const store = openStore(full.stateDir);
    try {
      const h = await store.hosts.get(life.host);
      const installs = (await store.events.list({ kind: 'host.installed' })).filter((e) => e.host === life.host);
      assert.equal(installs.length, 1, 'installed once: the reboots did not reinstall');
      if (disked) {
        assert.equal(h?.bootAction, 'local', 'the disked node flipped to local boot after its install');
        assert.equal(await store.boot.get(life.host), null, 'a disked node has no diskless boot record');
        assert.match(life.cmdline, /root=UUID=[0-9a-f-]{36} ro/, 'the node booted from its disk (extlinux)');
      } else {
        assert.equal(h?.bootAction, 'os');
        const secret = (await store.attributes.list({ scope: 'host', target: life.host })).find((a) => a.name === 'iscsi_secret')?.value ?? '';
        const rec = await store.boot.get(life.host);
        assert.match(rec?.kernel ?? '', /^images\/debian-12\/vmlinuz$/, 'the image kernel boots the node');
        assert.match(rec?.initrd ?? '', /^images\/debian-12\/initrd\.img$/, "the image's dracut initrd boots the node");
        assert.ok(secret.length >= 12, 'the node has a CHAP secret');
        assert.match(life.cmdline, /ifname=bootnet:52:54:00:6e:72:10 ip=bootnet:dhcp/);
        assert.ok(!life.cmdline.includes(secret), 'no CHAP secret in /proc/cmdline');
        assert.ok(!life.journal.includes(secret), 'no CHAP secret in the journal');
        assert.ok(!full.frontendLog.includes(secret), 'no CHAP secret in the frontend log');
        assert.equal(life.recoveryTimeout, '86400', 'the root session waits out a target outage (replacement_timeout)');
        assert.equal(life.iscsid, 'active', "the root's iscsid runs: it is what re-logs in after a connection fault");
        if (alone) {
          // The real dracut with a wrong secret: the target refuses the login and the root never mounts.
          const path = join(full.stateDir, rec!.overlay!);
          const good = readFileSync(path);
          writeFileSync(path, overlayWithWrongSecret(good, secret));
          const t = Date.now();
          const node = full.lab.bootNode({
            mac: life.mac,
            firmware,
            memoryMb: 1024,
            onLine: (l) => appendFileSync(consoleLog, `wrong secret +${((Date.now() - t) / 1000).toFixed(1)}s ${l}\n`),
          });
          try {
            // dracut's iscsiadm reports to the initrd's journal, not the console: the target's own
            // refusal (status 0x0201, authentication failure) is what proves the login failed.
            const refused = () => /iscsi: login refused[^\n]*status="0x0201"/.test(full.frontendLog);
            await waitFor(refused, {
              what: 'the target to refuse the login with the wrong CHAP secret (authentication failure)',
              timeoutMs: Math.max(0, STAGE_MS - (Date.now() - t)),
              intervalMs: 1000,
            });
            // fixed delay: an absence window (dracut retries; the root must still not appear within 20 s).
            await new Promise((r) => setTimeout(r, 20_000));
            assert.doesNotMatch(node.console.output, /EXT4-fs \(sd[a-z]1\): mounted|Reached target.*Initrd Root Device/, 'the root was never reached');
            assert.ok(!full.frontendLog.includes(secret) && !full.frontendLog.includes('WrongSecret12345'), 'no CHAP secret in the frontend log');
            process.stdout.write(`# wrong CHAP secret: the target refused dracut's login ${((Date.now() - t) / 1000).toFixed(1)} s after power-on; no root\n`);
          } finally {
            await node.powerOff();
            writeFileSync(path, good);
          }
        }
      }
    } finally {
      await store.close();
    }
    ok = true;
  } finally {
    await full.down();
    assert.ok(!namespaces().includes(full.lab.namespace), 'the lab is torn down');
    if (ok) rmSync(dir, { recursive: true, force: true });
    else {
      writeFileSync(join(dir, 'frontend.log'), full.frontendLog);
      process.stdout.write(`# kept ${dir} (console log: ${consoleLog}, frontend log tail: ${join(dir, 'frontend.log')})\n`);
    }
  }
}

test('real OS (BIOS): a blank node installs the Debian 12 image onto its LUN, boots diskless with its own dracut into multi-user.target, SSH, a file kept across systemctl reboot, clean power-off', {
  skip: e2eSkip,
  timeout: 30 * 60_000,
}, async () => {
  assert.ok(existsSync(join(imageDir, 'manifest.json')), `no image at ${imageDir}`);
  await realOsLife('bios');
});

// UEFI and disked share the two cores (two QEMUs under TCG at once): the run stays within CI's budget.
describe('real OS, two nodes at once', { concurrency: 2 }, () => {
  test('real OS (UEFI): the same life with OVMF firmware', { skip: e2eSkip, timeout: 40 * 60_000 }, async () => {
    assert.ok(existsSync(join(imageDir, 'manifest.json')), `no image at ${imageDir}`);
    await realOsLife('uefi', false, false);
  });

  test('real OS (disked): a compute node installs the same image onto its own disk once, then boots from that disk', {
    skip: e2eSkip,
    timeout: 40 * 60_000,
  }, async () => {
    assert.ok(existsSync(join(imageDir, 'manifest.json')), `no image at ${imageDir}`);
    await realOsLife('bios', true, false);
  });
});
