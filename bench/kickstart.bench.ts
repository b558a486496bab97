// npm run bench:kickstart — 1,000 hosts over 3 appliances. netroot: the frontend's path (attributes
// resolved from SQLite, one cached ProfileCompiler); peer: the same request re-parsing every node and
// graph file (a generator without a cache). Median and p99 per appliance's profile and overall, in
// the DESIGN.md line form; render-only lines isolate the parse cache. Not a test: prints figures.
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/index.js';
import { openStore } from '../src/store/index.js';
import { KickstartService } from '../src/boot/kickstart.js';
import { ProfileCompiler } from '../src/profile/index.js';
import { tempStateDir } from '../test/helpers/tmp.js';

const HOSTS = 1000;
const REPARSE_SAMPLE = 50;

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
const rootOf = new Map((await store.appliances.list()).map((a) => [a.name, a.rootNode]));

// netroot: the frontend's path — attributes resolved from SQLite, one cached compiler per graph.
const netroot = new Map<string, number[]>(appliances.map((a) => [a, []]));
for (const h of hosts) {
  const t = performance.now();
  await ks.render(h, 'bench-token');
  netroot.get(h.appliance)!.push(performance.now() - t);
}
// The peer: the same request without the cache — attributes from SQLite, then a new compiler that
// parses every node and graph file (what a generator without a cache does per request).
const reparse = new Map<string, number[]>(appliances.map((a) => [a, []]));
for (const appliance of appliances) {
  for (const h of hosts.filter((x) => x.appliance === appliance).slice(0, REPARSE_SAMPLE)) {
    const t = performance.now();
    const attrs = { ...(await ks.attributesOf(h)), install_token: 'bench-token' };
    new ProfileCompiler({ rolesDir: config.profile.rolesDir, graphsDir: config.profile.graphsDir, graph: 'default' }).render(rootOf.get(appliance)!, attrs);
    reparse.get(appliance)!.push(performance.now() - t);
  }
}
// Render alone (attributes resolved beforehand), to show the parse cache without the SQLite share.
const sample = appliances.flatMap((a) => hosts.filter((x) => x.appliance === a).slice(0, REPARSE_SAMPLE));
const resolved = await Promise.all(sample.map(async (h) => [rootOf.get(h.appliance)!, { ...(await ks.attributesOf(h)), install_token: 't' }] as const));
const cached = new ProfileCompiler({ rolesDir: config.profile.rolesDir, graphsDir: config.profile.graphsDir, graph: 'default' });
cached.load();
const renderCached: number[] = [];
const renderReparse: number[] = [];
for (const [root, attrs] of resolved) {
  let t = performance.now();
  cached.render(root, attrs);
  renderCached.push(performance.now() - t);
  t = performance.now();
  new ProfileCompiler({ rolesDir: config.profile.rolesDir, graphsDir: config.profile.graphsDir, graph: 'default' }).render(root, attrs);
  renderReparse.push(performance.now() - t);
}
await store.close();
rmSync(dir, { recursive: true });

const all = (m: Map<string, number[]>) => [...m.values()].flat();
const line = (measure: string, a: number, b: number) => console.log(`${measure}: netroot ${f(a)} ms, reparse-per-request ${f(b)} ms, ratio ${(a / b).toFixed(3)} (time; lower is better)`);
console.log(`kickstart: ${HOSTS} hosts over ${appliances.length} appliances (${appliances.join(', ')}); netroot renders all ${HOSTS}, the peer ${REPARSE_SAMPLE} per appliance`);
for (const [name, samples] of [...appliances.map((a) => [a, netroot.get(a)!, reparse.get(a)!] as const), ['all', all(netroot), all(reparse)] as const].map(([a, n, r]) => [a, [stats(n), stats(r)]] as const)) {
  line(`kickstart ${name} median per profile`, samples[0].median, samples[1].median);
  line(`kickstart ${name} p99 per profile`, samples[0].p99, samples[1].p99);
}
line('kickstart render-only median (attributes resolved)', stats(renderCached).median, stats(renderReparse).median);
line('kickstart render-only p99 (attributes resolved)', stats(renderCached).p99, stats(renderReparse).p99);
const median = stats(all(netroot)).median;
console.log(`target median <= 2 ms per profile: ${median <= 2 ? 'met' : 'NOT met'} (${f(median)} ms)`);
