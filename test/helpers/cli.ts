// Runs the CLI in-process against a temporary state directory and captures its output.
import { run } from '../../src/cli/main.js';
export { tempStateDir } from './tmp.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function cli(stateDir: string, ...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await run(['--state-dir', stateDir, ...argv], { out: (t) => (out += t), err: (t) => (err += t) }, {});
  return { code, out, err };
}
