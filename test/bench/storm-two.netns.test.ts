// bench:storm's two-server network (bench/lib/storm-two.ts), with real packets between the
// namespaces it creates: a broadcast from a node's address on the client bridge (a DISCOVER's
// path) reaches both server namespaces, each server reaches a node's address (its permanent
// neighbour entry), and destroy() deletes every namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { ip } from '../../src/lab/netns.js';
import { createTwoServerNet, TWO_SERVERS } from '../../bench/lib/storm-two.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && process.env.CI !== 'true' ? 'needs root (network namespaces)' : false;
const PORT = 6767;

/** A UDP listener in `ns`: `ready` once bound; `heard`: the source address and text of the first datagram. */
function listen(ns: string): { ready: Promise<void>; heard: Promise<string> } {
  const c = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `const s=require('node:dgram').createSocket('udp4');s.on('message',(m,r)=>{console.log(r.address+' '+m);process.exit(0)});s.bind(${PORT},'0.0.0.0',()=>console.log('ready'));setTimeout(()=>process.exit(3),10000)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) onReady();
  });
  const heard = new Promise<string>((resolve, reject) => {
    c.on('exit', (code) => (code === 0 ? resolve(out.replace('ready\n', '').trim()) : reject(new Error(`listener in ${ns} exited ${code}: ${out}`))));
  });
  return { ready, heard };
}

function send(ns: string, from: string, to: string, text: string): void {
  execFileSync(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `const s=require('node:dgram').createSocket('udp4');s.bind(0,'${from}',()=>{s.setBroadcast(true);s.send('${text}',${PORT},'${to}',(e)=>{if(e)throw e;s.close()})})`,
    ],
    { timeout: 10_000 },
  );
}

test('two-server storm network: a node broadcast reaches both servers, both reach the node, destroy() removes it all', { skip, timeout: 60_000 }, async () => {
  const nodes = ['10.61.1.1', '10.61.1.2'];
  const net = createTwoServerNet('nrt-stm2t', nodes);
  try {
    assert.deepEqual(
      net.servers.map((s) => s.addr),
      TWO_SERVERS.map((s) => s.addr),
    );
    for (const s of net.servers) assert.match(ip('-n', s.ns, 'neigh', 'show', 'dev', s.iface), /10\.61\.1\.2 lladdr \S+ PERMANENT/);
    const at = net.servers.map((s) => listen(s.ns));
    await Promise.all(at.map((l) => l.ready));
    send(net.clientNs, nodes[1]!, '10.61.255.255', 'discover');
    assert.deepEqual(await Promise.all(at.map((l) => l.heard)), ['10.61.1.2 discover', '10.61.1.2 discover']);
    // A server answers a node by unicast (what a DHCP server, TFTP or the target does).
    const back = listen(net.clientNs);
    await back.ready;
    send(net.servers[1]!.ns, net.servers[1]!.addr, nodes[0]!, 'offer');
    assert.equal(await back.heard, `${TWO_SERVERS[1].addr} offer`);
  } finally {
    net.destroy();
  }
  const left = ip('netns', 'list');
  for (const ns of [net.clientNs, ...net.servers.map((s) => s.ns)]) assert.ok(!left.includes(ns), `${ns} deleted`);
});
