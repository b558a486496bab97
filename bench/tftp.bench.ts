// bench:tftp — netroot's TFTP server against dnsmasq's, same run, same files, over a veth pair
// between two namespaces this bench creates. Not a test: it prints DESIGN.md lines and never fails
// on a slow machine. Needs root.
//
// Servers (issue #23: the peer at its best documented configuration, netroot with and without the
// file cache that carried its lead):
//   - dnsmasq 2.90's TFTP as it is: DNSMASQ_ARGS below, printed at the start of every run —
//     `--enable-tftp --tftp-root` and nothing that changes how a transfer is served; dnsmasq's
//     only TFTP tuning knobs are limits (`--tftp-max`, default 50 transfers at once, raised to 1000
//     so 100 concurrent transfers are not refused), `--tftp-mtu`, `--tftp-no-blocksize`,
//     `--tftp-single-port`, `--tftp-port-range` (none of which make it faster here). DNS is off
//     (`--port=0`). It reads every block from the file (the page cache: the files were just written).
//   - netroot, file cache on (as shipped): bench/lib/tftp-netroot-server.ts, the native link,
//     rootResolver's FileCache (256 MiB LRU, files up to 64 MiB in memory).
//   - netroot, file cache off: the same with FileCache maxFileBytes 0 — every block read from
//     the file (1 MiB read-ahead), as a file over 64 MiB always is.
// Files: 32 MiB (fits the cache), 72 MiB (over the cache's 64 MiB limit: served from disk by the
// shipped server; its lines compare the shipped server only), 8 MiB (part c). All random bytes.
//
// Parts, each a ratio line per netroot variant against dnsmasq, higher is better:
//   (a) one client, curl --tftp-blksize 1432 (lockstep), every body's SHA-256 checked
//   (b) TFTP_BENCH_CLIENTS (100) transfers at once from one client process
//       (bench/lib/tftp-load-client.c), every DATA block compared with the file; server CPU per GB
//   (p) the same number of curl processes at once, every body's SHA-256 checked (opt-in:
//       TFTP_BENCH_ONLY=p; it measures the 2-vCPU scheduler, see bench/README.md)
//   (c) atftp windowsize 1 and 16 through a user-space relay delaying each datagram 250 µs each
//       way, every body's SHA-256 checked, and the 16/1 speed-up
// Statistics: every line is the median of TFTP_BENCH_ROUNDS (5) interleaved runs per server,
// the order rotated each round, with each side's spread (min–max). No best-of.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createVethPair, onExit, waitForOutput, type VethPair } from './lib/netns.js';
import { cpuSeconds, statusField } from './lib/proc.js';

const MiB = 1024 * 1024;
const CLIENTS = Number(process.env.TFTP_BENCH_CLIENTS ?? 100);
/** Concurrent transfers of the 72 MiB file in (b): 100 of them would be 7.5 GB a run. */
const BIG_CLIENTS = Number(process.env.TFTP_BENCH_BIG_CLIENTS ?? 20);
const DELAY_US = 250;
/** Interleaved runs per server and line in (a) and (c). */
const ROUNDS = Number(process.env.TFTP_BENCH_ROUNDS ?? 5);
/** Interleaved runs per server and line in (b) and (p). */
const ROUNDS_B = Number(process.env.TFTP_BENCH_ROUNDS_B ?? 5);
/** TFTP_BENCH_ONLY=a|b|p|c runs those parts (any mix); (p) only when asked for. */
const ONLY = process.env.TFTP_BENCH_ONLY ?? 'abc';

interface BenchFile {
  name: string;
  size: number;
  bytes: Buffer;
  sha256: string;
}
function benchFile(name: string, size: number): BenchFile {
  const bytes = randomBytes(size);
  return { name, size, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}
const fits = benchFile('fits.bin', 32 * MiB);
const over = benchFile('over.bin', 72 * MiB);
const small = benchFile('window.bin', 8 * MiB);
const sizeLabel = (f: BenchFile) => `${f.size / MiB} MiB`;

type Key = 'netroot' | 'netroot-nocache' | 'dnsmasq';
/** What each netroot line says about the server it measured. */
const VARIANT: Record<Exclude<Key, 'dnsmasq'>, string> = {
  netroot: 'netroot file cache on (as shipped)',
  'netroot-nocache': 'netroot file cache off',
};

const dir = mkdtempSync(join(tmpdir(), 'nrt-bench-tftp-'));
chmodSync(dir, 0o755);
const root = join(dir, 'root');
/** Client downloads land in tmpfs, so the disk is not what is measured. */
const shm = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'nrt-bench-tftp-'));

/** dnsmasq's command line, all but the listen address (added once the namespace exists). */
const DNSMASQ_ARGS = [
  '--no-daemon',
  '--conf-file=/dev/null',
  '--port=0',
  '--enable-tftp',
  `--tftp-root=${root}`,
  '--bind-interfaces',
  '--tftp-max=1000',
  '--pid-file=',
  '--user=root',
  `--log-facility=${process.env.TFTP_BENCH_DNSMASQ_LOG ?? '/dev/null'}`,
];

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}
const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const spread = (xs: number[], f: (v: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

/**
 * One DESIGN.md ratio line: "<label> (median of N, spread netroot A–B, dnsmasq C–D): netroot X,
 * dnsmasq Y, ratio R (higher|lower is better)". `variant` names the netroot server measured.
 */
function ratioLine(label: string, variant: string, nr: number[], dm: number[], unit: string, f: (v: number) => string, better: 'higher' | 'lower'): string {
  const a = median(nr);
  const b = median(dm);
  return `${label}, ${variant} (median of ${nr.length}, spread netroot ${spread(nr, f)}, dnsmasq ${spread(dm, f)}): netroot ${f(a)} ${unit}, dnsmasq ${f(b)} ${unit}, ratio ${(a / b).toFixed(2)} (${better} is better)`;
}

/**
 * Runs `one` ROUNDS times per server, interleaved: each round runs every server once, the order
 * rotated by one each round, so load from elsewhere on the machine falls on all of them alike.
 */
async function interleaved<T>(servers: readonly Key[], rounds: number, one: (k: Key) => Promise<T>): Promise<Map<Key, T[]>> {
  const out = new Map<Key, T[]>(servers.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]!);
    for (const k of order) out.get(k)!.push(await one(k));
  }
  return out;
}

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
async function curlGet(ns: VethPair, server: string, f: BenchFile): Promise<{ ms: number; code: number | null; out: string; err: () => string }> {
  const out = join(shm, `curl-${server}-${Math.random().toString(36).slice(2)}.bin`);
  const t0 = performance.now();
  const c = ns.spawnIn(ns.clientNs, 'curl', ['-sS', '--max-time', '300', '--tftp-blksize', '1432', '-o', out, `tftp://${server}/${f.name}`]);
  let err = '';
  c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await exitOf(c);
  return { ms: performance.now() - t0, code, out, err: () => err };
}

/** Whether a curlGet result is the whole file, byte for byte (length and SHA-256); removes it. */
function verify(r: { code: number | null; out: string; err: () => string }, server: string, f: BenchFile): boolean {
  let ok = false;
  try {
    const body = readFileSync(r.out);
    ok = r.code === 0 && body.length === f.size && createHash('sha256').update(body).digest('hex') === f.sha256;
  } catch {
    ok = false;
  } finally {
    rmSync(r.out, { force: true });
  }
  if (!ok && r.err()) process.stderr.write(`curl ${server}: ${r.err().trim()}\n`);
  return ok;
}

async function atftpGet(ns: VethPair, host: string, port: number, windowsize: number, f: BenchFile): Promise<{ ms: number; ok: boolean }> {
  const out = join(shm, `atftp-${host}-${port}-${windowsize}.bin`);
  const opts = ['--option', 'blksize 1432', ...(windowsize > 1 ? ['--option', `windowsize ${windowsize}`] : [])];
  const t0 = performance.now();
  const c = ns.spawnIn(ns.clientNs, 'atftp', ['-g', '-r', f.name, '-l', out, ...opts, host, String(port)]);
  c.stdout!.resume();
  c.stderr!.resume();
  const code = await exitOf(c);
  const ms = performance.now() - t0;
  let ok = false;
  try {
    const body = readFileSync(out);
    ok = code === 0 && body.length === f.size && createHash('sha256').update(body).digest('hex') === f.sha256;
  } catch {
    ok = false;
  } finally {
    rmSync(out, { force: true });
  }
  return { ms, ok };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:tftp needs root (network namespaces)');
    process.exit(2);
  }
  mkdirSync(root, { mode: 0o755 });
  for (const f of [fits, over, small]) writeFileSync(join(root, f.name), f.bytes, { mode: 0o644 });
  const octet = 100 + (process.pid % 100);
  const ns = createVethPair({
    prefix: 'nrb-tftp',
    serverAddr: [`10.${octet}.0.1`, `10.${octet}.0.2`, `10.${octet}.0.3`],
    clientAddr: `10.${octet}.0.100`,
    prefixLen: 24,
  });
  onExit(() => ns.destroy());
  const [netrootIp, dnsmasqIp, nocacheIp] = ns.serverAddrs as [string, string, string];
  const addr: Record<Key, string> = { netroot: netrootIp, 'netroot-nocache': nocacheIp, dnsmasq: dnsmasqIp };
  try {
    const netroot = ns.spawnIn(ns.serverNs, process.execPath, ['--import', 'tsx', 'bench/lib/tftp-netroot-server.ts', root, netrootIp, 'cache=on']);
    const nocache = ns.spawnIn(ns.serverNs, process.execPath, ['--import', 'tsx', 'bench/lib/tftp-netroot-server.ts', root, nocacheIp, 'cache=off']);
    // Each server's ready line names its FileCache limits; kept apart, so the header says which is which.
    const ready = { on: '', off: '' };
    netroot.stdout!.on('data', (d: Buffer) => (ready.on += d.toString()));
    nocache.stdout!.on('data', (d: Buffer) => (ready.off += d.toString()));
    await Promise.all([waitForOutput(netroot, 'tftp ready'), waitForOutput(nocache, 'tftp ready')]);
    const dnsmasqArgs = [...DNSMASQ_ARGS, `--listen-address=${dnsmasqIp}`];
    const dnsmasq = ns.spawnIn(ns.serverNs, 'dnsmasq', dnsmasqArgs);
    // dnsmasq --no-daemon also logs every transfer to stderr: read it, or once the pipe is full
    // (about 300 transfers) dnsmasq blocks in write(2) and stops serving.
    let dnsmasqErr = '';
    dnsmasq.stdout!.resume();
    dnsmasq.stderr!.on('data', (d: Buffer) => (dnsmasqErr = (dnsmasqErr + d.toString()).slice(-2000)));
    await new Promise((r) => setTimeout(r, 1000));
    if (dnsmasq.exitCode !== null) throw new Error(`dnsmasq did not start: ${dnsmasqErr}`);
    const pidOf: Record<Key, number> = { netroot: netroot.pid!, 'netroot-nocache': nocache.pid!, dnsmasq: dnsmasq.pid! };
    const version = execFileSync('dnsmasq', ['--version'], { encoding: 'utf8' }).split('\n')[0];

    console.log(`# bench:tftp ${new Date().toISOString()}, load average ${load()} (1/5/15 min) on ${(await import('node:os')).cpus().length} CPUs`);
    console.log(`# peer: ${version}, TFTP as it is: dnsmasq ${dnsmasqArgs.join(' ')}`);
    console.log(
      `# netroot: bench/lib/tftp-netroot-server.ts, native link, limits raised (maxTransfers/maxTransfersPerClient 4096, maxBufferedBytes 1 GiB); cache on: ${ready.on.trim()}; cache off: ${ready.off.trim()}`,
    );
    console.log(`#   file cache on (as shipped) at ${netrootIp}, file cache off (FileCache maxFileBytes 0) at ${nocacheIp}; dnsmasq at ${dnsmasqIp}`);
    console.log(
      `# files: ${fits.name} ${sizeLabel(fits)} (fits the cache), ${over.name} ${sizeLabel(over)} (over its 64 MiB limit), ${small.name} ${sizeLabel(small)} (part c); runs: ${ROUNDS} (a, c), ${ROUNDS_B} (b, p), interleaved, order rotated each round`,
    );

    const three: Key[] = ['netroot', 'netroot-nocache', 'dnsmasq'];
    const two: Key[] = ['netroot', 'dnsmasq'];
    /** Per file: the servers measured and the netroot variants that get a line. */
    const plan: { f: BenchFile; servers: Key[]; note: string }[] = [
      { f: fits, servers: three, note: '' },
      { f: over, servers: two, note: ', over the cache limit' },
    ];
    const variantsOf = (servers: Key[], f: BenchFile) =>
      servers
        .filter((k): k is Exclude<Key, 'dnsmasq'> => k !== 'dnsmasq')
        .map((k) => [k, f === over ? 'netroot as shipped (file over 64 MiB: not cached)' : VARIANT[k]] as const);

    // (a) one client, lockstep. Each block waits for two cross-CPU wake-ups on this VM, and where
    // the scheduler puts client and server moves one run by ±10 %: hence interleaved medians.
    if (ONLY.includes('a')) {
      for (const { f, servers, note } of plan) {
        const runs = await interleaved(servers, ROUNDS, async (k) => {
          const r = await curlGet(ns, addr[k], f);
          if (!verify(r, addr[k], f)) throw new Error(`${k}: single transfer of ${f.name} failed or checksum wrong`);
          return mbps(f.size, r.ms);
        });
        for (const [k, variant] of variantsOf(servers, f)) {
          console.log(
            ratioLine(
              `(a) single client ${sizeLabel(f)}${note}, curl blksize 1432 lockstep, MB/s`,
              variant,
              runs.get(k)!,
              runs.get('dnsmasq')!,
              'MB/s',
              f1,
              'higher',
            ),
          );
        }
      }
    }

    // (b) and (p): many transfers at once; every body of every run is checked. Each run also reads
    // the server's CPU time and how often it slept, and the clients' CPU time, per GB served.
    interface ManyRun {
      rate: number;
      ok: number;
      serverCpuPerGb: number;
      clientCpuPerGb: number;
      sleepsPer1000: number;
    }
    const many = async (
      label: string,
      f: BenchFile,
      clients: number,
      servers: Key[],
      note: string,
      run: (a: string) => Promise<{ ok: number; clientCpu: number }>,
    ) => {
      const runs = await interleaved(servers, ROUNDS_B, async (k): Promise<ManyRun> => {
        const s0 = cpuSeconds(pidOf[k]);
        const z0 = statusField(pidOf[k], 'voluntary_ctxt_switches');
        const t0 = performance.now();
        const r = await run(addr[k]);
        const ms = performance.now() - t0;
        const gb = (f.size * clients) / 1e9;
        return {
          rate: mbps(f.size * clients, ms),
          ok: r.ok,
          serverCpuPerGb: (cpuSeconds(pidOf[k]) - s0) / gb,
          clientCpuPerGb: r.clientCpu / gb,
          sleepsPer1000: ((statusField(pidOf[k], 'voluntary_ctxt_switches') - z0) / (Math.ceil(f.size / 1432) * clients)) * 1000,
        };
      });
      const pick = (k: Key, m: keyof ManyRun) => runs.get(k)!.map((r) => r[m]);
      const okOf = (k: Key) => `${pick(k, 'ok').reduce((a, b) => a + b, 0)}/${clients * ROUNDS_B}`;
      const head = `(${label}) ${clients} ${label === 'b' ? 'transfers of one client process' : 'curl processes'} at once, ${sizeLabel(f)} each${note}`;
      for (const [k, variant] of variantsOf(servers, f)) {
        console.log(
          `${ratioLine(`${head}, aggregate MB/s`, variant, pick(k, 'rate'), pick('dnsmasq', 'rate'), 'MB/s', f1, 'higher')}; bodies correct: netroot ${okOf(k)}, dnsmasq ${okOf('dnsmasq')}`,
        );
        console.log(
          `${ratioLine(`${head}, server CPU seconds per GB served`, variant, pick(k, 'serverCpuPerGb'), pick('dnsmasq', 'serverCpuPerGb'), 's', f2, 'lower')}; clients' CPU s/GB (median): netroot ${f2(median(pick(k, 'clientCpuPerGb')))}, dnsmasq ${f2(median(pick('dnsmasq', 'clientCpuPerGb')))}; server sleeps per 1000 blocks (median): netroot ${f1(median(pick(k, 'sleepsPer1000')))}, dnsmasq ${f1(median(pick('dnsmasq', 'sleepsPer1000')))}`,
        );
      }
    };

    // (b) one client process holding the transfers (bench/lib/tftp-load-client.c), which compares
    // every block with the file: the server, not the clients' scheduling, is measured.
    if (ONLY.includes('b')) {
      const client = buildLoadClient();
      for (const { f, servers, note } of plan) {
        const clients = f === over ? BIG_CLIENTS : CLIENTS;
        await many('b', f, clients, servers, note, async (a) => {
          const c = ns.spawnIn(ns.clientNs, client, [a, f.name, '1432', String(clients), join(root, f.name)]);
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
          if (r.error) process.stderr.write(`tftp-load-client ${a}: ${r.error}\n`);
          return { ok: r.ok, clientCpu: r.cpuMs / 1000 };
        });
      }
    }

    // (p) CLIENTS curl processes: they and the server share this machine's two vCPUs, and every
    // server spends its time being preempted by the clients it wakes (parity, whoever serves).
    if (ONLY.includes('p')) {
      await many('p', fits, CLIENTS, three, '', async (a) => {
        const c0 = cpuSeconds('self', 'reaped children');
        const rs = await Promise.all(Array.from({ length: CLIENTS }, () => curlGet(ns, a, fits)));
        const clientCpu = cpuSeconds('self', 'reaped children') - c0;
        return { ok: rs.filter((r) => verify(r, a, fits)).length, clientCpu };
      });
    }

    // (c) windowsize 1 and 16 with 250 µs each way, through one relay per server in the client
    // namespace; each run is a windowsize 1 and a windowsize 16 transfer of the 8 MiB file.
    if (ONLY.includes('c')) {
      const relayPort: Record<Key, number> = { netroot: 7001, 'netroot-nocache': 7002, dnsmasq: 7003 };
      const relays: ChildProcess[] = [];
      for (const k of three) {
        const relay = ns.spawnIn(ns.clientNs, process.execPath, [
          '--import',
          'tsx',
          'bench/lib/udp-delay-relay.ts',
          `127.0.0.1:${relayPort[k]}`,
          `${addr[k]}:69`,
          String(DELAY_US),
        ]);
        await waitForOutput(relay, 'relay ready');
        relays.push(relay);
      }
      const runs = await interleaved(three, ROUNDS, async (k) => {
        const w: Record<number, number> = {};
        for (const ws of [1, 16]) {
          const r = await atftpGet(ns, '127.0.0.1', relayPort[k], ws, small);
          if (!r.ok) throw new Error(`${k}: atftp windowsize ${ws} of ${small.name} failed or checksum wrong`);
          w[ws] = mbps(small.size, r.ms);
        }
        return { w1: w[1]!, w16: w[16]!, up: w[16]! / w[1]! };
      });
      for (const r of relays) r.kill('SIGTERM');
      const pick = (k: Key, m: 'w1' | 'w16' | 'up') => runs.get(k)!.map((r) => r[m]);
      for (const [k, variant] of variantsOf(three, small)) {
        for (const m of ['w1', 'w16'] as const) {
          console.log(
            ratioLine(
              `(c) atftp ${sizeLabel(small)} blksize 1432 windowsize ${m.slice(1)}, ${DELAY_US} µs each way, MB/s`,
              variant,
              pick(k, m),
              pick('dnsmasq', m),
              'MB/s',
              f1,
              'higher',
            ),
          );
        }
        console.log(
          `${ratioLine(`(c) windowsize 16 / windowsize 1 speed-up, ${DELAY_US} µs each way`, variant, pick(k, 'up'), pick('dnsmasq', 'up'), 'x', f2, 'higher')}; target netroot >= 5x`,
        );
      }
    }
    console.log(`# load average at the end: ${load()} (1/5/15 min)`);
    for (const c of [netroot, nocache, dnsmasq]) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
    rmSync(shm, { recursive: true, force: true });
  }
}

await main();
