// Runs the external programs an image build needs (mmdebstrap, dracut in a chroot, tar) with
// their output streamed, line by line, to a progress callback, and a failure reported as one
// ToolError that quotes the tail of what the program said (the operator sees apt's or dracut's
// own reason: an unknown package, an unreachable archive, a full disk) and keeps those lines for
// callers that classify the failure. A full disk is never the operator's input error (exit 1).
import { spawn } from 'node:child_process';
import { NetrootError, type ErrorCode } from '../errors.js';

export type Progress = (line: string) => void;

export interface RunOptions {
  /** Each output line (stdout and stderr), prefixed by the caller's label. */
  progress?: Progress | undefined;
  label?: string;
  /** Error code on failure. */
  code?: ErrorCode;
  env?: NodeJS.ProcessEnv;
  /** Collect stdout and return it (not streamed). */
  capture?: boolean;
  /** A failure is the operator's to fix (a bad package name): exit 2. */
  userError?: boolean;
  /** [path, shown as]: replaced in every line the program prints (staging paths are internal). */
  scrub?: Array<[string, string]> | undefined;
  /** Aborting kills the program (SIGTERM) and the run fails with E_IMAGE_INTERRUPTED. */
  signal?: AbortSignal | undefined;
}

/** A program failed; `lines` are its last output lines (scrubbed), the message quotes the last 15. */
export class ToolError extends NetrootError {
  readonly lines: readonly string[];
  constructor(code: ErrorCode, message: string, lines: readonly string[], user: boolean) {
    super(code, message, { user });
    this.name = 'ToolError';
    this.lines = lines;
  }
}

/** Lines quoted in the message; more are kept in ToolError.lines for classification. */
export const TAIL_LINES = 15;
const KEPT_LINES = 60;
const DISK_FULL = /No space left on device|ENOSPC|You don't have enough free space/i;

/** Whether a program's output says the disk is full. */
export const saysDiskFull = (lines: readonly string[]): boolean => lines.some((l) => DISK_FULL.test(l));

export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const name = o.label ?? cmd;
    if (o.signal?.aborted) return reject(new NetrootError('E_IMAGE_INTERRUPTED', `${name}: interrupted`));
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: o.env ?? process.env,
      ...(o.signal ? { signal: o.signal, killSignal: 'SIGTERM' as const } : {}),
    });
    const tail: string[] = [];
    let captured = '';
    const scrub = (l: string) => (o.scrub ?? []).reduce((s, [path, shown]) => s.split(path).join(shown), l);
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
      const line = scrub(l.replace(/\r/g, '').trimEnd());
      if (!line) return;
      tail.push(line);
      if (tail.length > KEPT_LINES) tail.shift();
      o.progress?.(o.label ? `${o.label}: ${line}` : line);
    };
    lines(child.stdout, o.capture === true);
    lines(child.stderr, false);
    child.once('error', (e) => {
      if (o.signal?.aborted) return; // 'close' follows and reports the interruption
      reject(new NetrootError(o.code ?? 'E_IMAGE_TOOL', `cannot run ${cmd}: ${e.message}`, { user: o.userError ?? false, cause: e }));
    });
    child.once('close', (code, signal) => {
      if (o.signal?.aborted) return reject(new NetrootError('E_IMAGE_INTERRUPTED', `${name}: interrupted`));
      if (code === 0) return resolve(captured);
      const why = signal ? `killed by ${signal}` : `exit status ${code}`;
      const full = saysDiskFull(tail);
      const quoted = tail
        .slice(-TAIL_LINES)
        .map((l) => `  ${l}`)
        .join('\n');
      reject(
        new ToolError(
          o.code ?? 'E_IMAGE_TOOL',
          `${name} failed (${why}${full ? ': the disk is full' : ''}):\n${quoted}`,
          [...tail],
          !full && (o.userError ?? false),
        ),
      );
    });
  });
}
