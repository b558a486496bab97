// bench:attack's boot storm, run inside the client namespace: `node --import tsx
// bench/lib/storm-worker.ts PLAN.json`. It reads lines on stdin: `run` starts one storm of every
// node of the plan (`run N`: of its first N) and prints one `result {json}` line when every virtual
// node has finished or failed; `exit` ends it. bench:attack and bench:storm use it.
// Each virtual node boots as a x86-64 UEFI machine would, from its own address (the plan's, which
// the bench added to the client veth; the DHCP ACK must hand out that same address):
//   1. PXE ROM DHCP (option 93 = 7) → ACK with its fixed address and the first-stage file;
//   2. TFTP of that file (iPXE: blksize 1432, tsize);
//   3. iPXE DHCP (user class iPXE, option 175) → the URL of its iPXE script;
//   4. HTTP: the script, then the kernel and initrd it names (one keep-alive connection);
//   5. iSCSI: login with the node's CHAP, READ CAPACITY, READ of the first MiB, checked against
//      the bytes the bench wrote; the session stays open until the storm ends (a booted node keeps
//      its root session), then logs out.
// Node start times are spread uniformly over plan.spreadMs (a rack powered on at once). A node that
// has not finished after plan.nodeTimeoutMs is failed ("timeout"). The storm's time runs from the
// first node's start to the last node's end (success or failure).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { DhcpClientPort, PXE_TIMEOUTS_MS, IPXE_TIMEOUTS_MS } from './storm-dhcp.js';
import { tftpGet } from './storm-tftp.js';
import { httpGet, ipxeScriptFiles, nodeHttp } from './storm-http.js';
import { StormInitiator } from './storm-iscsi.js';

export interface StormNode {
  host: string;
  mac: string;
  ip: string;
  /** `lun`: the LUN its volume is (netroot's embedded target: 0; tgt: 1, LUN 0 is its controller). */
  iscsi: { portal: string; port: number; target: string; lun?: number; initiator: string; user: string; secret: string };
  /** SHA-256 of the first `readBytes` of the node's volume (the bench wrote them). */
  firstMiBSha256: string;
  /** The volume's file on the frontend (for a peer target serving the same file); not used here. */
  volumeFile?: string;
}

export interface StormPlan {
  iface: string;
  /** Option 93 the ROM sends (7: x86-64 UEFI → ipxe.efi). */
  arch: number;
  nodes: StormNode[];
  spreadMs: number;
  nodeTimeoutMs: number;
  readBytes: number;
  /** Hash kernel and initrd bodies too (true, BENCH_VERIFY=1), or only the kernel's ('kernel':
   * the sample bench:storm checks); else their sizes are checked. */
  verify: boolean | 'kernel';
  /** SHA-256 of each boot file by the name it is fetched under (TFTP name, URL path), for checks. */
  files: Record<string, { bytes: number; sha256: string }>;
  /**
   * Where a node logs in to its volume: the portal it was registered with ('registered', the
   * default), or the server that answered its iPXE DHCP ('answering': the one whose script it
   * runs; bench:storm's two-server case, where every server exports every volume).
   */
  portal?: 'registered' | 'answering';
}

export const PHASES = ['dhcp-pxe', 'tftp', 'dhcp-ipxe', 'http-script', 'http-kernel', 'http-initrd', 'iscsi-login', 'iscsi-read'] as const;
export type Phase = (typeof PHASES)[number] | 'timeout';

export interface StormResult {
  seconds: number;
  nodes: number;
  completed: number;
  /** Failed nodes by the phase they failed in. */
  failed: Partial<Record<Phase, number>>;
  /** Up to 8 distinct failure messages with their counts. */
  errors: Array<{ message: string; count: number }>;
  /** Per completed node: seconds spent in each phase, p50 and p99; and the whole boot. */
  phaseSeconds: Record<string, { p50: number; p99: number }>;
  retransmits: { dhcp: number; tftp: number; http503: number };
  dhcpStray: number;
  /** This worker's own CPU seconds (user + system) during the storm. */
  clientCpuSeconds: number;
  /** Bytes the completed nodes received as file and volume data (TFTP, HTTP bodies, the iSCSI read). */
  bytes: number;
  /** Completed nodes by the server (DHCP server identifier) that answered their iPXE DHCP: whose script, files and portal they used. */
  servers: Record<string, number>;
}

const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as StormPlan;

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function storm(nodes: StormNode[]): Promise<StormResult> {
  const port = await DhcpClientPort.open(plan.iface);
  const sessions: StormInitiator[] = [];
  const times: Record<string, number[]> = { boot: [] };
  for (const p of PHASES) times[p] = [];
  const failed: Partial<Record<Phase, number>> = {};
  const errors = new Map<string, number>();
  const retransmits = { dhcp: 0, tftp: 0, http503: 0 };
  const kernelUse = plan.verify ? 'hash' : 'count';
  const initrdUse = plan.verify === true ? 'hash' : 'count';
  let completed = 0;
  let bytes = 0;
  const servers: Record<string, number> = {};

  const bootNode = async (n: StormNode, signal: AbortSignal): Promise<void> => {
    let phase: Phase = 'dhcp-pxe';
    const mine: Partial<Record<Phase, number>> = {};
    let t = performance.now();
    const t0 = t;
    /** Ends the current phase (its time is kept) and starts `next`. */
    const step = (next: Phase | null): void => {
      const now = performance.now();
      mine[phase] = (now - t) / 1000;
      t = now;
      if (next) phase = next;
    };
    const http = nodeHttp(n.ip);
    let got = 0;
    try {
      const pxe = await port.exchange({ mac: n.mac, arch: plan.arch, ipxe: false, timeoutsMs: PXE_TIMEOUTS_MS, signal });
      retransmits.dhcp += pxe.retransmits;
      if (pxe.ip !== n.ip) throw new Error(`dhcp: ${n.mac} got ${pxe.ip}, registered as ${n.ip}`);
      if (!pxe.bootFile) throw new Error('dhcp: no boot file in the ACK');
      step('tftp');
      const f = await tftpGet({ server: pxe.nextServer, port: 69, localAddress: n.ip, file: pxe.bootFile, blksize: 1432, signal });
      retransmits.tftp += f.retransmits;
      got += f.bytes;
      const want = plan.files[pxe.bootFile];
      if (want && (want.bytes !== f.bytes || want.sha256 !== f.sha256)) throw new Error(`tftp ${pxe.bootFile}: ${f.bytes} bytes, not the served file`);
      step('dhcp-ipxe');
      const ipxe = await port.exchange({ mac: n.mac, arch: plan.arch, ipxe: true, timeoutsMs: IPXE_TIMEOUTS_MS, signal });
      retransmits.dhcp += ipxe.retransmits;
      if (!ipxe.bootFile || !/^https?:\/\//.test(ipxe.bootFile)) throw new Error(`dhcp (iPXE): boot file ${JSON.stringify(ipxe.bootFile)} is not a script URL`);
      step('http-script');
      const script = await httpGet(ipxe.bootFile, http, signal, 'keep');
      retransmits.http503 += script.retries;
      got += script.bytes;
      const { kernel, initrds } = ipxeScriptFiles(script.body!);
      const check = (url: string, r: { bytes: number; sha256: string | null }): void => {
        const w = plan.files[new URL(url).pathname];
        if (w && (w.bytes !== r.bytes || (r.sha256 !== null && w.sha256 !== r.sha256))) throw new Error(`GET ${url}: ${r.bytes} bytes, not the served file`);
      };
      step('http-kernel');
      const k = await httpGet(kernel, http, signal, kernelUse);
      retransmits.http503 += k.retries;
      check(kernel, k);
      got += k.bytes;
      step('http-initrd');
      for (const u of initrds) {
        const r = await httpGet(u, http, signal, initrdUse);
        retransmits.http503 += r.retries;
        check(u, r);
        got += r.bytes;
      }
      http.agent.destroy();
      step('iscsi-login');
      const portal = plan.portal === 'answering' ? ipxe.serverId : n.iscsi.portal;
      const s = await StormInitiator.connect(portal, n.iscsi.port, n.ip, signal, n.iscsi.lun ?? 0);
      sessions.push(s);
      await s.login({ initiator: n.iscsi.initiator, target: n.iscsi.target, user: n.iscsi.user, secret: n.iscsi.secret });
      step('iscsi-read');
      const bl = await s.blockLength();
      const d = await s.readStart(plan.readBytes, bl);
      if (createHash('sha256').update(d).digest('hex') !== n.firstMiBSha256) throw new Error('iscsi: the first MiB read is not what the volume holds');
      got += d.length;
      step(null);
      bytes += got;
      for (const [p, v] of Object.entries(mine)) times[p]!.push(v);
      times['boot']!.push((performance.now() - t0) / 1000);
      completed++;
      servers[ipxe.serverId] = (servers[ipxe.serverId] ?? 0) + 1;
    } catch (e) {
      http.agent.destroy();
      const p: Phase = signal.aborted ? 'timeout' : phase;
      failed[p] = (failed[p] ?? 0) + 1;
      const msg = `${p === 'timeout' ? `timeout in ${phase}` : p}: ${(e as Error).message}`
        .replace(new RegExp(n.mac, 'g'), '<mac>')
        .replace(new RegExp(`\\b${n.ip.replace(/\./g, '\\.')}\\b`, 'g'), '<node ip>')
        .replace(new RegExp(n.host, 'g'), '<host>');
      errors.set(msg, (errors.get(msg) ?? 0) + 1);
    }
  };

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const runs = nodes.map(
    (n) =>
      new Promise<void>((resolve) => {
        setTimeout(() => {
          const ac = new AbortController();
          const deadline = setTimeout(() => ac.abort(), plan.nodeTimeoutMs);
          void bootNode(n, ac.signal).finally(() => {
            clearTimeout(deadline);
            resolve();
          });
        }, Math.random() * plan.spreadMs);
      }),
  );
  await Promise.all(runs);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(sessions.map((s) => s.logout().catch(() => undefined)));
  const dhcpStray = port.stray;
  port.close();
  const phaseSeconds: StormResult['phaseSeconds'] = {};
  for (const [p, xs] of Object.entries(times)) if (xs.length) phaseSeconds[p] = { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) };
  return {
    seconds,
    nodes: nodes.length,
    completed,
    failed,
    errors: [...errors]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([message, count]) => ({ message, count })),
    phaseSeconds,
    retransmits,
    dhcpStray,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    bytes,
    servers,
  };
}

const rl = createInterface({ input: process.stdin });
process.stdout.write('storm ready\n');
for await (const line of rl) {
  const cmd = line.trim();
  if (cmd === 'exit') break;
  const m = /^run(?:\s+(\d+))?$/.exec(cmd);
  if (!m) continue;
  try {
    const count = m[1] === undefined ? plan.nodes.length : Number(m[1]);
    if (count < 1 || count > plan.nodes.length) throw new Error(`run ${count}: the plan has ${plan.nodes.length} nodes`);
    process.stdout.write(`result ${JSON.stringify(await storm(plan.nodes.slice(0, count)))}\n`);
  } catch (e) {
    process.stdout.write(`error ${JSON.stringify((e as Error).stack ?? String(e))}\n`);
  }
}
process.exit(0);
