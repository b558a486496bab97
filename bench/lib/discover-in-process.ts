// insert-ethers in one process, no root, no network (what bench:scale's throughput line measures
// without DHCP and HTTP around it, so it can run under `node --cpu-prof`):
//   nice node [--cpu-prof] --import tsx bench/lib/discover-in-process.ts
// HOSTS (10000) hosts in a fresh SQLite store, then N (1000) unknown MACs reported to the
// DiscoveryHub as the DHCP server reports them (20 per event-loop turn) while an insert-ethers
// session of appliance APPL (compute-diskless: the built-in plugins with the embedded storage node,
// offline, so each machine gets a volume, target and CHAP) is open; prints named hosts/s.
// STORE_URL=postgres://… (an empty database) runs it on PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openStoreFromConfig } from '../../src/store/index.js';
import { createLogger } from '../../src/log/logger.js';
import { buildStorage } from '../../src/app/storage.js';
import { DiscoveryEngine } from '../../src/discovery/engine.js';
import { DiscoveryHub } from '../../src/discovery/hub.js';
import { builtinPlugins } from '../../src/discovery/plugins/index.js';
import { addInstalledHosts } from './scale-hosts.js';

const HOSTS = Number(process.env.HOSTS ?? 10000);
const N = Number(process.env.N ?? 1000);
const APPL = process.env.APPL ?? 'compute-diskless';
const dir = mkdtempSync(join(tmpdir(), 'nrprof-'));
const config = loadConfig({
  env: {},
  overrides: {
    stateDir: dir,
    'network.privateNetwork': '10.61.0.0/16',
    'network.frontendAddress': '10.61.0.1',
    'storage.defaultVolumeGiB': String(1 / 64),
    ...(process.env.STORE_URL ? { 'store.url': process.env.STORE_URL } : {}),
  },
});
const store = await openStoreFromConfig(config);
const mac = (i: number) => `52:54:${[(i >> 16) & 255, (i >> 8) & 255, i & 255, 1].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
await addInstalledHosts(store, HOSTS, { mac, ip: (i) => `10.61.${1 + (i >> 8)}.${i & 255}`, subnet: '10.61.0.0/16' });
const logger = createLogger({ level: 'warn' });
const storage = buildStorage(config, logger, { offline: true });
const engine = new DiscoveryEngine(store, config, builtinPlugins({ storageNodes: storage.nodes }), logger);
const hub = new DiscoveryHub(store, engine, logger);
hub.startSession({ appliance: APPL }, N);
const t0 = performance.now();
let k = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    for (let j = 0; j < 20 && k < N; j++, k++) hub.report({ mac: mac(100000 + k) });
    if (k < N) setImmediate(tick);
    else resolve();
  };
  tick();
});
await hub.drain();
const s = (performance.now() - t0) / 1000;
const hosts = await store.hosts.list();
console.log(
  `${APPL}: ${hub.metrics.added} added (${hub.metrics.addFailed} failed) in ${s.toFixed(2)} s = ${(hub.metrics.added / s).toFixed(1)} hosts/s; ${hosts.length} hosts`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
