// This package's version (`netroot --version`, the servers table's version column).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's version, from the netroot package.json above this file (src/cli/ or dist/src/cli/). */
export function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'netroot' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error('no package.json of netroot above ' + fileURLToPath(import.meta.url));
  }
}
