// The lab never leaks: up() removes a crashed run's namespace (and what runs in it), and a lab whose
// process is interrupted (SIGINT, SIGTERM) or exits without down() removes its namespace and kills
// its children. Needs root; skips outside CI when not root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, namespaces } from '../../src/lab/index.js';
import { e2eSkip } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

function alive(pid: number): boolean {
  try {
    // A killed process whose parent is gone is a zombie until init reaps it: that counts as dead.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (5 s at most) until `pid` is gone; fails naming `what`. */
function gone(pid: number, what: string): Promise<boolean> {
  return waitFor(() => !alive(pid), { what, timeoutMs: 5000, intervalMs: 100 });
}

async function runChild(
  dir: string,
  env: Record<string, string>,
  signal?: NodeJS.Signals,
): Promise<{ ns: string; pid: number; code: number | null; sig: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'e2e', 'lab-child.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const ready = new Promise<[string, number]>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+) (\d+)/.exec(out);
      if (m) resolve([m[1]!, Number(m[2])]);
    });
    child.once('exit', () => reject(new Error(`child exited before READY: ${out}`)));
  });
  const [ns, pid] = await ready;
  if (signal) {
    // (With EXIT=1 the child may already be gone: nothing to check before.)
    assert.ok(namespaces().includes(ns));
    assert.ok(alive(pid));
    child.kill(signal);
  }
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    child.exitCode !== null ? r([child.exitCode, null]) : child.once('exit', (c, s) => r([c, s])),
  );
  return { ns, pid, code, sig };
}

test('lab lifecycle: stale namespaces removed by up(); SIGINT, SIGTERM and plain exit clean up', { skip: e2eSkip, timeout: 120_000 }, async (t) => {
  const dir = tempStateDir('nrt-e2e-life-');
  try {
    await t.test('up() removes a namespace left by a dead process, and kills what ran in it', async () => {
      const deadPid = 4_000_000 + (process.pid % 100_000); // above pid_max on this kernel: never alive
      const stale = `nrt-stale-${deadPid}`;
      spawnSync('ip', ['netns', 'add', stale]);
      const sleeper = spawn('ip', ['netns', 'exec', stale, 'sleep', '600'], { stdio: 'ignore' });
      await waitFor(() => spawnSync('ip', ['netns', 'pids', stale], { encoding: 'utf8' }).stdout.trim() !== '', {
        what: `the sleeper to run in ${stale}`,
        intervalMs: 50,
      });
      const lab = new Lab({ name: 'nrt-stale', workDir: join(dir, 'stale') });
      try {
        await lab.up();
        assert.ok(!namespaces().includes(stale), 'stale namespace deleted');
        await waitFor(() => sleeper.exitCode !== null || sleeper.signalCode !== null, { what: 'its process to be killed', timeoutMs: 5000 });
        assert.ok(namespaces().includes(lab.namespace));
      } finally {
        await lab.down();
        await lab.down(); // idempotent
      }
      assert.ok(!namespaces().includes(lab.namespace));
    });
    for (const how of ['SIGINT', 'SIGTERM', 'exit'] as const) {
      await t.test(`${how}: namespace deleted, children killed`, async () => {
        const r = how === 'exit' ? await runChild(join(dir, how), { EXIT: '1' }) : await runChild(join(dir, how), {}, how);
        if (how !== 'exit') assert.equal(r.sig, how, 'the process still dies of the signal');
        assert.ok(!namespaces().includes(r.ns), `${r.ns} deleted`);
        await gone(r.pid, 'the process started in the lab to be killed');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
