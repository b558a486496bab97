// A frontend's account files for sync tests: passwd, group, shadow with system accounts and two
// users in 1000-59999, a random 1024-byte munge key, a hosts list; and `publishFrom` runs the
// `netroot sync users` code (publish) on them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { publish, SyncKeys, type PublishResult } from '../../src/sync/index.js';

export interface FrontendFiles {
  etcDir: string;
  mungeKeyPath: string;
  mungeKey: Buffer;
  hostsPath: string;
}

export const FRONTEND_PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'munge:x:106:112::/nonexistent:/usr/sbin/nologin',
  'alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash',
  'bob:x:1001:1001::/home/bob:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
];

export function frontendFiles(dir: string, stateDir: string): FrontendFiles {
  const etcDir = join(dir, 'frontend-etc');
  mkdirSync(etcDir, { recursive: true });
  writeFileSync(join(etcDir, 'passwd'), FRONTEND_PASSWD.join('\n') + '\n');
  writeFileSync(
    join(etcDir, 'group'),
    ['root:x:0:', 'sudo:x:27:alice', 'alice:x:1000:', 'bob:x:1001:', 'physics:x:2000:alice,bob', 'nogroup:x:65534:'].join('\n') + '\n',
  );
  writeFileSync(
    join(etcDir, 'shadow'),
    ['root:$y$j9T$rootsalt$roothash:19000:0:99999:7:::', 'alice:$y$j9T$alicesalt$alicehash:19000:0:99999:7:::', 'bob:!:19000:0:99999:7:::'].join('\n') + '\n',
    { mode: 0o640 },
  );
  const mungeKey = randomBytes(1024);
  const mungeKeyPath = join(dir, 'munge.key');
  writeFileSync(mungeKeyPath, mungeKey, { mode: 0o400 });
  const hostsPath = join(stateDir, 'hosts');
  writeFileSync(hostsPath, '# written by netroot; do not edit\n127.0.0.1\tfrontend.local frontend\n127.0.0.2\tcompute-0-0.local compute-0-0\n');
  return { etcDir, mungeKeyPath, mungeKey, hostsPath };
}

export function publishFrom(stateDir: string, files: FrontendFiles, o: { now?: () => number; minUid?: number; maxUid?: number } = {}): Promise<PublishResult> {
  return publish({
    stateDir,
    keys: new SyncKeys(stateDir),
    etcDir: files.etcDir,
    mungeKeyPath: files.mungeKeyPath,
    hostsPath: files.hostsPath,
    minUid: o.minUid ?? 1000,
    maxUid: o.maxUid ?? 59999,
    maxPayloadBytes: 1 << 20,
    ...(o.now ? { now: o.now } : {}),
  });
}
