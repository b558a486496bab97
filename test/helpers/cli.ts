// Runs the CLI in-process against a temporary state directory and captures its output.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export function tempStateDir(prefix = 'nrt-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function cli(stateDir: string, ...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await run(['--state-dir', stateDir, ...argv], { out: (t) => (out += t), err: (t) => (err += t) }, {});
  return { code, out, err };
}
