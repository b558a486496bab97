// A real frontend for CLI tests: a temporary state directory, HTTP and the embedded iSCSI target on
// 127.0.0.1 (ports chosen by the kernel), TFTP/DHCP off, 16 MiB volumes. `at` are the CLI's global
// flags that reach it; `down` are flags for a port where nothing listens (the CLI's local fallback).
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { readApiToken } from '../../src/app/api-token.js';
import { freePort } from '../storage/helpers.js';
import { tempStateDir } from './tmp.js';
import { loopbackOverrides } from './loopback-frontend.js';

export function frontendOverrides(dir: string): Record<string, string> {
  return {
    ...loopbackOverrides(dir),
    'iscsi.portal': '127.0.0.1',
    'storage.defaultVolumeGiB': String(16 / 1024),
  };
}

export interface TestFrontend {
  f: Frontend;
  dir: string;
  /** --set flags for a CLI run against this frontend. */
  at: string[];
  /** REST base URL (…/api/v1) and the headers a change needs. */
  api: string;
  auth: Record<string, string>;
  attrs(host: string): Promise<Record<string, string>>;
}

export async function startFrontend(dir = tempStateDir('nrt-fe-')): Promise<TestFrontend> {
  const f = createFrontend(loadConfig({ env: {}, overrides: frontendOverrides(dir) }), { logger: silentLogger });
  await f.start();
  const port = f.httpPort();
  return {
    f,
    dir,
    at: ['--set', `http.port=${port}`, '--set', 'http.host=127.0.0.1'],
    api: `http://127.0.0.1:${port}/api/v1`,
    auth: { 'content-type': 'application/json', authorization: `Bearer ${readApiToken(f.config)!}` },
    attrs: async (host) => Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: host })).map((a) => [a.name, a.value])),
  };
}

/** CLI flags for a state directory with no frontend running: a port nothing listens on, small volumes. */
export async function noFrontend(): Promise<string[]> {
  return ['--set', `http.port=${await freePort()}`, '--set', 'http.host=127.0.0.1', '--set', `storage.defaultVolumeGiB=${16 / 1024}`];
}
