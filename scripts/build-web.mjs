// Builds the dashboard (issue #18): web/src/*.ts → dist/web/app/*.js (tsc with web/tsconfig.json:
// DOM lib, ES modules the browser loads as they are; no bundler, no CDN) and copies web/index.html
// and web/style.css to dist/web. netroot serves dist/web (src/http/static-routes.ts).
// Usage: node scripts/build-web.mjs   (npm run build:web)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'web', 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('build-web: tsc failed\n');
  process.exit(r.status ?? 1);
}
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));
process.stdout.write(`build-web: ${out}\n`);
