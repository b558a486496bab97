// Shared by the dashboard's browser tests (test/web/*.test.ts) and bench/dashboard.bench.ts: the
// built dashboard (dist/web, built once when missing), a real frontend on loopback with its own DHCP
// server on `lo` (a free port; SO_BINDTODEVICE: root, as the tests run), DHCP DISCOVERs written
// byte by byte (test/fixtures/dhcp/packets.ts), and Debian's chromium driven by playwright-core.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { readApiToken } from '../../src/app/api-token.js';
import { frontendOverrides } from '../helpers/frontend.js';
import { tempStateDir } from '../helpers/tmp.js';
import { freeUdpPort } from '../helpers/ports.js';
import { LOOPBACK_NETWORK } from '../helpers/loopback-frontend.js';
import { packet } from '../fixtures/dhcp/packets.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';

/** dist/web, built by scripts/build-web.mjs (npm run build:web) when it is missing or older than a file of web/. */
export function ensureWebBuilt(): void {
  const built = join(ROOT, 'dist', 'web', 'app', 'main.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  if (existsSync(built) && existsSync(join(ROOT, 'dist', 'web', 'index.html')) && statSync(built).mtimeMs >= newest(join(ROOT, 'web'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-web failed: ${r.stdout}${r.stderr}`);
}

export async function udpSend(buf: Buffer, port: number): Promise<void> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => s.send(buf, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  } finally {
    s.close();
  }
}

/** A BIOS PXE DISCOVER (RFC 2131 layout, as the fixtures) from `mac` (12 hex digits), option 60 = vendorClass. */
export function discover(mac: string, vendorClass = 'PXEClient:Arch:00000:UNDI:002001'): Buffer {
  const vc = Buffer.from(vendorClass, 'latin1');
  if (vc.length > 255) throw new Error('vendor class too long');
  return packet(
    { xid: mac.slice(4), mac },
    '350101' + '3902 04ec' + '5d02 0000' + '3c' + vc.length.toString(16).padStart(2, '0') + vc.toString('hex') + '3709 0102030405060c0d0f' + 'ff',
  );
}

export interface DashboardFrontend {
  f: Frontend;
  url: string;
  token: string;
  dhcpPort: number;
  /** Bearer headers for the REST API. */
  auth: Record<string, string>;
  close(): Promise<void>;
}

export async function startDashboardFrontend(overrides: Record<string, string> = {}): Promise<DashboardFrontend> {
  ensureWebBuilt();
  const dir = tempStateDir('nrt-web-');
  const config = loadConfig({
    env: {},
    overrides: {
      ...frontendOverrides(dir),
      ...LOOPBACK_NETWORK,
      'dhcp.interfaces': 'lo',
      'dhcp.port': String(await freeUdpPort()),
      ...overrides,
    },
  });
  const f = createFrontend(config, { logger: silentLogger });
  await f.start();
  const token = readApiToken(f.config)!;
  return {
    f,
    url: `http://127.0.0.1:${f.httpPort()}`,
    token,
    dhcpPort: config.dhcp.port,
    auth: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    close: async () => {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}
