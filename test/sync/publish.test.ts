// `netroot sync users` end to end through the CLI (in process): what it collects (the range only,
// never root's hash), the files it keeps (0600 in a 0700 directory, the munge key in no
// world-readable file, not in its output), --dry-run writing nothing, serials that keep rising even
// when the clock goes back, and the operator's errors (range, unreadable files, a payload too large).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { parseEnvelope, parsePayload, readCurrent } from '../../src/sync/index.js';
import { loadConfig } from '../../src/config/index.js';
import { frontendFiles, publishFrom } from './fixture.js';

function setup() {
  const dir = tempStateDir('nrt-sync-cli-');
  const files = frontendFiles(dir, dir);
  const at = ['--set', `sync.etcDir=${files.etcDir}`, '--set', `sync.mungeKeyPath=${files.mungeKeyPath}`];
  return { dir, files, at };
}

test('sync users publishes the range (users, groups, shadow), hosts and munge key, signed; files 0600 in 0700; the key in no output and no world-readable file', async () => {
  const { dir, files, at } = setup();
  try {
    const r = await cli(dir, ...at, 'sync', 'users');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^published serial \d+: 2 users \(alice, bob\), 3 groups, 2 shadow entries in 1000-59999; 2 hosts; munge key yes; \d+ bytes signed\n/);
    assert.match(r.out, /within sync\.pollSeconds \(60 s\)/);
    const cur = readCurrent(dir, 1 << 20)!;
    const p = parsePayload(parseEnvelope(cur.envelope, { maxBytes: 1 << 20 }).payload, { maxBytes: 1 << 20 });
    assert.deepEqual(p.group, ['alice:x:1000:', 'bob:x:1001:', 'physics:x:2000:alice,bob']);
    assert.ok(!p.shadow.some((l) => l.startsWith('root:')), "root's hash is never in the payload");
    assert.ok(p.mungeKey?.equals(files.mungeKey));
    assert.equal(statSync(join(dir, 'sync')).mode & 0o777, 0o700);
    for (const f of readdirSync(join(dir, 'sync'))) assert.equal(statSync(join(dir, 'sync', f)).mode & 0o777, 0o600, f);
    const b64 = files.mungeKey.toString('base64');
    for (const text of [r.out, r.err]) assert.ok(!text.includes(b64.slice(0, 24)) && !text.includes(b64.slice(400, 424)));
    // Every world-readable file of the state directory (hosts, the database…): no munge key.
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const full = join(d, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.isFile() && full !== files.mungeKeyPath && (statSync(full).mode & 0o004) !== 0) {
          const buf = readFileSync(full);
          assert.ok(!buf.includes(files.mungeKey.subarray(0, 32)) && !buf.toString('latin1').includes(b64.slice(0, 24)), `${full} holds the munge key`);
        }
      }
    };
    walk(dir);
    const j = await cli(dir, ...at, 'sync', 'users', '--json', '--min-uid', '1001', '--max-uid', '1001');
    assert.equal(j.code, 0, j.err);
    const o = JSON.parse(j.out);
    assert.deepEqual(o.users, ['bob']);
    assert.equal(o.mungeKey, true);
    assert.ok(!j.out.includes(b64.slice(0, 24)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--dry-run writes nothing; the serial keeps rising when the clock goes back', async () => {
  const { dir, files, at } = setup();
  try {
    const d = await cli(dir, ...at, 'sync', 'users', '--dry-run');
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^dry run: serial \d+ would carry 2 users/);
    assert.equal(existsSync(join(dir, 'sync', 'current')), false);
    const t = Date.parse('2030-01-01T00:00:00Z');
    const a = await publishFrom(dir, files, { now: () => t });
    assert.equal(a.serial, t / 1000);
    const b = await publishFrom(dir, files, { now: () => t - 86_400_000 });
    assert.equal(b.serial, a.serial + 1, 'a clock set back a day');
    const c = await publishFrom(dir, files, { now: () => t });
    assert.equal(c.serial, a.serial + 2);
    assert.equal(readCurrent(dir, 1 << 20)?.serial, c.serial);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the operator's errors: a bad range, an unreadable passwd, a short munge key, a payload over sync.maxPayloadBytes, another verb", async () => {
  const { dir, files, at } = setup();
  try {
    const range = await cli(dir, ...at, 'sync', 'users', '--min-uid', '2000', '--max-uid', '1000');
    assert.equal(range.code, 2);
    assert.match(range.err, /--min-uid 2000 is above --max-uid 1000/);
    const noEtc = await cli(dir, '--set', `sync.etcDir=${join(dir, 'nowhere')}`, 'sync', 'users');
    assert.equal(noEtc.code, 2);
    assert.match(noEtc.err, /cannot read .*nowhere\/passwd: ENOENT/);
    const shortKey = join(dir, 'short.key');
    writeFileSync(shortKey, 'x'.repeat(8), { mode: 0o600 });
    const short = await cli(dir, '--set', `sync.etcDir=${files.etcDir}`, '--set', `sync.mungeKeyPath=${shortKey}`, 'sync', 'users');
    assert.equal(short.code, 2);
    assert.match(short.err, /is 8 bytes; munge needs 32 to 16384/);
    assert.ok(!short.err.includes('xxxxxxxx'), 'the key is not quoted');
    writeFileSync(files.hostsPath, Array.from({ length: 70 }, (_, i) => `10.1.${i >> 8}.${i & 255}\tcompute-0-${i}.local compute-0-${i}\n`).join(''));
    const big = await cli(dir, ...at, '--set', 'sync.maxPayloadBytes=4096', 'sync', 'users');
    assert.equal(big.code, 2);
    assert.match(big.err, /more than sync\.maxPayloadBytes \(4096\)/);
    assert.equal(existsSync(join(dir, 'sync', 'current')), false);
    const none = await cli(dir, ...at, 'sync', 'groups');
    assert.equal(none.code, 2);
    assert.match(none.err, /unknown sync command "groups"/);
    const noKey = await cli(dir, '--set', `sync.etcDir=${files.etcDir}`, '--set', `sync.mungeKeyPath=${join(dir, 'absent.key')}`, 'sync', 'users');
    assert.equal(noKey.code, 0, noKey.err);
    assert.match(noKey.err, /no munge key at .*absent\.key.*the nodes keep theirs/);
    assert.match(noKey.out, /munge key no/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: sync.minUid above sync.maxUid is refused when the configuration loads', () => {
  assert.throws(
    () => loadConfig({ env: {}, overrides: { 'sync.minUid': '2000', 'sync.maxUid': '1000' } }),
    /sync\.maxUid.*sync\.minUid must not be above sync\.maxUid/s,
  );
  assert.equal(loadConfig({ env: {}, overrides: { 'sync.minUid': '500', 'sync.maxUid': '500' } }).sync.minUid, 500);
});
