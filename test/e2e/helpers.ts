// Shared pieces of the lab end-to-end tests: a frontend running inside the lab namespace.
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../src/lab/index.js';
import { waitReady, writeLabConfig as writeLabConfigFile } from '../../src/lab/frontend-setup.js';

export const isRoot = process.getuid?.() === 0;
/** e2e tests need root; outside CI they say so and skip, under CI=true they never skip. */
export const e2eSkip = !isRoot && process.env.CI !== 'true' ? 'needs root (network namespaces, tap devices, QEMU)' : false;

/**
 * `o.tftp`: run netroot's TFTP server on port 69 inside the lab namespace (default off).
 * `o.iscsi`: run the embedded iSCSI target on <frontend>:3260 with 64 MiB volumes, so the
 * iscsi-allocation plugin can give compute-diskless nodes their volume (default off).
 */
/** The e2e frontend's netroot.yaml (src/lab/frontend-setup.ts); `extra` is YAML appended as is. */
export function writeLabConfig(stateDir: string, lab: Lab, extra = '', o: { tftp?: boolean; iscsi?: boolean } = {}): void {
  writeLabConfigFile(stateDir, { frontendAddress: lab.frontendAddress, tftp: o.tftp === true, iscsi: o.iscsi === true, extra });
}

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs the netroot CLI inside the lab namespace against stateDir; resolves when it exits. `stderr()`
 * reads what it printed so far (e.g. to wait for insert-ethers' "listening" line).
 */
export function netrootIn(lab: Lab, stateDir: string, ...args: string[]): Promise<CliRun> & { stderr(): string } {
  const child = lab.spawnInNamespace(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', stateDir, ...args]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<CliRun>((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  return Object.assign(done, { stderr: () => err });
}

/** Starts `netroot serve` inside the lab namespace and waits until its /readyz answers 200. */
export async function startFrontend(lab: Lab, stateDir: string, log: (line: string) => void = () => {}): Promise<ChildProcess> {
  const child = lab.spawnInNamespace(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', stateDir, 'serve']);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
    for (const l of d.toString().split('\n')) if (l.trim()) log(l);
  });
  child.stdout!.resume();
  await waitReady({ spawnIn: (c, a) => lab.spawnInNamespace(c, a), address: lab.frontendAddress, frontend: child, why: () => err });
  return child;
}
