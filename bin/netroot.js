#!/usr/bin/env node
// The `netroot` command. Runs the compiled CLI (npm install builds it through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const main = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`netroot: not built yet: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv.slice(2));
