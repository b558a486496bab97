// Shared pieces of the lab end-to-end tests: a frontend running inside the lab namespace.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../src/lab/index.js';

export const isRoot = process.getuid?.() === 0;
/** e2e tests need root; outside CI they say so and skip, under CI=true they never skip. */
export const e2eSkip = !isRoot && process.env.CI !== 'true' ? 'needs root (network namespaces, tap devices, QEMU)' : false;

/**
 * `o.tftp`: run netroot's TFTP server on port 69 inside the lab namespace (default off).
 * `o.iscsi`: run the embedded iSCSI target on <frontend>:3260 with 64 MiB volumes, so the
 * iscsi-allocation plugin can give compute-diskless nodes their volume (default off).
 */
export function writeLabConfig(stateDir: string, lab: Lab, extra = '', o: { tftp?: boolean; iscsi?: boolean } = {}): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(
    join(stateDir, 'netroot.yaml'),
    `logLevel: info
network:
  privateNetwork: 10.77.0.0/24
  frontendAddress: ${lab.frontendAddress}
http:
  host: 0.0.0.0
  port: 8080
dhcp:
  interfaces: [br0]
tftp:
  enabled: ${o.tftp === true}
iscsi:
  enabled: ${o.iscsi === true}
  host: 0.0.0.0
  port: 3260
storage:
  defaultVolumeGiB: 0.0625
${extra}`,
  );
}

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the netroot CLI inside the lab namespace against stateDir; resolves when it exits. */
export function netrootIn(lab: Lab, stateDir: string, ...args: string[]): Promise<CliRun> {
  const child = lab.spawnInNamespace(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', stateDir, ...args]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

/** Starts `netroot serve` inside the lab namespace and waits until it listens. */
export async function startFrontend(lab: Lab, stateDir: string, log: (line: string) => void = () => {}): Promise<ChildProcess> {
  const child = lab.spawnInNamespace(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', stateDir, 'serve']);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
    for (const l of d.toString().split('\n')) if (l.trim()) log(l);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('serving') && resolve());
    child.once('exit', (code) => reject(new Error(`frontend exited with ${code}:\n${err}`)));
    setTimeout(() => reject(new Error(`frontend did not start in 60 s:\n${err}`)), 60_000);
  });
  return child;
}
