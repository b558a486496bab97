// The one builder of a started frontend on loopback for HTTP, XML-RPC and boot tests: HTTP on
// 127.0.0.1 (a port the kernel picks), TFTP off, the embedded iSCSI target on an ephemeral
// loopback port, and the hosts the test names registered before start. Linux routes all of 127/8
// to lo, so each node is its own 127.0.0.x source address.
// (test/helpers/frontend.ts is the CLI tests' frontend: 16 MiB volumes, portal, REST auth headers.)
import { rmSync } from 'node:fs';
import { createFrontend, type Frontend } from '../../src/app/frontend.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import type { BootAction } from '../../src/store/types.js';
import { tempStateDir } from './tmp.js';

export { iscsiAttrs } from './iscsi-attrs.js';

/** The node most tests use: compute-0-0, MAC 52:54:00:aa:00:01, at 127.0.0.2. */
export const NODE = { name: 'compute-0-0', mac: '52:54:00:aa:00:01', ip: '127.0.0.2' } as const;

/** Overrides that make the frontend itself 127.0.0.1 on a 127.0.0.0/8 private network (boot URLs, who may fetch what). */
export const LOOPBACK_NETWORK: Readonly<Record<string, string>> = {
  'network.frontendAddress': '127.0.0.1',
  'network.privateNetwork': '127.0.0.0/8',
};

export interface FixtureHost {
  name: string;
  mac: string;
  ip: string;
  /** Default 'compute'. */
  appliance?: string;
  /** Default: the index in `hosts`. */
  rank?: number;
  bootAction?: BootAction;
  /** Host-scope attributes, set before start. */
  attrs?: Record<string, string>;
}

/** Host `n` of rack 0 (n = 0…8): compute-0-n, MAC 52:54:00:aa:00:0(n+1), at 127.0.0.(n+2). */
export function fixtureHost(n: number, o: Omit<FixtureHost, 'name' | 'mac' | 'ip'> = {}): FixtureHost {
  return { name: `compute-0-${n}`, mac: `52:54:00:aa:00:0${n + 1}`, ip: `127.0.0.${n + 2}`, rank: n, ...o };
}

/** The settings every loopback test frontend shares: state in `dir`, HTTP on 127.0.0.1 at a port the
 * kernel picks, TFTP off, the embedded iSCSI target on an ephemeral loopback port. */
export function loopbackOverrides(dir: string): Record<string, string> {
  return {
    stateDir: dir,
    'http.host': '127.0.0.1',
    'http.port': '0',
    'tftp.enabled': 'false',
    'iscsi.host': '127.0.0.1',
    'iscsi.port': '0',
  };
}

export interface LoopbackOptions {
  /** Prefix of the temporary state directory. */
  prefix?: string;
  overrides?: Record<string, string>;
  /** Default: [NODE] as a compute host. [] registers none. */
  hosts?: FixtureHost[];
  logger?: Logger;
  /** Runs after the config is loaded and before the frontend is created (files in the boot root…). */
  prepare?: (config: Config, dir: string) => void;
  /** Runs after the hosts are added and before start (boot records, more store rows…). */
  seed?: (f: Frontend) => Promise<void>;
}

export interface Loopback {
  f: Frontend;
  dir: string;
  config: Config;
  port: number;
  /** Stops the frontend and removes its state directory. */
  close(): Promise<void>;
}

export async function loopbackFrontend(o: LoopbackOptions = {}): Promise<Loopback> {
  const dir = tempStateDir(o.prefix ?? 'nrt-loopback-');
  const config = loadConfig({
    env: {},
    overrides: { ...loopbackOverrides(dir), ...o.overrides },
  });
  o.prepare?.(config, dir);
  const f = createFrontend(config, { logger: o.logger ?? silentLogger });
  const hosts = o.hosts ?? [{ ...NODE }];
  for (const [i, h] of hosts.entries()) {
    await f.store.hosts.add({
      name: h.name,
      appliance: h.appliance ?? 'compute',
      rack: 0,
      rank: h.rank ?? i,
      ...(h.bootAction ? { bootAction: h.bootAction } : {}),
      interfaces: [{ mac: h.mac, ip: h.ip, subnet: '127.0.0.0/8', device: 'eth0' }],
    });
    for (const [name, value] of Object.entries(h.attrs ?? {})) await f.store.attributes.set({ scope: 'host', target: h.name, name, value });
  }
  await o.seed?.(f);
  await f.start();
  return {
    f,
    dir,
    config,
    port: f.httpPort(),
    close: async () => {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
