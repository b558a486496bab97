// Built-in plugin (config slurm.enabled): keeps <stateDir>/slurm/slurm.conf (src/cluster/slurm-conf.ts)
// in step with the hosts and applies it to the frontend's slurmctld, as Rocks' SGE roll did from its
// insert-ethers plugin. Contract:
//   - the file is rewritten atomically (write to a temporary, rename) whenever the hosts it lists
//     change: added, removed, changed (a reported CPU count, an address, an appliance), update;
//   - it is applied with slurm.reconfigure when no NodeName line changed, slurm.restart when one did
//     (Slurm 22.05 applies no node change on reconfigure: it exits, or refuses), each run with
//     SLURM_CONF=<the file> and the time limit slurm.applyTimeoutMs (and the hook's own signal);
//   - if the write or the apply fails, the previous file is put back (and applied again, best
//     effort, so the controller runs the old one) and the hook throws E_SLURM_APPLY: the engine then
//     rolls the host's addition back like any plugin failure; an unchanged file is not applied again;
//   - a batch of hosts (insert-ethers naming many machines at once) is one rewrite and one apply
//     (`addedBatch`; a failure rolls the whole batch back), its rollback one too (`removedBatch`);
//   - a node's reported CPUs/memory (netroot.reportStatus at every boot, HostService.setFacts) come
//     through `changed`: a failure there rolls the facts back as a failed add rolls the host back;
//   - one rewrite-and-apply at a time per file in this process (syncSlurmConf).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../atomic-file.js';
import { NetrootError, UserError } from '../../errors.js';
import { nodeDefinitionsOf, renderSlurmConf, SlurmConfError } from '../../cluster/slurm-conf.js';
import { slurmNodes } from '../../cluster/slurm-hosts.js';
import type { Plugin, PluginContext } from '../plugin.js';

export function slurmConfPath(stateDir: string): string {
  return join(stateDir, 'slurm', 'slurm.conf');
}

/** Runs argv with SLURM_CONF; rejects with the command's last output lines on a non-zero exit or the time limit. */
function runApply(argv: readonly string[], conf: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, SLURM_CONF: conf }, stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')}: ${e.message}`));
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else {
        const tail = out.trim().split('\n').slice(-3).join(' / ');
        reject(
          new Error(
            `${argv.join(' ')} ${sig ? `was killed (${sig}${sig === 'SIGKILL' ? `, past ${timeoutMs} ms` : ''})` : `exited ${code}`}${tail ? `: ${tail}` : ''}`,
          ),
        );
      }
    });
  });
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The rewrite-and-apply running per slurm.conf path (one at a time: see syncSlurmConf). */
const running = new Map<string, Promise<unknown>>();

/**
 * Rewrites and applies slurm.conf; `without`: the hosts being removed. One at a time per file in
 * this process: nodes report their CPUs and memory as they boot, often together with an add, and
 * two applies at once would race (two slurmctld restarts, or a rollback putting back a file another
 * call had just written). Each run reads the hosts afresh when its turn comes; a run that waited
 * is still bounded by its hook's time limit (it sees its signal).
 */
export async function syncSlurmConf(ctx: PluginContext, without: ReadonlySet<string> = new Set()): Promise<void> {
  if (!ctx.config.slurm.enabled) return;
  const file = slurmConfPath(ctx.config.stateDir);
  const before = running.get(file) ?? Promise.resolve();
  const mine = before
    .catch(() => undefined)
    .then(() => {
      ctx.signal?.throwIfAborted();
      return syncNow(ctx, file, without);
    });
  running.set(file, mine);
  try {
    await mine;
  } finally {
    if (running.get(file) === mine) running.delete(file);
  }
}

async function syncNow(ctx: PluginContext, file: string, without: ReadonlySet<string>): Promise<void> {
  const cfg = ctx.config.slurm;
  mkdirSync(join(ctx.config.stateDir, 'slurm'), { recursive: true, mode: 0o755 });
  const { nodes, problems } = await slurmNodes(ctx.store, without);
  for (const p of problems) ctx.logger.warn('slurm.conf: a host is listed without a reported value', { problem: p });
  let text: string;
  try {
    text = renderSlurmConf({
      clusterName: cfg.clusterName,
      controller: { name: cfg.controller || hostname().split('.')[0]!, address: ctx.config.network.frontendAddress },
      nodes,
      settings: cfg.settings,
    });
  } catch (e) {
    if (e instanceof SlurmConfError) throw new UserError('E_SLURM_CONF', `slurm.conf: ${e.message}`, { where: e.where });
    throw e;
  }
  const previous = await readOrNull(file);
  if (previous === text) return;
  const argv = previous !== null && nodeDefinitionsOf(previous) === nodeDefinitionsOf(text) ? cfg.reconfigure : cfg.restart;
  try {
    // Readable by slurmd and the Slurm commands (no secret in it: the munge key is elsewhere).
    await writeFileAtomic(file, text, { mode: 0o644 });
    await runApply(argv, file, cfg.applyTimeoutMs, ctx.signal);
  } catch (e) {
    try {
      if (previous === null) await unlink(file).catch(() => undefined);
      else {
        await writeFileAtomic(file, previous, { mode: 0o644 });
        await runApply(argv, file, cfg.applyTimeoutMs);
      }
    } catch (again) {
      ctx.logger.error('slurm.conf: the previous file is back, but applying it failed too', { err: (again as Error).message });
    }
    throw new NetrootError('E_SLURM_APPLY', `slurm.conf: ${(e as Error).message}; the previous file is back`);
  }
  ctx.logger.info('slurm.conf rewritten and applied', { nodes: nodes.length, how: argv.join(' ') });
}

export const slurmConfPlugin: Plugin = {
  name: '60-slurm-conf',
  added: (_h, ctx) => syncSlurmConf(ctx),
  // A batch of hosts (insert-ethers naming many machines at once): one rewrite and one apply.
  addedBatch: async (_hs, ctx) => {
    await syncSlurmConf(ctx);
    return undefined;
  },
  // `removed` runs before the host row is deleted (and on a rollback of `added`): write the list without it.
  removed: (host, ctx) => syncSlurmConf(ctx, new Set([host.name])),
  removedBatch: (hosts, ctx) => syncSlurmConf(ctx, new Set(hosts.map((h) => h.name))),
  changed: (_h, ctx) => syncSlurmConf(ctx),
  update: (ctx) => syncSlurmConf(ctx),
};
