// Runs the CLI in-process against a temporary state directory and captures its output.
import { run } from '../../src/cli/main.js';
import { iscsiAttrs } from './iscsi-attrs.js';
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

/** A runner that asserts exit 0 (naming the command and its stderr) and returns stdout. */
export function cliOk(stateDir: string): (...argv: string[]) => Promise<string> {
  return async (...argv: string[]) => {
    const r = await cli(stateDir, ...argv);
    if (r.code !== 0) throw new Error(`netroot ${argv.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out;
  };
}

/** The preview token `netroot kickstart` prints where a node's fetch carries a real one. */
export const PREVIEW_TOKEN = 'PREVIEW-token-is-issued-when-the-node-fetches-its-kickstart';

/** iSCSI attributes of the golden compute-diskless host (test/golden/kickstart/compute-diskless.ks). */
export const GOLDEN_ISCSI: Readonly<Record<string, string>> = iscsiAttrs('compute-0-1', 'GoldenSecret123');

/**
 * The hosts the golden kickstarts are made from, through the CLI only: compute-0-0 (compute,
 * timezone Asia/Tokyo) and compute-0-1 (compute-diskless with GOLDEN_ISCSI).
 */
export async function addGoldenHosts(ok: (...argv: string[]) => Promise<string>): Promise<void> {
  await ok('host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254');
  await ok('host', 'add', 'compute-0-1', '--appliance', 'compute-diskless', '--mac', '52:54:00:aa:00:02', '--ip', '10.1.255.253');
  await ok('attr', 'set', 'Kickstart_Timezone', 'Asia/Tokyo', '--appliance', 'compute');
  for (const [k, v] of Object.entries(GOLDEN_ISCSI)) await ok('attr', 'set', k, v, '--host', 'compute-0-1');
}
