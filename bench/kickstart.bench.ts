// npm run bench:kickstart — 1,000 hosts over 3 appliances; every profile rendered from one cached
// ProfileCompiler (the frontend's path, attributes resolved from SQLite), against re-parsing the
// roles and graph per request (what a generator without a cache does). Not a test: prints figures.
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/index.js';
import { openStore } from '../src/store/index.js';
import { KickstartService } from '../src/boot/kickstart.js';
import { ProfileCompiler } from '../src/profile/index.js';
import { tempStateDir } from '../test/helpers/tmp.js';

const HOSTS = 1000;
const REPARSE_SAMPLE = 100;

function stats(ms: number[]): { median: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}
const f = (x: number) => x.toFixed(3);

const dir = tempStateDir('nrt-bench-ks-');
const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
const store = openStore(dir);
await store.appliances.add({ name: 'gpu', basename: 'gpu', graph: 'default', rootNode: 'compute', discoverable: true });
const appliances = ['compute', 'compute-diskless', 'gpu'];
for (let i = 0; i < HOSTS; i++) {
  const appliance = appliances[i % 3]!;
  const name = `${appliance === 'gpu' ? 'gpu' : 'compute'}-${Math.floor(i / 100)}-${i % 100}`;
  await store.hosts.add({ name, appliance, rack: Math.floor(i / 100), rank: i % 100 + (appliance === 'compute-diskless' ? 1000 : 0), interfaces: [{ mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ip: `10.1.${i >> 8}.${(i & 255) + 1}`, subnet: '10.1.0.0/16', device: 'eth0' }] });
  if (appliance === 'compute-diskless') {
    for (const [k, v] of Object.entries({ iscsi_initiator: `iqn.2026-11.local.netroot:init:${name}`, iscsi_target: `iqn.2026-11.local.netroot:${name}`, iscsi_portal: '10.1.1.1', iscsi_port: '3260', iscsi_lun: '0', iscsi_user: name, iscsi_secret: 'BenchSecret1234' })) {
      await store.attributes.set({ scope: 'host', target: name, name: k, value: v });
    }
  }
}
const hosts = await store.hosts.list();
const ks = new KickstartService(store, config);
await ks.render(hosts[0]!, 'warm');

// The frontend's path: attributes from SQLite + cached compiler.
const viaStore: number[] = [];
for (const h of hosts) {
  const t = performance.now();
  await ks.render(h, 'bench-token');
  viaStore.push(performance.now() - t);
}
// Render alone, attributes already resolved.
const attrsOf = await Promise.all(hosts.map(async (h) => [h, { ...(await ks.attributesOf(h)), install_token: 't' }] as const));
const cached = new ProfileCompiler({ rolesDir: config.profile.rolesDir, graphsDir: config.profile.graphsDir, graph: 'default' });
cached.load();
const renderOnly: number[] = [];
for (const [h, a] of attrsOf) {
  const root = (await store.appliances.get(h.appliance))!.rootNode;
  const t = performance.now();
  cached.render(root, a);
  renderOnly.push(performance.now() - t);
}
// The peer: a new compiler (parse every file) per request.
const reparse: number[] = [];
for (const [h, a] of attrsOf.slice(0, REPARSE_SAMPLE)) {
  const root = (await store.appliances.get(h.appliance))!.rootNode;
  const t = performance.now();
  new ProfileCompiler({ rolesDir: config.profile.rolesDir, graphsDir: config.profile.graphsDir, graph: 'default' }).render(root, a);
  reparse.push(performance.now() - t);
}
await store.close();
rmSync(dir, { recursive: true });

const s1 = stats(viaStore);
const s2 = stats(renderOnly);
const s3 = stats(reparse);
console.log(`kickstart profiles rendered: ${HOSTS} hosts over ${appliances.length} appliances (${appliances.join(', ')})`);
console.log(`kickstart per profile (store + render): median ${f(s1.median)} ms, p99 ${f(s1.p99)} ms (target: median <= 2 ms)`);
console.log(`kickstart render median: netroot-cached ${f(s2.median)} ms, reparse-per-request ${f(s3.median)} ms, ratio ${(s2.median / s3.median).toFixed(3)} (time; lower is better)`);
console.log(`kickstart render p99: netroot-cached ${f(s2.p99)} ms, reparse-per-request ${f(s3.p99)} ms, ratio ${(s2.p99 / s3.p99).toFixed(3)} (time; lower is better)`);
