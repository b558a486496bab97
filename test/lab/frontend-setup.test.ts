// The lab frontend's config and readiness wait (src/lab/frontend-setup.ts), without a namespace:
// the config is read back by netroot's own loader; waitReady polls a real HTTP server with curl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { labConfig, waitReady, writeLabConfig } from '../../src/lab/frontend-setup.js';
import { loadConfig } from '../../src/config/index.js';
import { tempStateDir } from '../helpers/tmp.js';

test('labConfig: what netroot itself reads back, with each option', () => {
  const dir = tempStateDir('nrt-labcfg-');
  try {
    writeLabConfig(dir, {
      frontendAddress: '10.77.0.1',
      tftp: true,
      iscsi: true,
      pingIdleSeconds: 5,
      volumeGiB: 2,
      tgtControlPort: 1234,
      installArgs: 'netroot.mode=install console=ttyS0 panic=-1',
      disklessArgs: 'console=ttyS0 "quoted"',
      extra: 'events:\n  maxRows: 500\n',
    });
    const c = loadConfig({ env: {}, file: join(dir, 'netroot.yaml'), overrides: { stateDir: dir } });
    assert.equal(c.network.frontendAddress, '10.77.0.1');
    assert.equal(c.network.privateNetwork, '10.77.0.0/24');
    assert.deepEqual([...c.dhcp.interfaces], ['br0']);
    assert.equal(c.http.port, 8080);
    assert.equal(c.tftp.enabled, true);
    assert.equal(c.iscsi.enabled, true);
    assert.equal(c.iscsi.pingIdleSeconds, 5);
    assert.equal(c.storage.defaultVolumeGiB, 2);
    assert.equal(c.storage.backend, 'tgt');
    assert.equal(c.storage.tgtControlPort, 1234);
    assert.equal(c.boot.installArgs, 'netroot.mode=install console=ttyS0 panic=-1');
    assert.equal(c.boot.disklessArgs, 'console=ttyS0 "quoted"');
    assert.equal(c.events.maxRows, 500);
    const plain = labConfig({ frontendAddress: '10.77.0.1' });
    assert.match(plain, /tftp: \{ enabled: false \}/);
    assert.match(plain, /iscsi: \{ enabled: false,/);
    assert.doesNotMatch(plain, /boot:|backend: tgt/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("labConfig with rbd: storage.backend rbd, the cluster's pool, conf, client id and keyring path, through tgtd", () => {
  const dir = tempStateDir('nrt-labcfg-');
  try {
    const rbd = { pool: 'rbd', conf: '/tmp/nrt-ceph-x/ceph.conf', clientId: 'netroot', keyring: '/tmp/nrt-ceph-x/client.netroot.keyring' };
    writeLabConfig(dir, { frontendAddress: '10.77.0.1', iscsi: true, tgtControlPort: 4321, rbd });
    const c = loadConfig({ env: {}, file: join(dir, 'netroot.yaml'), overrides: { stateDir: dir } });
    assert.equal(c.storage.backend, 'rbd');
    assert.equal(c.storage.tgtControlPort, 4321);
    assert.deepEqual({ pool: c.storage.rbd.pool, conf: c.storage.rbd.conf, clientId: c.storage.rbd.clientId, keyring: c.storage.rbd.keyring }, rbd);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waitReady: polls /readyz until 200; a frontend that exits first, or a deadline, is an error saying why', async () => {
  let asked = 0;
  const server = createServer((_req, res) => {
    asked++;
    res.writeHead(asked < 3 ? 503 : 200).end(asked < 3 ? '{"ready":false}' : '{"ready":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const spawnIn = (cmd: string, args: string[]) => spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const alive = spawn('sleep', ['30']);
  try {
    await waitReady({ spawnIn, address: '127.0.0.1', port, frontend: alive, deadlineMs: 10_000 });
    assert.equal(asked, 3, 'two 503s, then ready');
    asked = -1000; // 503 from now on
    await assert.rejects(
      waitReady({ spawnIn, address: '127.0.0.1', port, frontend: alive, deadlineMs: 600, why: () => 'stderr tail' }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_LAB_FRONTEND');
        assert.match(e.message, /was not ready in 0\.6 s \(http:\/\/127\.0\.0\.1:\d+\/readyz: 503 \{"ready":false\}\):\nstderr tail/);
        return true;
      },
    );
    const dead = spawn('sh', ['-c', 'exit 3']);
    await assert.rejects(
      waitReady({ spawnIn, address: '127.0.0.1', port, frontend: dead, deadlineMs: 10_000 }),
      /netroot serve exited with 3 before it was ready/,
    );
  } finally {
    alive.kill();
    server.close();
  }
});
