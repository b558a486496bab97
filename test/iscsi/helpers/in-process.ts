// An IscsiTarget in this process on 127.0.0.1 (ephemeral port) with one sparse-file LUN, for
// tests that talk to it with the test initiator. `done()` stops it and removes the files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IscsiTarget, type IscsiTargetOptions, type TargetDefinition } from '../../../src/iscsi/index.js';

export const IQN = 'iqn.2026-12.local.netroot:unit';
export const INITIATOR = 'iqn.2026-12.local.netroot:initiator.unit';

export async function inProcessTarget(
  o: { sizeBytes?: number; blockSize?: 512 | 4096; def?: Partial<TargetDefinition>; opts?: Partial<IscsiTargetOptions> } = {},
): Promise<{
  target: IscsiTarget;
  port: number;
  path: string;
  dir: string;
  done: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-iscsi-'));
  const path = join(dir, 'lun0.img');
  const target = new IscsiTarget({ host: '127.0.0.1', port: 0, ...o.opts });
  await target.start();
  await target.addTarget({
    iqn: IQN,
    luns: [{ lun: 0, path, sizeBytes: o.sizeBytes ?? 8 << 20, blockSize: o.blockSize ?? 512 }],
    allowedInitiators: [INITIATOR],
    ...o.def,
  });
  return {
    target,
    port: target.port,
    path,
    dir,
    done: async () => {
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
