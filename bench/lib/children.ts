// Child processes a benchmark starts (servers, load generators), tracked so that cleanup can
// SIGKILL every one still running — also after a failure or SIGINT. Every wait is bounded in time.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { NetrootError } from '../../src/errors.js';

const running = new Set<ChildProcess>();

export interface Child {
  proc: ChildProcess;
  /** stdout + stderr so far (capped at 1 MiB). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Spawns `cmd args` inside network namespace `ns` (or directly when ns is null). */
export function startIn(ns: string | null, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const argv = ns ? ['netns', 'exec', ns, cmd, ...args] : args;
  const proc = spawn(ns ? 'ip' : cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  running.add(proc);
  let out = '';
  const add = (b: Buffer): void => {
    if (out.length < 1 << 20) out += b.toString('utf8');
  };
  proc.stdout?.on('data', add);
  proc.stderr?.on('data', add);
  const exited = new Promise<number | string>((resolve) => {
    proc.on('error', (e) => {
      out += `\nspawn ${cmd}: ${e.message}`;
      running.delete(proc);
      resolve('spawn-error');
    });
    proc.on('close', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { proc, output: () => out, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stop(c: Child, graceMs = 2000): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(t);
}

/** Waits for a child to end, SIGKILLing it after `ms`. */
export async function waitFor(c: Child, ms: number): Promise<number | string> {
  const t = setTimeout(() => c.proc.kill('SIGKILL'), ms);
  const r = await c.exited;
  clearTimeout(t);
  return r;
}

/** Synchronous last resort for exit handlers. */
export function killAll(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}

/** Polls `ready()` every 50 ms until it is true, the child exits, or `ms` passes. */
export async function waitUntil(c: Child, what: string, ready: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) throw new NetrootError('E_BENCH_CHILD', `${what} exited before it was ready:\n${c.output()}`);
    if (ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new NetrootError('E_BENCH_CHILD', `${what} not ready after ${ms} ms:\n${c.output()}`);
}
