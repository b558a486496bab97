// The services a netroot frontend relies on but does not run (roles slurm-controller and nfs-home):
// one line each for `netroot serve`'s start report, so an operator sees at once that slurmctld or
// the home export is down. Each check is bounded in time and never fails the start.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { nfsNullCall } from '../cluster/nfs.js';
import { slurmConfPath } from '../discovery/plugins/slurm-conf.js';

function run(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ ok: false, out: (e as Error).message });
      return;
    }
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-500);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, out: e.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, out: out.trim().split('\n').slice(-1)[0] ?? '' });
    });
  });
}

/** `slurmctld ...` and `nfs-home ...` lines for the enabled roles; none when neither is enabled. */
export async function externalServices(c: Config): Promise<string[]> {
  const lines: string[] = [];
  if (c.slurm.enabled) {
    const conf = slurmConfPath(c.stateDir);
    if (!existsSync(conf)) lines.push(`slurmctld: no ${conf} yet (written when the first slurm_client host is added)`);
    else {
      const r = await run(['scontrol', 'ping'], { SLURM_CONF: conf }, 10_000);
      lines.push(r.ok ? `slurmctld: up (${conf})` : `slurmctld: not answering (${r.out || 'scontrol ping failed'})`);
    }
  }
  if (c.nfs.enabled) {
    const server = c.nfs.server || c.network.frontendAddress;
    const why = await nfsNullCall(server, c.nfs.port, c.nfs.checkTimeoutMs);
    lines.push(
      why === null
        ? `nfs-home: ${server}:${c.nfs.port} answers NFSv4 (${c.nfs.exportDir})`
        : `nfs-home: ${server}:${c.nfs.port} ${why} (nodes mount ${c.nfs.exportDir} when it answers)`,
    );
  }
  return lines;
}
