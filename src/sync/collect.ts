// What `netroot sync users` collects on the frontend: the passwd, group and shadow entries of a UID
// range (from `<etcDir>/passwd|group|shadow`), the munge key and the hosts list the hosts-file plugin
// keeps in <stateDir>/hosts. Reads only; a file that is absent is reported, never guessed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { MUNGE_KEY_MAX_BYTES, MUNGE_KEY_MIN_BYTES } from './format.js';

export interface CollectOptions {
  etcDir: string;
  mungeKeyPath: string;
  hostsPath: string;
  minUid: number;
  maxUid: number;
  /** Largest source file read, bytes (each of passwd, group, shadow, hosts). */
  maxFileBytes: number;
}

export interface Collected {
  passwd: string[];
  group: string[];
  shadow: string[];
  hosts: string[];
  mungeKey: Buffer | null;
  /** What was left out and why (absent munge key or hosts file, shadow lines without a user). */
  notes: string[];
}

async function readText(path: string, maxBytes: number, optional: boolean): Promise<string | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return null;
    throw new UserError('E_SYNC_SOURCE', `cannot read ${path}: ${code ?? (e as Error).message}`);
  }
  if (buf.length > maxBytes) throw new UserError('E_SYNC_SOURCE', `${path} is larger than ${maxBytes} bytes (sync.maxPayloadBytes)`);
  return buf.toString('utf8');
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function inRange(field: string | undefined, min: number, max: number): boolean {
  if (field === undefined || !/^\d{1,10}$/.test(field)) return false;
  const n = Number(field);
  return n >= min && n <= max;
}

export async function collect(o: CollectOptions): Promise<Collected> {
  const notes: string[] = [];
  const passwdText = (await readText(join(o.etcDir, 'passwd'), o.maxFileBytes, false))!;
  const groupText = (await readText(join(o.etcDir, 'group'), o.maxFileBytes, false))!;
  const shadowText = (await readText(join(o.etcDir, 'shadow'), o.maxFileBytes, false))!;
  const passwd = lines(passwdText).filter((l) => inRange(l.split(':')[2], o.minUid, o.maxUid));
  const users = new Set(passwd.map((l) => l.split(':')[0]));
  const group = lines(groupText).filter((l) => inRange(l.split(':')[2], o.minUid, o.maxUid));
  const shadow = lines(shadowText).filter((l) => users.has(l.split(':')[0]));
  const missing = [...users].filter((u) => !shadow.some((l) => l.split(':')[0] === u));
  if (missing.length > 0) notes.push(`no shadow entry for ${missing.join(', ')} (their password stays locked on the nodes)`);

  const hostsText = await readText(o.hostsPath, o.maxFileBytes, true);
  if (hostsText === null) notes.push(`no hosts list at ${o.hostsPath} (no host added yet?): the nodes' netroot block of /etc/hosts will be empty`);
  const hosts = hostsText === null ? [] : lines(hostsText);

  let mungeKey: Buffer | null = null;
  try {
    mungeKey = await readFile(o.mungeKeyPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new UserError('E_SYNC_SOURCE', `cannot read the munge key ${o.mungeKeyPath}: ${code ?? 'error'}`);
    notes.push(`no munge key at ${o.mungeKeyPath} (sync.mungeKeyPath): the nodes keep theirs`);
  }
  if (mungeKey !== null && (mungeKey.length < MUNGE_KEY_MIN_BYTES || mungeKey.length > MUNGE_KEY_MAX_BYTES))
    throw new UserError(
      'E_SYNC_SOURCE',
      `the munge key ${o.mungeKeyPath} is ${mungeKey.length} bytes; munge needs ${MUNGE_KEY_MIN_BYTES} to ${MUNGE_KEY_MAX_BYTES}`,
    );
  return { passwd, group, shadow, hosts, mungeKey, notes };
}
