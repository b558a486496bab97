// bench:golden's boot-storm client, run inside the lab namespace (where the frontend's embedded
// target listens): every node at once, each from its own address, does what a diskless node's
// initrd and kernel do to its root — TCP, a Normal-session login with its CHAP (StormInitiator,
// storm-iscsi.ts), READ CAPACITY, READ of the first MiB — then reads the rest of its boot: the
// byte ranges the plan lists (the pieces of the installed image that hold data), one READ(10) of at
// most 256 KiB at a time, as a booting node reads mostly one request after another.
// Usage: golden-storm-client.ts <plan.json> (0600: it holds the nodes' CHAP secrets). Prints one
// line `result {...}` (GoldenStormResult) and exits 0, or `error <message>` and exits 1.
import { readFileSync } from 'node:fs';
import { StormInitiator } from './storm-iscsi.js';

export interface GoldenStormNode {
  host: string;
  /** The node's own address (on the lab bridge, added by the bench while the node is off). */
  ip: string;
  portal: string;
  port: number;
  target: string;
  initiator: string;
  user: string;
  secret: string;
  lun: number;
  /** [offset, length] byte ranges read after the first MiB: the rest of the boot. */
  ranges: Array<[number, number]>;
}

export interface GoldenStormPlan {
  nodes: GoldenStormNode[];
  /** Bytes of the first read (1 MiB). */
  firstBytes: number;
  /** Deadline of the whole storm. */
  timeoutMs: number;
}

export interface GoldenStormResult {
  nodes: number;
  /** From the storm's start to the last node's first MiB read (login included). */
  firstSeconds: number;
  /** From the storm's start to the last node's last boot read. */
  wholeSeconds: number;
  firstBytes: number;
  wholeBytes: number;
}

/** Splits byte ranges into READ(10)s of at most `maxBytes`, in whole blocks. */
export function readsOf(ranges: ReadonlyArray<readonly [number, number]>, blockLength: number, maxBytes: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [off, len] of ranges) {
    if (off % blockLength !== 0 || len % blockLength !== 0 || len <= 0) throw new Error(`range ${off}+${len} is not whole ${blockLength}-byte blocks`);
    for (let at = off; at < off + len; at += maxBytes) out.push([at / blockLength, Math.min(maxBytes, off + len - at) / blockLength]);
  }
  return out;
}

async function node(n: GoldenStormNode, plan: GoldenStormPlan, start: number, signal: AbortSignal): Promise<{ first: number; end: number; bytes: number }> {
  const s = await StormInitiator.connect(n.portal, n.port, n.ip, signal, n.lun);
  try {
    await s.login({ initiator: n.initiator, target: n.target, user: n.user, secret: n.secret });
    const bl = await s.blockLength();
    let bytes = (await s.readStart(plan.firstBytes, bl)).length;
    const first = performance.now() - start;
    for (const [lba, blocks] of readsOf(n.ranges, bl, 256 * 1024)) bytes += await s.readAt(lba, blocks, bl);
    return { first, end: performance.now() - start, bytes };
  } finally {
    await s.logout();
  }
}

async function main(): Promise<void> {
  const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as GoldenStormPlan;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), plan.timeoutMs);
  const start = performance.now();
  try {
    const r = await Promise.all(
      plan.nodes.map((n) => node(n, plan, start, abort.signal).catch((e: Error) => Promise.reject(new Error(`${n.host}: ${e.message}`)))),
    );
    const result: GoldenStormResult = {
      nodes: r.length,
      firstSeconds: Math.max(...r.map((x) => x.first)) / 1000,
      wholeSeconds: Math.max(...r.map((x) => x.end)) / 1000,
      firstBytes: r.length * plan.firstBytes,
      wholeBytes: r.reduce((a, x) => a + x.bytes, 0),
    };
    process.stdout.write(`result ${JSON.stringify(result)}\n`);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

if (process.argv[1]?.endsWith('golden-storm-client.ts')) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stdout.write(`error ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
