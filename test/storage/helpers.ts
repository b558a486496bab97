// Shared by the storage tests: temporary directories, free TCP ports on 127.0.0.1, a private
// tgtd, and libiscsi's iscsi-inq as the real initiator.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportSpec } from '../../src/storage/spec.js';
import { waitFor } from '../helpers/wait.js';

export function tempDir(prefix = 'netroot-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One node's export as the storage tests write it: CHAP user = host, a fixed 16-character secret. */
export function nodeSpec(lun: number, host = 'compute-0-0'): ExportSpec {
  return {
    volume: host,
    targetIqn: `iqn.2026-11.local.netroot:${host}`,
    initiatorIqn: `iqn.2026-11.local.netroot:initiator.${host}`,
    chap: { user: host, secret: 'Abcdef123456Xyz0' },
    lun,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * Why a root-and-tools test cannot run here, or null when it can. Under CI=true a missing
 * prerequisite is a failure, never a skip (DESIGN: tests).
 */
export function rootToolsMissing(tools: string[]): string | null {
  const why: string[] = [];
  if (process.getuid?.() !== 0) why.push('needs root');
  for (const t of tools) if (!have(t)) why.push(`${t} missing (apt-get install tgt libiscsi-bin)`);
  if (why.length === 0) return null;
  if (process.env['CI'] === 'true') throw new Error(`storage test prerequisites missing under CI: ${why.join(', ')}`);
  return why.join(', ');
}

export interface Tgtd {
  controlPort: number;
  port: number;
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Starts `tgtd -f -C <n> --iscsi portal=127.0.0.1:<port>` and waits until tgtadm answers. */
export async function startTgtd(port: number, controlPort: number): Promise<Tgtd> {
  rmSync(`/var/run/tgtd/socket.${controlPort}`, { force: true });
  rmSync(`/var/run/tgtd/socket.${controlPort}.lock`, { force: true });
  const proc = spawn('tgtd', ['-f', '-C', String(controlPort), '--iscsi', `portal=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`tgtd exited ${proc.exitCode}: ${out}`);
      return spawnSync('tgtadm', ['-C', String(controlPort), '--op', 'show', '--mode', 'sys']).status === 0;
    },
    { what: () => `tgtd to answer tgtadm: ${out}`, intervalMs: 50 },
  );
  return {
    controlPort,
    port,
    proc,
    log: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await gone;
      }
      rmSync(`/var/run/tgtd/socket.${controlPort}`, { force: true });
      rmSync(`/var/run/tgtd/socket.${controlPort}.lock`, { force: true });
    },
  };
}

export interface InqResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** A real iSCSI login + INQUIRY with libiscsi (async: the target may live in this process). */
export function iscsiInq(o: {
  host: string;
  port: number;
  targetIqn: string;
  lun: number;
  initiatorIqn: string;
  user?: string;
  secret?: string;
  mutualUser?: string;
  mutualSecret?: string;
}): Promise<InqResult> {
  const cred = o.user ? `${o.user}%${o.secret ?? ''}@` : '';
  const url = `iscsi://${cred}${o.host}:${o.port}/${o.targetIqn}/${o.lun}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.mutualUser) {
    env['LIBISCSI_CHAP_TARGET_USERNAME'] = o.mutualUser;
    env['LIBISCSI_CHAP_TARGET_PASSWORD'] = o.mutualSecret ?? '';
  }
  return new Promise((resolve) => {
    const p = spawn('iscsi-inq', ['--initiator-name', o.initiatorIqn, url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ ok: code === 0, stdout, stderr });
    });
  });
}
