// The `rbd` and `ceph` command-line tools (Debian ceph-common) as the RBD backend uses them: no
// native binding. Every call names the cluster conf, the client id and its keyring, and bounds
// the time a dead cluster can cost: `client_mount_timeout`, `rados_mon_op_timeout` and
// `rados_osd_op_timeout` are `timeoutSeconds`, and the process is killed after three times that
// (long copies — `rbd cp`, `rbd import` — have no process limit, only the per-operation ones).
//
// Errors (src/error-codes.ts): the tool missing, a mon that does not answer or a killed process →
// E_RBD_DOWN; a key or capability the cluster refuses → E_RBD_AUTH; conf or keyring unreadable →
// E_RBD_CONFIG (checked before running); anything else → E_RBD_FAILED with the tool's errno
// (`RbdError.errno`: 2 not found, 16 busy, 17 exists, 39 has snapshots/children). The keyring holds
// the client's secret: argv carries only its path, and the tools' stderr — which echoes a
// malformed keyring line verbatim — is cut to its `rbd:`/`[errno` lines with anything key-like
// redacted before it reaches a message.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { z } from 'zod';
import { NetrootError } from '../errors.js';

export interface RbdClientOptions {
  /** ceph.conf of the cluster (mon host, fsid). */
  conf: string;
  /** The cephx client id (`client.<id>`), e.g. "netroot". */
  clientId: string;
  /** The client's keyring file (a secret: its contents are never read or logged here). */
  keyring: string;
  /** Per-operation limit against a dead cluster (default 10 s). */
  timeoutSeconds?: number;
  /** The tools (tests may point elsewhere). */
  rbd?: string;
  ceph?: string;
}

/** A failed rbd/ceph call; `errno` is the tool's errno (its exit status or the "(N) ..." it printed). */
export class RbdError extends NetrootError {
  constructor(
    code: 'E_RBD_FAILED' | 'E_RBD_DOWN' | 'E_RBD_AUTH',
    message: string,
    readonly errno: number,
  ) {
    super(code, message);
  }
}

/** Redacts anything key-like (cephx keys are base64 of ≥ 28 bytes; `key = …`, `val=…`) from tool output. */
export function redactCephOutput(text: string): string {
  return text
    .replace(/\b(key|val|secret)\s*=\s*\S+/gi, '$1=[redacted]')
    .replace(/[A-Za-z0-9+/]{30,}={0,2}/g, '[redacted]')
    .replace(/AQ[A-Za-z0-9+/]{8,}={0,2}/g, '[redacted]');
}

/** The lines of stderr worth showing (the tools' own summary, not their daemon-style log lines), redacted, ≤ 300 chars. */
export function summariseCephError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(rbd:|\[errno|global_init|Error |error )/i.test(l) || / (not found|already exists|shrinking|has snapshots)/.test(l));
  const text = (
    lines.length
      ? lines
      : stderr
          .split('\n')
          .filter((l) => l.trim())
          .slice(-2)
  ).join('; ');
  return redactCephOutput(text).slice(0, 300);
}

/** What a failed call means (see the file header); exported for the malformed-output tests. */
export function classifyCephFailure(exit: number | null, stderr: string): { code: 'E_RBD_FAILED' | 'E_RBD_DOWN' | 'E_RBD_AUTH'; errno: number } {
  const m = [...stderr.matchAll(/\((\d{1,4})\) [A-Z]/g)].pop();
  const errno = m ? Number(m[1]) : exit !== null && exit > 1 ? exit : 0;
  const connect = /couldn't connect to the cluster|error connecting to the cluster|monclient/i.test(stderr);
  if (errno === 110 || /timed out/i.test(stderr)) return { code: 'E_RBD_DOWN', errno: 110 };
  if (connect && (errno === 1 || errno === 5 || errno === 13 || /keyring|auth|permission denied|operation not permitted/i.test(stderr)))
    return { code: 'E_RBD_AUTH', errno };
  if (connect) return { code: 'E_RBD_DOWN', errno };
  return { code: 'E_RBD_FAILED', errno };
}

export class RbdCli {
  private readonly timeout: number;

  constructor(private readonly opts: RbdClientOptions) {
    this.timeout = opts.timeoutSeconds ?? 10;
  }

  private common(): string[] {
    const t = String(this.timeout);
    return [
      ...['-c', this.opts.conf, '--id', this.opts.clientId, '--keyring', this.opts.keyring],
      ...['--client_mount_timeout', t, '--rados_mon_op_timeout', t, '--rados_osd_op_timeout', t],
    ];
  }

  /** E_RBD_CONFIG unless the conf and the keyring can be read (a clearer error than the tools'). */
  private async checkFiles(): Promise<void> {
    for (const [what, path] of [
      ['ceph conf', this.opts.conf],
      ['keyring', this.opts.keyring],
    ] as const) {
      try {
        await access(path, constants.R_OK);
      } catch {
        throw new NetrootError('E_RBD_CONFIG', `the RBD backend's ${what} ${path} cannot be read (storage.rbd)`, { user: true });
      }
    }
  }

  private async exec(tool: 'rbd' | 'ceph', args: string[], long: boolean): Promise<string> {
    await this.checkFiles();
    const bin = (tool === 'rbd' ? this.opts.rbd : this.opts.ceph) ?? tool;
    const argv = [...this.common(), ...args];
    const what = `${tool} ${args
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ')}`;
    return new Promise((resolve, reject) => {
      execFile(bin, argv, { timeout: long ? 0 : (this.timeout * 3 + 5) * 1000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        if (e.code === 'ENOENT') return reject(new RbdError('E_RBD_DOWN', `${tool} is not installed (apt-get install ceph-common)`, 2));
        if (e.killed) return reject(new RbdError('E_RBD_DOWN', `${what} did not finish in ${this.timeout * 3 + 5} s (is the Ceph cluster reachable?)`, 110));
        const c = classifyCephFailure(typeof e.code === 'number' ? e.code : null, String(stderr));
        const detail = summariseCephError(String(stderr));
        const prefix =
          c.code === 'E_RBD_DOWN'
            ? 'the Ceph cluster is not reachable: '
            : c.code === 'E_RBD_AUTH'
              ? 'the Ceph cluster refused client.' + this.opts.clientId + ': '
              : '';
        reject(new RbdError(c.code, `${prefix}${what} failed: ${detail}`, c.errno));
      });
    });
  }

  rbd(args: string[], o: { long?: boolean } = {}): Promise<string> {
    return this.exec('rbd', args, o.long === true);
  }

  ceph(args: string[]): Promise<string> {
    return this.exec('ceph', args, false);
  }

  /** Runs a `--format json` command and checks its output against `schema` (E_RBD_PARSE otherwise). */
  async json<T>(tool: 'rbd' | 'ceph', args: string[], schema: z.ZodType<T>): Promise<T> {
    const out = await this.exec(tool, [...args, '--format', 'json'], false);
    return parseCephJson(out, schema, `${tool} ${args[0] ?? ''}`);
  }
}

/** JSON output of a tool, checked against `schema`; empty output is `[]` (rbd prints nothing for an empty list). */
export function parseCephJson<T>(out: string, schema: z.ZodType<T>, what: string): T {
  let v: unknown;
  try {
    v = out.trim() === '' ? [] : JSON.parse(out);
  } catch {
    throw new NetrootError('E_RBD_PARSE', `${what} printed something that is not JSON`);
  }
  const r = schema.safeParse(v);
  if (!r.success)
    throw new NetrootError('E_RBD_PARSE', `${what} printed unexpected JSON: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`);
  return r.data;
}
