// The HTTP side of bench:attack's virtual nodes: GETs from the node's own address over one
// keep-alive connection (as iPXE fetches its script, kernel and initrds), bodies hashed and
// counted, not kept. A 503 with Retry-After (netroot's load shedding, src/http/shed.ts) is waited
// out and asked again, as iPXE does (it retries a 503 after Retry-After seconds); any other
// status, a short body or a connection error fails the request. A request idle for 30 s fails.
// Big bodies are counted (and checked against Content-Length), or hashed when asked to: hashing
// 8 GB per storm costs the client a core-second per GB on a machine the server shares.
import { Agent, request } from 'node:http';
import { createHash } from 'node:crypto';

export interface HttpGetResult {
  bytes: number;
  /** null when the body was only counted. */
  sha256: string | null;
  body: string | null;
  /** 503 answers waited out before the 200. */
  retries: number;
}

const IDLE_MS = 30_000;
const MAX_503 = 30;

/** A virtual node's HTTP client: one keep-alive connection, from the node's address. */
export interface NodeHttp {
  agent: Agent;
  localAddress: string;
}

export function nodeHttp(localAddress: string): NodeHttp {
  return { agent: new Agent({ keepAlive: true, maxSockets: 1 }), localAddress };
}

/** What to do with a body: keep it (the script), hash it (BENCH_VERIFY), or only count it. */
export type BodyUse = 'keep' | 'hash' | 'count';

function once(
  url: string,
  c: NodeHttp,
  use: BodyUse,
  signal: AbortSignal,
): Promise<{ status: number; retryAfter: number; bytes: number; sha256: string | null; body: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: c.agent, localAddress: c.localAddress, signal, headers: { 'user-agent': 'iPXE/1.21.1 (netroot bench:attack)' } },
      (res) => {
        const hash = use === 'count' ? null : createHash('sha256');
        const parts: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          hash?.update(c);
          if (use === 'keep') parts.push(c);
        });
        res.on('error', (e) => reject(new Error(`GET ${url}: ${e.message}`)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const len = res.headers['content-length'];
          if (status === 200 && len !== undefined && Number(len) !== bytes) return reject(new Error(`GET ${url}: ${bytes} of ${len} bytes`));
          if (!res.complete) return reject(new Error(`GET ${url}: connection closed after ${bytes} bytes`));
          resolve({
            status,
            retryAfter: Number(res.headers['retry-after'] ?? 1) || 1,
            bytes,
            sha256: hash ? hash.digest('hex') : null,
            body: use === 'keep' ? Buffer.concat(parts).toString('utf8') : null,
          });
        });
      },
    );
    req.setTimeout(IDLE_MS, () => req.destroy(new Error(`GET ${url}: idle for ${IDLE_MS / 1000} s`)));
    req.on('error', (e) => reject(new Error(`GET ${url}: ${e.message}`)));
    req.end();
  });
}

export async function httpGet(url: string, c: NodeHttp, signal: AbortSignal, use: BodyUse): Promise<HttpGetResult> {
  for (let retries = 0; ; retries++) {
    const r = await once(url, c, use, signal);
    if (r.status === 200) return { bytes: r.bytes, sha256: r.sha256, body: r.body, retries };
    if (r.status !== 503 || retries >= MAX_503) throw new Error(`GET ${url}: HTTP ${r.status}${retries ? ` after ${retries} 503s` : ''}`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, Math.min(r.retryAfter, 10) * 1000);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(new Error(`GET ${url}: aborted while waiting out a 503`));
        },
        { once: true },
      );
    });
  }
}

/** The kernel and initrd URLs of an iPXE script as netroot renders it (src/boot/templates.ts). */
export function ipxeScriptFiles(script: string): { kernel: string; initrds: string[] } {
  const kernel = /^kernel\s+(\S+)/m.exec(script)?.[1];
  if (!kernel) throw new Error(`the iPXE script has no kernel line:\n${script.slice(0, 400)}`);
  const initrds = [...script.matchAll(/^initrd\s+(?:--name\s+\S+\s+)?(\S+)/gm)].map((m) => m[1]!);
  return { kernel, initrds };
}
