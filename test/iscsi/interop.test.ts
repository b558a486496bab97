// Interop with libiscsi's command-line initiators (Debian libiscsi-bin) against the embedded
// target in this process: discovery + LUN listing (iscsi-ls -s), standard and VPD INQUIRY
// (iscsi-inq), READ CAPACITY 16 (iscsi-readcapacity16), with one-way and mutual CHAP, and the
// target's own refusal of wrong credentials. Data written by the test initiator is what the file
// holds. (open-iscsi iscsistart logins and ext4 roots are exercised by the QEMU lab e2e tests;
// data reads/writes through libiscsi are part of the conformance run.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rootToolsMissing } from '../storage/helpers.js';
import { TestInitiator, cdb } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';

const skip = rootToolsMissing(['iscsi-ls', 'iscsi-inq', 'iscsi-readcapacity16']);
const CHAP = { user: 'node1', secret: 'InteropSecret012', mutualUser: 'tgt-node1', mutualSecret: 'InteropMutual345' };
let t: Awaited<ReturnType<typeof inProcessTarget>>;
let tm: Awaited<ReturnType<typeof inProcessTarget>>;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

before(async () => {
  if (skip) return;
  t = await inProcessTarget({ sizeBytes: 32 << 20 });
  await t.target.addTarget({
    iqn: `${IQN}-chap`,
    luns: [{ lun: 0, path: `${t.dir}/chap.img`, sizeBytes: 16 << 20 }],
    allowedInitiators: [INITIATOR],
    chap: { user: CHAP.user, secret: CHAP.secret },
  });
  // Mutual CHAP on a portal of its own: iscsi-ls stops at the first target it cannot log in to.
  tm = await inProcessTarget({ sizeBytes: 16 << 20, def: { chap: CHAP } });
});
after(async () => {
  await t?.done();
  await tm?.done();
});

test('iscsi-ls -s: discovery lists the targets and their LUNs', { skip: skip ?? false }, async () => {
  // One-way CHAP credentials: the CHAP target needs them, the other negotiates AuthMethod None
  // (libiscsi repeats InitiatorName in the CHAP PDUs of this discovery login; see login.ts).
  const r = await run('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://${CHAP.user}%${CHAP.secret}@127.0.0.1:${t.port}`]);
  assert.equal(r.code, 0, r.out);
  for (const iqn of [IQN, `${IQN}-chap`]) assert.ok(r.out.includes(`Target:${iqn} Portal:127.0.0.1:${t.port},1`), r.out);
  // iscsi-ls prints RETURNED LOGICAL BLOCK ADDRESS × block size in whole MiB (the last LBA, not
  // the count), hence 31M for 32 MiB.
  assert.match(r.out, new RegExp(`Target:${IQN}-chap [^\\n]*\\nLun:0\\s+Type:DIRECT_ACCESS \\(Size:15M\\)`));
  assert.match(r.out, new RegExp(`Target:${IQN} [^\\n]*\\nLun:0\\s+Type:DIRECT_ACCESS \\(Size:31M\\)`));
});

test('iscsi-inq: standard INQUIRY and VPD pages 0x80, 0x83, 0xB0', { skip: skip ?? false }, async () => {
  const url = `iscsi://127.0.0.1:${t.port}/${IQN}/0`;
  const std = await run('iscsi-inq', ['-i', INITIATOR, url]);
  assert.equal(std.code, 0, std.out);
  assert.match(std.out, /Peripheral Device Type:DIRECT_ACCESS/);
  assert.match(std.out, /Vendor:NETROOT/);
  const sn = await run('iscsi-inq', ['-i', INITIATOR, '-e', '1', '-c', '128', url]);
  assert.equal(sn.code, 0, sn.out);
  assert.match(sn.out, /Unit Serial Number:\s*\S+/);
  const id = await run('iscsi-inq', ['-i', INITIATOR, '-e', '1', '-c', '131', url]);
  assert.equal(id.code, 0, id.out);
  assert.match(id.out, /NAA/);
  const bl = await run('iscsi-inq', ['-i', INITIATOR, '-e', '1', '-c', '176', url]);
  assert.equal(bl.code, 0, bl.out);
  assert.match(bl.out, /Maximum Transfer Length/i);
});

test('iscsi-readcapacity16 matches the volume; data written over iSCSI lands in the file', { skip: skip ?? false }, async () => {
  const r = await run('iscsi-readcapacity16', ['-s', '-i', INITIATOR, `iscsi://127.0.0.1:${t.port}/${IQN}/0`]);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.trim(), String(32 << 20));
  const i = await TestInitiator.connect(t.port);
  assert.equal((await i.login({ initiator: INITIATOR, target: IQN })).statusClass, 0);
  const data = Buffer.alloc(4096, 0x6b);
  assert.equal((await i.scsi(cdb.rw10(0x2a, 2048, 8, true), { write: data })).status, 0);
  await i.logout();
  assert.ok(
    readFileSync(t.path)
      .subarray(2048 * 512, 2048 * 512 + 4096)
      .equals(data),
  );
});

test('libiscsi with one-way + mutual CHAP logs in; a wrong secret and a foreign initiator are refused', { skip: skip ?? false }, async () => {
  const url = (secret: string): string => `iscsi://${CHAP.user}%${secret}@127.0.0.1:${tm.port}/${IQN}/0`;
  const mutual = { LIBISCSI_CHAP_TARGET_USERNAME: CHAP.mutualUser, LIBISCSI_CHAP_TARGET_PASSWORD: CHAP.mutualSecret };
  const ok = await run('iscsi-inq', ['-i', INITIATOR, url(CHAP.secret)], mutual);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /DIRECT_ACCESS/);
  const wrong = await run('iscsi-inq', ['-i', INITIATOR, url('WrongSecret01234')], mutual);
  assert.notEqual(wrong.code, 0);
  assert.ok(!wrong.out.includes(CHAP.secret), 'no secret in the client-visible error');
  const foreign = await run('iscsi-inq', ['-i', 'iqn.2026-12.local.netroot:initiator.other', url(CHAP.secret)], mutual);
  assert.notEqual(foreign.code, 0);
});
