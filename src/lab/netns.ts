// Thin wrappers over iproute2 for lab namespaces. Every name the lab creates starts with its
// prefix, so a later run can find and remove what a crashed run left behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { NetrootError } from '../errors.js';
import { pidAlive } from '../pid.js';

export function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new NetrootError('E_LAB_IP', `ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

export function namespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** Kills what still runs inside a namespace, then deletes it. */
export function deleteNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const p of pids
    .split('\n')
    .map(Number)
    .filter((x) => x > 0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  spawnSync('ip', ['netns', 'del', ns]);
}

export { pidAlive };

/** Deletes namespaces named <prefix>-<pid>[-...] whose creating process is gone (a crashed run). */
export function removeStale(prefix: string): string[] {
  const removed: string[] = [];
  for (const ns of namespaces()) {
    const m = new RegExp(`^${prefix}-(\\d+)(-|$)`).exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    deleteNamespace(ns);
    removed.push(ns);
  }
  return removed;
}
