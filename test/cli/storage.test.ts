// `netroot storage nodes|volumes|show|reconcile` against a running frontend (REST API) and
// without one (local fallback), and `netroot storage serve` as a real child process used by a
// frontend as a remote storage node, with a real iSCSI login to the target it serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { cli } from '../helpers/cli.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { have, iscsiInq } from '../storage/helpers.js';
import { waitFor } from '../helpers/wait.js';

const why = have('iscsi-inq') ? null : 'iscsi-inq missing (apt-get install libiscsi-bin)';
if (why && process.env['CI'] === 'true') throw new Error(`storage CLI test prerequisites missing under CI: ${why}`);

const mac = (i: number) => `52:54:00:00:04:${i.toString(16).padStart(2, '0')}`;
const base = frontendOverrides;

async function frontend(dir: string, file?: string): Promise<Frontend> {
  const f = createFrontend(loadConfig({ env: {}, file, overrides: base(dir) }), { logger: silentLogger });
  await f.start();
  return f;
}

test('netroot storage nodes|volumes|show|reconcile through the running frontend, and without it', { skip: why ?? false }, async () => {
  const dir = tempStateDir('nrt-scli-');
  const f = await frontend(dir);
  const at = ['--set', `http.port=${f.httpPort()}`, '--set', 'http.host=127.0.0.1'];
  try {
    await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    await f.engine.add({ mac: mac(2) }, { appliance: 'compute' });
    const secret = (await f.store.attributes.list({ scope: 'host', target: 'compute-0-0' })).find((a) => a.name === 'iscsi_secret')!.value;

    let r = await cli(dir, ...at, 'storage', 'nodes', '--json');
    assert.equal(r.code, 0, r.err);
    const nodes = JSON.parse(r.out) as Array<{ name: string; kind: string; up: boolean; volumes: number; freeBytes: number }>;
    assert.deepEqual(
      nodes.map((n) => [n.name, n.kind, n.up, n.volumes]),
      [['local', 'embedded', true, 1]],
    );
    assert.ok(nodes[0]!.freeBytes > 0);
    r = await cli(dir, ...at, 'storage', 'nodes');
    assert.match(r.out, /^NODE\s+KIND\s+URL\s+STATE\s+TOTAL GiB\s+FREE GiB\s+VOLUMES\nlocal\s+embedded\s+-\s+up\s+\S+\s+\S+\s+1\n$/);

    r = await cli(dir, ...at, 'storage', 'volumes', '--json');
    assert.equal(r.code, 0, r.err);
    const vols = JSON.parse(r.out) as Array<Record<string, unknown>>;
    assert.equal(vols.length, 1);
    assert.deepEqual(
      { ...vols[0], allocatedBytes: 0 },
      {
        node: 'local',
        volume: 'compute-0-0',
        host: 'compute-0-0',
        sizeBytes: 16 << 20,
        allocatedBytes: 0,
        target: 'iqn.2026-11.local.netroot:compute-0-0',
        initiator: 'iqn.2026-11.local.netroot:initiator.compute-0-0',
        portal: '127.0.0.1',
        port: f.storage.iscsiPort(),
        lun: 0,
        chapUser: 'compute-0-0',
        exported: true,
      },
    );
    r = await cli(dir, ...at, 'storage', 'volumes');
    assert.match(
      r.out,
      /^NODE\s+VOLUME\s+HOST\s+SIZE GiB\s+USED GiB\s+TARGET\s+EXPORTED\nlocal\s+compute-0-0\s+compute-0-0\s+0\.02\s+0(\.00)?\s+iqn\.2026-11\.local\.netroot:compute-0-0\s+yes\n$/,
    );

    for (const name of ['compute-0-0']) {
      r = await cli(dir, ...at, 'storage', 'show', name);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^host\s+compute-0-0$/m);
      assert.match(r.out, /^portal\s+127\.0\.0\.1:\d+$/m);
      assert.match(r.out, /^exported\s+yes$/m);
      assert.ok(!r.out.includes(secret), 'storage show printed the CHAP secret');
      r = await cli(dir, ...at, 'storage', 'show', name, '--json');
      assert.equal(JSON.parse(r.out).record.chapSecret, 'set');
      assert.ok(!r.out.includes(secret));
    }
    r = await cli(dir, ...at, 'storage', 'show', 'compute-0-1');
    assert.equal(r.code, 2);
    assert.match(r.err, /^netroot: host compute-0-1 has no iSCSI volume\n$/);
    r = await cli(dir, ...at, 'storage', 'show', 'nothing');
    assert.equal(r.code, 2);
    assert.match(r.err, /no host or volume named "nothing"/);

    // reconcile needs the API token (the CLI reads it from the state dir) and puts back a lost target.
    await f.storage.target!.removeTarget('iqn.2026-11.local.netroot:compute-0-0');
    r = await cli(dir, ...at, 'storage', 'reconcile', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), [{ node: 'local', result: { added: [], removed: [], updated: ['iqn.2026-11.local.netroot:compute-0-0'] } }]);
    r = await cli(dir, ...at, 'storage', 'reconcile');
    assert.equal(r.out, 'local: 0 added, 0 updated, 0 removed\n');
    const res = await fetch(`http://127.0.0.1:${f.httpPort()}/api/v1/storage/reconcile`, { method: 'POST' });
    assert.equal(res.status, 401);
  } finally {
    await f.stop();
  }
  try {
    // No frontend: the same reports from the database and the volume files, exports unknown.
    const at = ['--set', `http.port=${f.httpPort()}`];
    let r = await cli(dir, ...at, 'storage', 'volumes', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      (JSON.parse(r.out) as Array<{ volume: string; host: string; exported: unknown }>).map((v) => [v.volume, v.host, v.exported]),
      [['compute-0-0', 'compute-0-0', null]],
    );
    r = await cli(dir, ...at, 'storage', 'reconcile');
    assert.equal(r.code, 1);
    assert.match(r.out, /^local: the frontend is not running; it reconciles its own target when it starts\n$/);
    r = await cli(dir, ...at, 'storage', 'frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.err, /usage: netroot storage nodes/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('netroot storage serve: a storage node process the frontend allocates on; real login to its target', { skip: why ?? false }, async () => {
  const dir = tempStateDir('nrt-sserve-');
  const token = 'S'.repeat(24) + 'tokentokentoken1';
  writeFileSync(join(dir, 'token'), token + '\n', { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/helpers/netroot.ts',
      '--state-dir',
      join(dir, 'sn'),
      'storage',
      'serve',
      '--portal',
      '127.0.0.1',
      '--listen',
      '127.0.0.1:0',
      '--iscsi',
      '127.0.0.1:0',
      '--token-file',
      join(dir, 'token'),
      '--limit-gib',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let f: Frontend | undefined;
  try {
    const m = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`storage serve exited ${child.exitCode}: ${out} ${err}`);
        return /serving http on 127\.0\.0\.1:(\d+), iscsi \(embedded\) on 127\.0\.0\.1:(\d+)/.exec(out);
      },
      { what: () => `storage serve to start: ${out} ${err}`, timeoutMs: 30_000, intervalMs: 50 },
    );
    const file = join(dir, 'netroot.yaml');
    writeFileSync(file, JSON.stringify({ storage: { local: false, nodes: [{ name: 'sn1', url: `http://127.0.0.1:${m[1]}`, token }] } }));
    f = await frontend(join(dir), file);
    await f.engine.add({ mac: mac(1) }, { appliance: 'compute-diskless' });
    const a = Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: 'compute-0-0' })).map((x) => [x.name, x.value]));
    assert.equal(a['iscsi_storage_node'], 'sn1');
    assert.equal(a['iscsi_port'], m[2]);
    const ok = await iscsiInq({
      host: '127.0.0.1',
      port: Number(m[2]),
      targetIqn: a['iscsi_target']!,
      lun: 0,
      initiatorIqn: a['iscsi_initiator']!,
      user: a['iscsi_user']!,
      secret: a['iscsi_secret']!,
    });
    assert.ok(ok.ok, ok.stderr);
    const r = await cli(dir, '--set', `http.port=${f.httpPort()}`, '--set', 'http.host=127.0.0.1', 'storage', 'nodes', '--json');
    const nodes = JSON.parse(r.out) as Array<{ name: string; url: string; up: boolean; totalBytes: number; volumes: number }>;
    assert.deepEqual(
      nodes.map((n) => [n.name, n.url, n.up, n.totalBytes, n.volumes]),
      [['sn1', `http://127.0.0.1:${m[1]}`, true, 2 ** 30, 1]],
    );
    assert.ok(!err.includes(a['iscsi_secret']!) && !out.includes(a['iscsi_secret']!), 'the storage node logged a CHAP secret');
    assert.ok(!err.includes(token), 'the storage node logged its token');
  } finally {
    await f?.stop();
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
    rmSync(dir, { recursive: true });
  }
});
