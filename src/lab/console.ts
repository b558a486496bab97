// A QEMU serial console read from the process's stdout: kept line by line (bounded), searched for
// markers with a deadline; a timeout error carries the last lines, so a failing boot explains itself.
import type { Readable } from 'node:stream';
import { NetrootError } from '../errors.js';

export class ConsoleLog {
  private text = '';
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(
    stream: Readable,
    private readonly onLine?: (line: string) => void,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.text += chunk;
      if (this.text.length > this.maxBytes) this.text = this.text.slice(-this.maxBytes / 2);
      if (this.onLine) {
        partial += chunk;
        const lines = partial.split(/\r?\n/);
        partial = lines.pop() ?? '';
        for (const l of lines) this.onLine(l);
      }
      for (const w of this.waiters) w();
    });
    stream.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w();
    });
  }

  get output(): string {
    return this.text;
  }

  tail(n = 40): string {
    return this.text
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .split(/\r?\n/)
      .slice(-n)
      .join('\n');
  }

  /** Resolves when `marker` appears (searching from `from`); returns the index just after the match. */
  waitFor(marker: string | RegExp, timeoutMs: number, from = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hay = this.text.slice(from);
        let idx: number;
        let len: number;
        if (typeof marker === 'string') {
          idx = hay.indexOf(marker);
          len = marker.length;
        } else {
          const m = new RegExp(marker.source, marker.flags.replace('g', '')).exec(hay);
          idx = m ? m.index : -1;
          len = m ? m[0].length : 0;
        }
        if (idx >= 0) {
          done();
          resolve(from + idx + len);
        } else if (this.closed) {
          done();
          reject(new NetrootError('E_LAB_CONSOLE', `console closed before ${String(marker)}; last lines:\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new NetrootError('E_LAB_TIMEOUT', `no ${String(marker)} within ${timeoutMs / 1000} s; last lines:\n${this.tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}
