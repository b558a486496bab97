// Between two runs of a benchmark, the servers must have let go of the last run (a held TFTP
// transfer lives until the server's own timeout, a TCP connection until both ends close it), or the
// next run inherits it. Connections are counted with `ss` inside the server's namespace.
import { spawnSync } from 'node:child_process';

/** Established TCP connections and connected UDP sockets (one per TFTP transfer) in namespace `ns`. */
export function connectionsIn(ns: string): number {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Htun', 'state', 'established'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '').length;
}

/** Waits (up to `maxMs`) until namespace `ns` holds no connection; returns the wait and what is left. */
export async function waitIdle(ns: string, maxMs: number): Promise<{ ms: number; left: number }> {
  const t = performance.now();
  let left = connectionsIn(ns);
  while (left > 0 && performance.now() - t < maxMs) {
    await new Promise((r) => setTimeout(r, 250));
    left = connectionsIn(ns);
  }
  return { ms: performance.now() - t, left };
}
