// Runs one attack module of test/attack (the harness contract, test/attack/types.ts) in its own
// process inside bench:attack's client namespace, so the attack's work and the storm's do not
// share one event loop:
//   node --import tsx bench/lib/attack-runner.ts MODULE.ts TARGET-JSON SCALE
// Prints `ready {"name":...}` once start() has resolved (the attack is at full strength), then on
// the stdin line `stop` (or when stdin closes: the bench is gone) calls stop() and prints
// `stopped {stats}` and exits. A start or stop failure prints `error "message"` and exits 1.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Attack, AttackTarget, RunningAttack } from '../../test/attack/types.js';

const [file, targetJson, scaleArg] = process.argv.slice(2);
const say = (line: string): void => void process.stdout.write(line + '\n');

let running: RunningAttack | null = null;
let stopping: Promise<void> | null = null;
const stop = (): Promise<void> =>
  (stopping ??= (async () => {
    try {
      const r = running;
      if (r) {
        await r.stop();
        say(`stopped ${JSON.stringify(r.stats())}`);
      }
      process.exit(0);
    } catch (e) {
      say(`error ${JSON.stringify(`stop(): ${(e as Error).stack ?? e}`)}`);
      process.exit(1);
    }
  })());

try {
  const mod = (await import(pathToFileURL(resolve(file!)).href)) as { attack?: Attack };
  if (!mod.attack || typeof mod.attack.start !== 'function') throw new Error(`${file} exports no attack`);
  const target = JSON.parse(targetJson!) as AttackTarget;
  running = await mod.attack.start(target, { scale: Number(scaleArg ?? 1) });
  say(`ready ${JSON.stringify({ name: mod.attack.name })}`);
} catch (e) {
  say(`error ${JSON.stringify(`start(): ${(e as Error).stack ?? e}`)}`);
  process.exit(1);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l.trim() === 'stop') void stop();
  else if (l.trim() === 'stats' && running) say(`stats ${JSON.stringify(running.stats())}`);
});
rl.on('close', () => void stop());
process.on('SIGTERM', () => void stop());
