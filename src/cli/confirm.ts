// Confirmation of a destructive command (`host remove`, `host set mac=`, `insert-ethers --replace`):
// on a terminal the operator is asked; without one (scripts, CI) `--yes` is the confirmation and its
// absence refuses with E_CONFIRM (exit 2), before anything is changed.
import { UserError } from '../errors.js';

export async function confirmOrRefuse(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!(process.stdin.isTTY && process.stdout.isTTY) || !(await ask(`${question}. Continue? [y/N] `)))
    throw new UserError('E_CONFIRM', `${question}: confirm with --yes`);
}

async function ask(prompt: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(prompt)).trim());
  } finally {
    rl.close();
  }
}
