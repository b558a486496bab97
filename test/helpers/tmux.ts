// A real terminal for CLI tests: tmux servers of this test process's own (-L <name>-<pid>), so no
// other tmux user can race with them; `skipWithoutTmux` skips locally, never under CI.
import { execFileSync, spawnSync } from 'node:child_process';
import { waitFor } from './wait.js';

export const skipWithoutTmux: string | false = spawnSync('tmux', ['-V']).status !== 0 && process.env.CI !== 'true' ? 'tmux not installed' : false;

/** The -L flags of a private tmux server for this process. */
export function tmuxServer(name: string): string[] {
  return ['-L', `${name}-${process.pid}`];
}

/** Polls the tmux pane of session() (on server `sock`) until it matches re (20 s), and returns it. */
export function screenWaiter(sock: string[], session: () => string): (re: RegExp) => Promise<string> {
  const capture = () => execFileSync('tmux', [...sock, 'capture-pane', '-p', '-t', session()], { encoding: 'utf8' });
  return async (re) => {
    let s = '';
    await waitFor(() => re.test((s = capture())), { what: () => `the screen to match ${re}:\n${capture()}`, timeoutMs: 20_000, intervalMs: 100 });
    return s;
  };
}
