// Real TFTP clients for the server tests: curl and atftp fetch into `out` and return the bytes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const run = promisify(execFile);

export function tftpClients(out: string, defaultPort: () => number) {
  const dest = () => join(out, `${Math.random().toString(36).slice(2)}.bin`);
  return {
    async curl(file: string, args: string[] = [], p = defaultPort()): Promise<Buffer> {
      const d = dest();
      await run('curl', ['-sS', '--max-time', '60', ...args, '-o', d, `tftp://127.0.0.1:${p}/${file}`]);
      return readFileSync(d);
    },
    async atftp(file: string, options: string[], p = defaultPort()): Promise<Buffer> {
      const d = dest();
      const opt = options.flatMap((o) => ['--option', o]);
      await run('atftp', ['-g', '-r', file, '-l', d, ...opt, '127.0.0.1', String(p)], { timeout: 60_000 });
      return readFileSync(d);
    },
  };
}
