// The lab frontend's configuration and its readiness, written once for the full lab (lab/full.ts)
// and the e2e tests' own frontends (test/e2e/helpers.ts).
//  - labConfig(): the netroot.yaml of a frontend on the lab bridge (br0, 10.77.0.0/24, HTTP 8080,
//    iSCSI 3260), with the services and boot arguments a caller turns on;
//  - waitReady(): polls the frontend's /readyz from inside the lab namespace until it answers 200
//    (every enabled service listening and the store writable), instead of waiting for a word on
//    `netroot serve`'s stdout. The process exiting first, or the deadline, is an error naming why.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetrootError } from '../errors.js';

export const LAB_HTTP_PORT = 8080;

export interface LabConfigOptions {
  frontendAddress: string;
  tftp?: boolean;
  iscsi?: boolean;
  /** How often the embedded target pings an idle node (the full lab: 5 s, so every run proves the
   * nodes' initiators answer NOP-In pings). */
  pingIdleSeconds?: number;
  volumeGiB?: number;
  /** Export through tgtd on this control port instead of the embedded target. */
  tgtControlPort?: number;
  /** With tgtControlPort: volumes are RBD images of this cluster (storage.backend rbd, storage.rbd). */
  rbd?: LabRbd;
  installArgs?: string;
  disklessArgs?: string;
  /** YAML appended as is (further top-level keys). */
  extra?: string;
}

/** A Ceph cluster the lab frontend keeps its volumes in (storage.rbd: pool, conf, client id, keyring path). */
export interface LabRbd {
  pool: string;
  conf: string;
  clientId: string;
  keyring: string;
}

/** The lab frontend's netroot.yaml. */
export function labConfig(o: LabConfigOptions): string {
  const iscsi = [
    `enabled: ${o.iscsi === true}`,
    'host: 0.0.0.0',
    'port: 3260',
    ...(o.pingIdleSeconds !== undefined ? [`pingIdleSeconds: ${o.pingIdleSeconds}`] : []),
  ];
  const rbd = o.rbd
    ? [
        'backend: rbd',
        `rbd: { pool: ${o.rbd.pool}, conf: ${JSON.stringify(o.rbd.conf)}, clientId: ${o.rbd.clientId}, keyring: ${JSON.stringify(o.rbd.keyring)} }`,
      ]
    : ['backend: tgt'];
  const storage = [`defaultVolumeGiB: ${o.volumeGiB ?? 0.0625}`, ...(o.tgtControlPort ? [...rbd, `tgtControlPort: ${o.tgtControlPort}`] : [])];
  const boot = [
    ...(o.installArgs !== undefined ? [`  installArgs: ${JSON.stringify(o.installArgs)}`] : []),
    ...(o.disklessArgs !== undefined ? [`  disklessArgs: ${JSON.stringify(o.disklessArgs)}`] : []),
  ];
  return (
    [
      'logLevel: info',
      `network: { privateNetwork: 10.77.0.0/24, frontendAddress: ${o.frontendAddress} }`,
      `http: { host: 0.0.0.0, port: ${LAB_HTTP_PORT} }`,
      'dhcp: { interfaces: [br0] }',
      `tftp: { enabled: ${o.tftp === true} }`,
      `iscsi: { ${iscsi.join(', ')} }`,
      `storage: { ${storage.join(', ')} }`,
      ...(boot.length > 0 ? ['boot:', ...boot] : []),
      '',
    ].join('\n') + (o.extra ?? '')
  );
}

/** Writes labConfig(o) as <stateDir>/netroot.yaml. */
export function writeLabConfig(stateDir: string, o: LabConfigOptions): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'netroot.yaml'), labConfig(o));
}

/**
 * Resolves once http://<address>:<port>/readyz answers 200, asked with curl inside the namespace
 * (`spawnIn`); rejects when `frontend` exits first or `deadlineMs` passes, with the last answer and
 * `why()` (the frontend's stderr tail).
 */
export async function waitReady(o: {
  spawnIn: (cmd: string, args: string[]) => ChildProcess;
  address: string;
  port?: number;
  frontend: ChildProcess;
  deadlineMs?: number;
  why?: () => string;
}): Promise<void> {
  const url = `http://${o.address}:${o.port ?? LAB_HTTP_PORT}/readyz`;
  const end = Date.now() + (o.deadlineMs ?? 60_000);
  let exited: number | null | undefined;
  const onExit = (code: number | null) => (exited = code);
  o.frontend.once('exit', onExit);
  let last = 'no answer yet';
  try {
    while (Date.now() < end) {
      if (exited !== undefined || o.frontend.exitCode !== null) {
        throw new NetrootError('E_LAB_FRONTEND', `netroot serve exited with ${exited ?? o.frontend.exitCode} before it was ready:\n${o.why?.() ?? ''}`);
      }
      const r = await curl(o.spawnIn, url);
      if (r.status === 200) return;
      last = r.status === 0 ? 'no answer' : `${r.status} ${r.body.slice(0, 500)}`;
      await new Promise((res) => setTimeout(res, 250));
    }
    throw new NetrootError('E_LAB_FRONTEND', `netroot serve was not ready in ${(o.deadlineMs ?? 60_000) / 1000} s (${url}: ${last}):\n${o.why?.() ?? ''}`);
  } finally {
    o.frontend.off('exit', onExit);
  }
}

/** One GET with curl: the status (0 when nothing answered) and the body. */
function curl(spawnIn: (cmd: string, args: string[]) => ChildProcess, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const c = spawnIn('curl', ['-s', '--max-time', '3', '-o', '-', '-w', '\n%{http_code}', url]);
    let out = '';
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', () => resolve({ status: 0, body: '' }));
    c.once('exit', () => {
      const i = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(i + 1)) || 0, body: i > 0 ? out.slice(0, i) : '' });
    });
  });
}
