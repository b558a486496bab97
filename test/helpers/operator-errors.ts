// The operator-error contract of the CLI, checked case by case: exit 2, nothing on stdout, one
// `netroot: ` line naming the argument (no prefix twice, no `usage: usage:`), and the state
// directory byte-for-byte as it was.
import assert from 'node:assert/strict';
import { cli, cliOk, tempStateDir, type CliResult } from './cli.js';
import { snapshot } from './state-snapshot.js';

/** A fresh state directory with one plain host, compute-0-0 (compute, 52:54:00:aa:00:01, 10.1.255.254). */
export async function stateWithHost(prefix = 'nrt-test-'): Promise<string> {
  const dir = tempStateDir(prefix);
  await cliOk(dir)('host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
  return dir;
}

/** Each [argv, what stderr must match] must be refused as the operator's error, changing nothing. */
export async function assertOperatorErrors(
  dir: string,
  cases: ReadonlyArray<readonly [string[], RegExp]>,
  run: (dir: string, argv: string[]) => Promise<CliResult> = (d, argv) => cli(d, ...argv),
): Promise<void> {
  const before = snapshot(dir);
  for (const [argv, re] of cases) {
    const r = await run(dir, argv);
    const what = `netroot ${argv.join(' ')} → ${r.code}: ${r.err}`;
    assert.equal(r.code, 2, what);
    assert.match(r.err, re, what);
    assert.equal(r.out, '', what);
    assert.equal(r.err.match(/netroot:/g)?.length, 1, `one netroot: prefix: ${what}`);
    assert.doesNotMatch(r.err, /usage: usage:/, what);
    // No prefix twice on the first line (`rack: --rack: ...`, `netroot: netroot storage: ...`).
    const prefixes = r.err
      .split('\n')[0]!
      .split(': ')
      .slice(0, -1)
      .map((p) => p.replace(/^-+/, ''));
    assert.equal(new Set(prefixes).size, prefixes.length, what);
    assert.deepEqual(snapshot(dir), before, `${what}: the state directory changed`);
  }
}
