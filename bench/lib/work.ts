// A benchmark's temporary folder and its cleanup: the folder is 0755 (servers that drop privileges,
// nginx's workers, read what lies in it), and whenever the bench ends — normally, on an uncaught
// error, SIGINT/SIGTERM/SIGHUP — every tracked child is killed, every namespace pair destroyed and
// the folder deleted (netns.ts onExit).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onExit, type VethPair } from './netns.js';
import { killAll } from './children.js';

export interface BenchWork {
  dir: string;
  /** Pairs (or other namespace sets) destroyed at exit (those destroyed earlier are skipped: destroy() runs once). */
  pairs: Set<Pick<VethPair, 'destroy'>>;
}

export function benchWork(name: string): BenchWork {
  const dir = mkdtempSync(join(tmpdir(), `nrt-bench-${name}-`));
  chmodSync(dir, 0o755);
  const pairs = new Set<Pick<VethPair, 'destroy'>>();
  onExit(() => {
    killAll();
    for (const p of pairs) p.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, pairs };
}
