// Drives ISC perfdhcp (Debian kea-admin) as a DHCPv4 relay (-l <addr>: giaddr = that address) and
// parses its final report. Output format of perfdhcp 2.2: a "Rate: N 4-way exchanges/second" line
// and, per exchange ("DISCOVER-OFFER", "REQUEST-ACK"), "sent packets:" / "received packets:".
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
}

export interface PerfdhcpRun {
  ns: string;
  relayAddr: string;
  serverAddr: string;
  rate: number;
  clients: number;
  seconds: number;
  seed?: number;
}

function num(text: string, re: RegExp, field: string): number {
  const m = re.exec(text);
  if (!m || m[1] === undefined) throw new NetrootError('E_BENCH_PARSE', `perfdhcp output has no ${field}:\n${text.slice(-2000)}`, { where: field });
  const v = Number(m[1]);
  if (!Number.isFinite(v)) throw new NetrootError('E_BENCH_PARSE', `perfdhcp ${field} is not a number: ${m[1]}`, { where: field });
  return v;
}

export function parsePerfdhcp(offered: number, text: string): PerfdhcpResult {
  const rate = num(text, /^Rate:\s+([\d.]+)\s+4-way exchanges\/second/m, 'Rate');
  const doSec = /\*\*\*Statistics for: DISCOVER-OFFER\*\*\*([\s\S]*?)(?:\*\*\*Statistics for|$)/.exec(text)?.[1] ?? '';
  const raSec = /\*\*\*Statistics for: REQUEST-ACK\*\*\*([\s\S]*)$/.exec(text)?.[1] ?? '';
  const discoversSent = num(doSec, /sent packets:\s+(\d+)/, 'DISCOVER-OFFER sent packets');
  const offersReceived = num(doSec, /received packets:\s+(\d+)/, 'DISCOVER-OFFER received packets');
  const requestsSent = num(raSec, /sent packets:\s+(\d+)/, 'REQUEST-ACK sent packets');
  const acksReceived = num(raSec, /received packets:\s+(\d+)/, 'REQUEST-ACK received packets');
  const ackDelayMs = acksReceived === 0 ? NaN : num(raSec, /avg delay:\s+([\d.]+) ms/, 'REQUEST-ACK avg delay');
  const dropPercent = discoversSent === 0 ? 100 : (100 * (discoversSent - acksReceived)) / discoversSent;
  return { offered, rate, discoversSent, offersReceived, requestsSent, acksReceived, ackDelayMs, dropPercent };
}

export async function runPerfdhcp(r: PerfdhcpRun): Promise<PerfdhcpResult> {
  const args = ['-4', '-r', String(r.rate), '-R', String(r.clients), '-p', String(r.seconds), '-l', r.relayAddr];
  if (r.seed !== undefined) args.push('-s', String(r.seed));
  args.push(r.serverAddr);
  const c = startIn(r.ns, 'perfdhcp', args);
  // perfdhcp stops by itself after -p seconds; anything much longer is a hang.
  const code = await waitFor(c, (r.seconds + 15) * 1000);
  if (code !== 0 && code !== 3) {
    // perfdhcp exits 3 when packets were dropped; that is a result, not a failure.
    if (!/^Rate:/m.test(c.output())) throw new NetrootError('E_BENCH_PERFDHCP', `perfdhcp ${args.join(' ')} failed (${code}):\n${c.output().slice(-2000)}`);
  }
  return parsePerfdhcp(r.rate, c.output());
}
