// bench:attack's frontend: a real `netroot serve` (run from source, its own state dir, SQLite, the
// embedded iSCSI target) with DHCP on the server end of the bench's veth pair, and the hosts of
// the storm registered before it starts.
//
// Registration goes through the same DiscoveryEngine and built-in plugins as `netroot
// insert-ethers --mac M --ipaddr IP` when no frontend is running (src/cli/insert-ethers.ts,
// withFallback): host + interface, the iSCSI allocation plugin (volume file, target IQN, initiator
// IQN, per-node CHAP as host attributes), hosts file, boot action `install`. That is the cheapest
// real path: one process, no HTTP round trip per host, and no risk of reaching some other
// frontend listening on this machine's loopback (which is where the CLI would look first). The
// frontend then exports every volume at start (reconcileStorage), as after any restart.
import { copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { openStoreFromConfig } from '../../src/store/index.js';
import { createLogger } from '../../src/log/logger.js';
import { buildStorage } from '../../src/app/storage.js';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { builtinPlugins } from '../../src/discovery/plugins/index.js';
import { hostAttributes } from '../../src/discovery/plugins/iscsi-allocation.js';
import { startIn, waitUntil, type Child } from './children.js';
import type { StormNode, StormPlan } from './storm-worker.js';

/** The bench's one subnet: frontend .0.1, the client namespace's own address .0.2, nodes from .1.1, attackers .250.x. */
export const NET = { network: '10.61.0.0/16', prefixLen: 16, server: '10.61.0.1', client: '10.61.0.2' } as const;
export const HTTP_PORT = 8080;

export function nodeIp(i: number): string {
  if (i >= 249 * 250) throw new Error('at most 62,250 virtual nodes');
  return `10.61.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}
export function attackerIp(i: number): string {
  return `10.61.250.${1 + i}`;
}
export function nodeMac(i: number): string {
  return `52:54:00:61:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
}

export interface BootFile {
  /** Where it lies under the boot root. */
  path: string;
  bytes: number;
  sha256: string;
  /** Where it came from: a real file's path, or "random". */
  origin: string;
}

/**
 * The boot root: the real iPXE binary (`ipxe.efi`, Debian ipxe) and this machine's newest
 * kernel and initrd under /boot as the installer's kernel and initrd, or random files of the
 * usual sizes (1 MiB, 10 MiB, 30 MiB) where there are none; `kernelMiB`/`initrdMiB` force random
 * files of those sizes (a quicker storm).
 */
export function prepareBootRoot(
  root: string,
  o: { kernelMiB?: number | undefined; initrdMiB?: number | undefined },
): { ipxe: BootFile; kernel: BootFile; initrd: BootFile } {
  mkdirSync(join(root, 'install'), { recursive: true, mode: 0o755 });
  const place = (rel: string, real: string | null, randomMiB: number): BootFile => {
    const dst = join(root, rel);
    if (real) copyFileSync(real, dst);
    else writeFileSync(dst, randomBytes(Math.round(randomMiB * 2 ** 20)));
    const data = readFileSync(dst);
    return { path: rel, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), origin: real ?? 'random' };
  };
  const newest = (re: RegExp): string | null => {
    try {
      const names = readdirSync('/boot')
        .filter((n) => re.test(n))
        .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      const n = names.at(-1);
      if (!n) return null;
      readFileSync(join('/boot', n), { flag: 'r' }).subarray(0, 1);
      return join('/boot', n);
    } catch {
      return null;
    }
  };
  const ipxeReal = existsSync('/usr/lib/ipxe/ipxe.efi') ? realpathSync('/usr/lib/ipxe/ipxe.efi') : null;
  return {
    ipxe: place('ipxe.efi', ipxeReal, 1),
    kernel: place('install/vmlinuz', o.kernelMiB ? null : newest(/^vmlinuz-/), o.kernelMiB ?? 10),
    initrd: place('install/initrd.img', o.initrdMiB ? null : newest(/^initrd\.img-/), o.initrdMiB ?? 30),
  };
}

/**
 * The frontend's configuration file (YAML is a superset of JSON) and the Config it loads to;
 * `extra` adds top-level sections (bench:scale's `store` for another backend); its `network` and
 * `storage` are merged into those sections (bench:storm's second server: its own frontendAddress,
 * the first one's volumesDir).
 */
export function writeConfig(file: string, stateDir: string, bootRoot: string, serverIf: string, logLevel: string, extra: Record<string, unknown> = {}): Config {
  const { network, storage, ...rest } = extra as { network?: Record<string, unknown>; storage?: Record<string, unknown> };
  const cfg = {
    ...rest,
    stateDir,
    logLevel,
    network: { privateNetwork: NET.network, frontendAddress: NET.server, ...network },
    http: { port: HTTP_PORT },
    tftp: { root: bootRoot },
    dhcp: { interfaces: [serverIf] },
    // 16 MiB volumes: the storm reads their first MiB; the size only has to hold it.
    storage: { defaultVolumeGiB: 1 / 64, ...storage },
  };
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  return loadConfig({ file, env: {}, overrides: {} });
}

/**
 * Registers `count` diskless hosts (in the configured store: SQLite, or `store.url`'s PostgreSQL;
 * appliance compute-diskless: iSCSI volume, target, CHAP) with
 * fixed MACs and addresses, writes `readBytes` random bytes at the start of each volume (each
 * node's own marker, checked by the storm), and returns what each virtual node needs to boot.
 */
export async function registerHosts(config: Config, count: number, readBytes: number): Promise<StormNode[]> {
  const logger = createLogger({ level: 'warn' });
  const store = await openStoreFromConfig(config);
  try {
    const storage = buildStorage(config, logger, { offline: true });
    const engine = new DiscoveryEngine(store, config, builtinPlugins({ storageNodes: storage.nodes }), logger);
    const nodes: StormNode[] = [];
    for (let i = 0; i < count; i++) {
      const mac = nodeMac(i);
      const ip = nodeIp(i);
      const h = await engine.add({ mac }, { appliance: 'compute-diskless', ipaddr: ip });
      const a = await hostAttributes(store, h.name);
      const need = (k: string): string => {
        const v = a[k];
        if (!v) throw new Error(`${h.name} has no ${k} attribute after insert-ethers (is the iSCSI allocation plugin running?)`);
        return v;
      };
      const first = randomBytes(readBytes);
      const volumeFile = join(config.storage.volumesDir, `${need('iscsi_volume')}.img`);
      const fd = openSync(volumeFile, 'r+');
      try {
        writeSync(fd, first, 0, first.length, 0);
      } finally {
        closeSync(fd);
      }
      nodes.push({
        host: h.name,
        mac,
        ip,
        iscsi: {
          portal: need('iscsi_portal'),
          port: Number(need('iscsi_port')),
          target: need('iscsi_target'),
          initiator: need('iscsi_initiator'),
          user: need('iscsi_user'),
          secret: need('iscsi_secret'),
        },
        firstMiBSha256: createHash('sha256').update(first).digest('hex'),
        volumeFile,
      });
      if (Number(need('iscsi_lun')) !== 0) throw new Error(`${h.name}: LUN ${a['iscsi_lun']}, the storm reads LUN 0`);
    }
    return nodes;
  } finally {
    await store.close();
  }
}

/** The boot files by the names a storm fetches them under (TFTP name, URL path): its checks. */
export function stormFiles(files: PreparedFrontend['files']): StormPlan['files'] {
  return {
    [files.ipxe.path]: files.ipxe,
    [`/boot/files/${files.kernel.path}`]: files.kernel,
    [`/boot/files/${files.initrd.path}`]: files.initrd,
  };
}

export interface PreparedFrontend {
  stateDir: string;
  configFile: string;
  config: Config;
  files: { ipxe: BootFile; kernel: BootFile; initrd: BootFile };
  nodes: StormNode[];
  /** Seconds the registration of the nodes took. */
  registerSeconds: number;
}

/**
 * A frontend's state dir, boot root and configuration under `work`, with `o.nodes` hosts
 * registered (registerHosts): what bench:attack and bench:storm start `netroot serve` on.
 */
export async function prepareFrontend(
  work: string,
  o: { serverIf: string; logLevel: string; kernelMiB: number | undefined; initrdMiB: number | undefined; nodes: number; readBytes: number },
): Promise<PreparedFrontend> {
  const stateDir = join(work, 'state');
  const bootRoot = join(work, 'boot');
  mkdirSync(stateDir, { mode: 0o755 });
  const files = prepareBootRoot(bootRoot, { kernelMiB: o.kernelMiB, initrdMiB: o.initrdMiB });
  const configFile = join(work, 'netroot.yaml');
  const config = writeConfig(configFile, stateDir, bootRoot, o.serverIf, o.logLevel);
  const t0 = performance.now();
  const nodes = await registerHosts(config, o.nodes, o.readBytes);
  return { stateDir, configFile, config, files, nodes, registerSeconds: (performance.now() - t0) / 1000 };
}

/**
 * `netroot serve` in `ns`, from source (tsx) or from `npm run build`'s dist/ as installed
 * (`bin/netroot.js`); resolves once it says it is serving (DHCP included).
 */
export async function startFrontend(
  ns: string,
  stateDir: string,
  configFile: string,
  extraNodeArgs: string[] = [],
  from: 'source' | 'dist' = 'source',
): Promise<Child> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NETROOT_')) env[k] = v;
  const c = startIn(ns, process.execPath, [...extraNodeArgs, ...netrootEntry(from), '--state-dir', stateDir, '--config', configFile, 'serve'], {
    cwd: process.cwd(),
    env,
  });
  await waitUntil(c, 'netroot serve', () => c.output().includes('netroot: serving'), 120_000);
  return c;
}

/** Node's arguments that run the netroot CLI: from source through tsx, or dist/ (`npm run build`). */
export function netrootEntry(from: 'source' | 'dist'): string[] {
  if (from === 'source') return ['--import', 'tsx', 'test/helpers/netroot.ts'];
  if (!existsSync('dist/src/cli/main.js')) throw new Error('dist/ is not built: npm run build (or tsc -p tsconfig.json)');
  return ['bin/netroot.js'];
}
