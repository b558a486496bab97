// Starts test/iscsi/helpers/run-target.ts in a child process (a real, separately killable
// target: the crash test kill -9s it, the conformance run keeps its CPU apart from the test
// runner's). Resolves once it printed `READY <port>`.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TargetDefinition } from '../../../src/iscsi/index.js';

const RUNNER = fileURLToPath(new URL('./run-target.ts', import.meta.url));
const STORAGE_NODE = fileURLToPath(new URL('./run-storage-node.ts', import.meta.url));

export interface TargetProcess {
  port: number;
  proc: ChildProcess;
  output: () => string;
  /** SIGKILL, no cleanup at all (what a crash looks like). */
  kill9: () => Promise<void>;
  /** SIGTERM (clean stop), SIGKILL after 5 s. */
  stop: () => Promise<void>;
}

export function startTargetProcess(cfg: { host?: string; port?: number; targets: TargetDefinition[]; metricsEveryMs?: number }): Promise<TargetProcess> {
  return startRunner(RUNNER, cfg);
}

/** run-storage-node.ts: IscsiTarget + EmbeddedBackend, volume created and export reconciled. */
export function startStorageNodeProcess(cfg: object): Promise<TargetProcess> {
  return startRunner(STORAGE_NODE, cfg);
}

function startRunner(script: string, cfg: object): Promise<TargetProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const kill = async (sig: NodeJS.Signals): Promise<void> => {
    if (alive()) proc.kill(sig);
    await gone;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`target process did not start: ${out}`));
    }, 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /^READY (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stdout!.on('data', (x: Buffer) => (out += x.toString()));
        resolve({
          port: Number(m[1]),
          proc,
          output: () => out,
          kill9: () => kill('SIGKILL'),
          stop: async () => {
            const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
            await kill('SIGTERM');
            clearTimeout(t);
          },
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`target process exited (${code ?? sig}) before READY: ${out}`));
    });
  });
}
