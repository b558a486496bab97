// Runs the external programs an image build needs (mmdebstrap, dracut in a chroot, tar) with
// their output streamed, line by line, to a progress callback, and a failure reported as one
// NetrootError that quotes the tail of what the program said (the operator sees apt's or
// dracut's own reason: an unknown package, an unreachable archive, a full disk).
import { spawn } from 'node:child_process';
import { NetrootError } from '../errors.js';

export type Progress = (line: string) => void;

export interface RunOptions {
  /** Each output line (stdout and stderr), prefixed by the caller's label. */
  progress?: Progress | undefined;
  label?: string;
  /** Error code on failure. */
  code?: string;
  env?: NodeJS.ProcessEnv;
  /** Collect stdout and return it (not streamed). */
  capture?: boolean;
  /** A failure is the operator's to fix (a bad package name): exit 2. */
  userError?: boolean;
}

const TAIL_LINES = 15;

export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    const tail: string[] = [];
    let captured = '';
    const lines = (stream: NodeJS.ReadableStream, capture: boolean) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        if (capture) {
          captured += d;
          return;
        }
        partial += d;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) emit(l);
      });
      stream.on('end', () => partial && emit(partial));
    };
    const emit = (l: string) => {
      const line = l.replace(/\r/g, '').trimEnd();
      if (!line) return;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      o.progress?.(o.label ? `${o.label}: ${line}` : line);
    };
    lines(child.stdout, o.capture === true);
    lines(child.stderr, false);
    child.once('error', (e) => reject(new NetrootError(o.code ?? 'E_IMAGE_TOOL', `cannot run ${cmd}: ${e.message}`, { user: o.userError ?? false, cause: e })));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(captured);
      const why = signal ? `killed by ${signal}` : `exit status ${code}`;
      reject(new NetrootError(o.code ?? 'E_IMAGE_TOOL', `${o.label ?? cmd} failed (${why}):\n${tail.map((l) => `  ${l}`).join('\n')}`, { user: o.userError ?? false }));
    });
  });
}
