// npm run bench:kickstart — two parts (KS_BENCH_ONLY=shipped or large runs one).
// shipped: 1,000 hosts over 3 appliances of the shipped roles. netroot: the frontend's path
// (attributes resolved from SQLite, one cached ProfileCompiler); peer: the same request re-parsing
// every node and graph file (a generator without a cache). Median and p99 per appliance's profile
// and overall, in the DESIGN.md line form; render-only lines isolate the parse cache.
// large graph (issue #16): the same two paths on a generated Rocks-style roll of 150 node files and
// 300 edges (test/helpers/rocks-roll.ts LARGE_ROLL), 1,000 hosts over its 5 appliances; target
// median <= 2 ms per profile and ratio <= 0.5. Not a test: prints figures.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/index.js';
import { openStore } from '../src/store/index.js';
import { KickstartService } from '../src/boot/kickstart.js';
import { ProfileCompiler } from '../src/profile/index.js';
import { tempStateDir } from '../test/helpers/tmp.js';
import { LARGE_ROLL, rocksRoll, rollSize, writeRoll } from '../test/helpers/rocks-roll.js';

const HOSTS = 1000;
const REPARSE_SAMPLE = 50;
const ONLY = process.env['KS_BENCH_ONLY'];

function stats(ms: number[]): { median: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}
const f = (x: number) => x.toFixed(3);
const line = (measure: string, a: number, b: number, note = '') =>
  console.log(`${measure}: netroot ${f(a)} ms, reparse-per-request ${f(b)} ms, ratio ${(a / b).toFixed(3)} (time; lower is better${note})`);

async function shipped(): Promise<void> {
  const dir = tempStateDir('nrt-bench-ks-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
  const store = openStore(dir);
  await store.appliances.add({ name: 'gpu', basename: 'gpu', graph: 'default', rootNode: 'compute', discoverable: true });
  const appliances = ['compute', 'compute-diskless', 'gpu'];
  for (let i = 0; i < HOSTS; i++) {
    const appliance = appliances[i % 3]!;
    const name = `${appliance === 'gpu' ? 'gpu' : 'compute'}-${Math.floor(i / 100)}-${i % 100}`;
    await store.hosts.add({
      name,
      appliance,
      rack: Math.floor(i / 100),
      rank: (i % 100) + (appliance === 'compute-diskless' ? 1000 : 0),
      interfaces: [
        {
          mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
          ip: `10.1.${i >> 8}.${(i & 255) + 1}`,
          subnet: '10.1.0.0/16',
          device: 'eth0',
        },
      ],
    });
    if (appliance === 'compute-diskless') {
      for (const [k, v] of Object.entries({
        iscsi_initiator: `iqn.2026-11.local.netroot:init:${name}`,
        iscsi_target: `iqn.2026-11.local.netroot:${name}`,
        iscsi_portal: '10.1.1.1',
        iscsi_port: '3260',
        iscsi_lun: '0',
        iscsi_user: name,
        iscsi_secret: 'BenchSecret1234',
      })) {
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
  console.log(
    `kickstart: ${HOSTS} hosts over ${appliances.length} appliances (${appliances.join(', ')}); netroot renders all ${HOSTS}, the peer ${REPARSE_SAMPLE} per appliance`,
  );
  for (const [name, samples] of [...appliances.map((a) => [a, netroot.get(a)!, reparse.get(a)!] as const), ['all', all(netroot), all(reparse)] as const].map(
    ([a, n, r]) => [a, [stats(n), stats(r)]] as const,
  )) {
    line(`kickstart ${name} median per profile`, samples[0].median, samples[1].median);
    line(`kickstart ${name} p99 per profile`, samples[0].p99, samples[1].p99);
  }
  line('kickstart render-only median (attributes resolved)', stats(renderCached).median, stats(renderReparse).median);
  line('kickstart render-only p99 (attributes resolved)', stats(renderCached).p99, stats(renderReparse).p99);
  const median = stats(all(netroot)).median;
  console.log(`target median <= 2 ms per profile: ${median <= 2 ? 'met' : 'NOT met'} (${f(median)} ms)`);
}

// Issue #16: the generated roll (150 node files, 300 edges) in its own state directory and store,
// 1,000 hosts over its 5 appliances. netroot renders every host, then the peer re-parses for
// REPARSE_SAMPLE hosts per appliance spread over the host list: separate passes, as in the shipped
// part. Interleaved host by host, the peer's parse garbage (megabytes per request) put its GC work
// into netroot's samples (+0.8 ms on the median here), a cost a frontend that does not re-parse
// never pays.
async function large(): Promise<void> {
  const dir = tempStateDir('nrt-bench-ks-large-');
  const files = rocksRoll(LARGE_ROLL);
  writeRoll(dir, files);
  const graph = LARGE_ROLL.graph!;
  const config = loadConfig({
    env: {},
    overrides: { stateDir: join(dir, 'state'), 'profile.rolesDir': join(dir, 'roles'), 'profile.graphsDir': join(dir, 'graphs') },
  });
  const source = () => new ProfileCompiler({ rolesDir: config.profile.rolesDir, graphsDir: config.profile.graphsDir, graph });
  // What the parser sees, not what the generator meant to write.
  const parsed = source();
  const nodeFiles = parsed.nodeNames().length;
  const edges = parsed
    .dot()
    .split('\n')
    .filter((l) => l.includes(' -> ') && !l.includes('label="order"')).length;
  const size = rollSize(LARGE_ROLL);
  if (nodeFiles !== size.nodeFiles || edges !== size.edges)
    throw new Error(`large roll: parsed ${nodeFiles} node files and ${edges} edges, expected ${size.nodeFiles} and ${size.edges}`);

  const store = openStore(config.stateDir);
  const roots = LARGE_ROLL.appliances!;
  const appliances = roots.map((r) => `big-${r}`);
  for (const r of roots) await store.appliances.add({ name: `big-${r}`, basename: r, graph, rootNode: r, discoverable: true });
  // Attributes at every level so conds and filters differ by host: x11 on the login appliance,
  // gpu on every other compute host, an older Rocks release on the viz appliance (base-old).
  await store.attributes.set({ scope: 'appliance', target: 'big-login', name: 'x11', value: 'yes' });
  await store.attributes.set({ scope: 'appliance', target: 'big-viz', name: 'rocks_version_major', value: '6' });
  for (let i = 0; i < HOSTS; i++) {
    const k = i % roots.length;
    const name = `${roots[k]}-${Math.floor(i / 100)}-${i % 100}`;
    await store.hosts.add({
      name,
      appliance: appliances[k]!,
      rack: Math.floor(i / 100),
      rank: i % 100,
      interfaces: [
        {
          mac: `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
          ip: `10.2.${i >> 8}.${(i & 255) + 1}`,
          subnet: '10.2.0.0/16',
          device: 'eth0',
        },
      ],
    });
    if (roots[k] === 'compute' && i % 2 === 0) await store.attributes.set({ scope: 'host', target: name, name: 'gpu', value: 'yes' });
  }
  const hosts = await store.hosts.list();
  const rootOf = new Map((await store.appliances.list()).map((a) => [a.name, a.rootNode]));
  const ks = new KickstartService(store, config);
  const peer = async (h: (typeof hosts)[number]) => {
    const attrs = { ...(await ks.attributesOf(h)), install_token: 'bench-token' };
    return source().render(rootOf.get(h.appliance)!, attrs);
  };
  // Warm-up (JIT, the cache's first parse): one host of each appliance on both sides, unmeasured;
  // both sides render the same kickstart.
  for (const a of appliances) {
    const h = hosts.find((x) => x.appliance === a)!;
    if ((await ks.render(h, 'bench-token')) !== (await peer(h))) throw new Error(`large roll: ${h.name}: cached and re-parsed kickstarts differ`);
  }
  const perAppliance = HOSTS / appliances.length;
  const every = Math.max(1, Math.floor(perAppliance / REPARSE_SAMPLE));
  const netroot: number[] = [];
  for (const h of hosts) {
    const t = performance.now();
    await ks.render(h, 'bench-token');
    netroot.push(performance.now() - t);
  }
  const seen = new Map<string, number>();
  const sampled = hosts.filter((h) => {
    const n = seen.get(h.appliance) ?? 0;
    seen.set(h.appliance, n + 1);
    return n % every === 0 && n / every < REPARSE_SAMPLE;
  });
  const reparse: number[] = [];
  for (const h of sampled) {
    const t = performance.now();
    await peer(h);
    reparse.push(performance.now() - t);
  }
  await store.close();
  rmSync(dir, { recursive: true });

  const n = stats(netroot);
  const r = stats(reparse);
  const sample = `; peer sampled: ${reparse.length} of ${HOSTS} hosts, ${REPARSE_SAMPLE} per appliance, every ${every}th`;
  console.log(
    `kickstart large graph: ${nodeFiles} node files, ${edges} edges (generated Rocks-style roll, test/helpers/rocks-roll.ts LARGE_ROLL), ${HOSTS} hosts over ${appliances.length} appliances (${appliances.join(', ')}); netroot renders all ${HOSTS}, the peer ${reparse.length}`,
  );
  line('kickstart large graph median per profile', n.median, r.median, `; target median <= 2 ms, ratio <= 0.5${sample}`);
  line('kickstart large graph p99 per profile', n.p99, r.p99, sample);
  const ratio = n.median / r.median;
  console.log(
    `target large graph: median <= 2 ms per profile ${n.median <= 2 ? 'met' : 'NOT met'} (${f(n.median)} ms); ratio <= 0.5 ${ratio <= 0.5 ? 'met' : 'NOT met'} (${ratio.toFixed(3)})`,
  );
}

if (ONLY === undefined || ONLY === 'shipped') await shipped();
if (ONLY === undefined || ONLY === 'large') await large();
