// Small helpers shared by the backends: a promise mutex (backends serialise their mutations so
// tid/index allocation cannot race) and an atomic JSON state file written with mode 0600.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';

export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** The names in `dir`, sorted; none when it does not exist (yet). */
export async function namesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function readJsonFile<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw e;
  }
}

/** Write-to-temporary then rename: a crash leaves the old or the new file, never half of one. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // A unique temporary opened O_EXCL with mode 0600 (the file holds CHAP secrets): a leftover or
  // planted temporary can neither widen the mode nor be written through.
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
}
