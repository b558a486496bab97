// The DHCP server answers only on its provisioning interface (SO_BINDTODEVICE), proven with real
// packets between network namespaces this test creates and deletes.
import { test } from 'node:test';
import { ip, deleteNamespace, removeStale } from '../../src/lab/netns.js';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && process.env.CI !== 'true' ? 'needs root (network namespaces)' : false;
const P = `nrt-dhcp-${process.pid}`;
const NS = { server: `${P}-s`, prov: `${P}-a`, other: `${P}-b` };

/** Our namespaces, and those a crashed earlier run of this test left behind. */
function cleanup(): void {
  for (const ns of Object.values(NS)) deleteNamespace(ns);
  removeStale('nrt-dhcp');
}

function runClient(ns: string, mac: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'test/fixtures/dhcp/netns-client.ts', mac], {
    encoding: 'utf8',
    timeout: 20_000,
  }).trim();
}

test('a client on a non-provisioning interface gets no DHCP answer; one on the provisioning interface does', { skip, timeout: 60_000 }, async () => {
  cleanup();
  try {
    for (const ns of Object.values(NS)) ip('netns', 'add', ns);
    // server:prov0 <-> prov:eth0 ; server:other0 <-> other:eth0
    ip('-n', NS.server, 'link', 'add', 'prov0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.prov);
    ip('-n', NS.server, 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.other);
    ip('-n', NS.server, 'addr', 'add', '10.88.1.1/24', 'dev', 'prov0');
    ip('-n', NS.server, 'addr', 'add', '10.88.2.1/24', 'dev', 'other0');
    for (const [ns, dev] of [
      [NS.server, 'prov0'],
      [NS.server, 'other0'],
      [NS.server, 'lo'],
      [NS.prov, 'eth0'],
      [NS.other, 'eth0'],
      [NS.prov, 'lo'],
      [NS.other, 'lo'],
    ] as const)
      ip('-n', ns, 'link', 'set', dev, 'up');
    // clients have no address yet (like a PXE ROM); give the broadcast a route out of eth0
    for (const ns of [NS.prov, NS.other]) ip('-n', ns, 'route', 'add', '255.255.255.255', 'dev', 'eth0');
    const server = spawn('ip', ['netns', 'exec', NS.server, process.execPath, '--import', 'tsx', 'test/fixtures/dhcp/netns-server.ts', 'prov0', '10.88.1.1'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        server.on('exit', (c) => reject(new Error(`server exited ${c}`)));
      });
      assert.equal(runClient(NS.other, '525400bb0002'), 'none', 'no answer on the non-provisioning interface');
      assert.equal(runClient(NS.prov, '525400bb0001'), 'answer 10.88.1.50');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  } finally {
    cleanup();
  }
});
