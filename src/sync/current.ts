// The payload the frontend serves now: <stateDir>/sync/current (the signed envelope, 0600), written
// whole by `netroot sync users` (write to a temporary, rename) and read by the HTTP route, which
// re-reads it only when the file changed (inode, size, mtime). The serial is read from the payload's
// second line; nothing else is parsed on the serving path.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { parseEnvelope } from './format.js';
import { syncDir } from './keys.js';

export interface Current {
  serial: number;
  envelope: Buffer;
}

export function currentPath(stateDir: string): string {
  return join(syncDir(stateDir), 'current');
}

/** The serial on the payload's second line ("serial N"), or null. */
export function serialOf(envelope: Buffer, maxBytes: number): number | null {
  const { payload } = parseEnvelope(envelope, { maxBytes });
  const m = /^netroot-sync \d+\nserial ([1-9][0-9]{0,15})\n/.exec(payload.subarray(0, 64).toString('latin1'));
  const n = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** The stored envelope and its serial, or null when none was published (or it is unreadable as one). */
export function readCurrent(stateDir: string, maxBytes: number): Current | null {
  let envelope: Buffer;
  try {
    envelope = readFileSync(currentPath(stateDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const serial = serialOf(envelope, maxBytes);
  return serial === null ? null : { serial, envelope };
}

export async function writeCurrent(stateDir: string, envelope: Buffer): Promise<void> {
  await writeFileAtomic(currentPath(stateDir), envelope, { mode: 0o600, durable: true });
}

/** readCurrent, cached until the file changes. */
export class CurrentPayload {
  private cached: { key: string; value: Current | null } | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly maxBytes: number,
  ) {}

  get(): Current | null {
    let key: string;
    try {
      const s = statSync(currentPath(this.stateDir));
      key = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (this.cached?.key !== key) this.cached = { key, value: readCurrent(this.stateDir, this.maxBytes) };
    return this.cached.value;
  }
}
