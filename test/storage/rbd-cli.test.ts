// The RBD backend's reading of the rbd/ceph tools without a cluster: failure classification,
// the redaction of key-like text from their stderr, malformed JSON output, and bad configuration.
// The backend against a real cluster is rbd.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyCephFailure, parseCephJson, RbdCli, redactCephOutput, summariseCephError } from '../../src/storage/rbd-cli.js';
import { childrenSchema, dfSchema, duSchema, infoSchema, RbdVolumes } from '../../src/storage/rbd-volumes.js';
import { tempDir } from './helpers.js';

const KEY = 'AQBz3VdnAAAAABAAk0qQ2/9yJ3o+0Hn6V0w8pA==';

test('stderr of a malformed keyring: the key never reaches the message', () => {
  const stderr = [
    `2026-12-05T22:12:20.946+0000 7f2c55297380 -1 auth: error parsing file /k: error setting modifier for [client.netroot] type=key val=${KEY}: Malformed input`,
    '2026-12-05T22:12:20.950+0000 7f2c55297380 -1 monclient: keyring not found',
    "rbd: couldn't connect to the cluster!",
    'rbd: listing images failed: (5) Input/output error',
  ].join('\n');
  const s = summariseCephError(stderr);
  assert.ok(!s.includes(KEY) && !s.includes(KEY.slice(0, 20)), s);
  assert.match(s, /couldn't connect to the cluster/);
  assert.deepEqual(classifyCephFailure(5, stderr), { code: 'E_RBD_AUTH', errno: 5 });
  // Whatever line survives, nothing key-like does.
  for (const line of [`key = ${KEY}`, `secret=${KEY}`, `[client.x]\n\tkey = ${KEY}`, `xx ${KEY} yy`, `val=${KEY.slice(0, 12)}`]) {
    const r = redactCephOutput(line);
    assert.ok(!r.includes(KEY.slice(2, 14)), `${line} → ${r}`);
  }
});

test('classifyCephFailure: timeouts and refused connections are E_RBD_DOWN, errno kept for the rest', () => {
  const down =
    "monclient(hunting): authenticate timed out after 3\nrbd: couldn't connect to the cluster!\nrbd: listing images failed: (110) Connection timed out";
  assert.deepEqual(classifyCephFailure(110, down), { code: 'E_RBD_DOWN', errno: 110 });
  assert.deepEqual(classifyCephFailure(1, '[errno 110] RADOS timed out (error connecting to the cluster)'), { code: 'E_RBD_DOWN', errno: 110 });
  assert.deepEqual(classifyCephFailure(2, 'rbd: error opening image x: (2) No such file or directory'), { code: 'E_RBD_FAILED', errno: 2 });
  assert.deepEqual(classifyCephFailure(39, "rbd: image has snapshots - these must be deleted with 'rbd snap purge'"), { code: 'E_RBD_FAILED', errno: 39 });
  assert.deepEqual(classifyCephFailure(17, 'rbd: create error: (17) File exists'), { code: 'E_RBD_FAILED', errno: 17 });
  assert.deepEqual(classifyCephFailure(null, ''), { code: 'E_RBD_FAILED', errno: 0 });
  // Garbage: no crash, a generic failure; the message is bounded.
  assert.equal(classifyCephFailure(1, '\u0000\u00ff((((9999999) x').code, 'E_RBD_FAILED');
  assert.ok(summariseCephError('x'.repeat(10_000)).length <= 300);
});

test('malformed tool output is E_RBD_PARSE, never a crash or a wrong answer', () => {
  const bad: Array<[string, Parameters<typeof parseCephJson>[1]]> = [
    ['{', duSchema],
    ['not json', duSchema],
    ['{"images": "x"}', duSchema],
    ['{"images": [{"name": "a", "provisioned_size": -1, "used_size": 0}]}', duSchema],
    ['{"images": [{"name": 5, "provisioned_size": 1, "used_size": 0}]}', duSchema],
    ['{"name": "a"}', infoSchema],
    ['{"name": "a", "size": "big"}', infoSchema],
    ['{"name": "a", "size": 1, "parent": {"pool": 1}}', infoSchema],
    ['[{"pool": "rbd"}]', childrenSchema],
    ['{"pools": [{"name": "rbd", "stats": {}}]}', dfSchema],
    ['null', dfSchema],
  ];
  for (const [out, schema] of bad) assert.throws(() => parseCephJson(out, schema, 'rbd x'), { code: 'E_RBD_PARSE' }, out);
  // rbd prints nothing for an empty list.
  assert.deepEqual(parseCephJson('', childrenSchema, 'rbd children'), []);
  assert.deepEqual(parseCephJson('{"images":[],"total_provisioned_size":0}', duSchema, 'rbd du'), { images: [] });
});

test('configuration: a pool name with a slash, a missing conf or keyring', async () => {
  assert.throws(() => new RbdVolumes({ pool: 'rbd/x', conf: '/c', clientId: 'n', keyring: '/k', tgtConf: '/t' }), { code: 'E_RBD_CONFIG' });
  assert.throws(() => new RbdVolumes({ pool: '', conf: '/c', clientId: 'n', keyring: '/k', tgtConf: '/t' }), { code: 'E_RBD_CONFIG' });
  const t = tempDir();
  try {
    const conf = join(t.dir, 'ceph.conf');
    writeFileSync(conf, '[global]\nmon host = 127.0.0.1:1\n');
    const secretPath = join(t.dir, 'nonexistent.keyring');
    await assert.rejects(new RbdCli({ conf, clientId: 'netroot', keyring: secretPath }).rbd(['ls']), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_RBD_CONFIG');
      assert.match(e.message, /keyring .* cannot be read/);
      return true;
    });
    await assert.rejects(new RbdCli({ conf: join(t.dir, 'none.conf'), clientId: 'netroot', keyring: conf }).rbd(['ls']), { code: 'E_RBD_CONFIG' });
    // The tool missing: E_RBD_DOWN naming the package.
    const keyring = join(t.dir, 'k');
    writeFileSync(keyring, '');
    chmodSync(keyring, 0o600);
    await assert.rejects(new RbdCli({ conf, clientId: 'netroot', keyring, rbd: join(t.dir, 'no-rbd') }).rbd(['ls']), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_RBD_DOWN');
      assert.match(e.message, /ceph-common/);
      return true;
    });
  } finally {
    t.cleanup();
  }
});
