// The sync payload and envelope (src/sync/format.ts) and their Ed25519 signature (keys.ts): a round
// trip, and every malformed input refused with E_SYNC_PAYLOAD naming the field and byte offset —
// truncated, oversized, not the format at all (JSON, binary), the wrong version, bad counts, bad
// account lines; a tampered payload or another frontend's key fails verification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope, encodePayload, parseEnvelope, parsePayload, SyncKeys, verifySignature, type SyncPayload } from '../../src/sync/index.js';
import { DecodeError } from '../../src/errors.js';
import { tempStateDir } from '../helpers/tmp.js';

const KEY = Buffer.alloc(64, 7);
const P: SyncPayload = {
  serial: 42,
  created: '2026-12-05T22:00:00Z',
  minUid: 1000,
  maxUid: 59999,
  passwd: ['alice:x:1000:1000:Alice Doe,,,:/home/alice:/bin/bash', 'bob:x:1001:100::/home/bob:/bin/sh'],
  group: ['alice:x:1000:', 'lab:x:2000:alice,bob'],
  shadow: ['alice:$y$j9T$salt$hash:19000:0:99999:7:::'],
  hosts: ['10.1.1.1\tfrontend.local frontend', '10.1.255.254\tcompute-0-0.local compute-0-0'],
  mungeKey: KEY,
};
const LIMITS = { maxBytes: 1 << 20 };

function refused(buf: Buffer, field: RegExp | string, why: RegExp, limits = LIMITS): DecodeError {
  let err: unknown;
  try {
    parsePayload(buf, limits);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DecodeError, `accepted: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
  assert.equal(err.code, 'E_SYNC_PAYLOAD');
  if (typeof field === 'string') assert.equal(err.field, field, err.message);
  else assert.match(err.field, field, err.message);
  assert.match(err.message, why);
  assert.ok(err.offset >= 0 && err.offset <= Math.max(buf.length, limits.maxBytes), `offset ${err.offset}`);
  return err;
}

const edit = (from: string, to: string) => Buffer.from(encodePayload(P).toString('utf8').replace(from, to), 'utf8');

test('a payload survives encode → parse unchanged, munge key included; the text is the documented line format', () => {
  const buf = encodePayload(P);
  assert.deepEqual(parsePayload(buf, LIMITS), P);
  const text = buf.toString('utf8');
  assert.match(text, /^netroot-sync 1\nserial 42\ncreated 2026-12-05T22:00:00Z\nuid-range 1000 59999\npasswd 2\n/);
  assert.match(text, /\nhosts 2\n10\.1\.1\.1\tfrontend/);
  assert.match(text, /\nmunge-key 2\n[A-Za-z0-9+/]{76}\n[A-Za-z0-9+/=]+\nend\n$/);
  assert.deepEqual(parsePayload(encodePayload({ ...P, mungeKey: null, passwd: [], shadow: [], group: [] }), LIMITS).mungeKey, null);
});

test('truncated anywhere: refused, never a shorter payload taken for a whole one', () => {
  const buf = encodePayload(P);
  for (let n = 0; n < buf.length; n++) {
    let err: unknown;
    try {
      parsePayload(buf.subarray(0, n), LIMITS);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof DecodeError && err.code === 'E_SYNC_PAYLOAD', `a payload cut at ${n} of ${buf.length} bytes was accepted`);
  }
  // Cut at a line end: the line counts give it away.
  const text = buf.toString('utf8');
  refused(Buffer.from(text.slice(0, text.indexOf('group ')), 'utf8'), 'group', /truncated/);
  refused(Buffer.from(text.replace('passwd 2', 'passwd 9'), 'utf8'), /passwd|group|shadow|hosts|munge-key|end/, /.+/);
});

test('oversized: refused before it is split into lines (the limit is the setting)', () => {
  const buf = encodePayload({ ...P, hosts: Array.from({ length: 5000 }, (_, i) => `10.1.${i >> 8}.${i & 255}\tnode-${i}`) });
  refused(buf, 'payload', /larger than 4096 bytes/, { maxBytes: 4096 });
  assert.equal(parsePayload(buf, { maxBytes: buf.length }).hosts.length, 5000);
  assert.throws(() => parseEnvelope(Buffer.alloc(5000, 0x41), { maxBytes: 4096 }), /envelope at byte 4096: larger than 4096 bytes/);
});

test('not the format: JSON, binary, empty, CR line ends, a control character, bytes after end, invalid UTF-8', () => {
  refused(Buffer.from(JSON.stringify({ serial: 1, passwd: [] }) + '\n'), 'magic', /not a netroot sync payload/);
  refused(Buffer.from('{"serial": 1\n'), 'magic', /not a netroot sync payload/);
  refused(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x0a]), 'payload', /not valid UTF-8/);
  refused(Buffer.from([0x1f, 0x08, 0x0a]), 'payload', /control character/);
  refused(Buffer.alloc(0), 'payload', /empty/);
  refused(Buffer.from(encodePayload(P).toString('utf8').replace(/\n/g, '\r\n'), 'utf8'), 'payload', /control character/);
  refused(edit('Alice Doe', 'Alice\x00Doe'), 'payload', /control character/);
  refused(Buffer.concat([encodePayload(P), Buffer.from('passwd 0\n')]), 'end', /bytes after "end"/);
  refused(
    Buffer.concat([Buffer.from('netroot-sync 1\nserial 1\ncreated 2026-12-05T22:00:00Z\nuid-range 1000 2000\npasswd 1\n'), Buffer.from([0xc3, 0x28, 0x0a])]),
    'payload',
    /UTF-8/,
  );
});

test('wrong version, bad header fields, bad section counts', () => {
  refused(edit('netroot-sync 1', 'netroot-sync 2'), 'version', /unsupported payload version 2/);
  refused(edit('serial 42', 'serial 0'), 'serial', /1 to 2\^53-1/);
  refused(edit('serial 42', 'serial 042'), 'serial', /1 to 2\^53-1/);
  refused(edit('serial 42', 'serial 9007199254740993'), 'serial', /1 to 2\^53-1/);
  refused(edit('serial 42', 'serial -1'), 'serial', /1 to 2\^53-1/);
  refused(edit('serial 42', 'serials 42'), 'serial', /expected "serial/);
  refused(edit('created 2026-12-05T22:00:00Z', 'created yesterday'), 'created', /YYYY-MM-DD/);
  refused(edit('uid-range 1000 59999', 'uid-range 59999 1000'), 'uid-range', /min <= max/);
  refused(edit('uid-range 1000 59999', 'uid-range 0 59999'), 'uid-range', /min <= max/);
  refused(edit('uid-range 1000 59999', 'uid-range 1000 59999 3'), 'uid-range', /min <= max/);
  refused(edit('group 2', 'group two'), 'group', /bad line count/);
  refused(edit('hosts 2', 'hosts 99999999'), 'hosts', /bad line count/);
  refused(edit('munge-key 2', 'munge-key 1'), 'end', /expected "end"/);
});

test('account lines: field counts, names, the UID range, duplicates, shadow without a user, a short munge key', () => {
  refused(edit('bob:x:1001:100::/home/bob:/bin/sh', 'bob:x:1001:100:/home/bob:/bin/sh'), 'passwd[1]', /7 fields/);
  refused(edit('bob:x:1001:100::/home/bob:/bin/sh', 'Bob Smith:x:1001:100::/home/bob:/bin/sh'), 'passwd[1]', /user name/);
  refused(edit('bob:x:1001:100::', 'bob:x:0:0::'), 'passwd[1]', /UID 0 is outside the range 1000-59999/);
  refused(edit('bob:x:1001:100::', 'bob:x:65534:100::'), 'passwd[1]', /outside the range/);
  refused(edit('bob:x:1001:100::', 'bob:x:1e3:100::'), 'passwd[1]', /whole numbers/);
  refused(edit('bob:x:1001:100::', 'alice:x:1001:100::'), 'passwd[1]', /appears twice/);
  refused(edit('lab:x:2000:alice,bob', 'sudo:x:27:alice,bob'), 'group[1]', /GID 27 is outside/);
  refused(edit('lab:x:2000:alice,bob', 'lab:x:2000'), 'group[1]', /4 fields/);
  refused(edit('alice:$y$j9T', 'root:$y$j9T'), 'shadow[0]', /not in the passwd section/);
  refused(edit('alice:$y$j9T$salt$hash:19000:0:99999:7:::', 'alice:hash'), 'shadow[0]', /9 fields/);
  const short = encodePayload({ ...P, mungeKey: null })
    .toString('utf8')
    .replace('munge-key 0', `munge-key 1\n${Buffer.alloc(16).toString('base64')}`);
  refused(Buffer.from(short), 'munge-key', /32 to 16384 bytes/);
  refused(
    Buffer.from(
      encodePayload({ ...P, mungeKey: null })
        .toString('utf8')
        .replace('munge-key 0', 'munge-key 1\nnot*base64'),
    ),
    'munge-key',
    /not base64/,
  );
  assert.throws(() => encodePayload({ ...P, passwd: ['root:x:0:0:root:/root:/bin/sh'] }), /UID 0 is outside/);
  assert.throws(() => encodePayload({ ...P, hosts: ['a\nb'] }), /control character/);
});

test('the envelope: magic, version, signature line; payload bytes handed back exactly as signed', () => {
  const payload = encodePayload(P);
  const env = encodeEnvelope(payload, KEY);
  const e = parseEnvelope(env, LIMITS);
  assert.ok(e.payload.equals(payload));
  assert.ok(e.signature.equals(KEY));
  assert.throws(() => parseEnvelope(Buffer.from('netroot-sync-envelope 2\n'), LIMITS), /version at byte 0: unsupported envelope version 2/);
  assert.throws(() => parseEnvelope(Buffer.from('hello\n'), LIMITS), /magic at byte 0/);
  assert.throws(() => parseEnvelope(Buffer.from('netroot-sync-envelope 1'), LIMITS), /truncated/);
  assert.throws(() => parseEnvelope(Buffer.from('netroot-sync-envelope 1\nsignature ed25519 AAAA'), LIMITS), /signature.*truncated/);
  assert.throws(() => parseEnvelope(Buffer.from('netroot-sync-envelope 1\nsignature ed25519 AAAA\n'), LIMITS), /signature at byte 24: expected/);
  assert.throws(() => parseEnvelope(Buffer.from(`netroot-sync-envelope 1\nsignature rsa ${KEY.toString('base64')}\n`), LIMITS), /signature at byte 24/);
  assert.throws(() => encodeEnvelope(payload, Buffer.alloc(10)), /64 bytes/);
});

test('sign/verify: the frontend key verifies its payload; one flipped bit, another frontend or a bad key does not', () => {
  const dir = tempStateDir('nrt-sync-keys-');
  const other = tempStateDir('nrt-sync-keys2-');
  try {
    const keys = new SyncKeys(dir);
    const payload = encodePayload(P);
    const sig = keys.sign(payload);
    const pub = keys.publicKeySpki();
    assert.equal(Buffer.from(pub, 'base64').length, 44);
    assert.ok(verifySignature(payload, sig, pub));
    for (const at of [0, 20, payload.length - 1]) {
      const t = Buffer.from(payload);
      t[at]! ^= 1;
      assert.equal(verifySignature(t, sig, pub), false, `bit flipped at ${at}`);
    }
    const s2 = Buffer.from(sig);
    s2[5]! ^= 0x80;
    assert.equal(verifySignature(payload, s2, pub), false);
    assert.equal(verifySignature(payload, new SyncKeys(other).sign(payload), pub), false, "another frontend's signature");
    assert.equal(verifySignature(payload, sig, Buffer.alloc(44).toString('base64')), false, 'not an Ed25519 SPKI');
    // The keys: created once, 0600 in a 0700 directory; a second instance reads the same ones.
    assert.equal(statSync(join(dir, 'sync')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'sync', 'signing-key.pem')).mode & 0o777, 0o600);
    assert.equal(new SyncKeys(dir).publicKeySpki(), pub);
    const secret = keys.nodeSecret('compute-0-0');
    assert.equal(statSync(join(dir, 'sync', 'node-key')).mode & 0o777, 0o600);
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(new SyncKeys(dir).nodeSecret('compute-0-0'), secret);
    assert.notEqual(keys.nodeSecret('compute-0-1'), secret);
    assert.notEqual(new SyncKeys(other).nodeSecret('compute-0-0'), secret);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});
