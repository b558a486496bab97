// Line-by-line reading of a bench child's stdout (children.ts keeps the raw output too), for the
// small command protocols of bench:attack's storm worker and attack runner. Every wait is bounded.
import type { Child } from './children.js';

export class ChildLines {
  private buf = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  /** The child has exited and its output is all read ('close'). */
  private closed = false;

  constructor(private readonly child: Child) {
    child.proc.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
      this.wake();
    });
    void child.exited.then(() => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /**
   * The next line starting with one of `prefixes` (other lines are skipped), as [prefix, rest];
   * null when the child exits first or `ms` passes.
   */
  async next(prefixes: readonly string[], ms: number): Promise<[string, string] | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.lines.length > 0) {
        const l = this.lines.shift()!;
        const p = prefixes.find((x) => l.startsWith(x));
        if (p !== undefined) return [p, l.slice(p.length).trim()];
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return null;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  send(line: string): void {
    const stdin = this.child.proc.stdin;
    if (stdin && !stdin.destroyed) stdin.write(line + '\n');
  }
}
