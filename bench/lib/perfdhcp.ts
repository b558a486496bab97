// Drives ISC perfdhcp (Debian kea-admin) as a DHCPv4 relay (-l <addr>: giaddr = that address) and
// parses its final report. Output format of perfdhcp 2.2: a "Rate: N 4-way exchanges/second" line
// and, per exchange ("DISCOVER-OFFER", "REQUEST-ACK"), "sent packets:" / "received packets:".
// With `-x t` (timestamps: true) it also prints, after the report, one
// "sent / received: SSSSSS.UUUUUU / SSSSSS.UUUUUU" line per *successful* exchange under
// "***Timestamps for packets: REQUEST-ACK***": the ACK delay of every ACKed REQUEST, from which
// the bench takes percentiles (the report itself has only min/avg/max). perfdhcp 2.2 numbers its
// clients' MACs sequentially modulo -R (test_control.h SequentialGenerator), so while a trial
// sends at most -R DISCOVERs every ACK went to a different client.
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { NetrootError } from '../../src/errors.js';
import { startIn, waitFor } from './children.js';

export interface PerfdhcpResult {
  offered: number;
  /** Completed DORA exchanges per second, as perfdhcp reports it. */
  rate: number;
  discoversSent: number;
  offersReceived: number;
  requestsSent: number;
  acksReceived: number;
  /** Mean REQUEST→ACK delay in ms (includes netroot's lease fdatasync). */
  ackDelayMs: number;
  /** Share of started exchanges that did not end in an ACK, in percent. */
  dropPercent: number;
  /** Every ACKed REQUEST's REQUEST→ACK delay in ms, sorted ascending (only with timestamps; its
   *  length should equal acksReceived). */
  ackDelaysMs: number[] | null;
  /** The same exchanges as [sent s, delay ms] in send order (only with timestamps). */
  ackStamps: Array<[number, number]> | null;
}

export interface PerfdhcpRun {
  ns: string;
  relayAddr: string;
  serverAddr: string;
  rate: number;
  clients: number;
  seconds: number;
  seed?: number;
  /** `-b mac=<base>`: the first client's MAC (clients count up from it); perfdhcp's default base otherwise. */
  macBase?: string;
  /** `-x t`: per-exchange timestamps; stdout then goes to `outFile` (it outgrows a pipe buffer). */
  timestamps?: boolean;
  outFile?: string;
}

function num(text: string, re: RegExp, field: string): number {
  const m = re.exec(text);
  if (!m || m[1] === undefined) throw new NetrootError('E_BENCH_PARSE', `perfdhcp output has no ${field}:\n${text.slice(-2000)}`, { where: field });
  const v = Number(m[1]);
  if (!Number.isFinite(v)) throw new NetrootError('E_BENCH_PARSE', `perfdhcp ${field} is not a number: ${m[1]}`, { where: field });
  return v;
}

/** One "sent / received: A / B" line: seconds since perfdhcp started, six decimals each. */
// perfdhcp prints a time with no fraction at all when it is a whole second (boost's
// posix_time text drops a zero fraction: `sent / received: 000001.999882 / 000002`, seen in a run).
const STAMP = /^sent \/ received: (\d{1,9}(?:\.\d{1,9})?) \/ (\d{1,9}(?:\.\d{1,9})?)$/;

/**
 * Every ACKed exchange's [sent, delay]: the REQUEST's send time (s since perfdhcp started) and its
 * REQUEST→ACK delay (ms), in the order of the "***Timestamps for packets: REQUEST-ACK***" section
 * of `perfdhcp -x t`. The section ends at the next "***" heading or at the end of the text; a line
 * in it that is not a well-formed stamp pair, or a received stamp before its sent stamp, is an
 * error (a misread would silently bias a percentile).
 */
export function parseAckStamps(text: string): Array<[number, number]> {
  const head = '***Timestamps for packets: REQUEST-ACK***';
  const at = text.indexOf(head);
  if (at < 0) throw new NetrootError('E_BENCH_PARSE', 'perfdhcp output has no REQUEST-ACK timestamps (was -x t given?)', { where: 'REQUEST-ACK timestamps' });
  const out: Array<[number, number]> = [];
  for (const raw of text.slice(at + head.length).split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('***')) break;
    const m = STAMP.exec(line);
    if (!m) throw new NetrootError('E_BENCH_PARSE', `perfdhcp timestamp line not understood: ${line.slice(0, 120)}`, { where: 'REQUEST-ACK timestamps' });
    const sent = Number(m[1]);
    const received = Number(m[2]);
    if (received < sent) throw new NetrootError('E_BENCH_PARSE', `perfdhcp timestamp received before sent: ${line}`, { where: 'REQUEST-ACK timestamps' });
    out.push([sent, (received - sent) * 1000]);
  }
  return out;
}

/** The REQUEST→ACK delays (ms, sorted ascending) of parseAckStamps. */
export function parseAckDelays(text: string): number[] {
  return parseAckStamps(text)
    .map(([, d]) => d)
    .sort((a, b) => a - b);
}

/**
 * Where in a trial the slow ACKs fall: the stamps cut into windows of `windowS` seconds from the
 * first REQUEST, each as [window start (s), ACKs, p99 ms, max ms]. A tail at the start points to
 * warm-up (JIT, heap growth), one spread over the trial to periodic stalls (GC, disk).
 */
export function ackTimeline(stamps: ReadonlyArray<readonly [number, number]>, windowS: number): Array<[number, number, number, number]> {
  if (stamps.length === 0) return [];
  const t0 = Math.min(...stamps.map(([s]) => s));
  const wins = new Map<number, number[]>();
  for (const [s, d] of stamps) {
    const w = Math.floor((s - t0) / windowS);
    const list = wins.get(w) ?? [];
    list.push(d);
    wins.set(w, list);
  }
  return [...wins]
    .sort((a, b) => a[0] - b[0])
    .map(([w, ds]) => {
      ds.sort((a, b) => a - b);
      return [Number((w * windowS).toFixed(3)), ds.length, percentile(ds, 99), ds[ds.length - 1]!];
    });
}

/** Nearest-rank percentile (0 < p ≤ 100) of an ascending array; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} outside (0, 100]`);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function parsePerfdhcp(offered: number, text: string, timestamps = false): PerfdhcpResult {
  const rate = num(text, /^Rate:\s+([\d.]+)\s+4-way exchanges\/second/m, 'Rate');
  const doSec = /\*\*\*Statistics for: DISCOVER-OFFER\*\*\*([\s\S]*?)(?:\*\*\*|$)/.exec(text)?.[1] ?? '';
  const raSec = /\*\*\*Statistics for: REQUEST-ACK\*\*\*([\s\S]*?)(?:\*\*\*|$)/.exec(text)?.[1] ?? '';
  const discoversSent = num(doSec, /sent packets:\s+(\d+)/, 'DISCOVER-OFFER sent packets');
  const offersReceived = num(doSec, /received packets:\s+(\d+)/, 'DISCOVER-OFFER received packets');
  const requestsSent = num(raSec, /sent packets:\s+(\d+)/, 'REQUEST-ACK sent packets');
  const acksReceived = num(raSec, /received packets:\s+(\d+)/, 'REQUEST-ACK received packets');
  const ackDelayMs = acksReceived === 0 ? NaN : num(raSec, /avg delay:\s+([\d.]+) ms/, 'REQUEST-ACK avg delay');
  const dropPercent = discoversSent === 0 ? 100 : (100 * (discoversSent - acksReceived)) / discoversSent;
  // One stamp per ACKed exchange; the bench prints it when the count differs from acksReceived.
  const ackStamps = timestamps ? parseAckStamps(text) : null;
  const ackDelaysMs = ackStamps ? ackStamps.map(([, d]) => d).sort((a, b) => a - b) : null;
  return { offered, rate, discoversSent, offersReceived, requestsSent, acksReceived, ackDelayMs, dropPercent, ackDelaysMs, ackStamps };
}

export async function runPerfdhcp(r: PerfdhcpRun): Promise<PerfdhcpResult> {
  const args = ['-4', '-r', String(r.rate), '-R', String(r.clients), '-p', String(r.seconds), '-l', r.relayAddr];
  if (r.seed !== undefined) args.push('-s', String(r.seed));
  if (r.macBase !== undefined) args.push('-b', `mac=${r.macBase}`);
  if (r.timestamps) args.push('-x', 't');
  args.push(r.serverAddr);
  if (r.timestamps && !r.outFile) throw new NetrootError('E_BENCH_PERFDHCP', 'perfdhcp -x t needs an output file');
  const fd = r.timestamps && r.outFile ? openSync(r.outFile, 'w', 0o600) : null;
  try {
    const c = startIn(r.ns, 'perfdhcp', args, fd === null ? {} : { stdio: ['ignore', fd, 'pipe'] });
    // perfdhcp stops by itself after -p seconds; anything much longer is a hang.
    const code = await waitFor(c, (r.seconds + 15) * 1000);
    const text = fd === null ? c.output() : readFileSync(r.outFile!, 'utf8');
    if (code !== 0 && code !== 3) {
      // perfdhcp exits 3 when packets were dropped; that is a result, not a failure.
      if (!/^Rate:/m.test(text))
        throw new NetrootError('E_BENCH_PERFDHCP', `perfdhcp ${args.join(' ')} failed (${code}):\n${(text + c.output()).slice(-2000)}`);
    }
    return parsePerfdhcp(r.rate, text, r.timestamps ?? false);
  } finally {
    if (fd !== null) {
      closeSync(fd);
      rmSync(r.outFile!, { force: true });
    }
  }
}
