// Runs libiscsi's conformance suite (`iscsi-test-cu -d`, verbose CUnit output) and reads its
// result: the "Run Summary" tests line (Total Ran Passed Failed Inactive) and the names of the
// failed and of the passed tests (Suite.Test; a test of a suite that appears in several families
// is named once per run of it). A libiscsi test that finds a feature missing prints [SKIPPED] and
// is counted as passed by CUnit, the same way for every target, so counts compare directly.
import { spawn } from 'node:child_process';

export interface TestCuResult {
  total: number;
  ran: number;
  passed: number;
  failed: number;
  failures: string[];
  passes: string[];
  wallMs: number;
  output: string;
}

/** Parse verbose `iscsi-test-cu` output. Throws when there is no summary (the run broke). */
export function parseTestCu(output: string): Omit<TestCuResult, 'wallMs' | 'output'> {
  const m = /^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/m.exec(output);
  if (!m) throw new Error(`iscsi-test-cu printed no run summary:\n${output.slice(-2000)}`);
  const failures: string[] = [];
  const passes: string[] = [];
  let suite = '';
  let test: string | undefined;
  for (const line of output.split('\n')) {
    const s = /^Suite: (\S+)/.exec(line);
    if (s) {
      suite = s[1]!;
      test = undefined;
      continue;
    }
    const t = /^ {2}Test: (\S+) \.\.\./.exec(line);
    if (t) test = t[1]!;
    // CUnit's verdict is "passed" / "FAILED" after the test's own output, never inside [...]
    // messages; the next test's set-up may print on the same line after it ("passed    [SKIPPED]
    // PERSISTENT RESERVE IN is not implemented.").
    if (test !== undefined && /(^|\.\.\.|\s)FAILED(\s*$|\s+\[)/.test(line) && !/^\s*\[FAILED\]/.test(line)) {
      failures.push(`${suite}.${test}`);
      test = undefined;
    } else if (test !== undefined && /(^|\.\.\.|\s)passed(\s*$|\s+\[)/.test(line)) {
      passes.push(`${suite}.${test}`);
      test = undefined;
    }
  }
  return { total: Number(m[1]), ran: Number(m[2]), passed: Number(m[3]), failed: Number(m[4]), failures, passes };
}

export function runTestCu(url: string, opts: { initiator?: string; initiator2?: string; timeoutMs?: number } = {}): Promise<TestCuResult> {
  const args = ['-d', '-v'];
  if (opts.initiator) args.push('-i', opts.initiator);
  if (opts.initiator2) args.push('-I', opts.initiator2);
  args.push(url);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn('iscsi-test-cu', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 420_000);
    p.on('error', reject);
    p.on('close', () => {
      clearTimeout(timer);
      try {
        resolve({ ...parseTestCu(output), wallMs: Date.now() - t0, output });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
