// The cluster roll (roles/cluster, graphs/default/cluster.xml) in real kickstarts: each role is taken
// only by hosts whose attribute of the same name is true, and its attributes reach the files its
// %post writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { KickstartService } from '../../src/boot/kickstart.js';
import { GOLDEN_ISCSI } from '../helpers/cli.js';
import { tempStateDir } from '../helpers/tmp.js';
import { roleFile } from '../roles/role-files.js';

async function withHosts(fn: (store: Store, ks: KickstartService) => Promise<void>): Promise<void> {
  const dir = tempStateDir('nrt-cluster-roles-');
  const config = loadConfig({ env: {}, overrides: { stateDir: dir } });
  const store = openStore(dir);
  try {
    for (const [i, name] of ['compute-0-0', 'compute-0-1'].entries()) {
      await store.hosts.add({
        name,
        appliance: 'compute-diskless',
        rack: 0,
        rank: i,
        interfaces: [{ mac: `52:54:00:aa:00:0${i + 1}`, ip: `10.1.255.25${i}`, subnet: '10.1.0.0/16', device: 'eth0' }],
      });
      for (const [k, value] of Object.entries(GOLDEN_ISCSI)) await store.attributes.set({ scope: 'host', target: name, name: k, value });
    }
    await fn(store, new KickstartService(store, config));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('scratch: taken only where the attribute scratch is true; the script is the shipped one; scratch_wipe reaches scratch.conf', async () => {
  await withHosts(async (store, ks) => {
    const host = async (name: string) => (await store.hosts.get(name))!;
    const none = await ks.render(await host('compute-0-0'));
    assert.doesNotMatch(none, /netroot-scratch/, 'no scratch role without the attribute');

    await store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'scratch', value: 'true' });
    await store.attributes.set({ scope: 'host', target: 'compute-0-1', name: 'scratch_wipe', value: 'yes' });
    const a = await ks.render(await host('compute-0-0'));
    const b = await ks.render(await host('compute-0-1'));
    for (const k of [a, b]) {
      assert.match(k, /^systemctl enable netroot-scratch\.service$/m);
      assert.ok(k.includes(roleFile('cluster', 'scratch', '/usr/local/sbin/netroot-scratch')), 'the script reaches the node as shipped');
      assert.match(k, /^chmod 0755 '\/usr\/local\/sbin\/netroot-scratch'$/m);
      // the scratch %post comes before diskless's (installComplete), which stays last
      assert.ok(k.indexOf('netroot-scratch.service') < k.indexOf('netroot.installComplete'));
    }
    assert.match(a, /^SCRATCH_WIPE=no\nSCRATCH_FS=ext4$/m, 'the shipped defaults');
    assert.match(b, /^SCRATCH_WIPE=yes\nSCRATCH_FS=ext4$/m, 'the host attribute');
  });
});

test('slurm-client: the node reports its CPUs and memory from %post (a real kickstart, the real frontend), and slurmd is pointed at the frontend', async () => {
  const { installingNodes } = await import('../rpc/installing-node.js');
  const { call: http } = await import('../http/clients.js');
  const get = (port: number, path: string, from: string) => http(port, path, { from });
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn, spawnSync } = await import('node:child_process');
  const { f, dir, port } = await installingNodes('nrt-slurm-client-');
  const work = mkdtempSync(join(tmpdir(), 'nrt-slurm-post-'));
  try {
    const none = await get(port, '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.doesNotMatch(none.body, /slurmd/, 'no slurm-client role without the attribute');
    await f.store.attributes.set({ scope: 'appliance', target: 'compute-diskless', name: 'slurm_client', value: 'true' });
    const ks = await get(port, '/install/kickstart/compute-0-0', '127.0.0.2');
    assert.equal(ks.status, 200, ks.body);
    const post = /# node: slurm-client\n%post\n([\s\S]*?)\n%end\n/.exec(ks.body)?.[1];
    assert.ok(post, 'the kickstart has the slurm-client %post');
    assert.ok(ks.body.indexOf('# node: slurm-client') < ks.body.indexOf('netroot.installComplete'), 'before installComplete spends the token');
    assert.match(post, /^systemctl enable munge\.service slurmd\.service$/m);
    // Run it here as the node would, with five local changes: its files go to a temporary
    // directory, curl speaks from the node's address to the port this frontend really listens on
    // (its configured http.port is 0: any), and nothing is enabled on this machine.
    const script = post
      .replaceAll('/etc/default/slurmd', join(work, 'slurmd.default'))
      .replaceAll('/etc/systemd/system/slurmd.service.d', join(work, 'slurmd.service.d'))
      .replaceAll('/tmp/netroot-facts.xml', join(work, 'facts.xml'))
      .replace('curl -fsS', 'curl --interface 127.0.0.2 -fsS')
      .replace("netroot_url='http://127.0.0.1:0/RPC2'", `netroot_url='http://127.0.0.1:${port}/RPC2'`)
      .replace(/^systemctl enable .*$/m, '');
    writeFileSync(join(work, 'post.sh'), script);
    // Not spawnSync: the frontend answering curl runs in this process.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', [join(work, 'post.sh')]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    const cpus = spawnSync('getconf', ['_NPROCESSORS_ONLN'], { encoding: 'utf8' }).stdout.trim();
    assert.match(r.stdout, new RegExp(`reported ${cpus} CPUs`));
    const host = Object.fromEntries((await f.store.attributes.list({ scope: 'host', target: 'compute-0-0' })).map((a) => [a.name, a.value]));
    assert.equal(host['cpus'], cpus);
    const memTotalMiB = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
    const reported = Number(host['memory_mb']);
    assert.ok(reported <= memTotalMiB && reported >= memTotalMiB * 0.97, `memory_mb ${reported} of MemTotal ${memTotalMiB} MiB`);
    assert.match(readFileSync(join(work, 'slurmd.default'), 'utf8'), /^SLURMD_OPTIONS="--conf-server 127\.0\.0\.1"$/m);
    // Debian's slurmd.service has ConditionPathExists=/etc/slurm/slurm.conf, which a configless node lacks.
    assert.match(readFileSync(join(work, 'slurmd.service.d', 'netroot-configless.conf'), 'utf8'), /^\[Unit\]\nConditionPathExists=\n/m);
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
