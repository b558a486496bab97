// Issue #14: a failed start hung. With the HTTP port taken, `netroot serve` printed the error but
// never exited: the iSCSI portal it had opened first kept Node alive (and systemd never restarted
// it). start() now closes what it opened, in reverse, and serve exits non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { createFrontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}
const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

/** A port nobody listens on right now (bound and released). */
async function freePort(): Promise<number> {
  const s = await listenOn(0);
  const port = (s.address() as { port: number }).port;
  await close(s);
  return port;
}

/** Whether the port can be bound again, i.e. whatever listened there is gone. */
async function isFree(port: number): Promise<boolean> {
  try {
    await close(await listenOn(port));
    return true;
  } catch {
    return false;
  }
}

test('start() with the HTTP port taken rejects E_LISTEN and closes the iSCSI portal it had opened', async () => {
  const dir = tempStateDir('nrt-failed-start-');
  const blocker = await listenOn(0);
  const httpPort = (blocker.address() as { port: number }).port;
  const iscsiPort = await freePort();
  const config = loadConfig({
    env: {},
    overrides: {
      stateDir: dir,
      'http.host': '127.0.0.1',
      'http.port': String(httpPort),
      'tftp.enabled': 'false',
      'iscsi.host': '127.0.0.1',
      'iscsi.port': String(iscsiPort),
    },
  });
  const f = createFrontend(config, { logger: silentLogger });
  try {
    await assert.rejects(f.start(), { code: 'E_LISTEN' });
    assert.ok(await isFree(iscsiPort), 'the iSCSI portal was closed by the failed start');
    // A failed start leaves a frontend that can start again once the port is free.
    await close(blocker);
    await f.start();
    assert.equal(f.httpPort(), httpPort);
    assert.ok(!(await isFree(iscsiPort)), 'the iSCSI portal listens again');
  } finally {
    await f.stop();
    if (blocker.listening) await close(blocker);
    rmSync(dir, { recursive: true });
  }
  assert.ok((await isFree(iscsiPort)) && (await isFree(httpPort)), 'stop() closed both');
});

test('netroot serve with the HTTP port taken exits non-zero within seconds and frees the iSCSI port', async () => {
  const dir = tempStateDir('nrt-failed-serve-');
  const blocker = await listenOn(0);
  const httpPort = (blocker.address() as { port: number }).port;
  const iscsiPort = await freePort();
  const flags = [
    '--set',
    'http.host=127.0.0.1',
    '--set',
    `http.port=${httpPort}`,
    '--set',
    'tftp.enabled=false',
    '--set',
    'iscsi.host=127.0.0.1',
    '--set',
    `iscsi.port=${iscsiPort}`,
  ];
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.resume();
  try {
    // The clock that matters starts when serve reports the failure (tsx's start-up before it may
    // take a few seconds on a busy two-core machine): it must be gone within 5 s of that.
    let failedAt = 0;
    child.stderr.on('data', () => {
      if (!failedAt && /cannot listen/.test(stderr)) failedAt = Date.now();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setInterval(() => {
        if (failedAt && Date.now() - failedAt > 5000) reject(new Error(`serve reported the failure but still runs after 5 s (hung): ${stderr}`));
        else if (!failedAt && Date.now() - started > 30_000) reject(new Error(`serve neither failed nor exited in 30 s: ${stderr}`));
      }, 100);
      child.on('exit', (c) => {
        clearInterval(t);
        resolve(c);
      });
    });
    assert.notEqual(code, 0, stderr);
    assert.notEqual(code, null, 'exited by itself, not by a signal');
    assert.match(stderr, /netroot: http: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    assert.ok(await isFree(iscsiPort), 'the iSCSI port is free again');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await close(blocker);
    rmSync(dir, { recursive: true });
  }
});

test('a storage node (netroot storage serve) with its HTTP port taken closes its iSCSI portal too', async () => {
  const { createStorageNode } = await import('../../src/app/storage-node.js');
  const dir = tempStateDir('nrt-failed-node-');
  const blocker = await listenOn(0);
  const httpPort = (blocker.address() as { port: number }).port;
  const iscsiPort = await freePort();
  const node = createStorageNode({
    backend: 'embedded',
    token: 'x'.repeat(40),
    httpHost: '127.0.0.1',
    httpPort,
    iscsiHost: '127.0.0.1',
    iscsiPort,
    portal: '127.0.0.1',
    volumesDir: dir,
    logger: silentLogger,
  });
  try {
    await assert.rejects(node.start(), { code: 'E_LISTEN' });
    assert.ok(await isFree(iscsiPort), 'the iSCSI portal was closed by the failed start');
  } finally {
    await node.stop();
    await close(blocker);
    rmSync(dir, { recursive: true });
  }
});
