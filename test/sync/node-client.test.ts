// The node-side client (src/sync/node/netroot-sync.sh), run for real with dash on a temporary root
// directory, against envelopes from the real publish code and, for the fetch path, a real frontend
// on loopback: a good payload is merged (system accounts kept, the range replaced, hosts block,
// munge key 0400 owned by munge); a tampered, replayed, foreign, truncated or out-of-range one is
// refused with every file left byte for byte as it was, whether given as a file or served by the
// frontend over HTTP (tampered on its way or on the frontend's disk, or an older signed one replayed);
// the munge key is never in the client's output nor in any world-readable file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { clientScriptPath, SyncKeys } from '../../src/sync/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { loopbackFrontend, type Loopback } from '../helpers/loopback-frontend.js';
import { frontendFiles, publishFrom, FRONTEND_PASSWD, type FrontendFiles } from './fixture.js';

const run = promisify(execFile);
const SH = 'dash';

let dir: string;
let state: string;
let files: FrontendFiles;

before(() => {
  dir = tempStateDir('nrt-sync-node-');
  state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  files = frontendFiles(dir, state);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A node root: system accounts (munge 101:102), carol in the range (to be removed), nobody outside it. */
function nodeRoot(name: string, conf: Record<string, string> = {}): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'etc', 'netroot'), { recursive: true });
  writeFileSync(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/bash\nmunge:x:101:102::/nonexistent:/usr/sbin/nologin\ncarol:x:1005:1005::/home/carol:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nmunge:x:102:\ncarol:x:1005:\nnogroup:x:65534:\n');
  writeFileSync(
    join(root, 'etc', 'shadow'),
    'root:$y$j9T$noderoot$h:19000:0:99999:7:::\nmunge:!:19000::::::\ncarol:$y$c$c:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n',
    {
      mode: 0o640,
    },
  );
  writeFileSync(join(root, 'etc', 'gshadow'), 'root:*::\nmunge:!::\ncarol:!::\nnogroup:*::\n', { mode: 0o640 });
  writeFileSync(join(root, 'etc', 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n');
  const lines = { NETROOT_SYNC_PUBKEY: new SyncKeys(state).publicKeySpki(), ...conf };
  writeFileSync(
    join(root, 'etc', 'netroot', 'sync.conf'),
    Object.entries(lines)
      .map(([k, v]) => `${k}='${v}'\n`)
      .join(''),
    { mode: 0o600 },
  );
  return root;
}

interface Ran {
  code: number;
  out: string;
}

async function client(root: string, ...args: string[]): Promise<Ran> {
  try {
    const r = await run(SH, [clientScriptPath(), '--root', root, ...args], {
      env: { TMPDIR: dir, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      encoding: 'latin1',
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, out: (x.stdout ?? '') + (x.stderr ?? '') };
  }
}

/** Every file under root but the client's lock file: content, mode and owner (a refusal must leave all of them as they were). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p !== join(root, 'var', 'lib', 'netroot-sync', 'lock')) {
        const s = statSync(p);
        out.set(p.slice(root.length), `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid} ${readFileSync(p).toString('base64')}`);
      }
    }
  };
  walk(root);
  return out;
}

function assertNoKeyLeak(text: string, where: string): void {
  const k = files.mungeKey;
  for (const probe of [
    k.toString('base64').slice(0, 24),
    k.toString('base64').slice(300, 324),
    k.toString('latin1').slice(100, 116),
    k.toString('hex').slice(0, 32),
  ])
    assert.ok(!text.includes(probe), `the munge key appears in ${where}`);
}

/** No file anyone may read (mode o+r) under `top` holds the munge key; its directory is 0700. */
function assertNoWorldReadableKey(top: string): void {
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = lstatSync(p);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (s.mode & 0o004) !== 0) assertNoKeyLeak(readFileSync(p, 'latin1') + readFileSync(p).toString('base64'), `world-readable ${p}`);
    }
  };
  walk(top);
}

const envelope = () => readFileSync(join(state, 'sync', 'current'));
function saveEnvelope(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes, { mode: 0o600 });
  return p;
}

let clock = Date.parse('2026-12-05T22:00:00Z');
const tick = () => (clock += 1000);

test('a good payload is merged: system accounts kept, the range replaced, hosts block, munge key 0400 owned by munge; the key is never printed', async () => {
  const root = nodeRoot('good');
  const pub = await publishFrom(state, files, { now: tick });
  const r = await client(root, '--file', saveEnvelope('good.env', envelope()));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`applied serial ${pub.serial}: 2 users in 1000-59999, 2 hosts, munge key changed`));
  assertNoKeyLeak(r.out, 'the client output');
  const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
  assert.equal(
    passwd,
    'root:x:0:0:root:/root:/bin/bash\nmunge:x:101:102::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' +
      FRONTEND_PASSWD.filter((l) => /^(alice|bob):/.test(l)).join('\n') +
      '\n',
  );
  assert.equal(
    readFileSync(join(root, 'etc', 'group'), 'utf8'),
    'root:x:0:\nmunge:x:102:\nnogroup:x:65534:\nalice:x:1000:\nbob:x:1001:\nphysics:x:2000:alice,bob\n',
  );
  const shadow = readFileSync(join(root, 'etc', 'shadow'), 'utf8');
  assert.match(shadow, /^root:\$y\$j9T\$noderoot\$h:/m, "the node's own root password stays");
  assert.doesNotMatch(shadow, /^carol:/m);
  assert.match(shadow, /^alice:\$y\$j9T\$alicesalt\$alicehash:/m);
  assert.doesNotMatch(shadow, /rootsalt/, "the frontend's root hash is never sent");
  assert.equal(readFileSync(join(root, 'etc', 'gshadow'), 'utf8'), 'root:*::\nmunge:!::\nnogroup:*::\nalice:!::\nbob:!::\nphysics:!::alice,bob\n');
  assert.equal(statSync(join(root, 'etc', 'shadow')).mode & 0o777, 0o640, 'shadow keeps its mode');
  assert.equal(
    readFileSync(join(root, 'etc', 'hosts'), 'utf8'),
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# netroot-sync begin\n127.0.0.1\tfrontend.local frontend\n127.0.0.2\tcompute-0-0.local compute-0-0\n# netroot-sync end\n',
  );
  const key = join(root, 'etc', 'munge', 'munge.key');
  assert.ok(readFileSync(key).equals(files.mungeKey));
  assert.equal(statSync(key).mode & 0o777, 0o400);
  assert.equal(statSync(join(root, 'etc', 'munge')).mode & 0o777, 0o700);
  if (process.getuid?.() === 0) assert.deepEqual([statSync(key).uid, statSync(key).gid], [101, 102], "owned by the root's munge user");
  assert.equal(readFileSync(join(root, 'var', 'lib', 'netroot-sync', 'serial'), 'utf8'), `${pub.serial}\n`);
  assertNoWorldReadableKey(dir);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('netroot-sync.')),
    [],
    'the work directory is removed',
  );

  // Applied again: the same serial is a replay, refused, nothing touched.
  const before = snapshot(root);
  const again = await client(root, '--file', join(dir, 'good.env'));
  assert.equal(again.code, 1);
  assert.match(again.out, /refused, keeping the last good files: serial \d+ is not above the last applied one \(\d+\): replayed or old payload/);
  assert.deepEqual(snapshot(root), before);
});

test('tampered (one byte of the payload, the signature, a truncated payload), foreign-signed or another version: refused, every file as it was', async () => {
  const root = nodeRoot('tamper');
  await publishFrom(state, files, { now: tick });
  assert.equal((await client(root, '--file', saveEnvelope('base.env', envelope()))).code, 0);
  await publishFrom(state, files, { now: tick });
  const good = envelope();
  const text = good.toString('latin1');
  const cases: Array<[string, Buffer, RegExp]> = [
    ['gecos', Buffer.from(text.replace('Alice,,,', 'Alicf,,,'), 'latin1'), /bad signature/],
    ['uid', Buffer.from(text.replace('bob:x:1001:1001', 'bob:x:1001:0000'), 'latin1'), /bad signature/],
    [
      'munge',
      Buffer.from(
        text.replace(/munge-key (\d+)\n(.)/, (_m, n, c) => `munge-key ${n}\n${c === 'A' ? 'B' : 'A'}`),
        'latin1',
      ),
      /bad signature/,
    ],
    [
      'signature',
      Buffer.from(
        text.replace(/^(netroot-sync-envelope 1\nsignature ed25519 )(.)/, (_m, h, c) => `${h}${c === 'A' ? 'B' : 'A'}`),
        'latin1',
      ),
      /bad signature/,
    ],
    ['truncated', good.subarray(0, good.length - 40), /bad signature/],
    ['header only', good.subarray(0, good.indexOf('\n', 30) + 1), /bad signature/],
    ['version', Buffer.from(text.replace('netroot-sync-envelope 1', 'netroot-sync-envelope 2'), 'latin1'), /not a version 1 sync envelope/],
    ['no signature', Buffer.from(text.replace(/signature ed25519 [^\n]*/, 'signature none'), 'latin1'), /no Ed25519 signature line/],
    ['garbage', Buffer.from('{"serial": 99999999999}\n'), /not a version 1 sync envelope/],
  ];
  // Signed by another frontend (a key the node was not given).
  const other = join(dir, 'other-state');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'hosts'), '');
  await publishFrom(other, { ...files, hostsPath: join(other, 'hosts') }, { now: tick });
  cases.push(['foreign', readFileSync(join(other, 'sync', 'current')), /bad signature \(tampered, or signed by another frontend\)/]);
  const before = snapshot(root);
  for (const [name, bytes, why] of cases) {
    const r = await client(root, '--file', saveEnvelope(`${name}.env`, bytes));
    assert.equal(r.code, 1, `${name}: ${r.out}`);
    assert.match(r.out, /refused, keeping the last good files: /, name);
    assert.match(r.out, why, name);
    assertNoKeyLeak(r.out, `the output for ${name}`);
    assert.deepEqual(snapshot(root), before, `${name}: a file changed`);
  }
  // The untouched newer envelope still applies afterwards.
  const ok = await client(root, '--file', saveEnvelope('newer.env', good));
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /munge key unchanged/);
});

test('an older payload after a newer one is refused (replay); a range wider than the node allows and a name clash with a local account are refused', async () => {
  const root = nodeRoot('replay', { NETROOT_SYNC_MIN_UID: '1000', NETROOT_SYNC_MAX_UID: '59999' });
  await publishFrom(state, files, { now: tick });
  const older = saveEnvelope('older.env', envelope());
  await publishFrom(state, files, { now: tick });
  const newer = saveEnvelope('newer2.env', envelope());
  assert.equal((await client(root, '--file', newer)).code, 0);
  const before = snapshot(root);
  const r = await client(root, '--file', older);
  assert.equal(r.code, 1);
  assert.match(r.out, /replayed or old payload/);
  assert.deepEqual(snapshot(root), before);

  await publishFrom(state, files, { now: tick, minUid: 100, maxUid: 59999 });
  const wide = await client(root, '--file', saveEnvelope('wide.env', envelope()));
  assert.equal(wide.code, 1);
  assert.match(wide.out, /uid-range 100-59999 is not inside this node's 1000-59999/);
  assert.deepEqual(snapshot(root), before);

  const clash = nodeRoot('clash');
  writeFileSync(join(clash, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nalice:x:999:999::/var/lib/alice:/usr/sbin/nologin\n');
  const clashBefore = snapshot(clash);
  await publishFrom(state, files, { now: tick });
  const c = await client(clash, '--file', saveEnvelope('clash.env', envelope()));
  assert.equal(c.code, 1);
  assert.match(c.out, /alice is a local account outside the synced range/);
  assert.deepEqual(snapshot(clash), clashBefore);
});

test('fetch: the client gets its payload from a real frontend with its secret (then 304: nothing to do); a wrong secret is refused and logged, not applied', async () => {
  let lb: Loopback | undefined;
  try {
    // The client's curl connects from 127.0.0.1: the node of this test has that address.
    lb = await loopbackFrontend({ prefix: 'nrt-sync-fetch-', hosts: [{ name: 'compute-0-9', mac: '52:54:00:aa:00:99', ip: '127.0.0.1' }] });
    const fe = frontendFiles(lb.dir, lb.dir);
    const pub = await publishFrom(lb.dir, fe);
    const keys = new SyncKeys(lb.dir);
    const conf = {
      NETROOT_SYNC_URL: `http://127.0.0.1:${lb.port}`,
      NETROOT_SYNC_SECRET: keys.nodeSecret('compute-0-9'),
      NETROOT_SYNC_PUBKEY: keys.publicKeySpki(),
    };
    const root = nodeRoot('fetch', conf);
    const r = await client(root);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`applied serial ${pub.serial}`));
    assert.ok(readFileSync(join(root, 'etc', 'munge', 'munge.key')).equals(fe.mungeKey));
    assert.ok(!r.out.includes(conf.NETROOT_SYNC_SECRET), 'the secret is not printed');
    const same = await client(root);
    assert.equal(same.code, 0, same.out);
    assert.equal(same.out, '', 'an unchanged serial (304) does nothing and says nothing');

    const wrong = nodeRoot('fetch-wrong', { ...conf, NETROOT_SYNC_SECRET: keys.nodeSecret('compute-0-0') });
    const before = snapshot(wrong);
    const w = await client(wrong);
    assert.equal(w.code, 1);
    assert.match(w.out, /the frontend refused this node's credential \(HTTP 403\)/);
    assert.deepEqual(snapshot(wrong), before);
    assertNoWorldReadableKey(lb.dir);
  } finally {
    await lb?.close();
  }
});

test('fetch: a tampered or replayed payload served over HTTP is refused, every file kept as it was; the next good one applies', async () => {
  let lb: Loopback | undefined;
  try {
    lb = await loopbackFrontend({ prefix: 'nrt-sync-fetch-bad-', hosts: [{ name: 'compute-0-9', mac: '52:54:00:aa:00:99', ip: '127.0.0.1' }] });
    const fe = frontendFiles(lb.dir, lb.dir);
    const keys = new SyncKeys(lb.dir);
    const root = nodeRoot('fetch-bad', {
      NETROOT_SYNC_URL: `http://127.0.0.1:${lb.port}`,
      NETROOT_SYNC_SECRET: keys.nodeSecret('compute-0-9'),
      NETROOT_SYNC_PUBKEY: keys.publicKeySpki(),
    });
    const current = join(lb.dir, 'sync', 'current');
    // What the frontend serves, replaced whole (a new inode: the route re-reads it).
    const serve = (bytes: Buffer) => {
      writeFileSync(`${current}.new`, bytes, { mode: 0o600 });
      renameSync(`${current}.new`, current);
    };
    let t = Date.parse('2026-12-05T23:00:00Z');
    await publishFrom(lb.dir, fe, { now: () => (t += 1000) });
    const older = readFileSync(current);
    await publishFrom(lb.dir, fe, { now: () => (t += 1000) });
    const applied = await client(root);
    assert.equal(applied.code, 0, applied.out);
    const good = snapshot(root);

    // Tampered on the way (or on the frontend's disk): a newer serial, one byte of a user changed.
    await publishFrom(lb.dir, fe, { now: () => (t += 1000) });
    const newer = readFileSync(current);
    serve(Buffer.from(newer.toString('latin1').replace('Alice,,,', 'Alicf,,,'), 'latin1'));
    const tampered = await client(root);
    assert.equal(tampered.code, 1, tampered.out);
    assert.match(tampered.out, /refused, keeping the last good files: bad signature/);
    assert.deepEqual(snapshot(root), good);

    // Replayed: the frontend (or someone in between) answers with an older, really signed payload.
    serve(older);
    const replayed = await client(root);
    assert.equal(replayed.code, 1, replayed.out);
    assert.match(replayed.out, /refused, keeping the last good files: serial \d+ is not above the last applied one \(\d+\): replayed or old payload/);
    assert.deepEqual(snapshot(root), good);
    assertNoKeyLeak(tampered.out + replayed.out, 'the refusals');

    serve(newer);
    const ok = await client(root);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /applied serial/);
  } finally {
    await lb?.close();
  }
});
