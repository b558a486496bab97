// Process liveness, for the things that leave a pid behind (a lab, an image build's staging).

/** Whether a process with this pid exists: signal 0 reaches it, or it exists but is not ours (EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
