// The HTTP availability tests' frontend (limits, log lines): the loopback frontend with its one node
// compute-0-0 at 127.0.0.2 (MAC 52:54:00:aa:00:01) and a big installer initrd (sparse: reading it
// costs no disk).
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frontend } from '../../src/app/frontend.js';
import type { Logger } from '../../src/log/logger.js';
import { loopbackFrontend } from '../helpers/loopback-frontend.js';

export { NODE } from '../helpers/loopback-frontend.js';
export const BIG_FILE = '/boot/files/install/initrd.img';
export const BIG_FILE_BYTES = 64 * 1024 * 1024;

export interface Fixture {
  f: Frontend;
  port: number;
  close(): Promise<void>;
}

export function startFrontend(overrides: Record<string, string> = {}, logger?: Logger): Promise<Fixture> {
  return loopbackFrontend({
    prefix: 'nrt-http-limits-',
    overrides,
    ...(logger ? { logger } : {}),
    prepare: (config) => {
      mkdirSync(join(config.tftp.root, 'install'), { recursive: true });
      writeFileSync(join(config.tftp.root, 'install', 'vmlinuz'), Buffer.alloc(4096, 1));
      const initrd = join(config.tftp.root, 'install', 'initrd.img');
      writeFileSync(initrd, '');
      truncateSync(initrd, BIG_FILE_BYTES);
    },
  });
}
