// The fixture the multi-server discovery tests share (allocation-once, allocation-claim-expiry,
// add-takeover): a configuration on 10.1.0.0/16 with 1 MiB volumes, one embedded storage node every
// engine's allocation plugin reaches (a remote one, in a real site), and a view of it that counts
// createVolume calls, so a test can say how often the storage node was asked.
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { IscsiTarget } from '../../src/iscsi/index.js';
import { EmbeddedBackend } from '../../src/storage/embedded.js';

export interface SharedStorage {
  target: IscsiTarget;
  config: Config;
  backend: EmbeddedBackend;
  /** `backend` with createVolume counted in `creates()`. */
  counted: EmbeddedBackend;
  creates: () => number;
}

export function sharedStorage(dir: string, overrides: Record<string, string> = {}): SharedStorage {
  const target = new IscsiTarget({ host: '127.0.0.1', port: 0 });
  const config = loadConfig({
    env: {},
    overrides: {
      stateDir: dir,
      'network.privateNetwork': '10.1.0.0/16',
      'network.frontendAddress': '10.1.1.1',
      'storage.defaultVolumeGiB': String(1 / 1024),
      ...overrides,
    },
  });
  const backend = new EmbeddedBackend({ target, volumesDir: join(dir, 'volumes'), limitBytes: 1 << 30, portal: '127.0.0.1', port: 3260 });
  let creates = 0;
  const counted = Object.assign(Object.create(backend) as EmbeddedBackend, {
    createVolume: async (v: Parameters<EmbeddedBackend['createVolume']>[0]) => {
      creates++;
      return backend.createVolume(v);
    },
  });
  return { target, config, backend, counted, creates: () => creates };
}
