// Site rolls: directories in Rocks' layout (`nodes/*.xml`, `graphs/<graph>/*.xml`) that join
// netroot's own roles and graphs. The list lives in `<stateDir>/rolls.json` (written by
// `netroot roll add|remove`, atomically, see src/cli/roll.ts): `[{ "name": ..., "dir": ... }]`, in
// the order added. Read here without writing: the compiler reads it on each load (one stat when
// it has not changed).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export interface Roll {
  name: string;
  /** Absolute path of the roll's directory. */
  dir: string;
}

export const ROLL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_ROLLS_FILE_BYTES = 1024 * 1024;

export function rollsFile(stateDir: string): string {
  return join(stateDir, 'rolls.json');
}

/** The recorded rolls; none when the file does not exist. A damaged file is an error naming it. */
export function readRolls(file: string): Roll[] {
  let text: string;
  try {
    if (statSync(file).size > MAX_ROLLS_FILE_BYTES) throw new UserError('E_ROLLS_FILE', `larger than ${MAX_ROLLS_FILE_BYTES} bytes: refused`, { where: file });
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    if (e instanceof UserError) throw e;
    throw new UserError('E_ROLLS_FILE', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { where: file });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError('E_ROLLS_FILE', `not JSON: ${(e as Error).message}`, { where: file });
  }
  if (
    !Array.isArray(v) ||
    !v.every((r) => r && typeof r === 'object' && typeof r.name === 'string' && ROLL_NAME.test(r.name) && typeof r.dir === 'string' && r.dir.startsWith('/'))
  ) {
    throw new UserError('E_ROLLS_FILE', 'expected a list of { "name": roll name, "dir": absolute path }', { where: file });
  }
  return (v as Roll[]).map((r) => ({ name: r.name, dir: r.dir }));
}

/** What a roll directory has of Rocks' layout. */
export function rollLayout(dir: string): { nodes: boolean; graphs: boolean } {
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  return { nodes: isDir(join(dir, 'nodes')), graphs: isDir(join(dir, 'graphs')) };
}
