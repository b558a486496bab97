// bench:tftp — netroot's TFTP server against dnsmasq's, same run, same 32 MiB file, over a veth
// pair between two namespaces this bench creates:
//   (a) one client, curl --tftp-blksize 1432 (lockstep)                       higher is better
//   (b) 100 transfers at once from one client process, every body compared     higher is better
//   (p) 100 curl processes at once, every checksum verified, aggregate rate    higher is better
//   (c) atftp windowsize 1 vs 16 through a user-space relay delaying each datagram 250 µs each way
// Not a test: it prints DESIGN.md lines and never fails on a slow machine. Needs root.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createVethPair, onExit, waitForOutput, type VethPair } from './lib/netns.js';
import { cpuSeconds, statusField } from './lib/proc.js';

const SIZE = 32 * 1024 * 1024;
const CLIENTS = Number(process.env.TFTP_BENCH_CLIENTS ?? 100);
const DELAY_US = 250;
/** Turns each server takes in (a). */
const ROUNDS = Number(process.env.TFTP_BENCH_ROUNDS ?? 7);
/** Turns each server takes in (b). */
const ROUNDS_B = Number(process.env.TFTP_BENCH_ROUNDS_B ?? 3);
/** TFTP_BENCH_ONLY=a|b|p|c runs those parts (for profiling). */
const ONLY = process.env.TFTP_BENCH_ONLY ?? 'abpc';

const dir = mkdtempSync(join(tmpdir(), 'nrt-bench-tftp-'));
chmodSync(dir, 0o755);
const root = join(dir, 'root');
/** Client downloads land in tmpfs, so the disk is not what is measured. */
const shm = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'nrt-bench-tftp-'));
const file = randomBytes(SIZE);
const want = createHash('sha256').update(file).digest('hex');

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}
const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const ratio = (a: number, b: number) => (a / b).toFixed(2);

/** Compiles bench/lib/tftp-load-client.c into the bench's temporary folder; returns its path. */
function buildLoadClient(): string {
  const out = join(dir, 'tftp-load-client');
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', out, 'bench/lib/tftp-load-client.c'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`cannot compile bench/lib/tftp-load-client.c (a C compiler is needed: Debian gcc): ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
  }
  return out;
}

function exitOf(c: ChildProcess): Promise<number | null> {
  return new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
}

/**
 * curl in the client namespace, writing to a tmpfs file. The body is checked by `verify`, which
 * callers run after the timed span (and in (p) after every client has finished): hashing curl's
 * stdout through a pipe made this process a third party in every lockstep round trip, and its
 * CPU competed with the clients of (b).
 */
async function curlGet(ns: VethPair, server: string, extra: string[] = []): Promise<{ ms: number; code: number | null; out: string; err: () => string }> {
  const out = join(shm, `curl-${server}-${Math.random().toString(36).slice(2)}.bin`);
  const t0 = performance.now();
  const c = ns.spawnIn(ns.clientNs, 'curl', ['-sS', '--max-time', '300', '--tftp-blksize', '1432', ...extra, '-o', out, `tftp://${server}/big.bin`]);
  let err = '';
  c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await exitOf(c);
  return { ms: performance.now() - t0, code, out, err: () => err };
}

/** Whether a curlGet result is the whole file, byte for byte; removes the file. */
function verify(r: { code: number | null; out: string; err: () => string }, server: string): boolean {
  let ok = false;
  try {
    const body = readFileSync(r.out);
    ok = r.code === 0 && body.length === SIZE && createHash('sha256').update(body).digest('hex') === want;
  } catch {
    ok = false;
  } finally {
    rmSync(r.out, { force: true });
  }
  if (!ok && r.err()) process.stderr.write(`curl ${server}: ${r.err().trim()}\n`);
  return ok;
}

async function atftpGet(ns: VethPair, host: string, port: number, windowsize: number): Promise<{ ms: number; ok: boolean }> {
  const out = join(dir, `atftp-${host}-${port}-${windowsize}.bin`);
  const opts = ['--option', 'blksize 1432', ...(windowsize > 1 ? ['--option', `windowsize ${windowsize}`] : [])];
  const t0 = performance.now();
  const c = ns.spawnIn(ns.clientNs, 'atftp', ['-g', '-r', 'big.bin', '-l', out, ...opts, host, String(port)]);
  c.stdout!.resume();
  c.stderr!.resume();
  const code = await exitOf(c);
  const ms = performance.now() - t0;
  let ok = false;
  try {
    ok = code === 0 && createHash('sha256').update(readFileSync(out)).digest('hex') === want;
    rmSync(out);
  } catch {
    ok = false;
  }
  return { ms, ok };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:tftp needs root (network namespaces)');
    process.exit(2);
  }
  const { mkdirSync } = await import('node:fs');
  mkdirSync(root, { mode: 0o755 });
  writeFileSync(join(root, 'big.bin'), file, { mode: 0o644 });
  const octet = 100 + (process.pid % 100);
  const ns = createVethPair({ prefix: 'nrb-tftp', serverAddr: [`10.${octet}.0.1`, `10.${octet}.0.2`], clientAddr: `10.${octet}.0.100`, prefixLen: 24 });
  onExit(() => ns.destroy());
  const [netrootIp, dnsmasqIp] = ns.serverAddrs as [string, string];
  try {
    const netroot = ns.spawnIn(ns.serverNs, process.execPath, ['--import', 'tsx', 'bench/lib/tftp-netroot-server.ts', root, netrootIp]);
    await waitForOutput(netroot, 'tftp ready');
    const dnsmasq = ns.spawnIn(ns.serverNs, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      '--enable-tftp',
      `--tftp-root=${root}`,
      `--listen-address=${dnsmasqIp}`,
      '--bind-interfaces',
      '--tftp-max=1000',
      '--pid-file=',
      '--user=root',
      `--log-facility=${process.env.TFTP_BENCH_DNSMASQ_LOG ?? '/dev/null'}`,
    ]);
    // dnsmasq --no-daemon also logs every transfer to stderr: read it, or once the pipe is full
    // (about 300 transfers) dnsmasq blocks in write(2) and stops serving.
    let dnsmasqErr = '';
    dnsmasq.stdout!.resume();
    dnsmasq.stderr!.on('data', (d: Buffer) => (dnsmasqErr = (dnsmasqErr + d.toString()).slice(-2000)));
    await new Promise((r) => setTimeout(r, 1000));
    if (dnsmasq.exitCode !== null) throw new Error(`dnsmasq did not start: ${dnsmasqErr}`);
    const servers = [
      ['netroot', netrootIp],
      ['dnsmasq', dnsmasqIp],
    ] as const;

    // (a) one client, lockstep. A lockstep transfer on this VM is bound by cross-CPU wake-ups
    // (each block waits for two), and where the scheduler puts client and server moves one run by
    // ±10%; so the servers take turns, ROUNDS times, the order swapped every round, and the
    // median of each is compared.
    if (ONLY.includes('a')) {
      const times: Record<string, number[]> = { netroot: [], dnsmasq: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, addr] of round % 2 === 0 ? servers : [...servers].reverse()) {
          const r = await curlGet(ns, addr);
          if (!verify(r, addr)) throw new Error(`${name}: single transfer failed or checksum wrong`);
          times[name]!.push(r.ms);
        }
      }
      const single = { netroot: mbps(SIZE, median(times.netroot!)), dnsmasq: mbps(SIZE, median(times.dnsmasq!)) };
      console.log(
        `single client 32 MiB blksize 1432 lockstep (curl, median of ${ROUNDS}): netroot ${f1(single.netroot)} MB/s, dnsmasq ${f1(single.dnsmasq)} MB/s, ratio ${ratio(single.netroot, single.dnsmasq)} (higher is better)`,
      );
    }

    // (b) and (p): many clients at once, ROUNDS_B turns each, the order swapped every round,
    // medians compared; every body of every run is checked. Each turn also reads the server's
    // CPU time and how often it slept, and the clients' CPU time, per GB served.
    const many = async (label: string, run: (addr: string) => Promise<{ ok: number; clientCpu: number }>) => {
      const rates: Record<string, number[]> = { netroot: [], dnsmasq: [] };
      const use = { netroot: { ok: 0, server: 0, clients: 0, sleeps: 0 }, dnsmasq: { ok: 0, server: 0, clients: 0, sleeps: 0 } };
      const pidOf = { netroot: netroot.pid!, dnsmasq: dnsmasq.pid! };
      for (let round = 0; round < ROUNDS_B; round++) {
        for (const [name, addr] of round % 2 === 0 ? servers : [...servers].reverse()) {
          const s0 = cpuSeconds(pidOf[name]);
          const z0 = statusField(pidOf[name], 'voluntary_ctxt_switches');
          const t0 = performance.now();
          const r = await run(addr);
          rates[name]!.push(mbps(SIZE * CLIENTS, performance.now() - t0));
          use[name].server += cpuSeconds(pidOf[name]) - s0;
          use[name].sleeps += statusField(pidOf[name], 'voluntary_ctxt_switches') - z0;
          use[name].clients += r.clientCpu;
          use[name].ok += r.ok;
        }
      }
      const m = { netroot: median(rates.netroot!), dnsmasq: median(rates.dnsmasq!) };
      const all = CLIENTS * ROUNDS_B;
      console.log(
        `${CLIENTS} ${label} at once, 32 MiB each, aggregate (median of ${ROUNDS_B}): netroot ${f1(m.netroot)} MB/s, dnsmasq ${f1(m.dnsmasq)} MB/s, ratio ${ratio(m.netroot, m.dnsmasq)} (higher is better); bodies correct: netroot ${use.netroot.ok}/${all}, dnsmasq ${use.dnsmasq.ok}/${all}`,
      );
      const gb = (SIZE * CLIENTS * ROUNDS_B) / 1e9;
      const blocks = Math.ceil(SIZE / 1432) * CLIENTS * ROUNDS_B;
      const per = (n: 'netroot' | 'dnsmasq', k: 'server' | 'clients') => use[n][k] / gb;
      const sleepsPer1000 = (n: 'netroot' | 'dnsmasq') => ((use[n].sleeps / blocks) * 1000).toFixed(1);
      console.log(
        `${CLIENTS} ${label} at once, server CPU seconds per GB served: netroot ${f2(per('netroot', 'server'))} s, dnsmasq ${f2(per('dnsmasq', 'server'))} s, ratio ${ratio(per('netroot', 'server'), per('dnsmasq', 'server'))} (lower is better); clients' CPU seconds per GB: netroot ${f2(per('netroot', 'clients'))}, dnsmasq ${f2(per('dnsmasq', 'clients'))}; server sleeps per 1000 blocks: netroot ${sleepsPer1000('netroot')}, dnsmasq ${sleepsPer1000('dnsmasq')}`,
      );
    };

    // (b) one client process holding CLIENTS transfers (bench/lib/tftp-load-client.c), which
    // compares every block with the file: the server, not the clients' scheduling, is measured.
    if (ONLY.includes('b')) {
      const client = buildLoadClient();
      await many('transfers of one client process', async (addr) => {
        const c = ns.spawnIn(ns.clientNs, client, [addr, 'big.bin', '1432', String(CLIENTS), join(root, 'big.bin')]);
        let out = '';
        c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
        const code = await exitOf(c);
        let r: { ok: number; cpuMs: number; error: string };
        try {
          r = JSON.parse(out) as typeof r;
        } catch {
          throw new Error(`tftp-load-client exited with ${code} and printed ${JSON.stringify(out.slice(0, 200))}`);
        }
        if (r.error) process.stderr.write(`tftp-load-client ${addr}: ${r.error}\n`);
        return { ok: r.ok, clientCpu: r.cpuMs / 1000 };
      });
    }

    // (p) CLIENTS curl processes: they and the server share this machine's two vCPUs, and both
    // servers spend their time being preempted by the clients they wake (parity, whoever serves).
    if (ONLY.includes('p')) {
      await many('curl processes', async (addr) => {
        const c0 = cpuSeconds('self', 'reaped children');
        const rs = await Promise.all(Array.from({ length: CLIENTS }, () => curlGet(ns, addr)));
        const clientCpu = cpuSeconds('self', 'reaped children') - c0;
        return { ok: rs.filter((r) => verify(r, addr)).length, clientCpu };
      });
    }

    // (c) windowsize 1 vs 16 with 250 µs each way, through relays in the client namespace
    if (ONLY.includes('c')) {
      const ws: Record<string, Record<number, number>> = { netroot: {}, dnsmasq: {} };
      let port = 7001;
      for (const [name, addr] of servers) {
        const relayPort = port++;
        const relay = ns.spawnIn(ns.clientNs, process.execPath, [
          '--import',
          'tsx',
          'bench/lib/udp-delay-relay.ts',
          `127.0.0.1:${relayPort}`,
          `${addr}:69`,
          String(DELAY_US),
        ]);
        await waitForOutput(relay, 'relay ready');
        for (const w of [1, 16]) {
          const r = await atftpGet(ns, '127.0.0.1', relayPort, w);
          if (!r.ok) console.error(`${name} windowsize ${w}: transfer failed or checksum wrong`);
          ws[name]![w] = r.ok ? mbps(SIZE, r.ms) : NaN;
        }
        relay.kill('SIGTERM');
      }
      for (const w of [1, 16]) {
        console.log(
          `atftp windowsize ${w}, ${DELAY_US} µs each way: netroot ${f1(ws.netroot![w]!)} MB/s, dnsmasq ${f1(ws.dnsmasq![w]!)} MB/s, ratio ${ratio(ws.netroot![w]!, ws.dnsmasq![w]!)} (higher is better)`,
        );
      }
      console.log(
        `windowsize 16 / windowsize 1 speed-up, ${DELAY_US} µs each way: netroot ${ratio(ws.netroot![16]!, ws.netroot![1]!)}x, dnsmasq ${ratio(ws.dnsmasq![16]!, ws.dnsmasq![1]!)}x, ratio ${ratio(ws.netroot![16]! / ws.netroot![1]!, ws.dnsmasq![16]! / ws.dnsmasq![1]!)} (higher is better; target netroot >= 5x)`,
      );
    }
    netroot.kill('SIGTERM');
    dnsmasq.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
  }
}

await main();
