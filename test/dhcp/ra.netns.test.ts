// The router-advertisement responder with real packets between network namespaces this test
// creates and deletes: a Router Solicitation on the provisioning interface gets the minimal RA
// (hop limit 255, from the interface's link-local address, router lifetime 0, no options, M = O = 0),
// the node's own kernel takes it without gaining a route or an address, a solicitation on another
// interface gets nothing, and a flood from one address is answered at most
// raMaxPerSourcePerMinute times (attack test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { ip, deleteNamespace, removeStale } from '../../src/lab/netns.js';
import { decodeRouterAdvertisement, ICMP6_ROUTER_ADVERTISEMENT } from '../../src/dhcp/ra-packet.js';
import { waitFor } from '../helpers/wait.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && process.env.CI !== 'true' ? 'needs root (network namespaces)' : false;
const P = `nrt-ra-${process.pid}`;
const NS = { server: `${P}-s`, prov: `${P}-a`, other: `${P}-b` };
const PER_SOURCE = 5;

function cleanup(): void {
  for (const ns of Object.values(NS)) deleteNamespace(ns);
  removeStale('nrt-ra');
}

function linkLocal(ns: string, dev: string): string | null {
  const out = ip('-n', ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'link');
  if (/tentative/.test(out)) return null;
  return /inet6 (fe80::[0-9a-f:]+)\//.exec(out)?.[1] ?? null;
}

async function waitLinkLocal(ns: string, dev: string): Promise<string> {
  return waitFor(() => linkLocal(ns, dev), { what: `a usable link-local address on ${ns}/${dev}`, timeoutMs: 10_000, intervalMs: 100 });
}

interface Got {
  source: string;
  hopLimit: number;
  hex: string;
}

function solicit(ns: string, count: number, waitMs: number): Got[] {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'test/fixtures/dhcp/ra-netns-client.ts', 'eth0', String(count), String(waitMs)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Got);
}

function snmp6(ns: string, name: string): number {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp6'], { encoding: 'utf8' });
  return Number(new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
}

test('router solicitations: answered on the provisioning interface only, with the minimal RA, and at most raMaxPerSourcePerMinute times per source', {
  skip,
  timeout: 120_000,
}, async (t) => {
  cleanup();
  let server: ChildProcess | undefined;
  try {
    for (const ns of Object.values(NS)) ip('netns', 'add', ns);
    ip('-n', NS.server, 'link', 'add', 'prov0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.prov);
    ip('-n', NS.server, 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.other);
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
    const serverLl = await waitLinkLocal(NS.server, 'prov0');
    const nodeLl = await waitLinkLocal(NS.prov, 'eth0');
    await waitLinkLocal(NS.other, 'eth0');

    server = spawn(
      'ip',
      ['netns', 'exec', NS.server, process.execPath, '--import', 'tsx', 'test/fixtures/dhcp/ra-netns-server.ts', 'prov0', String(PER_SOURCE)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let serverOut = '';
    server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', () => serverOut.includes('ready') && resolve());
      server!.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });

    await t.test('a solicitation on another interface gets no advertisement', () => {
      assert.deepEqual(solicit(NS.other, 1, 1000), []);
    });

    await t.test('a solicitation on the provisioning interface gets the minimal RA from the link-local address, hop limit 255', () => {
      const got = solicit(NS.prov, 1, 1500);
      assert.equal(got.length, 1, JSON.stringify(got));
      const g = got[0]!;
      assert.equal(g.source, serverLl, 'source is the interface link-local address (RFC 4861 §4.2)');
      assert.equal(g.hopLimit, 255, 'RFC 4861 §6.1.2');
      const ra = decodeRouterAdvertisement(Buffer.from(g.hex, 'hex'));
      assert.equal(ra.code, 0);
      assert.equal(ra.routerLifetime, 0, 'not a default router');
      assert.equal(ra.managed, false);
      assert.equal(ra.other, false);
      assert.equal(ra.flags, 0);
      assert.deepEqual(ra.options, []);
      assert.equal(Buffer.from(g.hex, 'hex')[0], ICMP6_ROUTER_ADVERTISEMENT);
    });

    await t.test("the node's kernel accepts the RA and gains no IPv6 default route and no address", () => {
      assert.ok(snmp6(NS.prov, 'Icmp6InRouterAdvertisements') >= 1, 'the kernel counted the RA');
      assert.equal(snmp6(NS.prov, 'Icmp6InErrors'), 0);
      assert.equal(ip('-n', NS.prov, '-6', 'route', 'show', 'default').trim(), '');
      const addrs = ip('-n', NS.prov, '-6', 'addr', 'show', 'dev', 'eth0');
      assert.deepEqual(
        [...addrs.matchAll(/inet6 ([0-9a-f:]+)\//g)].map((m) => m[1]),
        [nodeLl],
      );
    });

    await t.test(`attack: a flood of 300 solicitations from one address is answered at most ${PER_SOURCE} times in total`, () => {
      const got = solicit(NS.prov, 300, 1500);
      assert.ok(got.length <= PER_SOURCE, `${got.length} answers to the flood`);
    });

    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    const stats = JSON.parse(serverOut.split('\n').find((l) => l.startsWith('{')) ?? '{}') as {
      received: number;
      answered: number;
      limited: number;
      coalesced: number;
      invalid: number;
      sendErrors: number;
    };
    // The kernel may drop part of the burst at the socket's receive buffer; most arrive.
    assert.ok(stats.received >= 100, JSON.stringify(stats));
    assert.ok(stats.answered >= 1 && stats.answered <= PER_SOURCE, JSON.stringify(stats));
    assert.equal(stats.limited + stats.coalesced + stats.answered + stats.invalid, stats.received, JSON.stringify(stats));
    assert.equal(stats.sendErrors, 0);
  } finally {
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await new Promise((r) => server!.once('exit', r));
    }
    cleanup();
  }
});
