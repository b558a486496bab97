// The IPMI driver: Debian's `ipmitool` over IPMI 2.0 lanplus (RMCP+), the way Warewulf and xCAT drive
// BMCs: `chassis power on|off|cycle|reset|soft|status`, and `chassis bootdev pxe` (IPMI 2.0 §28.12 Set
// System Boot Options, boot flags parameter 5: "force PXE", next boot only) before on/cycle/reset.
//
// The password goes to ipmitool through its environment (`-E` reads IPMI_PASSWORD), never argv
// (any local user can read a process's argv in /proc). The child gets a minimal environment (PATH,
// LC_ALL=C, IPMI_PASSWORD): nothing else of ours leaks into it.
//
// ipmitool says what went wrong only on stderr, in English; `-v` adds the step that failed (e.g.
// "RAKP 2 HMAC is invalid" for a wrong password, "Get Auth Capabilities error" when nothing answers).
// Those lines are what `classify` reads. Quirks:
//  - ipmitool ≥ 1.8.19 asks the BMC for its cipher suites first; BMCs (and ipmi_sim) that do not
//    answer that cost a 10 s wait. `-C <suite>` (default 3: HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128, the
//    suite every IPMI 2.0 BMC must offer) skips the question.
//  - `chassis power cycle` of a chassis that is off is refused by many BMCs (completion code 0xD5,
//    "not supported in present state"): like xCAT's `rpower boot`, cycle reads the state first and
//    powers an off chassis on.
// Output is read at most `maxOutputBytes` a stream (the child is killed beyond) and parsed strictly:
// only the exact lines ipmitool prints for success are accepted.
import { spawn } from 'node:child_process';
import { NetrootError, type ErrorCode } from '../errors.js';
import type { BmcEntry, PowerAction, PowerDriver, PowerRequest, PowerResult, PowerState } from './types.js';

export const IPMI_DEFAULT_PORT = 623;

export interface IpmiDriverOptions {
  /** The ipmitool binary (default `ipmitool` on PATH). */
  ipmitool?: string;
  /** Deadline of one ipmitool run in ms (config power.timeoutSeconds; default 20 s). */
  timeoutMs?: number;
  /** ipmitool `-N`: seconds between retransmissions of one request (default 1). */
  retransmitSeconds?: number;
  /** ipmitool `-R`: retries of one request (default 2). */
  retries?: number;
  /** ipmitool `-C`: the RMCP+ cipher suite (default 3). */
  cipherSuite?: number;
  /** Bytes of stdout/stderr read from one run at most (default 64 KiB). */
  maxOutputBytes?: number;
  /** Called with each child's argv and environment names (tests check the secret is never in argv). */
  onSpawn?: (info: { pid: number | undefined; argv: readonly string[]; envNames: readonly string[] }) => void;
}

/** ipmitool's success lines (lib/ipmi_chassis.c), by subcommand. */
const CONTROL_LINE: Record<'on' | 'off' | 'cycle' | 'reset' | 'soft', string> = {
  on: 'Chassis Power Control: Up/On',
  off: 'Chassis Power Control: Down/Off',
  cycle: 'Chassis Power Control: Cycle',
  reset: 'Chassis Power Control: Reset',
  soft: 'Chassis Power Control: Soft',
};
const STATUS_RE = /^Chassis Power is (on|off)$/;
const BOOTDEV_LINE = 'Set Boot Device to pxe';

interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class IpmiDriver implements PowerDriver {
  readonly name = 'ipmi' as const;
  private readonly o: Required<Omit<IpmiDriverOptions, 'onSpawn'>> & Pick<IpmiDriverOptions, 'onSpawn'>;

  constructor(opts: IpmiDriverOptions = {}) {
    this.o = {
      ipmitool: opts.ipmitool ?? 'ipmitool',
      timeoutMs: opts.timeoutMs ?? 20_000,
      retransmitSeconds: opts.retransmitSeconds ?? 1,
      retries: opts.retries ?? 2,
      cipherSuite: opts.cipherSuite ?? 3,
      maxOutputBytes: opts.maxOutputBytes ?? 64 * 1024,
      onSpawn: opts.onSpawn,
    };
  }

  async run(bmc: BmcEntry, req: PowerRequest): Promise<PowerResult> {
    const action: PowerAction = req.action;
    if (req.pxe && (action === 'on' || action === 'cycle' || action === 'reset')) {
      const out = await this.ipmitool(bmc, ['chassis', 'bootdev', 'pxe'], req.signal);
      this.expectLine(bmc, 'chassis bootdev pxe', out, BOOTDEV_LINE);
    }
    if (action === 'status') return { state: await this.status(bmc, req.signal) };
    let sub: 'on' | 'off' | 'cycle' | 'reset' | 'soft' = action;
    if (action === 'cycle' && (await this.status(bmc, req.signal)) === 'off') sub = 'on';
    const out = await this.ipmitool(bmc, ['chassis', 'power', sub], req.signal);
    this.expectLine(bmc, `chassis power ${sub}`, out, CONTROL_LINE[sub]);
    // After a hard action the state is known; after soft the OS decides when it is off: read it.
    if (sub === 'off') return { state: 'off' };
    if (sub === 'soft') return { state: await this.status(bmc, req.signal) };
    return { state: 'on' };
  }

  private async status(bmc: BmcEntry, signal: AbortSignal | undefined): Promise<PowerState> {
    const out = await this.ipmitool(bmc, ['chassis', 'power', 'status'], signal);
    this.failOnExit(bmc, 'chassis power status', out);
    const lines = meaningfulLines(out.stdout);
    const m = lines.length === 1 ? STATUS_RE.exec(lines[0]!) : null;
    if (!m) throw this.error(bmc, 'E_BMC_PROTOCOL', `chassis power status: unexpected answer ${excerpt(out.stdout, bmc.secret)}`);
    return m[1] as 'on' | 'off';
  }

  private expectLine(bmc: BmcEntry, what: string, out: RunOutput, line: string): void {
    this.failOnExit(bmc, what, out);
    const lines = meaningfulLines(out.stdout);
    if (lines.length !== 1 || lines[0] !== line) throw this.error(bmc, 'E_BMC_PROTOCOL', `${what}: unexpected answer ${excerpt(out.stdout, bmc.secret)}`);
  }

  private failOnExit(bmc: BmcEntry, what: string, out: RunOutput): void {
    if (out.code === 0) return;
    const { code, cause } = classify(out.stderr);
    throw this.error(bmc, code, `${what}: ${cause}${code === 'E_BMC_PROTOCOL' ? ` (${excerpt(out.stderr, bmc.secret)})` : ''}`);
  }

  private error(bmc: BmcEntry, code: ErrorCode, cause: string): NetrootError {
    return new NetrootError(code, `${bmc.host}: BMC ${bmc.address}:${bmc.port ?? IPMI_DEFAULT_PORT} (ipmi): ${scrub(cause, bmc.secret)}`);
  }

  /** One ipmitool run, killed at the deadline, on abort, or when its output exceeds the bound. */
  private ipmitool(bmc: BmcEntry, command: string[], signal: AbortSignal | undefined): Promise<RunOutput> {
    const argv = [
      '-v',
      '-I',
      'lanplus',
      '-C',
      String(this.o.cipherSuite),
      '-N',
      String(this.o.retransmitSeconds),
      '-R',
      String(this.o.retries),
      '-H',
      bmc.address,
      '-p',
      String(bmc.port ?? IPMI_DEFAULT_PORT),
      '-U',
      bmc.user,
      '-E',
      ...command,
    ];
    const env = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', IPMI_PASSWORD: bmc.secret };
    return new Promise<RunOutput>((resolve, reject) => {
      if (signal?.aborted) {
        reject(this.error(bmc, 'E_BMC_TIMEOUT', `${command.join(' ')}: aborted before it started`));
        return;
      }
      const child = spawn(this.o.ipmitool, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.o.onSpawn?.({ pid: child.pid, argv: [this.o.ipmitool, ...argv], envNames: Object.keys(env) });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let failure: NetrootError | undefined;
      const stop = (e: NetrootError) => {
        failure ??= e;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(
        () => stop(this.error(bmc, 'E_BMC_TIMEOUT', `${command.join(' ')}: no answer within ${this.o.timeoutMs / 1000} s`)),
        this.o.timeoutMs,
      );
      const onAbort = () => stop(this.error(bmc, 'E_BMC_TIMEOUT', `${command.join(' ')}: aborted`));
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (c: Buffer) => {
        outBytes += c.length;
        if (outBytes > this.o.maxOutputBytes)
          stop(this.error(bmc, 'E_BMC_PROTOCOL', `${command.join(' ')}: more than ${this.o.maxOutputBytes} bytes of output`));
        else out.push(c);
      });
      child.stderr.on('data', (c: Buffer) => {
        errBytes += c.length;
        if (errBytes > this.o.maxOutputBytes)
          stop(this.error(bmc, 'E_BMC_PROTOCOL', `${command.join(' ')}: more than ${this.o.maxOutputBytes} bytes of output`));
        else err.push(c);
      });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        done();
        // The one cause that is ours: ipmitool missing (Debian package ipmitool).
        reject(new NetrootError('E_BMC_PROTOCOL', `${bmc.host}: cannot run ${this.o.ipmitool}: ${e.code ?? e.message} (install the ipmitool package)`));
      });
      child.on('close', (code) => {
        done();
        if (failure) reject(failure);
        else resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
    });
  }
}

/** stdout lines that carry an answer (ipmitool's -v chatter goes to stderr, but be lenient on blanks). */
function meaningfulLines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

const AUTH = [
  /RAKP \d+ HMAC is invalid/i,
  /RAKP \d+ message indicates an error : (unauthorized name|invalid role|inactive session id|invalid name length|insufficient resources|unauthorized role)/i,
  /Invalid user name/i,
  /Password is too long/i,
  /Activate Session error/i,
  /insufficient privilege/i,
];
const UNREACHABLE = [
  /Address lookup for \S+ failed/i,
  /Could not open socket/i,
  /Get Auth Capabilities error/i,
  /No response from remote controller/i,
  /Connection refused/i,
  /Network is unreachable/i,
  /No route to host/i,
];
const UNSUPPORTED = [/Invalid command/i, /not supported in present state/i, /Invalid data field in request/i];

/** ipmitool's stderr → our code and a short cause (never the raw text but for E_BMC_PROTOCOL's excerpt). */
export function classify(stderr: string): { code: ErrorCode; cause: string } {
  const text = stderr.slice(0, 64 * 1024);
  if (AUTH.some((r) => r.test(text))) return { code: 'E_BMC_AUTH', cause: 'the BMC refused the user or password' };
  if (UNREACHABLE.some((r) => r.test(text))) return { code: 'E_BMC_UNREACHABLE', cause: 'no answer from the BMC (address, port, network or BMC down)' };
  if (UNSUPPORTED.some((r) => r.test(text))) return { code: 'E_BMC_UNSUPPORTED', cause: 'the BMC refused the command' };
  return { code: 'E_BMC_PROTOCOL', cause: 'ipmitool failed' };
}

/** At most 160 printable characters of s, JSON-quoted, with the secret (if it appears) masked. */
function excerpt(s: string, secret: string): string {
  const clean = scrub(s, secret)
    .replace(/[^\x20-\x7e\n]/g, '?')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('Loading IANA PEN'))
    .join(' | ');
  return JSON.stringify(clean.length > 160 ? `${clean.slice(0, 160)}…` : clean);
}

function scrub(s: string, secret: string): string {
  return secret === '' ? s : s.split(secret).join('********');
}
