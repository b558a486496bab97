// What "the state directory is unchanged" means in tests: every file and directory under it, with
// its mode and a hash of its content (a symlink: its target).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Every file and directory under dir: relative path → mode and a hash of the content. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    const content = st.isDirectory() ? '' : st.isSymbolicLink() ? readlinkSync(abs) : readFileSync(abs);
    out[rel] = `${st.mode.toString(8)} ${createHash('sha256').update(content).digest('hex')}`;
    if (st.isDirectory()) for (const e of readdirSync(abs).sort()) walk(join(rel, e));
  };
  walk('.');
  return out;
}
