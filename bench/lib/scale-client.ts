// bench:scale's client side, run inside the client namespace: `node --import tsx
// bench/lib/scale-client.ts IFACE`. Reads one command a line on stdin and prints one `result
// {json}` (or `error "…"`) line per command:
//   dhcp {macs, ips}           one PXE DORA per known MAC, one after another; each must get its
//                              registered address; the DISCOVER→OFFER and REQUEST→ACK times (ms).
//   kickstart {base, hosts}    GET <base>/install/kickstart/<name> from the host's own address,
//                              one after another (what a node's installer does); times (ms), bytes.
//   discover {base, token, appliance, macs, maxSeconds}
//                              opens an insert-ethers session (REST API), then every MAC does a PXE
//                              DORA at once (a rack powered on); long-polls the session until it has
//                              named them all (or maxSeconds pass); the seconds from the first
//                              DISCOVER to that moment and how many were named.
//   exit
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { DhcpClientPort, PXE_TIMEOUTS_MS } from './storm-dhcp.js';

const iface = process.argv[2]!;

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function call(method: string, url: string, o: { token?: string; body?: unknown; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? null : Buffer.from(JSON.stringify(o.body));
    const t0 = performance.now();
    const req = request(
      url,
      {
        method,
        localAddress: o.localAddress,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url}: no answer in 60 s`)));
    req.on('error', reject);
    req.end(data ?? undefined);
  });
}

async function dhcp(a: { macs: string[]; ips: string[] }): Promise<{ offerMs: number[]; ackMs: number[]; failures: string[] }> {
  const port = await DhcpClientPort.open(iface);
  const offerMs: number[] = [];
  const ackMs: number[] = [];
  const failures: string[] = [];
  try {
    for (let i = 0; i < a.macs.length; i++) {
      try {
        const r = await port.exchange({ mac: a.macs[i]!, arch: 7, ipxe: false, timeoutsMs: PXE_TIMEOUTS_MS, signal: AbortSignal.timeout(70_000) });
        if (r.ip !== a.ips[i]) throw new Error(`got ${r.ip}, registered as ${a.ips[i]}`);
        // A retransmitted exchange measures the retransmission's answer; say so in the failures.
        if (r.retransmits > 0) failures.push(`${a.macs[i]}: ${r.retransmits} retransmission(s)`);
        offerMs.push(r.answerMs.offer);
        ackMs.push(r.answerMs.ack);
      } catch (e) {
        failures.push(`${a.macs[i]}: ${(e as Error).message}`);
      }
    }
  } finally {
    port.close();
  }
  return { offerMs, ackMs, failures };
}

async function kickstart(a: { base: string; hosts: Array<{ name: string; ip: string }> }): Promise<{ ms: number[]; bytes: number; failures: string[] }> {
  const ms: number[] = [];
  const failures: string[] = [];
  let bytes = 0;
  for (const h of a.hosts) {
    try {
      const r = await call('GET', `${a.base}/install/kickstart/${h.name}`, { localAddress: h.ip });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      if (!r.body.includes('%post') && !r.body.includes('%packages')) throw new Error('the answer is not a kickstart');
      ms.push(r.ms);
      bytes += Buffer.byteLength(r.body);
    } catch (e) {
      failures.push(`${h.name}: ${(e as Error).message}`);
    }
  }
  return { ms, bytes, failures };
}

interface SessionView {
  id: string;
  version: number;
  machines: Array<{ mac: string; host: string | null; error: string | null }>;
}

async function discover(a: { base: string; token: string; appliance: string; macs: string[]; maxSeconds: number }): Promise<{
  seconds: number;
  named: number;
  errors: string[];
}> {
  const opened = await call('POST', `${a.base}/api/v1/discoveries/sessions`, {
    token: a.token,
    body: { options: { appliance: a.appliance }, count: a.macs.length },
  });
  if (opened.status !== 201) throw new Error(`POST /api/v1/discoveries/sessions: HTTP ${opened.status} ${opened.body.slice(0, 300)}`);
  let s = JSON.parse(opened.body) as SessionView;
  const port = await DhcpClientPort.open(iface);
  const ac = new AbortController();
  const t0 = performance.now();
  // Their answers come once each machine is named; the measure is the naming, so the exchanges
  // still waiting when the session is complete are aborted.
  const doras = a.macs.map((mac) => port.exchange({ mac, arch: 7, ipxe: false, timeoutsMs: PXE_TIMEOUTS_MS, signal: ac.signal }).catch(() => undefined));
  const named = (v: SessionView): number => v.machines.filter((m) => m.host).length;
  const deadline = t0 + a.maxSeconds * 1000;
  while (named(s) < a.macs.length && performance.now() < deadline) {
    const r = await call('GET', `${a.base}/api/v1/discoveries/sessions/${s.id}?after=${s.version}&wait=2000`);
    if (r.status !== 200) throw new Error(`GET session: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    s = JSON.parse(r.body) as SessionView;
  }
  const seconds = (performance.now() - t0) / 1000;
  ac.abort();
  await Promise.all(doras);
  port.close();
  await call('DELETE', `${a.base}/api/v1/discoveries/sessions/${s.id}`, { token: a.token });
  const errors = [...new Set(s.machines.filter((m) => m.error).map((m) => m.error!))].slice(0, 8);
  return { seconds, named: named(s), errors };
}

const rl = createInterface({ input: process.stdin });
process.stdout.write('scale client ready\n');
for await (const line of rl) {
  const sp = line.indexOf(' ');
  const cmd = sp < 0 ? line.trim() : line.slice(0, sp);
  if (cmd === 'exit') break;
  try {
    const arg = sp < 0 ? {} : JSON.parse(line.slice(sp + 1));
    const out = cmd === 'dhcp' ? await dhcp(arg) : cmd === 'kickstart' ? await kickstart(arg) : cmd === 'discover' ? await discover(arg) : null;
    if (out === null) throw new Error(`unknown command ${cmd}`);
    process.stdout.write(`result ${JSON.stringify(out)}\n`);
  } catch (e) {
    process.stdout.write(`error ${JSON.stringify((e as Error).stack ?? String(e))}\n`);
  }
}
process.exit(0);
