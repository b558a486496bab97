// Waits for something another socket's I/O will make true (the target accepting a connection, a
// byte arriving). Not a sleep to see time pass: deadlines are driven by ManualClock.
export async function until(cond: () => boolean, what: string, withinMs = 5000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
