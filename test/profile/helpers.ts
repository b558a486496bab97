// Builds a throwaway roles/graphs tree for a test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempStateDir } from '../helpers/tmp.js';
import { ProfileCompiler, type ProfileSources } from '../../src/profile/index.js';

export function tree(files: Record<string, string>, extra: Partial<ProfileSources> = {}): { dir: string; compiler: ProfileCompiler } {
  const dir = tempStateDir('nrt-prof-');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const compiler = new ProfileCompiler({
    rolesDir: join(dir, 'roles'),
    graphsDir: join(dir, 'graphs'),
    graph: 'g',
    siteDir: join(dir, 'site'),
    includeDir: join(dir, 'include'),
    ...extra,
  });
  return { dir, compiler };
}

export const node = (body: string) => `<?xml version="1.0"?>\n<kickstart>\n${body}\n</kickstart>\n`;
export const graph = (body: string) => `<?xml version="1.0"?>\n<graph>\n${body}\n</graph>\n`;
