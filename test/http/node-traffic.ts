// What a node does during an attack (test/attack/*.test.ts), timed, one request after another: /healthz, its iPXE script, its kickstart and an /RPC2
// call, in a loop for `ms`; every answer must be 200. Returns the latencies per request kind.
import assert from 'node:assert/strict';
import { call, rpc, LIST_METHODS } from './clients.js';
import { NODE } from './fixture.js';

export interface Latencies {
  [what: string]: number[];
}

export async function nodeTraffic(port: number, ms: number): Promise<Latencies> {
  const out: Latencies = { healthz: [], ipxe: [], kickstart: [], rpc: [] };
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (const [what, ask] of [
      ['healthz', () => call(port, '/healthz')],
      ['ipxe', () => call(port, `/boot/ipxe/${NODE.mac}`, { from: NODE.ip })],
      ['kickstart', () => call(port, `/install/kickstart/${NODE.name}`, { from: NODE.ip })],
      ['rpc', () => rpc(port, LIST_METHODS, NODE.ip)],
    ] as const) {
      const r = await ask();
      assert.equal(r.status, 200, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
      out[what]!.push(r.ms);
    }
  }
  return out;
}

export function summary(l: Latencies): string {
  return Object.entries(l)
    .map(([k, v]) => {
      const s = [...v].sort((a, b) => a - b);
      return `${k} p50 ${(s[Math.floor(s.length / 2)] ?? 0).toFixed(1)} max ${(s.at(-1) ?? 0).toFixed(1)} ms (${s.length})`;
    })
    .join(', ');
}

export function worst(l: Latencies, what: string): number {
  return Math.max(...(l[what] ?? [0]));
}
