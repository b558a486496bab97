// Issue #23: the frontend starts the router-advertisement responder with DHCP (on the same
// interfaces), stops it first, and a responder that cannot open its sockets unwinds the whole start
// (DHCP and HTTP closed, start() rejects). DHCP runs on `lo` on a kernel-chosen port (SO_BINDTODEVICE
// needs root); the ICMPv6 sockets are a fake (test/dhcp/ra.netns.test.ts has the real ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createFrontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { offServices } from '../../src/cli/serve.js';
import type { Icmp6Io } from '../../src/dhcp/index.js';
import { tempStateDir } from '../helpers/tmp.js';
import { loopbackOverrides } from '../helpers/loopback-frontend.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root (SO_BINDTODEVICE)' : false;

function fakeIo(log: string[], fail: boolean | 'no-ipv6'): Icmp6Io {
  let n = 0;
  return {
    open: (ifname) => {
      if (fail === 'no-ipv6')
        throw Object.assign(new Error('socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6): Address family not supported by protocol (EAFNOSUPPORT)'), {
          code: 'E_ICMP6',
          errno: 'EAFNOSUPPORT',
        });
      if (fail) throw Object.assign(new Error(`join ff02::2 on ${ifname}: No such device (ENODEV)`), { code: 'E_ICMP6', errno: 'ENODEV' });
      log.push(`open ${ifname}`);
      return n++;
    },
    send: () => undefined,
    close: (id) => void log.push(`close ${id}`),
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function config(dir: string, extra: Record<string, string> = {}) {
  return loadConfig({
    env: {},
    overrides: {
      ...loopbackOverrides(dir),
      'iscsi.enabled': 'false',
      'dhcp.interfaces': 'lo',
      'dhcp.port': '0',
      ...extra,
    },
  });
}

test('dhcp.routerAdvertisement (default on) starts the responder on the DHCP interfaces and stop() closes it', { skip }, async () => {
  const dir = tempStateDir('nrt-ra-app-');
  const log: string[] = [];
  const c = config(dir);
  assert.equal(c.dhcp.routerAdvertisement, true);
  assert.equal(c.dhcp.raMaxPerSourcePerMinute, 10);
  assert.equal(c.dhcp.raMaxPerSecond, 100);
  const f = createFrontend(c, { logger: silentLogger, icmp6: fakeIo(log, false) });
  try {
    await f.start();
    assert.ok(f.routerAdvertiser(), 'running');
    assert.deepEqual(log, ['open lo']);
    assert.ok(!offServices(c).some((o) => o.startsWith('ra:')));
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(log, ['open lo', 'close 0']);
  assert.equal(f.routerAdvertiser(), undefined);
});

test('dhcp.routerAdvertisement=false: no responder, and serve says so', { skip }, async () => {
  const dir = tempStateDir('nrt-ra-app-');
  const log: string[] = [];
  const c = config(dir, { 'dhcp.routerAdvertisement': 'false' });
  const f = createFrontend(c, { logger: silentLogger, icmp6: fakeIo(log, false) });
  try {
    await f.start();
    assert.equal(f.routerAdvertiser(), undefined);
    assert.deepEqual(log, []);
    assert.match(offServices(c).join('\n'), /^ra: dhcp\.routerAdvertisement is false/m);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a responder that cannot open its socket fails start() and unwinds DHCP and HTTP', { skip }, async () => {
  const dir = tempStateDir('nrt-ra-app-');
  const port = await freePort();
  const f = createFrontend(config(dir, { 'http.port': String(port) }), { logger: silentLogger, icmp6: fakeIo([], true) });
  try {
    await assert.rejects(
      f.start(),
      (e: unknown) => (e as { code?: string }).code === 'E_RA_SOCKET' && /lo.*dhcp\.routerAdvertisement=false/.test((e as Error).message),
    );
    assert.equal(f.routerAdvertiser(), undefined);
    assert.ok(await portIsFree(port), 'HTTP closed by the failed start');
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a kernel without IPv6: the frontend starts without the responder', { skip }, async () => {
  const dir = tempStateDir('nrt-ra-app-');
  const f = createFrontend(config(dir), { logger: silentLogger, icmp6: fakeIo([], 'no-ipv6') });
  try {
    await f.start();
    assert.equal(f.routerAdvertiser(), undefined);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
