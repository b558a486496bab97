// The one way tests wait for something another task, socket, process or timer will make true:
// poll the condition with a deadline, and fail naming what never happened. Not a way to let time
// pass (a fixed sleep): see test/README.md, "No fixed sleeps", and test/meta/no-fixed-sleeps.test.ts.

export interface WaitOptions {
  /** What is awaited, for the failure message; a function is called only when the wait fails (e.g. to show a log tail). */
  what: string | (() => string);
  /** Deadline from the call (default 10 s: a loaded two-core CI machine is slow; only a failing wait takes it). */
  timeoutMs?: number;
  /** Pause between two checks (default 10 ms). */
  intervalMs?: number;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Resolves with the first truthy value `condition` returns (it may be async), checking it at once
 * and then every `intervalMs`; rejects with "timed out after N ms waiting for <what>" once
 * `timeoutMs` has passed. An exception from `condition` rejects at once (e.g. "the server exited").
 */
export async function waitFor<T>(condition: () => T | Promise<T>, o: WaitOptions): Promise<Truthy<T>> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await condition();
    if (v) return v as Truthy<T>;
    if (performance.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof o.what === 'function' ? o.what() : o.what}`);
    }
    // fixed delay: the poll interval of this one shared wait (the deadline above bounds it)
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 10));
  }
}
