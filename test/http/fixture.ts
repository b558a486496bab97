// A started frontend on loopback for the HTTP tests (availability limits, log lines): HTTP only (TFTP off, the iSCSI
// target on an ephemeral loopback port), one registered node compute-0-0 at 127.0.0.2 with MAC
// 52:54:00:aa:00:01, and a big installer initrd (sparse: reading it costs no disk).
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';

export const NODE = { name: 'compute-0-0', mac: '52:54:00:aa:00:01', ip: '127.0.0.2' } as const;
export const BIG_FILE = '/boot/files/install/initrd.img';
export const BIG_FILE_BYTES = 64 * 1024 * 1024;

export interface Fixture {
  f: Frontend;
  port: number;
  close(): Promise<void>;
}

export async function startFrontend(overrides: Record<string, string> = {}, logger: Logger = silentLogger): Promise<Fixture> {
  const dir = tempStateDir('nrt-http-limits-');
  const config = loadConfig({
    env: {},
    overrides: {
      stateDir: dir,
      'http.host': '127.0.0.1',
      'http.port': '0',
      'tftp.enabled': 'false',
      'iscsi.host': '127.0.0.1',
      'iscsi.port': '0',
      ...overrides,
    },
  });
  mkdirSync(join(config.tftp.root, 'install'), { recursive: true });
  writeFileSync(join(config.tftp.root, 'install', 'vmlinuz'), Buffer.alloc(4096, 1));
  const initrd = join(config.tftp.root, 'install', 'initrd.img');
  writeFileSync(initrd, '');
  truncateSync(initrd, BIG_FILE_BYTES);
  const f = createFrontend(config, { logger });
  await f.store.hosts.add({
    name: NODE.name,
    appliance: 'compute',
    rack: 0,
    rank: 0,
    interfaces: [{ mac: NODE.mac, ip: NODE.ip, subnet: '127.0.0.0/8', device: 'eth0' }],
  });
  await f.start();
  return {
    f,
    port: f.httpPort(),
    close: async () => {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
